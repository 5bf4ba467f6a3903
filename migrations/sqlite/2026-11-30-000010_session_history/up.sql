-- Session history (API.md §2): an ended session keeps its record, with why
-- it ended, for SESSION_HISTORY_TTL; its events say what happened to it.
ALTER TABLE sessions ADD COLUMN ended_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN end_reason TEXT
    CHECK (end_reason IN ('logout', 'revoked', 'reuse_detected', 'password_changed', 'expired'));
-- Sessions revoked before history was kept: the cause is no longer known.
UPDATE sessions SET ended_at = revoked_at, end_reason = 'revoked' WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_ended_at ON sessions (ended_at);

-- The id orders a session's events (two may share a timestamp); a session's
-- events go with it, so the session purge removes them too.
CREATE TABLE session_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at         TIMESTAMP NOT NULL,
    type       TEXT NOT NULL
        CHECK (type IN ('login', 'refresh', 'refresh_in_grace', 'reuse_detected', 'ended')),
    ip         TEXT,
    user_agent TEXT,
    reason     TEXT
);
-- Per-session reads, the trim to the last events, and the cascade of the purge.
CREATE INDEX session_events_session_id ON session_events (session_id, id);

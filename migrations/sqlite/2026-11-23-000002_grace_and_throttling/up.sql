-- Reuse grace: a rotated token remembers its current successor, and a
-- successor replaced within the grace is marked superseded (dead, but its
-- presentation is not treated as theft).
ALTER TABLE refresh_tokens ADD COLUMN successor_hash TEXT;
ALTER TABLE refresh_tokens ADD COLUMN superseded_at TIMESTAMP;

-- Failed logins per (email, client address), shared by every replica.
CREATE TABLE login_failures (
    id        TEXT PRIMARY KEY,
    email     TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (email, client_ip, failed_at);

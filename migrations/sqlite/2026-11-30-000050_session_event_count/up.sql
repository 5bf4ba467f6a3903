-- How many events a session has recorded, ever. The trim to the newest
-- events (db::history::EVENTS_KEPT) looks at a session's events only once
-- this passes the cap, and then drops just the oldest: a refresh no longer
-- reads the newest hundred events to find where to cut.
ALTER TABLE sessions ADD COLUMN event_count BIGINT NOT NULL DEFAULT 0;
UPDATE sessions
   SET event_count = (SELECT count(*) FROM session_events WHERE session_events.session_id = sessions.id);

DROP TABLE session_events;
DROP INDEX sessions_ended_at;
ALTER TABLE sessions DROP COLUMN end_reason;
ALTER TABLE sessions DROP COLUMN ended_at;

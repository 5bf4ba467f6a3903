ALTER TABLE sessions DROP COLUMN event_count;

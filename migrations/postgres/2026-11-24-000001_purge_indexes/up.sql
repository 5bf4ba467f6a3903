-- The background purge deletes by time alone; without these it would scan
-- each table for every batch.
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at);
CREATE INDEX login_failures_failed_at ON login_failures (failed_at);

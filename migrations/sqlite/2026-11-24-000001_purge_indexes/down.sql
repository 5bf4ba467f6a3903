DROP INDEX login_failures_failed_at;
DROP INDEX sessions_revoked_at;
DROP INDEX sessions_expires_at;
DROP INDEX refresh_tokens_expires_at;

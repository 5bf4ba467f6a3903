-- The client a session's refresh tokens were issued to (RFC 6749 §6: a
-- refresh token is bound to its client). NULL for first-party sessions:
-- /auth/* and /oauth/token without client authentication. No foreign key:
-- deleting a client ends its sessions, and their history stays.
ALTER TABLE sessions ADD COLUMN client_id TEXT;

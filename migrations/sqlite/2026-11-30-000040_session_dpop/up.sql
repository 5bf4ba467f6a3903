-- Sender-constrained sessions (API.md §7, RFC 9449): the RFC 7638 thumbprint
-- of the key a session is bound to, set once at login and never changed.
-- NULL: an unbound session, whose tokens are plain Bearer tokens.
ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;

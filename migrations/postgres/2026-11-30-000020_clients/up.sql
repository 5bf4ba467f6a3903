-- Confidential clients (API.md §8). Only the SHA-256 of a client's secret is
-- kept: the secret has 256 random bits, so a plain hash cannot be reversed,
-- and a copy of this table authenticates nobody.
CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

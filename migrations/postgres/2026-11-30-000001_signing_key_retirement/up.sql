-- The last moment a token signed by the key may still be alive, as the
-- serving instances know it (they sign with their own ACCESS_TOKEN_TTL and
-- raise it while they sign). NULL: no serving instance has recorded one yet.
-- Pruning goes by this, never by the settings of whoever prunes.
ALTER TABLE signing_keys ADD COLUMN retire_after TIMESTAMP;

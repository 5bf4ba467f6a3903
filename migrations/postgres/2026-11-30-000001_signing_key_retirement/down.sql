ALTER TABLE signing_keys DROP COLUMN retire_after;

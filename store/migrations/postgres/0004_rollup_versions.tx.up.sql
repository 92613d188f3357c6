-- A version per user's rollups (issue 12): every write of a user's days
-- or state gives it a new random value, so a serving process can keep the
-- days it read and check, with one short row per user, that they are
-- still the store's. Existing rows start at 0 and change on their next
-- write.
ALTER TABLE usestats_compile_users ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0;

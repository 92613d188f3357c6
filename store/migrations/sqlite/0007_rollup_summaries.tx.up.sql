-- Day summaries (store/summarycodec.go): beside each day's data, the
-- user's time that day per course and per hour, every bucket summed,
-- made from the same cells when the day is written. Answers over many
-- users (site stats, site user lists and their exports) read them instead
-- of the data. Days written before have none (NULL): their users are
-- answered from the data until Store.FillSummaries, which `usestats
-- compile` and serve's background compile run, has made them. (SQLite
-- has no ADD COLUMN IF NOT EXISTS; the migration runs once.)
ALTER TABLE usestats_rollup_days ADD COLUMN summary BLOB;
-- The days still to summarize, found without reading the table; empty
-- (and free) once FillSummaries has run.
CREATE INDEX IF NOT EXISTS usestats_rollup_days_unsummarized
    ON usestats_rollup_days (key_id, user_id, day) WHERE summary IS NULL;

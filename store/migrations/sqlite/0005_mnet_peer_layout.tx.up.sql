-- The scope-3 layout of each MNET peer's use_stats answers (issue 13):
-- 'published' (MODULES directly under USE_STATS, the product document's
-- layout) or 'nested' (MODULES inside each COURSE, block_use_stats' own
-- code). Peers registered before keep the new default, 'published'.
-- (SQLite has no ADD COLUMN IF NOT EXISTS; the migration runs once.)
ALTER TABLE usestats_mnet_peers ADD COLUMN layout TEXT NOT NULL DEFAULT 'published';

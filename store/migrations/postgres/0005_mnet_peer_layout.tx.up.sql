-- The scope-3 layout of each MNET peer's use_stats answers (issue 13):
-- 'published' (MODULES directly under USE_STATS, the product document's
-- layout) or 'nested' (MODULES inside each COURSE, block_use_stats' own
-- code). Peers registered before keep the new default, 'published'.
ALTER TABLE usestats_mnet_peers ADD COLUMN IF NOT EXISTS layout TEXT NOT NULL DEFAULT 'published';

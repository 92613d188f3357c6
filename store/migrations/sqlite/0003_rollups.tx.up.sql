-- Compiled rollups (issue 12): per compile key (policy, version, time
-- zone) the additive daily cells and the daily session pieces the engine
-- produces, each user's compile state, and the shards of a fresh compile.
-- Idempotent like every migration.
--
-- The big tables repeat a small integer key_id, never the key's strings,
-- and are WITHOUT ROWID: a row lives in its primary key's b-tree,
-- clustered by (key_id, user_id, day). usestats_rollup_days holds one row
-- per user and day whose data packs the day's cells and session pieces
-- (the format is in store/daycodec.go); usestats_session_ends is the
-- narrow index of pieces by last log id that an incremental compile needs
-- to continue a session. Key ids are AUTOINCREMENT so a dropped key's id
-- is never reused.
CREATE TABLE IF NOT EXISTS usestats_compile_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    policy        TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    zone          TEXT    NOT NULL,
    complete      INTEGER NOT NULL DEFAULT 0,
    horizon       INTEGER NOT NULL DEFAULT 0,
    watermark     INTEGER NOT NULL DEFAULT 0,
    gaps          TEXT    NOT NULL DEFAULT '',
    retain_from   INTEGER NOT NULL DEFAULT 0,
    run_seq       INTEGER NOT NULL DEFAULT 0,
    run_id        INTEGER NOT NULL DEFAULT 0,
    run_horizon   INTEGER NOT NULL DEFAULT 0,
    run_watermark INTEGER NOT NULL DEFAULT 0,
    run_gaps      TEXT    NOT NULL DEFAULT '',
    CONSTRAINT usestats_compile_keys_key UNIQUE (policy, version, zone)
);
CREATE TABLE IF NOT EXISTS usestats_rollup_days (
    key_id  INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    day     INTEGER NOT NULL,
    data    BLOB    NOT NULL,
    CONSTRAINT usestats_rollup_days_pkey PRIMARY KEY (key_id, user_id, day)
) WITHOUT ROWID;
-- SessionKeys: the session each piece's last log id belongs to.
CREATE TABLE IF NOT EXISTS usestats_session_ends (
    key_id      INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    last_id     INTEGER NOT NULL,
    session_key INTEGER NOT NULL,
    CONSTRAINT usestats_session_ends_pkey PRIMARY KEY (key_id, user_id, day, last_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usestats_session_ends_last
    ON usestats_session_ends (key_id, user_id, last_id);
CREATE TABLE IF NOT EXISTS usestats_compile_users (
    key_id      INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    compiled_to INTEGER NOT NULL,
    last_time   INTEGER NOT NULL,
    CONSTRAINT usestats_compile_users_pkey PRIMARY KEY (key_id, user_id)
) WITHOUT ROWID;
-- PendingUsers: the users whose latest event is recent.
CREATE INDEX IF NOT EXISTS usestats_compile_users_last
    ON usestats_compile_users (key_id, last_time);
CREATE TABLE IF NOT EXISTS usestats_compile_shards (
    key_id INTEGER NOT NULL,
    run_id INTEGER NOT NULL,
    lo     INTEGER NOT NULL,
    hi     INTEGER NOT NULL,
    done   INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT usestats_compile_shards_pkey PRIMARY KEY (key_id, run_id, lo)
) WITHOUT ROWID;

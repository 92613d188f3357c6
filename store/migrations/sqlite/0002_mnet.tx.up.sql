-- MNET (issue 5): our key pairs, newest first by id (the current one is the
-- newest; older ones are kept to read messages still encrypted for them),
-- and the peers we exchange with. Idempotent like every migration.
CREATE TABLE IF NOT EXISTS usestats_mnet_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    wwwroot    TEXT   NOT NULL,
    cert_pem   TEXT   NOT NULL,
    key_pem    TEXT   NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS usestats_mnet_peers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    wwwroot         TEXT   NOT NULL,
    name            TEXT   NOT NULL,
    cert_pem        TEXT   NOT NULL,
    expires_at      INTEGER NOT NULL,
    services        TEXT   NOT NULL,
    last_connect_at INTEGER NULL,
    created_at      INTEGER NOT NULL,
    CONSTRAINT usestats_mnet_peers_wwwroot_key UNIQUE (wwwroot)
);

-- API tokens (issue 4). Only a SHA-256 hash of the secret is stored.
-- Every statement is idempotent (IF NOT EXISTS): a migration whose
-- bookkeeping row was lost can run again harmlessly.
CREATE TABLE IF NOT EXISTS usestats_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL,
    token_prefix TEXT    NOT NULL,
    scopes       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NULL,
    revoked_at   INTEGER NULL,
    CONSTRAINT usestats_tokens_name_key UNIQUE (name),
    CONSTRAINT usestats_tokens_token_hash_key UNIQUE (token_hash)
);

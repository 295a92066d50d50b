-- Users get a column for every attribute a filter or a lookup reads (the
-- rest of PingOne's user attributes stay in data), with a lower-cased,
-- byte-ordered copy where filters compare case-insensitively, and an index
-- per lookup path. Every index leads with environment_id: no query reads
-- another environment's rows.

ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_lc {{KEYTEXT}} NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN given_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN given_name_lc {{KEYTEXT}} NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN family_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN family_name_lc {{KEYTEXT}} NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN external_id {{KEYTEXT}} NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN enabled {{BOOL}} NOT NULL DEFAULT {{TRUE}};
ALTER TABLE users ADD COLUMN account_status TEXT NOT NULL DEFAULT 'OK';
-- Milliseconds; 0 = none. A lock with unlock_at 0 lasts until an
-- administrator unlocks the account.
ALTER TABLE users ADD COLUMN locked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN unlock_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN lifecycle_status TEXT NOT NULL DEFAULT 'ACCOUNT_OK';
ALTER TABLE users ADD COLUMN idp_type TEXT NOT NULL DEFAULT 'PING_ONE';
ALTER TABLE users ADD COLUMN idp_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN mfa_enabled {{BOOL}} NOT NULL DEFAULT {{FALSE}};
ALTER TABLE users ADD COLUMN verify_status TEXT NOT NULL DEFAULT 'NOT_INITIATED';

-- Lists page in id order, so an index that ends in id serves both a
-- filter's equality and the page order: the planner then never walks the
-- whole environment in id order hunting for a rare match. Username lookups
-- and prefix filters use users_username (0001).
CREATE INDEX users_env_id ON users (environment_id, id);
CREATE INDEX users_email ON users (environment_id, email_lc, id);
CREATE INDEX users_given_name ON users (environment_id, given_name_lc, id);
CREATE INDEX users_family_name ON users (environment_id, family_name_lc, id);
CREATE INDEX users_external_id ON users (environment_id, external_id, id);
CREATE INDEX users_env_population ON users (environment_id, population_id, id);
CREATE INDEX users_account_status ON users (environment_id, account_status, id);
CREATE INDEX users_enabled ON users (environment_id, enabled, id);
CREATE INDEX users_idp_type ON users (environment_id, idp_type, id);
CREATE INDEX users_idp_id ON users (environment_id, idp_id, id);
CREATE INDEX users_created ON users (environment_id, created_at);

-- A user's password: no row means NO_PASSWORD. status holds what is
-- stored (OK or MUST_CHANGE_PASSWORD); lockout and expiry are computed from
-- locked_until (ms, 0 = not locked) and last_changed_at against the policy.
-- history is a JSON array of earlier hashes for the policy's history rule.
CREATE TABLE user_passwords (
    user_id         TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    environment_id  TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    hash            TEXT NOT NULL,
    status          TEXT NOT NULL,
    last_changed_at BIGINT NOT NULL,
    failed_count    INTEGER NOT NULL,
    locked_until    BIGINT NOT NULL,
    history         TEXT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX user_passwords_env ON user_passwords (environment_id);

-- The auth service's state: flows, sessions, authorization codes, refresh
-- tokens, revoked access tokens and single-use keys. Every row expires;
-- each table has an index on expires_at for the batched purge.

-- A user or session column carries no foreign key where the row must
-- outlive it long enough to report a clean error (a flow whose user was
-- deleted answers "flow not found", not a constraint failure).
CREATE TABLE flows (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    status         TEXT NOT NULL,
    binding        TEXT NOT NULL,
    version        INTEGER NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX flows_env ON flows (environment_id);
CREATE INDEX flows_app ON flows (application_id);
CREATE INDEX flows_expires ON flows (expires_at);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    amr            TEXT NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    CONSTRAINT sessions_token UNIQUE (environment_id, token_hash)
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE auth_codes (
    code_hash         TEXT PRIMARY KEY,
    environment_id    TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    application_id    TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id        TEXT NOT NULL,
    grant_id          TEXT NOT NULL,
    data              TEXT NOT NULL,
    used_at           BIGINT,
    access_jti        TEXT,
    access_expires_at BIGINT,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL
);
CREATE INDEX auth_codes_env ON auth_codes (environment_id);
CREATE INDEX auth_codes_app ON auth_codes (application_id);
CREATE INDEX auth_codes_user ON auth_codes (user_id);
CREATE INDEX auth_codes_grant ON auth_codes (environment_id, grant_id);
CREATE INDEX auth_codes_session ON auth_codes (environment_id, session_id);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

CREATE TABLE refresh_tokens (
    token_hash        TEXT PRIMARY KEY,
    environment_id    TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    application_id    TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id        TEXT NOT NULL,
    grant_id          TEXT NOT NULL,
    data              TEXT NOT NULL,
    access_jti        TEXT NOT NULL,
    access_expires_at BIGINT NOT NULL,
    rotated_at        BIGINT,
    revoked_at        BIGINT,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    family_expires_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_env ON refresh_tokens (environment_id);
CREATE INDEX refresh_tokens_app ON refresh_tokens (application_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (environment_id, grant_id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (environment_id, session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Access tokens are JWTs and are not stored; one that must stop working
-- before it expires is listed here by jti until then.
CREATE TABLE revoked_tokens (
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    jti            TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    PRIMARY KEY (environment_id, jti)
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

CREATE TABLE used_once (
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    once_key       TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    PRIMARY KEY (environment_id, once_key)
);
CREATE INDEX used_once_expires ON used_once (expires_at);

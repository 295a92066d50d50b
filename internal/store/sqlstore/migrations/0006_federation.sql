-- External identity providers, their attribute mappings and the accounts
-- linked to them.

CREATE TABLE identity_providers (
    id                   TEXT PRIMARY KEY,
    environment_id       TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    name_lc              {{KEYTEXT}} NOT NULL,
    type                 TEXT NOT NULL,
    enabled              {{BOOL}} NOT NULL,
    client_secret_sealed {{BLOB}},
    data                 TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    CONSTRAINT identity_providers_name UNIQUE (environment_id, name_lc)
);

CREATE TABLE identity_provider_attributes (
    id                   TEXT PRIMARY KEY,
    environment_id       TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    identity_provider_id TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    name                 {{KEYTEXT}} NOT NULL,
    value                TEXT NOT NULL,
    update_policy        TEXT NOT NULL,
    mapping_type         TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    CONSTRAINT identity_provider_attributes_name UNIQUE (identity_provider_id, name)
);
CREATE INDEX identity_provider_attributes_env ON identity_provider_attributes (environment_id);

CREATE TABLE linked_accounts (
    id                   TEXT PRIMARY KEY,
    environment_id       TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    identity_provider_id TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    external_id          {{KEYTEXT}} NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    CONSTRAINT linked_accounts_external UNIQUE (environment_id, identity_provider_id, external_id)
);
CREATE INDEX linked_accounts_user ON linked_accounts (user_id);
CREATE INDEX linked_accounts_idp ON linked_accounts (identity_provider_id);

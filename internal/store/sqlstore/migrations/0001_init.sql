-- Forward-only. {{BOOL}}, {{BLOB}}, {{KEYTEXT}}, {{TRUE}} and {{FALSE}} are
-- replaced per dialect: KEYTEXT is byte-ordered text on PostgreSQL (COLLATE "C")
-- so that prefix filters can use a range over the index, as on SQLite.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE licenses (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    package         TEXT NOT NULL,
    status          TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX licenses_org ON licenses (organization_id, id);

CREATE TABLE environments (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    name            TEXT NOT NULL,
    name_lc         {{KEYTEXT}} NOT NULL,
    description     TEXT NOT NULL,
    type            TEXT NOT NULL,
    region          TEXT NOT NULL,
    license_id      TEXT NOT NULL REFERENCES licenses(id),
    status          TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX environments_org ON environments (organization_id, id);
CREATE INDEX environments_name ON environments (organization_id, name_lc);

CREATE TABLE password_policies (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    name_lc        {{KEYTEXT}} NOT NULL,
    is_default     {{BOOL}} NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT password_policies_name UNIQUE (environment_id, name_lc)
);
CREATE UNIQUE INDEX password_policies_default ON password_policies (environment_id) WHERE is_default;

CREATE TABLE populations (
    id                 TEXT PRIMARY KEY,
    environment_id     TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    name_lc            {{KEYTEXT}} NOT NULL,
    description        TEXT NOT NULL,
    is_default         {{BOOL}} NOT NULL,
    password_policy_id TEXT NOT NULL,
    data               TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    CONSTRAINT populations_name UNIQUE (environment_id, name_lc)
);
CREATE INDEX populations_env ON populations (environment_id, id);
CREATE UNIQUE INDEX populations_default ON populations (environment_id) WHERE is_default;

-- Users get their full set of columns with the users capability; the
-- population's userCount and its delete guard need the table from the start.
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    population_id  TEXT NOT NULL REFERENCES populations(id),
    username       TEXT NOT NULL,
    username_lc    {{KEYTEXT}} NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT users_username UNIQUE (environment_id, username_lc)
);
CREATE INDEX users_population ON users (population_id);

CREATE TABLE applications (
    id                         TEXT PRIMARY KEY,
    environment_id             TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name                       TEXT NOT NULL,
    protocol                   TEXT NOT NULL,
    type                       TEXT NOT NULL,
    enabled                    {{BOOL}} NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    secret_sealed              {{BLOB}},
    data                       TEXT NOT NULL,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);
CREATE INDEX applications_env ON applications (environment_id, id);

CREATE TABLE role_assignments (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    actor_type     TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    role_id        TEXT NOT NULL,
    scope_type     TEXT NOT NULL,
    scope_id       TEXT NOT NULL,
    read_only      {{BOOL}} NOT NULL,
    created_at     BIGINT NOT NULL,
    CONSTRAINT role_assignments_unique UNIQUE (actor_id, role_id, scope_type, scope_id)
);
CREATE INDEX role_assignments_scope ON role_assignments (scope_id);

CREATE TABLE resources (
    id                            TEXT PRIMARY KEY,
    environment_id                TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name                          TEXT NOT NULL,
    name_lc                       {{KEYTEXT}} NOT NULL,
    type                          TEXT NOT NULL,
    audience                      TEXT NOT NULL,
    description                   TEXT NOT NULL,
    access_token_validity_seconds INTEGER NOT NULL,
    data                          TEXT NOT NULL,
    created_at                    BIGINT NOT NULL,
    updated_at                    BIGINT NOT NULL,
    CONSTRAINT resources_name UNIQUE (environment_id, name_lc)
);

CREATE TABLE scopes (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    resource_id    TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    name_lc        {{KEYTEXT}} NOT NULL,
    description    TEXT NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT scopes_name UNIQUE (resource_id, name_lc)
);
CREATE INDEX scopes_env ON scopes (environment_id, resource_id);

CREATE TABLE sign_on_policies (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    name_lc        {{KEYTEXT}} NOT NULL,
    description    TEXT NOT NULL,
    is_default     {{BOOL}} NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT sign_on_policies_name UNIQUE (environment_id, name_lc)
);
CREATE UNIQUE INDEX sign_on_policies_default ON sign_on_policies (environment_id) WHERE is_default;

CREATE TABLE sign_on_policy_actions (
    id                TEXT PRIMARY KEY,
    environment_id    TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    sign_on_policy_id TEXT NOT NULL REFERENCES sign_on_policies(id) ON DELETE CASCADE,
    type              TEXT NOT NULL,
    priority          INTEGER NOT NULL,
    data              TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX sign_on_policy_actions_policy ON sign_on_policy_actions (sign_on_policy_id, priority);

CREATE TABLE signing_keys (
    id                  TEXT PRIMARY KEY,
    environment_id      TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    algorithm           TEXT NOT NULL,
    key_length          INTEGER NOT NULL,
    signature_algorithm TEXT NOT NULL,
    subject_dn          TEXT NOT NULL,
    issuer_dn           TEXT NOT NULL,
    usage_type          TEXT NOT NULL,
    is_default          {{BOOL}} NOT NULL,
    serial_number       TEXT NOT NULL,
    starts_at           BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    certificate         {{BLOB}} NOT NULL,
    private_key_sealed  {{BLOB}} NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX signing_keys_env ON signing_keys (environment_id, id);
CREATE UNIQUE INDEX signing_keys_default ON signing_keys (environment_id, usage_type) WHERE is_default;

-- Applications' sub-resources: the previous client secret kept after a
-- rotation, resource grants and sign-on policy assignments.

-- The secret an application had before its last rotation, sealed like the
-- current one, and accepted by the token endpoint until it expires.
ALTER TABLE applications ADD COLUMN previous_secret_sealed {{BLOB}};
ALTER TABLE applications ADD COLUMN previous_secret_expires_at BIGINT;
ALTER TABLE applications ADD COLUMN previous_secret_last_used BIGINT;

-- One grant per (application, resource), as PingOne allows.
CREATE TABLE application_grants (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    resource_id    TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT application_grants_resource UNIQUE (application_id, resource_id)
);
CREATE INDEX application_grants_env ON application_grants (environment_id, application_id);
CREATE INDEX application_grants_res ON application_grants (resource_id);

-- A grant's scopes are rows, not a JSON list, so that deleting a scope
-- takes it out of every grant instead of leaving a dangling id.
CREATE TABLE application_grant_scopes (
    grant_id TEXT NOT NULL REFERENCES application_grants(id) ON DELETE CASCADE,
    scope_id TEXT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (grant_id, scope_id)
);
CREATE INDEX application_grant_scopes_scope ON application_grant_scopes (scope_id);

CREATE TABLE sign_on_policy_assignments (
    id                TEXT PRIMARY KEY,
    environment_id    TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    application_id    TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    sign_on_policy_id TEXT NOT NULL REFERENCES sign_on_policies(id) ON DELETE CASCADE,
    priority          INTEGER NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    CONSTRAINT sop_assignments_priority UNIQUE (application_id, priority),
    CONSTRAINT sop_assignments_policy UNIQUE (application_id, sign_on_policy_id)
);
CREATE INDEX sop_assignments_env ON sign_on_policy_assignments (environment_id, application_id);
CREATE INDEX sop_assignments_sop ON sign_on_policy_assignments (sign_on_policy_id);

-- Resource attribute mappings: the claims a resource's access tokens (and,
-- for the openid resource, ID tokens and userinfo) carry, each mapped from
-- an expression over the user (${user.email}). A claim name is unique per
-- resource, whatever its case.

CREATE TABLE resource_attributes (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    resource_id    TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    name_lc        {{KEYTEXT}} NOT NULL,
    value          TEXT NOT NULL,
    type           TEXT NOT NULL,
    id_token       {{BOOL}} NOT NULL,
    user_info      {{BOOL}} NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT resource_attributes_name UNIQUE (resource_id, name_lc)
);
CREATE INDEX resource_attributes_env ON resource_attributes (environment_id, resource_id);

-- A password policy's populationCount and its delete guard count the
-- populations that use it.
CREATE INDEX populations_password_policy ON populations (environment_id, password_policy_id);

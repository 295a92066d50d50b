-- Application attribute mappings: the claims an OpenID Connect
-- application's ID tokens and userinfo carry besides the openid resource's,
-- each mapped from an expression (${user.accountId}). A claim name is unique
-- per application, whatever its case. oidc_scopes is a JSON array of scope
-- ids: when not empty, the claim is released only with one of them.
--
-- DeleteEnvironment deletes an environment's mappings before the
-- environment row: this table references environments after
-- config_versions does (see version.go and 0009_themes.sql).

CREATE TABLE application_attributes (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    name_lc        {{KEYTEXT}} NOT NULL,
    value          TEXT NOT NULL,
    mapping_type   TEXT NOT NULL,
    required       {{BOOL}} NOT NULL,
    id_token       {{BOOL}} NOT NULL,
    user_info      {{BOOL}} NOT NULL,
    oidc_scopes    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT application_attributes_name UNIQUE (application_id, name_lc)
);
CREATE INDEX application_attributes_env ON application_attributes (environment_id, application_id);

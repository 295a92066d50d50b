-- An environment's configuration version: every committed write of what
-- nodes cache (applications, resources, sign-on policies, identity
-- providers, the environment itself) adds one, in the writing transaction,
-- so that another node comparing versions sees the change. An environment
-- that was never changed has no row: its version is 0.

CREATE TABLE config_versions (
    environment_id TEXT PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
    version        BIGINT NOT NULL
);

-- Caches load an environment's actions in one query.
CREATE INDEX sign_on_policy_actions_env ON sign_on_policy_actions (environment_id, sign_on_policy_id, priority);

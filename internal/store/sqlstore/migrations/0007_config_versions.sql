-- An environment's configuration version: every committed write of what
-- nodes cache (applications, resources, sign-on policies, identity
-- providers, the environment itself) adds one, in the writing transaction,
-- so that another node comparing versions sees the change.
--
-- Every environment has its row from its creation (CreateEnvironment
-- inserts it at 0; this migration gives existing environments theirs), so
-- that a bump is an UPDATE of that row alone. A bump that inserted the row
-- would check its foreign key, waiting on the environment row: on
-- PostgreSQL that deadlocked with DeleteEnvironment, which holds the
-- environment row while its cascade waits on rows the writer holds.

CREATE TABLE config_versions (
    environment_id TEXT PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
    version        BIGINT NOT NULL
);

INSERT INTO config_versions (environment_id, version) SELECT id, 0 FROM environments;

-- Caches load an environment's actions in one query.
CREATE INDEX sign_on_policy_actions_env ON sign_on_policy_actions (environment_id, sign_on_policy_id, priority);

-- Audit activities (PingOne's /activities): who did what, when.
--
-- seq is the store's own order: ascending in insert order across
-- environments, never reused (AUTOINCREMENT on SQLite; an identity on
-- PostgreSQL), and the cursor webhook deliveries follow. On PostgreSQL a
-- writer takes a transaction-level advisory lock before it draws its
-- sequence values (see activity.go), so inserts commit in seq order and a
-- reader never sees a higher seq before a lower one commits.
--
-- The record itself is JSON in data; what a filter, a lookup or the purge
-- reads has a column: the actors' ids and the user's name, the action's
-- type, the result's status, the correlation id, the tags (as ",a,b,").
-- A list is a time range of one environment, newest first: every filter
-- path has an index that starts with the environment and ends with
-- (recorded_at, seq), so a page reads its rows in order and stops.
--
-- activities references environments after config_versions does, so
-- DeleteEnvironment deletes them itself before the environment row (see
-- 0009_themes.sql); resources go with their activity.

CREATE TABLE activities (
{{SQLITE}}    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
{{PG}}    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    recorded_at    BIGINT NOT NULL,
    action_type    {{KEYTEXT}} NOT NULL,
    result_status  {{KEYTEXT}} NOT NULL,
    client_id      {{KEYTEXT}} NOT NULL,
    user_id        {{KEYTEXT}} NOT NULL,
    user_name      {{KEYTEXT}} NOT NULL,
    correlation_id {{KEYTEXT}} NOT NULL,
    tags           TEXT NOT NULL,
    data           TEXT NOT NULL,
    CONSTRAINT activities_id UNIQUE (id)
);
CREATE INDEX activities_env_time ON activities (environment_id, recorded_at, seq);
CREATE INDEX activities_action ON activities (environment_id, action_type, recorded_at, seq);
CREATE INDEX activities_user ON activities (environment_id, user_id, recorded_at, seq);
CREATE INDEX activities_user_name ON activities (environment_id, user_name, recorded_at, seq);
CREATE INDEX activities_client ON activities (environment_id, client_id, recorded_at, seq);
CREATE INDEX activities_correlation ON activities (environment_id, correlation_id, recorded_at, seq);
-- Retention purges by age across environments.
CREATE INDEX activities_recorded ON activities (recorded_at);

-- The resources an activity acted on, one row each, with the activity's
-- environment and time copied so that a filter on a resource reads its
-- own index over the time range.
CREATE TABLE activity_resources (
    activity_seq   BIGINT NOT NULL REFERENCES activities(seq) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    environment_id TEXT NOT NULL,
    recorded_at    BIGINT NOT NULL,
    resource_id    {{KEYTEXT}} NOT NULL,
    type           {{KEYTEXT}} NOT NULL,
    population_id  {{KEYTEXT}} NOT NULL,
    PRIMARY KEY (activity_seq, position)
);
CREATE INDEX activity_resources_id ON activity_resources (environment_id, resource_id, recorded_at);
CREATE INDEX activity_resources_type ON activity_resources (environment_id, type, recorded_at);
CREATE INDEX activity_resources_population ON activity_resources (environment_id, population_id, recorded_at);

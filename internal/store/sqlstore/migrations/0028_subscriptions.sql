-- Webhook subscriptions: PingOne's subscriptions, and where each one's
-- delivery stands.
--
-- What the dispatcher reads or conditions on has a column: the cursor (the
-- Seq of the last activity dealt with), the failed attempts at the next
-- one, when to try again, the last error, the dead-letter count and the
-- lease (which node delivers it, until when). The filter options are JSON
-- in PingOne's shape; the endpoint's headers are sealed (they carry the
-- receiver's credentials).
--
-- Names need not be unique (PingOne documents no such rule).
--
-- due_subscriptions serves DueSubscriptions, which reads every
-- environment: enabled rows by when they are due.
--
-- A dead letter is an activity a subscription gave up on; it goes with its
-- subscription. The activity itself stays in activities (it names it by id
-- and Seq) until retention purges it.
--
-- activities_env_seq serves a subscription's reads: its environment's
-- activities after its cursor, by Seq (EnvironmentActivitiesAfter).
--
-- These tables reference environments after config_versions does:
-- DeleteEnvironment empties them before the environment row (see
-- 0009_themes.sql and version.go).

CREATE TABLE subscriptions (
    id                  TEXT PRIMARY KEY,
    environment_id      TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    enabled             {{BOOL}} NOT NULL,
    format              TEXT NOT NULL,
    url                 TEXT NOT NULL,
    verify_tls          {{BOOL}} NOT NULL,
    headers_sealed      {{BLOB}},
    data                TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    cursor_seq          BIGINT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT NOT NULL DEFAULT 0,
    last_error          TEXT NOT NULL DEFAULT '',
    last_error_at       BIGINT NOT NULL DEFAULT 0,
    last_delivered_at   BIGINT NOT NULL DEFAULT 0,
    dead_letters        BIGINT NOT NULL DEFAULT 0,
    last_dead_letter_at BIGINT NOT NULL DEFAULT 0,
    lease_owner         TEXT NOT NULL DEFAULT '',
    lease_until         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX subscriptions_environment ON subscriptions (environment_id, id);
CREATE INDEX due_subscriptions ON subscriptions (enabled, next_attempt_at);

CREATE TABLE subscription_dead_letters (
    id              TEXT PRIMARY KEY,
    environment_id  TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    activity_id     TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    attempts        INTEGER NOT NULL,
    error           TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX subscription_dead_letters_subscription ON subscription_dead_letters (environment_id, subscription_id, seq);

CREATE INDEX activities_env_seq ON activities (environment_id, seq);

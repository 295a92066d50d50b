-- Notifications: phone delivery settings (an environment's SMS and voice
-- providers; data holds their configuration as JSON, secret their sealed
-- credentials) and the contents administrators add to notification
-- templates (one per template, delivery method, locale and variant,
-- whatever the case; the predefined contents are not stored).
--
-- DeleteEnvironment deletes both before the environment row: these
-- tables reference environments after config_versions does (see
-- version.go and 0009_themes.sql).

CREATE TABLE phone_delivery_settings (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    provider       TEXT NOT NULL,
    data           TEXT NOT NULL,
    secret         {{BLOB}} NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX phone_delivery_settings_env ON phone_delivery_settings (environment_id, created_at);

CREATE TABLE template_contents (
    id              TEXT PRIMARY KEY,
    environment_id  TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    template        TEXT NOT NULL,
    delivery_method TEXT NOT NULL,
    locale          TEXT NOT NULL,
    locale_lc       {{KEYTEXT}} NOT NULL,
    variant         TEXT NOT NULL,
    variant_lc      {{KEYTEXT}} NOT NULL,
    data            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CONSTRAINT template_contents_locale UNIQUE (environment_id, template, delivery_method, locale_lc, variant_lc)
);

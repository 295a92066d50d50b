-- Branding themes. Every environment has a default theme from its creation
-- (PingOne's "Ping Default"); this migration gives existing environments
-- theirs, with the values the environment's creation writes.
--
-- DeleteEnvironment deletes an environment's themes before the environment
-- row: this table references environments after config_versions does, and
-- a cascade reaching it last would wait on a theme writer that waits on the
-- version row the cascade holds (see version.go).

CREATE TABLE themes (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    template       TEXT NOT NULL,
    is_default     {{BOOL}} NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX themes_env ON themes (environment_id, id);
CREATE UNIQUE INDEX themes_default ON themes (environment_id) WHERE is_default;

-- A population's theme: "" is the environment's default theme. Themes
-- named before this migration named nothing (there were none), so every
-- population starts on the default.
ALTER TABLE populations ADD COLUMN theme_id TEXT NOT NULL DEFAULT '';

INSERT INTO themes (id, environment_id, template, is_default, data, created_at, updated_at)
SELECT {{UUID}}, id, 'default', {{TRUE}},
 '{"name":"Ping Default","logoType":"NONE","backgroundType":"DEFAULT","backgroundColor":"#ededed","bodyTextColor":"#686f77","buttonColor":"#007CBA","buttonTextColor":"#ffffff","cardColor":"#ffffff","headingTextColor":"#686f77","linkTextColor":"#007CBA"}',
 created_at, created_at
FROM environments;

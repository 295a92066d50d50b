-- Agreements: PingOne's agreements, their languages and revisions, and
-- users' consents to them.
--
-- An agreement's description and reconsent period, a language's display
-- name and user experience texts are JSON in PingOne's shape; what a
-- lookup, a rule or a uniqueness constraint reads has a column. A
-- language's locale is unique per agreement whatever its case; a
-- revision's effective time is unique per language (PingOne). A revision
-- never changes once written (PingOne has no update for it), and its text
-- is read alone (lists leave it out).
--
-- A consent is the latest answer of a user to an agreement: one row per
-- user and agreement, naming the language and revision accepted, when,
-- until when, and whether it was revoked since. It goes with its user, its
-- agreement, its language and its revision.
--
-- These tables reference environments after config_versions does:
-- DeleteEnvironment empties them before the environment row (see
-- 0009_themes.sql and version.go).

CREATE TABLE agreements (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    enabled        {{BOOL}} NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX agreements_environment ON agreements (environment_id, id);

CREATE TABLE agreement_languages (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    agreement_id   TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    locale         TEXT NOT NULL,
    locale_lc      {{KEYTEXT}} NOT NULL,
    enabled        {{BOOL}} NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT agreement_languages_locale UNIQUE (agreement_id, locale_lc)
);
CREATE INDEX agreement_languages_environment ON agreement_languages (environment_id, agreement_id);

CREATE TABLE agreement_revisions (
    id                TEXT PRIMARY KEY,
    environment_id    TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    agreement_id      TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    language_id       TEXT NOT NULL REFERENCES agreement_languages(id) ON DELETE CASCADE,
    effective_at      BIGINT NOT NULL,
    content_type      TEXT NOT NULL,
    require_reconsent {{BOOL}} NOT NULL,
    text              TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    CONSTRAINT agreement_revisions_effective UNIQUE (language_id, effective_at)
);
CREATE INDEX agreement_revisions_agreement ON agreement_revisions (environment_id, agreement_id, language_id, effective_at);

CREATE TABLE agreement_consents (
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    agreement_id   TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
    language_id    TEXT NOT NULL REFERENCES agreement_languages(id) ON DELETE CASCADE,
    revision_id    TEXT NOT NULL REFERENCES agreement_revisions(id) ON DELETE CASCADE,
    consented_at   BIGINT NOT NULL,
    expires_at     BIGINT,
    revoked_at     BIGINT,
    PRIMARY KEY (environment_id, user_id, agreement_id)
);
-- The cascades from agreements, languages and revisions find their
-- consents through these.
CREATE INDEX agreement_consents_agreement ON agreement_consents (agreement_id, environment_id);
CREATE INDEX agreement_consents_language ON agreement_consents (language_id);
CREATE INDEX agreement_consents_revision ON agreement_consents (revision_id);
CREATE INDEX agreement_consents_user ON agreement_consents (user_id);

-- An agreement a sign-on policy's AGREEMENT action names is not deleted
-- (AgreementInUse): that lookup reads this index.
{{PG}}CREATE INDEX sign_on_policy_actions_agreement ON sign_on_policy_actions (environment_id, (data::jsonb #>> '{agreement,id}')) WHERE type = 'AGREEMENT';
{{SQLITE}}CREATE INDEX sign_on_policy_actions_agreement ON sign_on_policy_actions (environment_id, json_extract(data, '$.agreement.id')) WHERE type = 'AGREEMENT';

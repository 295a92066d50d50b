-- Groups (PingOne's /groups): environment-wide groups (population_id '')
-- and population groups, users' direct memberships, and nestings (a group
-- that is a member of another: its members are members of the other too).
--
-- PingOne lets population groups reuse a name across populations, but not
-- the name of an environment-wide group: the unique constraint covers a
-- population's own names (any case) and the store's writers, serialised by
-- a per-environment lock, refuse the rest.
--
-- groups references environments after config_versions does, so
-- DeleteEnvironment deletes the groups itself before the environment row
-- (see 0009_themes.sql); memberships and nestings reference no environment
-- and go with their users and groups.

CREATE TABLE groups (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    population_id  TEXT NOT NULL,
    name           TEXT NOT NULL,
    name_lc        {{KEYTEXT}} NOT NULL,
    external_id    {{KEYTEXT}} NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT groups_name UNIQUE (environment_id, population_id, name_lc)
);
-- Lists page in id order; filters on name, externalId and population.id
-- have an index each that ends in id.
CREATE INDEX groups_env_id ON groups (environment_id, id);
CREATE INDEX groups_name_lc ON groups (environment_id, name_lc, id);
CREATE INDEX groups_external_id ON groups (environment_id, external_id, id);
CREATE INDEX groups_population ON groups (environment_id, population_id, id);

-- A user's direct membership of a group. The primary key serves a user's
-- groups; group_memberships_group serves a group's members (counts, the
-- users filter memberOfGroups[id eq …]) and the cascade from groups.
CREATE TABLE group_memberships (
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id       TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    environment_id TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX group_memberships_group ON group_memberships (group_id, user_id);

-- group_id is a member of parent_id. The primary key walks up (a group's
-- parents: a user's nested groups); group_nestings_parent walks down (a
-- group's nested groups: total member counts, the users filter).
CREATE TABLE group_nestings (
    group_id       TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    parent_id      TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    environment_id TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (group_id, parent_id)
);
CREATE INDEX group_nestings_parent ON group_nestings (parent_id, group_id);

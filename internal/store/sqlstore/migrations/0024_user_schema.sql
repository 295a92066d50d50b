-- User schema: the attributes of an environment's user schema that differ
-- from PingOne's defaults, and the values users claim of unique ones.
--
-- Core and standard attributes nobody changed have no row (their ids are
-- derived from the environment's and their name). A custom attribute has
-- one, and so has a standard one whose enabled, unique or regexValidation
-- was set. The name is unique per environment whatever its case; the rest
-- is one JSON document in PingOne's shape (wire.SchemaAttributeRules).
-- DeleteEnvironment deletes the attributes before the environment row, as
-- it does FIDO2 policies (see 0022_fido2.sql).

CREATE TABLE schema_attributes (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    name_lc        {{KEYTEXT}} NOT NULL,
    schema_type    TEXT NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT schema_attributes_name UNIQUE (environment_id, name_lc)
);

-- A value a user holds of a unique attribute. The primary key is the
-- uniqueness: two users of an environment cannot claim one value of one
-- attribute, whichever write commits first. The rows go with their user
-- and with their attribute; user_unique_values_user serves replacing a
-- user's values.
CREATE TABLE user_unique_values (
    environment_id TEXT NOT NULL,
    attribute_id   TEXT NOT NULL REFERENCES schema_attributes(id) ON DELETE CASCADE,
    value          {{KEYTEXT}} NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    CONSTRAINT user_unique_values_pk PRIMARY KEY (environment_id, attribute_id, value)
);
CREATE INDEX user_unique_values_user ON user_unique_values (user_id);
CREATE INDEX user_unique_values_attribute ON user_unique_values (attribute_id);

-- Certificates uploaded to an environment (PingOne's /certificates):
-- public certificates only, trusted to verify a SAML partner's
-- signatures. The columns repeat what the DER says, for lists.
CREATE TABLE certificates (
    id                  TEXT PRIMARY KEY,
    environment_id      TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    algorithm           TEXT NOT NULL,
    key_length          INTEGER NOT NULL,
    signature_algorithm TEXT NOT NULL,
    subject_dn          TEXT NOT NULL,
    issuer_dn           TEXT NOT NULL,
    usage_type          TEXT NOT NULL,
    serial_number       TEXT NOT NULL,
    starts_at           BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    certificate         {{BLOB}} NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX certificates_env ON certificates (environment_id, created_at, id);

-- A SAML application's spEntityId names it in every AuthnRequest, so it
-- is unique within its environment (PingOne: "unique within the
-- environment"). As devicePathId, it is indexed where it is kept, in the
-- JSON data; OIDC applications index NULL, which never clashes.
CREATE UNIQUE INDEX applications_sp_entity_id ON applications (environment_id, ((data{{JSONB}}) ->> 'spEntityId'));

-- A SAML application's attribute mappings carry the attribute's
-- NameFormat (basic, uri, unspecified); OIDC claims have none.
ALTER TABLE application_attributes ADD COLUMN name_format TEXT NOT NULL DEFAULT '';

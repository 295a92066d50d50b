-- FIDO2: PingOne's FIDO2 policies, and the credential of a user's FIDO2
-- device.
--
-- A FIDO2 policy's name is unique per environment whatever its case, as a
-- device authentication policy's is; an environment has one default.
-- Everything but identity, name and the default flag is one JSON document
-- in PingOne's shape (wire.FIDO2PolicyData). DeleteEnvironment deletes the
-- policies before the environment row, as it does device authentication
-- policies (see 0017_mfa_config.sql).

CREATE TABLE fido2_policies (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    name_lc        {{KEYTEXT}} NOT NULL,
    is_default     {{BOOL}} NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT fido2_policies_name UNIQUE (environment_id, name_lc)
);
CREATE UNIQUE INDEX fido2_policies_default ON fido2_policies (environment_id) WHERE is_default;

-- Every environment made before this migration gets the FIDO2 policies a
-- new environment gets (provision.DefaultFIDO2Policies; a test holds the
-- two equal).
INSERT INTO fido2_policies (id, environment_id, name, name_lc, is_default, data, created_at, updated_at)
SELECT {{UUID}}, id, 'Passkeys', 'passkeys', {{TRUE}},
 '{"description":"Passkeys FIDO Policy","attestationRequirements":"NONE","authenticatorAttachment":"BOTH","backupEligibility":{"allow":true,"enforceDuringAuthentication":false},"deviceDisplayName":"fidoPolicy.deviceDisplayName01","discoverableCredentials":"REQUIRED","mdsAuthenticatorsRequirements":{"option":"NONE","enforceDuringAuthentication":false},"relyingPartyId":"","userDisplayNameAttributes":{"attributes":[{"name":"name","subAttributes":[{"name":"given"},{"name":"family"}]},{"name":"username"}]},"userVerification":{"option":"REQUIRED","enforceDuringAuthentication":true},"userPresenceTimeout":{"duration":2,"timeUnit":"MINUTES"}}',
 created_at, created_at
FROM environments;
INSERT INTO fido2_policies (id, environment_id, name, name_lc, is_default, data, created_at, updated_at)
SELECT {{UUID}}, id, 'Security Keys', 'security keys', {{FALSE}},
 '{"description":"Security Keys FIDO Policy","attestationRequirements":"DIRECT","authenticatorAttachment":"CROSS_PLATFORM","backupEligibility":{"allow":false,"enforceDuringAuthentication":false},"deviceDisplayName":"fidoPolicy.deviceDisplayName02","discoverableCredentials":"DISCOURAGED","mdsAuthenticatorsRequirements":{"option":"AUDIT_ONLY","enforceDuringAuthentication":false},"relyingPartyId":"","userDisplayNameAttributes":{"attributes":[{"name":"name","subAttributes":[{"name":"given"},{"name":"family"}]},{"name":"username"}]},"userVerification":{"option":"DISCOURAGED","enforceDuringAuthentication":false},"userPresenceTimeout":{"duration":2,"timeUnit":"MINUTES"}}',
 created_at, created_at
FROM environments;

-- The default device authentication policy of an environment made before
-- this migration gets the fido2 member a new environment's has
-- (provision.DefaultDeviceAuthenticationPolicy): FIDO2 enabled, with the
-- environment's default FIDO2 policy. A policy that has a fido2 member
-- (kept as sent until now) keeps it.
{{PG}}UPDATE device_authentication_policies SET data = jsonb_set(data::jsonb, '{fido2}',
{{PG}}    '{"enabled":true,"pairingDisabled":false,"promptForNicknameOnPairing":false,"fido2PolicyId":null,"failure":{"count":3,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}'::jsonb)::text
{{PG}}WHERE is_default AND (data::jsonb -> 'fido2') IS NULL;
{{SQLITE}}UPDATE device_authentication_policies SET data = json_set(data, '$.fido2',
{{SQLITE}}    json('{"enabled":true,"pairingDisabled":false,"promptForNicknameOnPairing":false,"fido2PolicyId":null,"failure":{"count":3,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}'))
{{SQLITE}}WHERE is_default AND json_type(data, '$.fido2') IS NULL;

-- A FIDO2 device's credential id (base64url, no padding): an assertion
-- finds its device by it, and one credential is one device of an
-- environment. NULL for every other type.
ALTER TABLE mfa_devices ADD COLUMN credential_id {{KEYTEXT}};
CREATE UNIQUE INDEX mfa_devices_credential ON mfa_devices (environment_id, credential_id) WHERE credential_id IS NOT NULL;

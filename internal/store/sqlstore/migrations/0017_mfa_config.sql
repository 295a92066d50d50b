-- PingOne MFA configuration: device authentication policies ("MFA
-- policies") and an environment's MFA settings. A policy's name is unique
-- per environment whatever its case; an environment has one default
-- policy. Everything but identity, name and the default flag is one JSON
-- document in PingOne's shape (wire.DeviceAuthenticationPolicyData).
--
-- mfa_settings holds an environment's settings once they are set; an
-- environment without a row has PingOne's defaults (a reset deletes it).
--
-- DeleteEnvironment deletes both before the environment row: these tables
-- reference environments after config_versions does (see 0009_themes.sql).

CREATE TABLE device_authentication_policies (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    name_lc        {{KEYTEXT}} NOT NULL,
    is_default     {{BOOL}} NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT device_authentication_policies_name UNIQUE (environment_id, name_lc)
);
CREATE UNIQUE INDEX device_authentication_policies_default ON device_authentication_policies (environment_id) WHERE is_default;

CREATE TABLE mfa_settings (
    environment_id TEXT PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
    data           TEXT NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- Every environment made before this migration gets the default policy a
-- new environment gets (provision.DefaultDeviceAuthenticationPolicy; a
-- test holds the two equal).
INSERT INTO device_authentication_policies (id, environment_id, name, name_lc, is_default, data, created_at, updated_at)
SELECT {{UUID}}, id, 'Default MFA Policy', 'default mfa policy', {{TRUE}},
 '{"authentication":{"deviceSelection":"DEFAULT_TO_FIRST"},"newDeviceNotification":"NONE","ignoreUserLock":false,"sms":{"enabled":false,"pairingDisabled":false,"promptForNicknameOnPairing":false,"otp":{"lifeTime":{"duration":30,"timeUnit":"MINUTES"},"failure":{"count":3,"coolDown":{"duration":0,"timeUnit":"MINUTES"}},"otpLength":6}},"voice":{"enabled":false,"pairingDisabled":false,"promptForNicknameOnPairing":false,"otp":{"lifeTime":{"duration":30,"timeUnit":"MINUTES"},"failure":{"count":3,"coolDown":{"duration":0,"timeUnit":"MINUTES"}},"otpLength":6}},"email":{"enabled":true,"pairingDisabled":false,"promptForNicknameOnPairing":false,"otp":{"lifeTime":{"duration":30,"timeUnit":"MINUTES"},"failure":{"count":3,"coolDown":{"duration":0,"timeUnit":"MINUTES"}},"otpLength":6}},"totp":{"enabled":true,"pairingDisabled":false,"promptForNicknameOnPairing":false,"passcodeGracePeriod":5,"otp":{"failure":{"count":3,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}},"mobile":{"enabled":true,"otp":{"failure":{"count":3,"coolDown":{"duration":2,"timeUnit":"MINUTES"}}}}}',
 created_at, created_at
FROM environments;

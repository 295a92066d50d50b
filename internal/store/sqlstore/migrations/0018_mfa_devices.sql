-- Users' MFA devices (PingOne's users/{id}/devices): an email address or a
-- phone number that receives one-time passcodes, or a TOTP app's shared
-- secret (sealed; never readable through the API after creation).
-- totp_step is the last TOTP time step accepted: a conditional update
-- (totp_step < the new step) refuses a replayed code even when two checks
-- race. sort_order ranks a user's devices (0: unordered, after the ordered
-- ones, oldest first). data holds PingOne's long tail and the pending
-- pairing challenge of a device awaiting activation.
--
-- Neither table references environments: an environment's delete reaches
-- them through its users' cascade, so config_versions stays the last table
-- the delete cascades to directly (see version.go).
CREATE TABLE mfa_devices (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type           TEXT NOT NULL,
    status         TEXT NOT NULL,
    nickname       TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    secret         {{BLOB}},
    totp_step      BIGINT NOT NULL DEFAULT 0,
    sort_order     INTEGER NOT NULL DEFAULT 0,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
-- Every read is a user's devices in their order; the cascade from users
-- deletes through user_id.
CREATE INDEX mfa_devices_user ON mfa_devices (environment_id, user_id, sort_order, created_at, id);
CREATE INDEX mfa_devices_user_id ON mfa_devices (user_id);

-- A user's MFA lockout (PingOne's MFA settings lockout): wrong passcodes
-- in a row, and until when the user's MFA is locked (milliseconds; 0 =
-- not locked). No row: no failures.
CREATE TABLE mfa_lockouts (
    user_id        TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    environment_id TEXT NOT NULL,
    failures       INTEGER NOT NULL,
    locked_until   BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

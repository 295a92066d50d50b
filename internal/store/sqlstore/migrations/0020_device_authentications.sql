-- Device authentications (PingOne's /{envId}/deviceAuthentications): an
-- MFA-only flow for one user, started by an application without
-- authorize. status is the flow's (DEVICE_SELECTION_REQUIRED,
-- OTP_REQUIRED, COMPLETED, FAILED); data holds the policy, the selected
-- device and the one outstanding passcode challenge (its hash, never the
-- code). Every step is a conditional update on version, so two racing
-- steps cannot both apply and a passcode is used once. A deleted user
-- takes its device authentications along; expired rows go with the
-- batched purge.
CREATE TABLE device_authentications (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    version        INTEGER NOT NULL,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX device_authentications_env ON device_authentications (environment_id);
CREATE INDEX device_authentications_app ON device_authentications (application_id);
CREATE INDEX device_authentications_user ON device_authentications (user_id);
CREATE INDEX device_authentications_expires ON device_authentications (expires_at);

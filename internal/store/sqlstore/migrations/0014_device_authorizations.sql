-- Device authorizations (RFC 8628): what /as/device_authorization handed
-- a device, kept by the SHA-256 of its device_code (the device polls with
-- it) and of its user_code (the user types it), never the codes
-- themselves. status moves once from PENDING to APPROVED or DENIED when
-- the user decides, and once from APPROVED to REDEEMED when the device's
-- poll takes the tokens; last_polled_at and poll_interval let the token
-- endpoint answer slow_down. Purged with the other expired rows.
CREATE TABLE device_authorizations (
    device_code_hash TEXT PRIMARY KEY,
    user_code_hash   TEXT NOT NULL,
    environment_id   TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    application_id   TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    session_id       TEXT NOT NULL,
    data             TEXT NOT NULL,
    poll_interval    INTEGER NOT NULL,
    last_polled_at   BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    CONSTRAINT device_authorizations_user_code UNIQUE (environment_id, user_code_hash)
);
CREATE INDEX device_authorizations_app ON device_authorizations (application_id);
CREATE INDEX device_authorizations_expires ON device_authorizations (expires_at);

-- Pushed authorization requests (RFC 9126): the parameters a client
-- pushed to /as/par, kept by the SHA-256 of their request_uri until
-- authorize takes them (once) or they expire and go with the batched
-- purge.
CREATE TABLE pushed_requests (
    uri_hash       TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX pushed_requests_env ON pushed_requests (environment_id);
CREATE INDEX pushed_requests_app ON pushed_requests (application_id);
CREATE INDEX pushed_requests_expires ON pushed_requests (expires_at);

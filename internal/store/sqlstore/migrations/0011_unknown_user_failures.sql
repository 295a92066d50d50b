-- Wrong passwords typed for usernames that name no user count down and
-- lock like a user's (RecordUnknownUserFailure), in the store so that
-- every node agrees, as they do for users. A row is keyed by a hash of the
-- lower-cased username and goes with the batched purge once it expires.
CREATE TABLE unknown_user_failures (
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    username_hash  TEXT NOT NULL,
    failed_count   INTEGER NOT NULL,
    locked_until   BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    PRIMARY KEY (environment_id, username_hash)
);
CREATE INDEX unknown_user_failures_expires ON unknown_user_failures (expires_at);

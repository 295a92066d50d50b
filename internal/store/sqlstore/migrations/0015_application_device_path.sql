-- An application's devicePathId names it on the device verification page
-- (/{envId}/device/{devicePathId}), so no two applications of an
-- environment may share one. The management API checked this by reading
-- the environment's applications first, which two concurrent writes could
-- both pass; this index makes the database refuse the second. It indexes
-- the setting where it is kept, in the JSON data, so the two cannot
-- drift apart; applications without one index NULL, which never clashes.
-- (devicePathId is as old as its read-first check, so no environment
-- holds a duplicate for this to trip over.)
CREATE UNIQUE INDEX applications_device_path ON applications (environment_id, ((data{{JSONB}}) ->> 'devicePathId'));

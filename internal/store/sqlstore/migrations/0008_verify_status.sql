-- Email verification in sign-on flows (user.verify) used to write
-- verifyStatus VERIFIED, which is not one of PingOne's values
-- (NOT_INITIATED, ENABLED, DISABLED): the management API then refused to
-- PUT or PATCH such a user back. Verification now leaves verifyStatus
-- alone; users it wrote before get the value they had.
UPDATE users SET verify_status = 'NOT_INITIATED' WHERE verify_status = 'VERIFIED';

-- A hybrid response ("code token", "code id_token token") carries an
-- access token from the authorization endpoint beside its code. The code's
-- row names that token (front_access_jti, front_access_expires_at; NULL
-- for any other response type), so that a replayed code denies it with
-- the rest of its grant (RFC 6749 §4.1.2). Read only through the grant
-- and session indexes the revocation already uses.
ALTER TABLE auth_codes ADD COLUMN front_access_jti TEXT;
ALTER TABLE auth_codes ADD COLUMN front_access_expires_at BIGINT;

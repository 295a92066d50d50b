-- A user's sessions, most recently active first (the user sessions API).
CREATE INDEX sessions_user_active ON sessions (environment_id, user_id, last_used_at);

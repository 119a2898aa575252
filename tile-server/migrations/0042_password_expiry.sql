-- Passwords expire (issue #14): `password_changed_at` + the server's
-- `password_max_age_days`, and an administrator can mark a password for change at
-- the next login (`tile-server expire-password`). Existing users count from now.
-- cadastre_app already has SELECT/INSERT/UPDATE on users (0005).
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;

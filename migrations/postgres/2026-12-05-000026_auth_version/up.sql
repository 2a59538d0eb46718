-- "Log out everywhere" with any session store: a session remembers the
-- version its user had when signing in, and counts only while it is still
-- the user's version; a password change, reset or two-factor change
-- increments it.
ALTER TABLE accounts_user ADD COLUMN auth_version BIGINT NOT NULL DEFAULT 0;

ALTER TABLE accounts_user DROP COLUMN auth_version;

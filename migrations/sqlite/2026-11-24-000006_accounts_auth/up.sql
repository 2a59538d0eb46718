-- Everything Django's auth offers beyond the user row: verification,
-- avatars, two-factor secrets, addresses, groups and permissions, and a
-- log of failed logins for throttling.
ALTER TABLE accounts_user ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE accounts_user ADD COLUMN avatar TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts_user ADD COLUMN totp_secret TEXT;
-- The last 30-second step a code was accepted for: a code works once.
ALTER TABLE accounts_user ADD COLUMN totp_last_step BIGINT;
-- An email change waiting for its link: only the latest request's link works.
ALTER TABLE accounts_user ADD COLUMN pending_email TEXT;
-- Accounts made before verification existed (staff from the CLI) count as verified.
UPDATE accounts_user SET email_verified = TRUE;

-- Which user a session belongs to, so a password change can end the others.
ALTER TABLE core_session ADD COLUMN user_id BIGINT;
CREATE INDEX core_session_user_id ON core_session (user_id);

CREATE TABLE accounts_recovery_code (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES accounts_user (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX accounts_recovery_code_user ON accounts_recovery_code (user_id);

CREATE TABLE accounts_login_failure (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    account TEXT NOT NULL,
    client TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX accounts_login_failure_account ON accounts_login_failure (account, failed_at);
CREATE INDEX accounts_login_failure_client ON accounts_login_failure (client, failed_at);

CREATE TABLE accounts_address (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES accounts_user (id) ON DELETE CASCADE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    address TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX accounts_address_user ON accounts_address (user_id);
CREATE UNIQUE INDEX accounts_address_one_default ON accounts_address (user_id) WHERE is_default;

CREATE TABLE accounts_group (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE
);

-- One row per model and action: 'products.change_product'.
CREATE TABLE accounts_permission (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    codename TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE accounts_group_permission (
    group_id BIGINT NOT NULL REFERENCES accounts_group (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES accounts_permission (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, permission_id)
);

CREATE TABLE accounts_user_group (
    user_id BIGINT NOT NULL REFERENCES accounts_user (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES accounts_group (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);

CREATE TABLE accounts_user_permission (
    user_id BIGINT NOT NULL REFERENCES accounts_user (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES accounts_permission (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, permission_id)
);

INSERT INTO accounts_permission (codename, name)
SELECT m.app || '.' || a.action || '_' || m.model,
       'Can ' || a.action || ' ' || m.label
FROM (
    SELECT 'accounts' AS app, 'user' AS model, 'user' AS label
    UNION ALL SELECT 'accounts', 'group', 'group'
    UNION ALL SELECT 'accounts', 'address', 'address'
    UNION ALL SELECT 'products', 'category', 'category'
    UNION ALL SELECT 'products', 'product', 'product'
    UNION ALL SELECT 'orders', 'order', 'order'
    UNION ALL SELECT 'orders', 'line', 'order line'
    UNION ALL SELECT 'payments', 'payment', 'payment'
    UNION ALL SELECT 'payments', 'transaction', 'payment transaction'
    UNION ALL SELECT 'core', 'session', 'session'
) AS m
CROSS JOIN (
    SELECT 'view' AS action UNION ALL SELECT 'add' UNION ALL SELECT 'change' UNION ALL SELECT 'delete'
) AS a;

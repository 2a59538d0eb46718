diesel::table! {
    accounts_user (id) {
        id -> BigInt,
        /// Stored lower-cased: addresses compare case-insensitively.
        email -> Text,
        password_hash -> Text,
        first_name -> Text,
        last_name -> Text,
        is_active -> Bool,
        is_staff -> Bool,
        is_superuser -> Bool,
        date_joined -> Timestamp,
        last_login -> Nullable<Timestamp>,
        email_verified -> Bool,
        /// Path under MEDIA_ROOT, or empty.
        avatar -> Text,
        /// Base32 TOTP secret once two-factor authentication is set up.
        totp_secret -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        /// An email change waiting for its confirmation link.
        pending_email -> Nullable<Text>,
        /// Sessions signed in under another version no longer count
        /// ("log out everywhere").
        auth_version -> BigInt,
    }
}

diesel::table! {
    /// Two-factor recovery codes, stored as SHA-256 of the code.
    accounts_recovery_code (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// One row per failed login, for throttling by account and by client.
    accounts_login_failure (id) {
        id -> BigInt,
        account -> Text,
        client -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    accounts_address (id) {
        id -> BigInt,
        user_id -> BigInt,
        first_name -> Text,
        last_name -> Text,
        address -> Text,
        postal_code -> Text,
        city -> Text,
        country -> Text,
        is_default -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    accounts_group (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    /// `app.action_model`, e.g. `products.change_product`.
    accounts_permission (id) {
        id -> BigInt,
        codename -> Text,
        name -> Text,
    }
}

diesel::table! {
    accounts_group_permission (group_id, permission_id) {
        group_id -> BigInt,
        permission_id -> BigInt,
    }
}

diesel::table! {
    accounts_user_group (user_id, group_id) {
        user_id -> BigInt,
        group_id -> BigInt,
    }
}

diesel::table! {
    accounts_user_permission (user_id, permission_id) {
        user_id -> BigInt,
        permission_id -> BigInt,
    }
}

diesel::joinable!(accounts_address -> accounts_user (user_id));
diesel::joinable!(accounts_recovery_code -> accounts_user (user_id));
diesel::joinable!(accounts_group_permission -> accounts_group (group_id));
diesel::joinable!(accounts_group_permission -> accounts_permission (permission_id));
diesel::joinable!(accounts_user_group -> accounts_group (group_id));
diesel::joinable!(accounts_user_group -> accounts_user (user_id));
diesel::joinable!(accounts_user_permission -> accounts_permission (permission_id));
diesel::joinable!(accounts_user_permission -> accounts_user (user_id));

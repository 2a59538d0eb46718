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
    }
}

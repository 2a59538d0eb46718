diesel::table! {
    /// Server-side session state; the cookie holds only the key.
    core_session (session_key) {
        session_key -> Text,
        data -> Text,
        expires_at -> Timestamp,
    }
}

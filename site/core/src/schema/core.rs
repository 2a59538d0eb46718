diesel::table! {
    /// Server-side session state; the cookie holds only the key.
    core_session (session_key) {
        session_key -> Text,
        data -> Text,
        expires_at -> Timestamp,
        /// The signed-in user, so a password change can end their other sessions.
        user_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Background work: queued jobs and one row per recurring job.
    core_job (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        every_seconds -> Nullable<Integer>,
        status -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        claim_token -> Text,
        claimed_by -> Text,
        last_error -> Text,
        created_at -> Timestamp,
        failed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Outgoing email, delivered by the mail worker.
    core_outbox (id) {
        id -> BigInt,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The staff admin's audit trail: every add, change, delete and action.
    admin_log (id) {
        id -> BigInt,
        action_time -> Timestamp,
        user_id -> Nullable<BigInt>,
        /// Kept as it was, should the staff account go.
        user_email -> Text,
        app -> Text,
        model -> Text,
        object_id -> BigInt,
        object_repr -> Text,
        action -> Text,
        /// The bulk action's label ("Mark shipped"), or empty.
        action_name -> Text,
        /// JSON: [{field, label, before, after}].
        changes -> Text,
    }
}

diesel::table! {
    /// Demo mode: when the data was last reset to the seeded demo.
    core_demo_reset (id) {
        id -> BigInt,
        reset_at -> Timestamp,
    }
}

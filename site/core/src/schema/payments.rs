use super::orders::orders_order;

diesel::table! {
    payments_payment (id) {
        id -> BigInt,
        order_id -> BigInt,
        provider -> Text,
        /// processing, succeeded or failed; at most one processing or
        /// succeeded payment per order (a partial unique index).
        status -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        /// Only the last four digits of a card are ever stored.
        card_last4 -> Text,
        idempotency_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// Refunded (or being refunded); never more than `amount_minor`.
        refunded_minor -> BigInt,
    }
}

diesel::table! {
    payments_transaction (id) {
        id -> BigInt,
        payment_id -> BigInt,
        kind -> Text,
        status -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        reference -> Text,
        message -> Text,
        created_at -> Timestamp,
        /// A refund's form key: one refund however often the form comes.
        idempotency_key -> Nullable<Text>,
        /// A refund's reserved plan (JSON: units, delivery, restocking).
        refund_plan -> Nullable<Text>,
    }
}

diesel::joinable!(payments_payment -> orders_order (order_id));
diesel::joinable!(payments_transaction -> payments_payment (payment_id));

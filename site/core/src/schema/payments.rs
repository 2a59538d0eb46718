use super::orders::orders_order;

diesel::table! {
    payments_payment (id) {
        id -> BigInt,
        order_id -> BigInt,
        provider -> Text,
        /// processing, unconfirmed, authorized, succeeded (captured),
        /// failed or voided; at most one live (processing, unconfirmed,
        /// authorized or succeeded) payment per order (a partial unique
        /// index).
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

diesel::table! {
    /// Webhook events received from payment providers: stored once per
    /// provider and event id, processed by a job.
    payments_webhook_event (id) {
        id -> BigInt,
        provider -> Text,
        event_id -> Text,
        kind -> Text,
        payload -> Text,
        received_at -> Timestamp,
        processed_at -> Nullable<Timestamp>,
        /// A worker holds the event until then.
        locked_until -> Nullable<Timestamp>,
        attempts -> BigInt,
        last_error -> Text,
    }
}

diesel::table! {
    /// The demo gateway's hosted checkouts (its side, not the shop's).
    gateway_checkout (id) {
        id -> BigInt,
        token -> Text,
        merchant_reference -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        merchant_name -> Text,
        return_url -> Text,
        /// open, authorized, succeeded (captured), voided or expired.
        status -> Text,
        charge_reference -> Nullable<Text>,
        card_last4 -> Text,
        declines -> BigInt,
        refunded_minor -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// Authorize only; the merchant captures (or voids) later.
        manual_capture -> Bool,
    }
}

diesel::table! {
    gateway_refund (id) {
        id -> BigInt,
        checkout_id -> BigInt,
        reference -> Text,
        refund_reference -> Text,
        amount_minor -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The demo gateway's outgoing webhooks.
    gateway_webhook (id) {
        id -> BigInt,
        event_id -> Text,
        body -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        last_error -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(gateway_refund -> gateway_checkout (checkout_id));

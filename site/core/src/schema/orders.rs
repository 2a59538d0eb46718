use super::accounts::accounts_user;
use super::products::products_product;

diesel::table! {
    orders_order (id) {
        id -> BigInt,
        /// Unguessable id used in the order's URLs.
        public_id -> Text,
        /// From the checkout form: a resubmitted form finds its order.
        idempotency_key -> Text,
        user_id -> Nullable<BigInt>,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        address -> Text,
        postal_code -> Text,
        city -> Text,
        country -> Text,
        status -> Text,
        currency -> Text,
        total_minor -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
        /// Set when staff mark the order shipped.
        carrier -> Text,
        tracking_number -> Text,
        shipped_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// A line copies what was bought so the order survives catalogue edits.
    orders_line (id) {
        id -> BigInt,
        order_id -> BigInt,
        product_id -> Nullable<BigInt>,
        product_name -> Text,
        sku -> Text,
        unit_price_minor -> BigInt,
        quantity -> BigInt,
        line_total_minor -> BigInt,
    }
}

diesel::joinable!(orders_line -> orders_order (order_id));
diesel::joinable!(orders_line -> products_product (product_id));
diesel::joinable!(orders_order -> accounts_user (user_id));

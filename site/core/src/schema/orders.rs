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
        /// The breakdown, fixed when the order is placed:
        /// total = subtotal + shipping - discount + tax.
        subtotal_minor -> BigInt,
        shipping_minor -> BigInt,
        discount_minor -> BigInt,
        tax_minor -> BigInt,
        /// The method's name as the shopper chose it.
        shipping_method -> Text,
        shipping_method_id -> Nullable<BigInt>,
        /// The voucher applied, as typed (upper case); empty for none.
        voucher_code -> Text,
        /// Prices included the tax: `total` does not add `tax`.
        tax_included -> Bool,
        /// Given back so far; never more than `total_minor`.
        refunded_minor -> BigInt,
    }
}

diesel::table! {
    /// A country's tax rate (`country` '' is every other country's);
    /// `rate_basis_points` are hundredths of a percent.
    orders_tax_rate (id) {
        id -> BigInt,
        name -> Text,
        country -> Text,
        rate_basis_points -> Integer,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// A code shoppers type for a discount. `percent_basis_points` are
    /// hundredths of a percent; `times_used` never passes `usage_limit`.
    orders_voucher (id) {
        id -> BigInt,
        code -> Text,
        description -> Text,
        kind -> Text,
        percent_basis_points -> Integer,
        amount_minor -> BigInt,
        min_basket_minor -> Nullable<BigInt>,
        valid_from -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
        usage_limit -> Nullable<BigInt>,
        per_customer_limit -> Nullable<BigInt>,
        times_used -> BigInt,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// One order's use of a voucher (one per order), by the customer's email.
    orders_voucher_use (id) {
        id -> BigInt,
        voucher_id -> BigInt,
        order_id -> BigInt,
        email -> Text,
        discount_minor -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The rows of an order's breakdown (the shipping charge, each
    /// discount, each tax rate), as placed.
    orders_adjustment (id) {
        id -> BigInt,
        order_id -> BigInt,
        kind -> Text,
        label -> Text,
        amount_minor -> BigInt,
        rate_basis_points -> Nullable<Integer>,
    }
}

diesel::table! {
    /// A way of delivering an order, offered where it fits: to
    /// `countries` (ISO codes, space-separated; empty for everywhere), at
    /// a flat price or by weight band, free from `free_over_minor`.
    orders_shipping_method (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        kind -> Text,
        price_minor -> BigInt,
        free_over_minor -> Nullable<BigInt>,
        countries -> Text,
        is_active -> Bool,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// A weight band's price: carts up to `max_weight_grams`.
    orders_shipping_band (id) {
        id -> BigInt,
        method_id -> BigInt,
        max_weight_grams -> BigInt,
        price_minor -> BigInt,
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
        /// The line's share of the order's discount.
        discount_minor -> BigInt,
        /// The tax on the line (after its discount).
        tax_minor -> BigInt,
        /// Units refunded (reserved while a refund is being made).
        refunded_quantity -> BigInt,
        /// Refunded units put back on sale.
        restocked_quantity -> BigInt,
        /// The variant's attribute values when bought ("Size: 42").
        options -> Text,
    }
}

diesel::joinable!(orders_line -> orders_order (order_id));
diesel::joinable!(orders_line -> products_product (product_id));
diesel::joinable!(orders_order -> accounts_user (user_id));
diesel::joinable!(orders_adjustment -> orders_order (order_id));
diesel::joinable!(orders_voucher_use -> orders_voucher (voucher_id));
diesel::joinable!(orders_voucher_use -> orders_order (order_id));
diesel::joinable!(orders_shipping_band -> orders_shipping_method (method_id));

diesel::table! {
    /// One thing that happened to an order. `customer_message` is what the
    /// customer sees ('' for staff-only events); `actor` says who did it.
    orders_event (id) {
        id -> BigInt,
        order_id -> BigInt,
        kind -> Text,
        message -> Text,
        customer_message -> Text,
        actor_id -> Nullable<BigInt>,
        actor -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(orders_event -> orders_order (order_id));

diesel::table! {
    /// The last invoice number given; one row.
    orders_invoice_counter (id) {
        id -> BigInt,
        last_number -> BigInt,
    }
}

diesel::table! {
    /// A paid order's invoice: numbered in payment order, without gaps.
    orders_invoice (id) {
        id -> BigInt,
        order_id -> BigInt,
        number -> BigInt,
        issued_at -> Timestamp,
    }
}

diesel::joinable!(orders_invoice -> orders_order (order_id));

diesel::table! {
    /// How the shopper chose to pay (no row: by card at once).
    orders_payment_method (order_id) {
        order_id -> BigInt,
        method -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(orders_payment_method -> orders_order (order_id));

diesel::table! {
    /// An order's separate billing address (no row: the delivery address).
    orders_billing_address (order_id) {
        order_id -> BigInt,
        first_name -> Text,
        last_name -> Text,
        address -> Text,
        postal_code -> Text,
        city -> Text,
        country -> Text,
    }
}

diesel::joinable!(orders_billing_address -> orders_order (order_id));

-- Where an order's invoice goes when the shopper gave a separate billing
-- address (no row: the delivery address).
CREATE TABLE orders_billing_address (
    order_id BIGINT PRIMARY KEY NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    address TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL
);

-- How the shopper chose to pay, for orders not paid by card at once: a
-- bank transfer waits days for the money, not the card hold's minutes.
CREATE TABLE orders_payment_method (
    order_id BIGINT PRIMARY KEY NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
    method TEXT NOT NULL CHECK (method IN ('card', 'bank_transfer')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_payment_method_method ON orders_payment_method (method, order_id);

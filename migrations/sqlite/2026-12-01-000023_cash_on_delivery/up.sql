-- Cash on delivery joins the ways to pay. SQLite cannot change a CHECK in
-- place, so the table is rebuilt (nothing references it).
CREATE TABLE orders_payment_method_new (
    order_id BIGINT PRIMARY KEY NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
    method TEXT NOT NULL CHECK (method IN ('card', 'bank_transfer', 'cash_on_delivery')),
    created_at TIMESTAMP NOT NULL
);
INSERT INTO orders_payment_method_new (order_id, method, created_at)
    SELECT order_id, method, created_at FROM orders_payment_method;
DROP TABLE orders_payment_method;
ALTER TABLE orders_payment_method_new RENAME TO orders_payment_method;
CREATE INDEX orders_payment_method_method ON orders_payment_method (method, order_id);

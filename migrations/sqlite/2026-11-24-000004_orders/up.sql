CREATE TABLE orders_order (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    user_id BIGINT REFERENCES accounts_user (id) ON DELETE SET NULL,
    email TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    address TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    currency TEXT NOT NULL,
    total_minor BIGINT NOT NULL CHECK (total_minor >= 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP
);
CREATE INDEX orders_order_created ON orders_order (created_at);
CREATE INDEX orders_order_status ON orders_order (status, created_at);
CREATE INDEX orders_order_user ON orders_order (user_id, created_at);

CREATE TABLE orders_line (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
    product_id BIGINT REFERENCES products_product (id) ON DELETE SET NULL,
    product_name TEXT NOT NULL,
    sku TEXT NOT NULL,
    unit_price_minor BIGINT NOT NULL CHECK (unit_price_minor >= 0),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    line_total_minor BIGINT NOT NULL CHECK (line_total_minor >= 0)
);
CREATE INDEX orders_line_order ON orders_line (order_id);
CREATE INDEX orders_line_product ON orders_line (product_id);

-- Shipping methods, product weights, and an order's price breakdown.

ALTER TABLE products_product ADD COLUMN weight_grams BIGINT NOT NULL DEFAULT 0 CHECK (weight_grams >= 0);

CREATE TABLE orders_shipping_method (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('flat', 'weight')),
    price_minor BIGINT NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    free_over_minor BIGINT CHECK (free_over_minor >= 0),
    countries TEXT NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_shipping_method_active ON orders_shipping_method (is_active, position);

CREATE TABLE orders_shipping_band (
    id BIGSERIAL PRIMARY KEY,
    method_id BIGINT NOT NULL REFERENCES orders_shipping_method (id) ON DELETE CASCADE,
    max_weight_grams BIGINT NOT NULL CHECK (max_weight_grams > 0),
    price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
    UNIQUE (method_id, max_weight_grams)
);

ALTER TABLE orders_order ADD COLUMN subtotal_minor BIGINT NOT NULL DEFAULT 0 CHECK (subtotal_minor >= 0);
ALTER TABLE orders_order ADD COLUMN shipping_minor BIGINT NOT NULL DEFAULT 0 CHECK (shipping_minor >= 0);
ALTER TABLE orders_order ADD COLUMN discount_minor BIGINT NOT NULL DEFAULT 0 CHECK (discount_minor >= 0);
ALTER TABLE orders_order ADD COLUMN tax_minor BIGINT NOT NULL DEFAULT 0 CHECK (tax_minor >= 0);
ALTER TABLE orders_order ADD COLUMN shipping_method TEXT NOT NULL DEFAULT '';
ALTER TABLE orders_order ADD COLUMN shipping_method_id BIGINT REFERENCES orders_shipping_method (id) ON DELETE SET NULL;
-- Orders placed before this had no shipping, discount or tax.
UPDATE orders_order SET subtotal_minor = total_minor;

-- How the order's total was reached, line by line of the breakdown.
CREATE TABLE orders_adjustment (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('shipping', 'discount', 'tax')),
    label TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0)
);
CREATE INDEX orders_adjustment_order ON orders_adjustment (order_id);

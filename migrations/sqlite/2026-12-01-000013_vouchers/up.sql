-- Voucher codes, each use of one, and each line's share of a discount.

CREATE TABLE orders_voucher (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('percent', 'fixed', 'free_shipping')),
    -- Hundredths of a percent for 'percent' (1000 = 10 %).
    percent_basis_points INTEGER NOT NULL DEFAULT 0 CHECK (percent_basis_points BETWEEN 0 AND 10000),
    amount_minor BIGINT NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
    min_basket_minor BIGINT CHECK (min_basket_minor >= 0),
    valid_from TIMESTAMP,
    valid_until TIMESTAMP,
    usage_limit BIGINT CHECK (usage_limit > 0),
    per_customer_limit BIGINT CHECK (per_customer_limit > 0),
    -- Kept by the conditional UPDATE that claims a use: never above the limit.
    times_used BIGINT NOT NULL DEFAULT 0 CHECK (times_used >= 0 AND (usage_limit IS NULL OR times_used <= usage_limit)),
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE orders_voucher_use (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    voucher_id BIGINT NOT NULL REFERENCES orders_voucher (id) ON DELETE CASCADE,
    order_id BIGINT NOT NULL UNIQUE REFERENCES orders_order (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    discount_minor BIGINT NOT NULL CHECK (discount_minor >= 0),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_voucher_use_customer ON orders_voucher_use (voucher_id, email);

ALTER TABLE orders_order ADD COLUMN voucher_code TEXT NOT NULL DEFAULT '';
ALTER TABLE orders_line ADD COLUMN discount_minor BIGINT NOT NULL DEFAULT 0 CHECK (discount_minor >= 0);

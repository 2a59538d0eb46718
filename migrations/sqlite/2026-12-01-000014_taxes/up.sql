-- Tax rates by country, and the tax each order and line carries.

CREATE TABLE orders_tax_rate (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    -- An ISO code, or '' for the rate of every country without its own.
    country TEXT NOT NULL UNIQUE,
    -- Hundredths of a percent (2000 = 20 %).
    rate_basis_points INTEGER NOT NULL CHECK (rate_basis_points BETWEEN 0 AND 10000),
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Whether the order's prices included its tax (then the total does not add it).
ALTER TABLE orders_order ADD COLUMN tax_included BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE orders_line ADD COLUMN tax_minor BIGINT NOT NULL DEFAULT 0 CHECK (tax_minor >= 0);
-- The rate of a tax row of the breakdown.
ALTER TABLE orders_adjustment ADD COLUMN rate_basis_points INTEGER;

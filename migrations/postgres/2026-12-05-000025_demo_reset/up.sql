-- Demo mode (SHOP_DEMO=1): when the data was last reset to the seeded
-- demo (one row; kept by the reset itself).
CREATE TABLE core_demo_reset (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    reset_at TIMESTAMP NOT NULL
);

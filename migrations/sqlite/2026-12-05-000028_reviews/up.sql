-- Reviews: a customer who bought a product rates it once (1 to 5 stars)
-- with a few words. Published at once; staff hide or show them again. The
-- product keeps the count and sum of its shown ratings, updated in the
-- transaction that changes them, so cards show the average without a join.
CREATE TABLE products_review (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products_product (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES accounts_user (id) ON DELETE CASCADE,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    -- The name shown with it ("Ada L."), chosen when it was written.
    author TEXT NOT NULL DEFAULT '',
    is_visible BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    moderated_at TIMESTAMP,
    UNIQUE (product_id, user_id)
);
CREATE INDEX products_review_shown ON products_review (product_id, is_visible, created_at);
CREATE INDEX products_review_created ON products_review (created_at, id);
CREATE INDEX products_review_user ON products_review (user_id);
ALTER TABLE products_product ADD COLUMN rating_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE products_product ADD COLUMN rating_sum BIGINT NOT NULL DEFAULT 0;

-- The staff admin: its audit trail, shipping details on orders, several
-- images per product, and an index behind every admin sort and filter.

CREATE TABLE admin_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    action_time TIMESTAMP NOT NULL,
    user_id BIGINT REFERENCES accounts_user (id) ON DELETE SET NULL,
    user_email TEXT NOT NULL,
    app TEXT NOT NULL,
    model TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    object_repr TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('add', 'change', 'delete', 'action')),
    action_name TEXT NOT NULL DEFAULT '',
    changes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX admin_log_object ON admin_log (app, model, object_id, id);
CREATE INDEX admin_log_model ON admin_log (app, model, id);
CREATE INDEX admin_log_user ON admin_log (user_id, id);
CREATE INDEX admin_log_time ON admin_log (action_time);

ALTER TABLE orders_order ADD COLUMN carrier TEXT NOT NULL DEFAULT '';
ALTER TABLE orders_order ADD COLUMN tracking_number TEXT NOT NULL DEFAULT '';
ALTER TABLE orders_order ADD COLUMN shipped_at TIMESTAMP;
ALTER TABLE orders_order ADD COLUMN delivered_at TIMESTAMP;
ALTER TABLE orders_order ADD COLUMN cancelled_at TIMESTAMP;
DROP INDEX orders_order_created;
DROP INDEX orders_order_status;
CREATE INDEX orders_order_created ON orders_order (created_at, id);
CREATE INDEX orders_order_status ON orders_order (status, created_at, id);
CREATE INDEX orders_order_total ON orders_order (total_minor, id);
CREATE INDEX orders_order_paid ON orders_order (paid_at, status, total_minor);

-- A product's pictures: the upload resized once into the sizes pages use.
CREATE TABLE products_image (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products_product (id) ON DELETE CASCADE,
    -- Paths under MEDIA_ROOT.
    large_path TEXT NOT NULL,
    card_path TEXT NOT NULL,
    thumb_path TEXT NOT NULL,
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    alt TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    is_main BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX products_image_product ON products_image (product_id, position, id);
CREATE UNIQUE INDEX products_image_one_main ON products_image (product_id) WHERE is_main;

CREATE INDEX products_product_created ON products_product (created_at, id);
CREATE INDEX products_product_category_created ON products_product (category_id, created_at, id);
CREATE INDEX products_product_price_any ON products_product (price_minor, id);
CREATE INDEX products_product_stock ON products_product (stock, id);
CREATE INDEX products_product_name ON products_product (name, id);

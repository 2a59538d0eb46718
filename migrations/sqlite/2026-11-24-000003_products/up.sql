CREATE TABLE products_category (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    parent_id BIGINT REFERENCES products_category (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX products_category_parent ON products_category (parent_id);
CREATE INDEX products_category_name ON products_category (name);

CREATE TABLE products_product (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    category_id BIGINT NOT NULL REFERENCES products_category (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    sku TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    stock BIGINT NOT NULL DEFAULT 0 CHECK (stock >= 0),
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    image TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- One index for each listing's filter and ordering.
CREATE INDEX products_product_newest ON products_product (is_active, created_at, id);
CREATE INDEX products_product_price ON products_product (is_active, price_minor, id);
CREATE INDEX products_product_category_newest ON products_product (category_id, is_active, created_at, id);
CREATE INDEX products_product_category_price ON products_product (category_id, is_active, price_minor, id);
CREATE INDEX products_product_slug ON products_product (slug);

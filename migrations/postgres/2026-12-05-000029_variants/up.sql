-- Variants, as django-oscar models them: a product with variants is a
-- parent that is shown and found but never sold; each variant is a child
-- product (parent_id) with its own SKU, price, stock and pictures, and is
-- what carts and orders hold. So stock rules, carts, orders and refunds
-- work per variant unchanged. The parent keeps what lists need: stock is
-- the sum of its active variants' stock and price the lowest of their
-- prices (recomputed, under the parent's row lock, whenever a variant's
-- stock changes), has_variants says it is a parent.
CREATE TABLE products_product_type (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
-- What a type's variants differ by (Size, Colour), in order.
CREATE TABLE products_attribute (
    id BIGSERIAL PRIMARY KEY,
    product_type_id BIGINT NOT NULL REFERENCES products_product_type (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    UNIQUE (product_type_id, name)
);
-- A variant's value of an attribute ("42", "Black").
CREATE TABLE products_attribute_value (
    product_id BIGINT NOT NULL REFERENCES products_product (id) ON DELETE CASCADE,
    attribute_id BIGINT NOT NULL REFERENCES products_attribute (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (product_id, attribute_id)
);
CREATE INDEX products_attribute_value_value ON products_attribute_value (attribute_id, value);
ALTER TABLE products_product ADD COLUMN parent_id BIGINT REFERENCES products_product (id) ON DELETE CASCADE;
ALTER TABLE products_product ADD COLUMN product_type_id BIGINT REFERENCES products_product_type (id) ON DELETE SET NULL;
ALTER TABLE products_product ADD COLUMN has_variants BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX products_product_parent ON products_product (parent_id) WHERE parent_id IS NOT NULL;
-- Lists show parents and single products only: their indexes leave the
-- variants out, so a list still reads (and counts from) one index.
DROP INDEX products_product_newest;
DROP INDEX products_product_price;
DROP INDEX products_product_category_newest;
DROP INDEX products_product_category_price;
CREATE INDEX products_product_newest ON products_product (is_active, created_at, id) WHERE parent_id IS NULL;
CREATE INDEX products_product_price ON products_product (is_active, price_minor, id) WHERE parent_id IS NULL;
CREATE INDEX products_product_category_newest ON products_product (category_id, is_active, created_at, id) WHERE parent_id IS NULL;
CREATE INDEX products_product_category_price ON products_product (category_id, is_active, price_minor, id) WHERE parent_id IS NULL;
-- What the variant was when it was bought ("Size: 42, Colour: Black").
ALTER TABLE orders_line ADD COLUMN options TEXT NOT NULL DEFAULT '';

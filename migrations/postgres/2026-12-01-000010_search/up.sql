-- Full-text indexes for search (site_core::db::search): every word typed
-- must start a word of the row, found through the index, never a scan.
-- The documents split on anything but letters and digits, as SQLite's
-- tokenizer does, so both backends find the same rows.
CREATE INDEX products_product_search ON products_product USING GIN (
    to_tsvector('simple', regexp_replace(name || ' ' || sku, '[^[:alnum:]]+', ' ', 'g'))
);
CREATE INDEX orders_order_search ON orders_order USING GIN (
    to_tsvector('simple', regexp_replace(
        public_id || ' ' || email || ' ' || first_name || ' ' || last_name,
        '[^[:alnum:]]+', ' ', 'g'))
);

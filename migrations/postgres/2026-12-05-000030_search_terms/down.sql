DROP TRIGGER products_search_words ON products_product;
DROP FUNCTION products_search_words();
DROP TABLE products_search_word;
DROP INDEX products_product_search;
ALTER TABLE products_product DROP COLUMN search_terms;
CREATE INDEX products_product_search ON products_product USING GIN (
    to_tsvector('simple', regexp_replace(name || ' ' || sku, '[^[:alnum:]]+', ' ', 'g'))
);

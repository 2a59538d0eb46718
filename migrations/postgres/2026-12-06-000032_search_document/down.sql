DROP INDEX products_product_search;
ALTER TABLE products_product DROP COLUMN search_document;
CREATE INDEX products_product_search ON products_product USING GIN ((
    setweight(to_tsvector('simple', regexp_replace(name || ' ' || sku, '[^[:alnum:]]+', ' ', 'g')), 'A')
    || setweight(to_tsvector('simple', regexp_replace(search_terms, '[^[:alnum:]]+', ' ', 'g')), 'B')
    || setweight(to_tsvector('simple', regexp_replace(description, '[^[:alnum:]]+', ' ', 'g')), 'D')
));

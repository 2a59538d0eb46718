-- Search finds products by more than their name and SKU: by the words of
-- their category (and its parent), their variants' attribute values
-- (kept in `search_terms` by the app whenever those change) and their
-- description, weighted in that order for ranking. A table of the words
-- of names and terms, kept by a trigger, gives "did you mean" its words.
ALTER TABLE products_product ADD COLUMN search_terms TEXT NOT NULL DEFAULT '';
DROP INDEX products_product_search;
UPDATE products_product SET search_terms = COALESCE((
    SELECT c.name || COALESCE(' ' || pc.name, '') FROM products_category c
    LEFT JOIN products_category pc ON pc.id = c.parent_id
    WHERE c.id = products_product.category_id), '');
CREATE INDEX products_product_search ON products_product USING GIN ((
    setweight(to_tsvector('simple', regexp_replace(name || ' ' || sku, '[^[:alnum:]]+', ' ', 'g')), 'A')
    || setweight(to_tsvector('simple', regexp_replace(search_terms, '[^[:alnum:]]+', ' ', 'g')), 'B')
    || setweight(to_tsvector('simple', regexp_replace(description, '[^[:alnum:]]+', ' ', 'g')), 'D')
));
CREATE TABLE products_search_word (word TEXT PRIMARY KEY);
CREATE FUNCTION products_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO products_search_word (word)
        SELECT unnest(tsvector_to_array(to_tsvector('simple',
            regexp_replace(NEW.name || ' ' || NEW.search_terms, '[^[:alnum:]]+', ' ', 'g'))))
        ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER products_search_words AFTER INSERT OR UPDATE OF name, search_terms
    ON products_product FOR EACH ROW EXECUTE FUNCTION products_search_words();
INSERT INTO products_search_word (word)
    SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('simple',
        regexp_replace(name || ' ' || search_terms, '[^[:alnum:]]+', ' ', 'g'))))
    FROM products_product
    ON CONFLICT DO NOTHING;

-- Search finds products by more than their name and SKU: by the words of
-- their category (and its parent), their variants' attribute values
-- (kept in `search_terms` by the app whenever those change) and their
-- description. The FTS5 table is rebuilt with those columns; the
-- vocabulary table over it gives "did you mean" its words.
ALTER TABLE products_product ADD COLUMN search_terms TEXT NOT NULL DEFAULT '';
DROP TRIGGER products_product_search_insert;
DROP TRIGGER products_product_search_delete;
DROP TRIGGER products_product_search_update;
DROP TABLE products_product_search;
-- Filled before the new index and its triggers exist: an update trigger
-- would ask the empty index to delete rows it never had.
UPDATE products_product SET search_terms = COALESCE((
    SELECT c.name || COALESCE(' ' || pc.name, '') FROM products_category c
    LEFT JOIN products_category pc ON pc.id = c.parent_id
    WHERE c.id = products_product.category_id), '');
CREATE VIRTUAL TABLE products_product_search USING fts5(
    name, sku, search_terms, description,
    content = 'products_product', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER products_product_search_insert AFTER INSERT ON products_product BEGIN
    INSERT INTO products_product_search (rowid, name, sku, search_terms, description)
        VALUES (new.id, new.name, new.sku, new.search_terms, new.description);
END;
CREATE TRIGGER products_product_search_delete AFTER DELETE ON products_product BEGIN
    INSERT INTO products_product_search (products_product_search, rowid, name, sku, search_terms, description)
        VALUES ('delete', old.id, old.name, old.sku, old.search_terms, old.description);
END;
CREATE TRIGGER products_product_search_update AFTER UPDATE OF name, sku, search_terms, description ON products_product BEGIN
    INSERT INTO products_product_search (products_product_search, rowid, name, sku, search_terms, description)
        VALUES ('delete', old.id, old.name, old.sku, old.search_terms, old.description);
    INSERT INTO products_product_search (rowid, name, sku, search_terms, description)
        VALUES (new.id, new.name, new.sku, new.search_terms, new.description);
END;
INSERT INTO products_product_search (products_product_search) VALUES ('rebuild');
CREATE VIRTUAL TABLE products_product_search_vocab USING fts5vocab(products_product_search, 'row');

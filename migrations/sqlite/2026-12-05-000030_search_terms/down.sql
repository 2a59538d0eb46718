DROP TABLE products_product_search_vocab;
DROP TRIGGER products_product_search_insert;
DROP TRIGGER products_product_search_delete;
DROP TRIGGER products_product_search_update;
DROP TABLE products_product_search;
ALTER TABLE products_product DROP COLUMN search_terms;
CREATE VIRTUAL TABLE products_product_search USING fts5(
    name, sku,
    content = 'products_product', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER products_product_search_insert AFTER INSERT ON products_product BEGIN
    INSERT INTO products_product_search (rowid, name, sku) VALUES (new.id, new.name, new.sku);
END;
CREATE TRIGGER products_product_search_delete AFTER DELETE ON products_product BEGIN
    INSERT INTO products_product_search (products_product_search, rowid, name, sku)
        VALUES ('delete', old.id, old.name, old.sku);
END;
CREATE TRIGGER products_product_search_update AFTER UPDATE OF name, sku ON products_product BEGIN
    INSERT INTO products_product_search (products_product_search, rowid, name, sku)
        VALUES ('delete', old.id, old.name, old.sku);
    INSERT INTO products_product_search (rowid, name, sku) VALUES (new.id, new.name, new.sku);
END;
INSERT INTO products_product_search (products_product_search) VALUES ('rebuild');

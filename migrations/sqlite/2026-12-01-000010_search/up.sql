-- Full-text indexes for search (site_core::db::search): every word typed
-- must start a word of the row, found through the index, never a scan.
-- Triggers keep them in step with every write.
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

CREATE VIRTUAL TABLE orders_order_search USING fts5(
    public_id, email, first_name, last_name,
    content = 'orders_order', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER orders_order_search_insert AFTER INSERT ON orders_order BEGIN
    INSERT INTO orders_order_search (rowid, public_id, email, first_name, last_name)
        VALUES (new.id, new.public_id, new.email, new.first_name, new.last_name);
END;
CREATE TRIGGER orders_order_search_delete AFTER DELETE ON orders_order BEGIN
    INSERT INTO orders_order_search (orders_order_search, rowid, public_id, email, first_name, last_name)
        VALUES ('delete', old.id, old.public_id, old.email, old.first_name, old.last_name);
END;
CREATE TRIGGER orders_order_search_update AFTER UPDATE OF public_id, email, first_name, last_name ON orders_order BEGIN
    INSERT INTO orders_order_search (orders_order_search, rowid, public_id, email, first_name, last_name)
        VALUES ('delete', old.id, old.public_id, old.email, old.first_name, old.last_name);
    INSERT INTO orders_order_search (rowid, public_id, email, first_name, last_name)
        VALUES (new.id, new.public_id, new.email, new.first_name, new.last_name);
END;
INSERT INTO orders_order_search (orders_order_search) VALUES ('rebuild');

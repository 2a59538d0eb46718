-- "Did you mean" reads its words from a table of every word of a
-- product's name and search terms (category and attribute values), as on
-- PostgreSQL, instead of FTS5's vocabulary table: that one counts each
-- word's documents as it is read, so the suggestions for a word starting
-- with "b" read the postings of every "b" word (over 100 ms at a million
-- products).
--
-- Text is added by inserting it into `products_search_word_text`, a view
-- whose trigger splits it on spaces and punctuation (text that still is
-- not a valid JSON list after that adds no words rather than failing the
-- write). Words stay when the products that had them change, as on
-- PostgreSQL: the shop offers a correction only when searching for it
-- finds something.
CREATE TABLE products_search_word (word TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIEW products_search_word_text (text) AS SELECT NULL WHERE 0;
CREATE TRIGGER products_search_word_split INSTEAD OF INSERT ON products_search_word_text BEGIN
    INSERT OR IGNORE INTO products_search_word (word)
        SELECT DISTINCT j.value
        FROM (SELECT '["' || replace(
            replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(new.text), '"', ' '), '\', ' '), ',', ' '), '.', ' '), '-', ' '), '/', ' '), '(', ' '), ')', ' '), '&', ' '), '''', ' '), '+', ' '), ':', ' '), ';', ' '), '!', ' '), '?', ' '), char(9), ' '), char(10), ' '), char(13), ' '),
            ' ', '","') || '"]' AS list) s,
            json_each(CASE WHEN json_valid(s.list) THEN s.list ELSE '[]' END) j
        WHERE j.value <> '';
END;
CREATE TRIGGER products_search_words_insert AFTER INSERT ON products_product BEGIN
    INSERT INTO products_search_word_text (text) VALUES (new.name || ' ' || new.search_terms);
END;
CREATE TRIGGER products_search_words_update AFTER UPDATE OF name, search_terms ON products_product BEGIN
    INSERT INTO products_search_word_text (text) VALUES (new.name || ' ' || new.search_terms);
END;
INSERT INTO products_search_word_text (text) SELECT name || ' ' || search_terms FROM products_product;
DROP TABLE products_product_search_vocab;

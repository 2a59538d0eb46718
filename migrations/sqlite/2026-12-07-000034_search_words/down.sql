CREATE VIRTUAL TABLE products_product_search_vocab USING fts5vocab(products_product_search, 'row');
DROP TRIGGER products_search_words_update;
DROP TRIGGER products_search_words_insert;
DROP TRIGGER products_search_word_split;
DROP VIEW products_search_word_text;
DROP TABLE products_search_word;

-- PostgreSQL stores its weighted search document from here on; FTS5
-- (SQLite's search index) always stored its own.
SELECT 1;

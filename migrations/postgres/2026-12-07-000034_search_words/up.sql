-- SQLite gets the word table PostgreSQL has had since 000030.
SELECT 1;

ALTER TABLE products_product DROP COLUMN rating_sum;
ALTER TABLE products_product DROP COLUMN rating_count;
DROP TABLE products_review;

DROP TABLE products_product;
DROP TABLE products_category;

DROP INDEX orders_order_search;
DROP INDEX products_product_search;

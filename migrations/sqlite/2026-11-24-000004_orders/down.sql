DROP TABLE orders_line;
DROP TABLE orders_order;

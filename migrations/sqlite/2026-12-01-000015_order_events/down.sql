DROP TABLE orders_event;

DROP INDEX orders_order_email;

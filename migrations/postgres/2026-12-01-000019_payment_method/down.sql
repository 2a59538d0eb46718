DROP TABLE orders_payment_method;

DROP TABLE orders_billing_address;

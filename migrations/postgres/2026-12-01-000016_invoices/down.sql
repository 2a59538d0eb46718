DROP TABLE orders_invoice;
DROP TABLE orders_invoice_counter;

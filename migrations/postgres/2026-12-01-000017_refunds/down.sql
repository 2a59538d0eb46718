ALTER TABLE orders_line DROP COLUMN refunded_quantity;
ALTER TABLE orders_order DROP COLUMN refunded_minor;
DROP INDEX payments_transaction_key;
ALTER TABLE payments_transaction DROP COLUMN idempotency_key;
ALTER TABLE payments_payment DROP COLUMN refunded_minor;

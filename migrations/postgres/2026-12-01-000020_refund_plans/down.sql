ALTER TABLE orders_line DROP COLUMN restocked_quantity;
ALTER TABLE payments_transaction DROP COLUMN refund_plan;

-- Refunds: what each payment and order has given back, never more than was
-- taken (the CHECKs back the conditional UPDATEs that reserve a refund),
-- and how many of each line were refunded.
ALTER TABLE payments_payment ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments_payment ADD CONSTRAINT payments_payment_refund_within
    CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor);
ALTER TABLE payments_transaction ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX payments_transaction_key ON payments_transaction (idempotency_key);
ALTER TABLE orders_order ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders_order ADD CONSTRAINT orders_order_refund_within
    CHECK (refunded_minor >= 0 AND refunded_minor <= total_minor);
ALTER TABLE orders_line ADD COLUMN refunded_quantity BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders_line ADD CONSTRAINT orders_line_refund_within
    CHECK (refunded_quantity >= 0 AND refunded_quantity <= quantity);

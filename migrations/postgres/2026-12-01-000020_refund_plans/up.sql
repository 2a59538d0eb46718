-- A refund keeps what it reserved (units, delivery, restocking) so that a
-- retry asks for, and records, exactly that; lines count units put back
-- on sale, so a later cancel returns only the rest.
ALTER TABLE payments_transaction ADD COLUMN refund_plan TEXT;
ALTER TABLE orders_line ADD COLUMN restocked_quantity BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders_line ADD CONSTRAINT orders_line_restocked_within
    CHECK (restocked_quantity >= 0 AND restocked_quantity <= quantity);

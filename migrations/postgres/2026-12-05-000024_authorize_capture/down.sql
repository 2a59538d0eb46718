-- Back to charging at once: payments and checkouts in the new states
-- cannot be kept.
DELETE FROM payments_payment WHERE status IN ('authorized', 'voided');
DELETE FROM gateway_checkout WHERE status IN ('authorized', 'voided');
ALTER TABLE gateway_checkout DROP COLUMN manual_capture;
ALTER TABLE gateway_checkout DROP CONSTRAINT gateway_checkout_status_check;
ALTER TABLE gateway_checkout ADD CONSTRAINT gateway_checkout_status_check
    CHECK (status IN ('open', 'succeeded', 'expired'));
DROP INDEX payments_payment_one_live;
CREATE UNIQUE INDEX payments_payment_one_live ON payments_payment (order_id)
    WHERE status IN ('processing', 'unconfirmed', 'succeeded');
ALTER TABLE payments_payment DROP CONSTRAINT payments_payment_status_check;
ALTER TABLE payments_payment ADD CONSTRAINT payments_payment_status_check
    CHECK (status IN ('processing', 'unconfirmed', 'succeeded', 'failed'));

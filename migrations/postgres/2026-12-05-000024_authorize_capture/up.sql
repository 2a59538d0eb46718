-- Authorize first, capture later: a payment may be authorized (the money
-- held on the card) and then captured or voided, and so may the demo
-- gateway's checkout.
ALTER TABLE payments_payment DROP CONSTRAINT payments_payment_status_check;
ALTER TABLE payments_payment ADD CONSTRAINT payments_payment_status_check
    CHECK (status IN ('processing', 'unconfirmed', 'authorized', 'succeeded', 'failed', 'voided'));
-- One live payment per order: an authorized one holds the order too.
DROP INDEX payments_payment_one_live;
CREATE UNIQUE INDEX payments_payment_one_live ON payments_payment (order_id)
    WHERE status IN ('processing', 'unconfirmed', 'authorized', 'succeeded');

ALTER TABLE gateway_checkout DROP CONSTRAINT gateway_checkout_status_check;
ALTER TABLE gateway_checkout ADD CONSTRAINT gateway_checkout_status_check
    CHECK (status IN ('open', 'authorized', 'succeeded', 'voided', 'expired'));
ALTER TABLE gateway_checkout ADD COLUMN manual_capture BOOLEAN NOT NULL DEFAULT FALSE;

-- Authorize first, capture later: a payment may be authorized (the money
-- held on the card) and then captured or voided, and so may the demo
-- gateway's checkout. SQLite cannot change a CHECK in place, so both
-- tables are rebuilt, as its documentation prescribes: foreign keys off
-- (dropping the old table must not cascade into the rows referring to it),
-- then the copy, drop and rename in one transaction; the ids are kept, so
-- every row referring to these tables still finds its row.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE payments_payment_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('processing', 'unconfirmed', 'authorized', 'succeeded', 'failed', 'voided')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency TEXT NOT NULL,
    card_last4 TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    refunded_minor BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor)
);
INSERT INTO payments_payment_new (id, order_id, provider, status, amount_minor, currency,
        card_last4, idempotency_key, created_at, updated_at, refunded_minor)
    SELECT id, order_id, provider, status, amount_minor, currency,
        card_last4, idempotency_key, created_at, updated_at, refunded_minor
    FROM payments_payment;
DROP TABLE payments_payment;
ALTER TABLE payments_payment_new RENAME TO payments_payment;
CREATE INDEX payments_payment_order ON payments_payment (order_id);
-- One live payment per order: an authorized one holds the order too.
CREATE UNIQUE INDEX payments_payment_one_live ON payments_payment (order_id)
    WHERE status IN ('processing', 'unconfirmed', 'authorized', 'succeeded');
CREATE INDEX payments_payment_created ON payments_payment (created_at, id);
CREATE INDEX payments_payment_amount ON payments_payment (amount_minor, id);
CREATE INDEX payments_payment_status ON payments_payment (status, created_at, id);

CREATE TABLE gateway_checkout_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    merchant_reference TEXT NOT NULL UNIQUE,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    merchant_name TEXT NOT NULL,
    return_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'authorized', 'succeeded', 'voided', 'expired')),
    charge_reference TEXT UNIQUE,
    card_last4 TEXT NOT NULL DEFAULT '',
    declines BIGINT NOT NULL DEFAULT 0,
    refunded_minor BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    manual_capture BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor)
);
INSERT INTO gateway_checkout_new (id, token, merchant_reference, amount_minor, currency,
        merchant_name, return_url, status, charge_reference, card_last4, declines,
        refunded_minor, created_at, updated_at)
    SELECT id, token, merchant_reference, amount_minor, currency,
        merchant_name, return_url, status, charge_reference, card_last4, declines,
        refunded_minor, created_at, updated_at
    FROM gateway_checkout;
DROP TABLE gateway_checkout;
ALTER TABLE gateway_checkout_new RENAME TO gateway_checkout;
CREATE INDEX gateway_checkout_open ON gateway_checkout (status, created_at);

COMMIT;
PRAGMA foreign_keys = ON;

CREATE TABLE payments_payment (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('processing', 'unconfirmed', 'succeeded', 'failed')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency TEXT NOT NULL,
    card_last4 TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX payments_payment_order ON payments_payment (order_id);
-- One charge per order: never two payments in flight, unconfirmed or
-- succeeded at once.
CREATE UNIQUE INDEX payments_payment_one_live ON payments_payment (order_id)
    WHERE status IN ('processing', 'unconfirmed', 'succeeded');

CREATE TABLE payments_transaction (
    id BIGSERIAL PRIMARY KEY,
    payment_id BIGINT NOT NULL REFERENCES payments_payment (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    reference TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX payments_transaction_payment ON payments_transaction (payment_id);

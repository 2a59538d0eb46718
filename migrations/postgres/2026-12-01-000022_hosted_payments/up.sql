-- The demo payment gateway's own records (it plays a separate service:
-- the shop reaches them only through its PaymentProvider interface).
-- One checkout per merchant reference; only the last four digits of a
-- card are kept.
CREATE TABLE gateway_checkout (
    id BIGSERIAL PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    merchant_reference TEXT NOT NULL UNIQUE,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    merchant_name TEXT NOT NULL,
    return_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'succeeded', 'expired')),
    charge_reference TEXT UNIQUE,
    card_last4 TEXT NOT NULL DEFAULT '',
    declines BIGINT NOT NULL DEFAULT 0,
    refunded_minor BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor)
);
CREATE INDEX gateway_checkout_open ON gateway_checkout (status, created_at);

CREATE TABLE gateway_refund (
    id BIGSERIAL PRIMARY KEY,
    checkout_id BIGINT NOT NULL REFERENCES gateway_checkout (id) ON DELETE CASCADE,
    reference TEXT NOT NULL UNIQUE,
    refund_reference TEXT NOT NULL UNIQUE,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    created_at TIMESTAMP NOT NULL
);

-- The gateway's outgoing webhooks: written with the change they report,
-- then posted (signed) to the shop until it answers 2xx.
CREATE TABLE gateway_webhook (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX gateway_webhook_due ON gateway_webhook (delivered_at, next_attempt_at);

-- Webhook events the shop received: each stored once (provider + event
-- id), in the request that brought it, then processed by a job.
CREATE TABLE payments_webhook_event (
    id BIGSERIAL PRIMARY KEY,
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP,
    locked_until TIMESTAMP,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    UNIQUE (provider, event_id)
);
CREATE INDEX payments_webhook_event_due ON payments_webhook_event (processed_at, id);
CREATE INDEX payments_webhook_event_received ON payments_webhook_event (received_at, id);

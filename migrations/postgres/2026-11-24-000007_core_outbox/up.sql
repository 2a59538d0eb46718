-- Every email the shop sends, written in the same transaction as the change
-- that causes it, and delivered by the mail worker with retries.
CREATE TABLE core_outbox (
    id BIGSERIAL PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    -- The Message-ID every attempt reuses, so a receiver can tell a resend.
    message_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    -- While 'sending': until when the worker that claimed it owns it.
    claimed_until TIMESTAMP,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX core_outbox_due ON core_outbox (status, next_attempt_at);
INSERT INTO accounts_permission (codename, name) VALUES
    ('core.view_outbox', 'Can view outgoing email'),
    ('core.change_outbox', 'Can retry outgoing email');

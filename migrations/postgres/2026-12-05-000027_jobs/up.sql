-- One queue for background work. A job is written in the transaction of
-- the change that needs it (an email, a webhook to process), so it exists
-- exactly when that change committed. Workers claim a due job with a lease
-- (FOR UPDATE SKIP LOCKED on PostgreSQL), and a job whose worker died is
-- claimed again once its lease runs out. Recurring work (the unpaid-order
-- sweep, session cleanup) is one row per job name that is rescheduled after
-- each run, so however many workers run, each runs once per period.
CREATE TABLE core_job (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    -- JSON arguments, e.g. {"outbox":12}.
    payload TEXT NOT NULL DEFAULT '{}',
    -- Recurring jobs: the period; one row per kind.
    every_seconds INTEGER CHECK (every_seconds > 0),
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL CHECK (max_attempts > 0),
    run_at TIMESTAMP NOT NULL,
    -- While 'running': the lease, the claim's token and who holds it.
    claimed_until TIMESTAMP,
    claim_token TEXT NOT NULL DEFAULT '',
    claimed_by TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    failed_at TIMESTAMP
);
CREATE INDEX core_job_due ON core_job (status, run_at);
CREATE INDEX core_job_status_id ON core_job (status, id);
CREATE INDEX core_job_kind_payload ON core_job (kind, payload);
CREATE UNIQUE INDEX core_job_recurring ON core_job (kind) WHERE every_seconds IS NOT NULL;

-- Email waiting in the outbox becomes one job per message; the outbox keeps
-- the message and what became of it, the job its schedule and lease.
INSERT INTO core_job (kind, payload, status, attempts, max_attempts, run_at, last_error, created_at)
SELECT 'core.send_email', '{"outbox":' || id || '}', 'pending', attempts, 12,
       next_attempt_at, last_error, created_at
FROM core_outbox WHERE status IN ('pending', 'sending');
UPDATE core_outbox SET status = 'pending' WHERE status = 'sending';
ALTER TABLE core_outbox DROP COLUMN claimed_until;

-- Webhook events not processed yet.
INSERT INTO core_job (kind, payload, status, attempts, max_attempts, run_at, created_at)
SELECT 'payments.process_webhook', '{"event":' || id || '}', 'pending', 0, 20,
       received_at, received_at
FROM payments_webhook_event WHERE processed_at IS NULL;

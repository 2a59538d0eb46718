ALTER TABLE core_outbox ADD COLUMN claimed_until TIMESTAMP;
DROP TABLE core_job;

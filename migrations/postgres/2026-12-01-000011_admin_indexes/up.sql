-- An index behind every sort, filter and date drill-down the admin offers
-- on users, addresses, payments, transactions and the outbox (the lists
-- page through ids in index order, then read only those rows).
CREATE INDEX accounts_user_joined ON accounts_user (date_joined, id);
CREATE INDEX accounts_user_last_login ON accounts_user (last_login, id);
CREATE INDEX accounts_user_email_id ON accounts_user (email, id);
CREATE INDEX accounts_user_staff ON accounts_user (is_staff, date_joined, id);
CREATE INDEX accounts_address_name ON accounts_address (last_name, id);
CREATE INDEX accounts_address_city ON accounts_address (city, id);
CREATE INDEX payments_payment_created ON payments_payment (created_at, id);
CREATE INDEX payments_payment_amount ON payments_payment (amount_minor, id);
CREATE INDEX payments_payment_status ON payments_payment (status, created_at, id);
CREATE INDEX payments_transaction_created ON payments_transaction (created_at, id);
CREATE INDEX payments_transaction_status ON payments_transaction (status, id);
CREATE INDEX core_outbox_created ON core_outbox (created_at, id);
CREATE INDEX core_outbox_recipient ON core_outbox (recipient, id);
CREATE INDEX core_outbox_status_id ON core_outbox (status, id);

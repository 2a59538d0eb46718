-- What happened to each order, when, and who did it: staff see every
-- event; customers see those with a message for them.
CREATE TABLE orders_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders_order (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    customer_message TEXT NOT NULL DEFAULT '',
    actor_id BIGINT REFERENCES accounts_user (id) ON DELETE SET NULL,
    actor TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_event_order ON orders_event (order_id, id);

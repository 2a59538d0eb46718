-- Invoices: numbered without gaps when an order is paid. The one counter
-- row is incremented in the paying transaction (its row lock orders
-- concurrent payments; a rollback gives the number back).
CREATE TABLE orders_invoice_counter (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_number BIGINT NOT NULL CHECK (last_number >= 0)
);
INSERT INTO orders_invoice_counter (id, last_number) VALUES (1, 0);

CREATE TABLE orders_invoice (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    order_id BIGINT NOT NULL UNIQUE REFERENCES orders_order (id) ON DELETE CASCADE,
    number BIGINT NOT NULL UNIQUE,
    issued_at TIMESTAMP NOT NULL
);

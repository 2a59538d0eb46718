-- Guests find their orders by email and reference.
CREATE INDEX orders_order_email ON orders_order (email, id);

-- A customer's cart, kept across sessions and devices (guests keep theirs in the session).
CREATE TABLE cart_line (
    user_id BIGINT NOT NULL REFERENCES accounts_user (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products_product (id) ON DELETE CASCADE,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, product_id)
);
INSERT INTO accounts_permission (codename, name) VALUES
    ('cart.view_line', 'Can view cart line'), ('cart.add_line', 'Can add cart line'),
    ('cart.change_line', 'Can change cart line'), ('cart.delete_line', 'Can delete cart line');

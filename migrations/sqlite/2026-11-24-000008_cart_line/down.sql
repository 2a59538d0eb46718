DELETE FROM accounts_permission WHERE codename LIKE 'cart.%';
DROP TABLE cart_line;

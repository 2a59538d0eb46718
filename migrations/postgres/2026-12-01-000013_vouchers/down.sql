ALTER TABLE orders_line DROP COLUMN discount_minor;
ALTER TABLE orders_order DROP COLUMN voucher_code;
DROP TABLE orders_voucher_use;
DROP TABLE orders_voucher;

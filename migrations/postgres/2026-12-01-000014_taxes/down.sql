ALTER TABLE orders_adjustment DROP COLUMN rate_basis_points;
ALTER TABLE orders_line DROP COLUMN tax_minor;
ALTER TABLE orders_order DROP COLUMN tax_included;
DROP TABLE orders_tax_rate;

-- Cash on delivery joins the ways to pay.
ALTER TABLE orders_payment_method DROP CONSTRAINT orders_payment_method_method_check;
ALTER TABLE orders_payment_method ADD CONSTRAINT orders_payment_method_method_check
    CHECK (method IN ('card', 'bank_transfer', 'cash_on_delivery'));

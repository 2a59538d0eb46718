DROP TABLE payments_transaction;
DROP TABLE payments_payment;

DROP TABLE payments_webhook_event;
DROP TABLE gateway_webhook;
DROP TABLE gateway_refund;
DROP TABLE gateway_checkout;

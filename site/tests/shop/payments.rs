use diesel::prelude::*;
use orders::Order;
use site_core::schema::{payments_payment as pay, payments_transaction as tx};

use crate::support::{card_fields, order_public_id, Client, Page, TestApp};

async fn placed_order(app: &TestApp) -> (Client, Page, String) {
    let p = app.product("Desk Lamp", 5, 3999);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let page = c.checkout("pay@example.com").await;
    let id = order_public_id(&page);
    (c, page, id)
}

/// Submits the payment form on `page` with this card number.
async fn pay(c: &Client, page: &Page, id: &str, number: &str) -> Page {
    c.submit(page, &format!("/payments/{id}/"), &card_fields(number))
        .await
}

#[actix_web::test]
async fn the_demo_card_pays_the_order() {
    let app = TestApp::spawn().await;
    let (c, order_page, id) = placed_order(&app).await;
    assert!(
        order_page
            .body
            .contains(&format!("href=\"/payments/{id}/\"")),
        "a pay button"
    );
    let pay_page = c.get(&format!("/payments/{id}/")).await;
    assert!(pay_page.contains("Pay $39.99"));
    let done = pay(&c, &pay_page, &id, "4242 4242 4242 4242").await;
    assert_eq!(done.status, 200);
    assert!(done.url.ends_with(&format!("/orders/{id}/")));
    assert!(done.contains("Payment received."));
    assert!(done.contains("Paid"));
    let order = Order::by_public_id(&mut app.conn(), &id).unwrap();
    assert_eq!(order.status, orders::OrderStatus::Paid);
    assert!(order.paid_at.is_some());

    let payments: Vec<(String, String, i64)> = pay::table
        .select((pay::status, pay::card_last4, pay::amount_minor))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(
        payments,
        vec![("succeeded".to_string(), "4242".to_string(), 3999)]
    );
    let txs: Vec<(String, String)> = tx::table
        .select((tx::kind, tx::status))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(txs, vec![("charge".to_string(), "approved".to_string())]);

    // The paid order no longer offers payment; resubmitting charges nothing.
    let again = c.get(&format!("/payments/{id}/")).await;
    assert!(again.url.ends_with(&format!("/orders/{id}/")));
    assert!(again.contains("This order does not need paying any more."));
    let resubmit = pay(&c, &pay_page, &id, "4242424242424242").await;
    assert!(resubmit.contains("This payment was already received."));
    assert_eq!(app.payments(), 1, "one charge");
}

#[actix_web::test]
async fn a_declined_card_leaves_the_order_unpaid_and_payable() {
    let app = TestApp::spawn().await;
    let (c, _, id) = placed_order(&app).await;
    let pay_page = c.get(&format!("/payments/{id}/")).await;
    let declined = pay(&c, &pay_page, &id, "4000 0000 0000 0002").await;
    assert_eq!(declined.status, 402);
    assert!(
        declined.contains("Your card was declined."),
        "{}",
        declined.text()
    );
    assert!(declined.contains("has not been paid"));
    assert!(
        !declined.body.contains("value=\"4000"),
        "card number not echoed into the form"
    );
    assert_eq!(
        Order::by_public_id(&mut app.conn(), &id).unwrap().status,
        orders::OrderStatus::Pending
    );

    let paid = pay(&c, &declined, &id, "4242424242424242").await;
    assert!(paid.contains("Payment received."));
    let statuses: Vec<String> = pay::table
        .order(pay::id)
        .select(pay::status)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(statuses, vec!["failed", "succeeded"]);
}

#[actix_web::test]
async fn bad_card_details_are_field_errors() {
    let app = TestApp::spawn().await;
    let (c, _, id) = placed_order(&app).await;
    let pay_page = c.get(&format!("/payments/{id}/")).await;
    let page = c
        .submit(
            &pay_page,
            &format!("/payments/{id}/"),
            &[
                ("holder", ""),
                ("card_number", "4242 4242 4242 4241"),
                ("expiry", "01/20"),
                ("cvc", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    for says in [
        "This card number is not valid",
        "This card has expired.",
        "Enter the 3 or 4 digit security code.",
        "This field is required.",
    ] {
        assert!(page.contains(says), "{says}: {}", page.text());
    }
    assert!(!page.body.contains("4241"), "card number not echoed back");
    assert_eq!(app.payments(), 0);
}

#[actix_web::test]
async fn card_numbers_are_never_stored() {
    let app = TestApp::spawn().await;
    let (c, _, id) = placed_order(&app).await;
    let pay_page = c.get(&format!("/payments/{id}/")).await;
    pay(&c, &pay_page, &id, "4242424242424242").await;
    let rows: Vec<(String, String, String)> = pay::table
        .inner_join(tx::table)
        .select((pay::card_last4, tx::reference, tx::message))
        .load(&mut *app.conn())
        .unwrap();
    for (last4, reference, message) in rows {
        assert_eq!(last4, "4242");
        assert!(!reference.contains("42424242") && !message.contains("42424242"));
    }
}

#[actix_web::test]
async fn unknown_orders_have_no_payment_page() {
    let app = TestApp::spawn().await;
    let c = app.client();
    assert_eq!(
        c.get(&format!("/payments/{}/", "b".repeat(32)))
            .await
            .status,
        404
    );
    assert_eq!(c.get("/payments/short/").await.status, 404);
}

/// Wraps the demo provider; the first charge's answer is lost, either
/// after the card was charged or before the request reached the provider.
struct LosesFirstAnswer {
    demo: payments::DemoCardProvider,
    charged_before_failing: bool,
    calls: std::sync::atomic::AtomicUsize,
    charges: std::sync::atomic::AtomicUsize,
}

impl LosesFirstAnswer {
    fn new(charged_before_failing: bool) -> std::sync::Arc<Self> {
        std::sync::Arc::new(LosesFirstAnswer {
            demo: Default::default(),
            charged_before_failing,
            calls: Default::default(),
            charges: Default::default(),
        })
    }
}

impl payments::PaymentProvider for LosesFirstAnswer {
    fn name(&self) -> &'static str {
        "flaky"
    }

    fn charge(
        &self,
        request: &payments::ChargeRequest<'_>,
    ) -> Result<payments::ChargeOutcome, payments::ProviderError> {
        use std::sync::atomic::Ordering::SeqCst;
        let first = self.calls.fetch_add(1, SeqCst) == 0;
        if first && !self.charged_before_failing {
            return Err(payments::ProviderError("connection refused".into()));
        }
        if self.demo.lookup(request.reference).unwrap().is_none() {
            self.charges.fetch_add(1, SeqCst);
        }
        let outcome = self.demo.charge(request)?;
        if first {
            return Err(payments::ProviderError(
                "timed out reading the answer".into(),
            ));
        }
        Ok(outcome)
    }

    fn lookup(
        &self,
        reference: &str,
    ) -> Result<Option<payments::ChargeOutcome>, payments::ProviderError> {
        self.demo.lookup(reference)
    }

    fn refund(
        &self,
        request: &payments::domain::RefundRequest<'_>,
    ) -> Result<payments::domain::RefundOutcome, payments::ProviderError> {
        self.demo.refund(request)
    }
}

#[actix_web::test]
async fn a_lost_answer_after_a_charge_is_looked_up_not_charged_again() {
    let provider = LosesFirstAnswer::new(true);
    let app = TestApp::spawn_with_provider(Some(provider.clone())).await;
    let (c, _, id) = placed_order(&app).await;
    let pay_page = c.get(&format!("/payments/{id}/")).await;
    let lost = pay(&c, &pay_page, &id, "4242424242424242").await;
    assert_eq!(lost.status, 503);
    assert!(
        lost.contains("We could not confirm your payment"),
        "{}",
        lost.text()
    );
    assert_eq!(
        Order::by_public_id(&mut app.conn(), &id).unwrap().status,
        orders::OrderStatus::Pending
    );

    // Submitting again (the same form, as the page asks) settles it.
    let settled = pay(&c, &lost, &id, "4242424242424242").await;
    assert!(
        settled.contains("Your earlier payment went through"),
        "{}",
        settled.text()
    );
    assert_eq!(
        Order::by_public_id(&mut app.conn(), &id).unwrap().status,
        orders::OrderStatus::Paid
    );
    assert_eq!(
        provider.charges.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "charged once"
    );
    let statuses: Vec<String> = pay::table
        .select(pay::status)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(statuses, vec!["succeeded"]);

    // A fresh form for the paid order charges nothing either.
    let fresh = c.get(&format!("/payments/{id}/")).await;
    assert!(fresh.contains("This order does not need paying any more."));
}

#[actix_web::test]
async fn a_lost_request_that_never_charged_lets_the_shopper_pay_again() {
    let provider = LosesFirstAnswer::new(false);
    let app = TestApp::spawn_with_provider(Some(provider.clone())).await;
    let (c, _, id) = placed_order(&app).await;
    let pay_page = c.get(&format!("/payments/{id}/")).await;
    let lost = pay(&c, &pay_page, &id, "4242424242424242").await;
    assert_eq!(lost.status, 503);

    // A new payment form (another tab, or later): the earlier attempt is
    // looked up first, found never to have reached the provider, and closed.
    let other = c.get(&format!("/payments/{id}/")).await;
    let closed = pay(&c, &other, &id, "4242424242424242").await;
    assert_eq!(closed.status, 402);
    assert!(
        closed.contains("did not reach the payment service, so you were not charged"),
        "{}",
        closed.text()
    );
    let paid = pay(&c, &closed, &id, "4242424242424242").await;
    assert!(paid.contains("Payment received."));
    assert_eq!(
        provider.charges.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    let statuses: Vec<String> = pay::table
        .order(pay::id)
        .select(pay::status)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(statuses, vec!["failed", "succeeded"]);
}

use diesel::prelude::*;
use orders::Order;
use site_core::schema::{
    gateway_checkout as gc, gateway_webhook as gw, payments_payment as pay,
    payments_transaction as tx, payments_webhook_event as ev,
};

use crate::support::{order_public_id, Client, Flaky, Page, TestApp};

async fn placed_order(app: &TestApp) -> (Client, Page, String) {
    let p = app.product("Desk Lamp", 5, 3999);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let page = c.checkout("pay@example.com").await;
    let id = order_public_id(&page);
    (c, page, id)
}

/// The demo gateway posts webhooks only when the test says.
fn held() -> crate::support::Options {
    crate::support::Options {
        hold_webhooks: true,
        ..Default::default()
    }
}

fn status(app: &TestApp, id: &str) -> orders::OrderStatus {
    Order::by_public_id(&mut app.conn(), id).unwrap().status
}

/// (kind, status) of every payment transaction, oldest first.
fn transactions(app: &TestApp) -> Vec<(String, String)> {
    tx::table
        .order(tx::id)
        .select((tx::kind, tx::status))
        .load(&mut *app.conn())
        .unwrap()
}

fn approved_charges(app: &TestApp) -> usize {
    transactions(app)
        .iter()
        .filter(|(k, s)| k == "charge" && s == "approved")
        .count()
}

#[actix_web::test]
async fn the_shopper_pays_on_the_gateways_page_and_comes_back_paid() {
    let app = TestApp::spawn().await;
    let (c, order_page, id) = placed_order(&app).await;
    assert!(
        order_page
            .body
            .contains(&format!("href=\"/payments/{id}/\"")),
        "a pay button"
    );
    let pay_page = c.get(&format!("/payments/{id}/")).await;
    assert!(
        pay_page.contains("Pay $39.99 by card"),
        "{}",
        pay_page.text()
    );
    assert!(
        !pay_page.body.contains("card_number"),
        "the shop never asks for the card"
    );

    let gateway = c.open_gateway(&id).await;
    assert_eq!(gateway.testid_texts("gateway-amount"), vec!["$39.99"]);
    assert!(gateway.contains("Payment to Demo Shop"));
    assert!(gateway.contains("Demo Pay"));
    let back = c.gateway_pay_raw(&gateway, "4242 4242 4242 4242").await;
    assert_eq!(back.status, 303);
    assert_eq!(
        back.location().unwrap(),
        app.url(&format!("/payments/{id}/return/"))
    );
    let done = c.follow(back).await;
    assert!(done.url.ends_with(&format!("/orders/{id}/")));
    assert!(done.contains("Payment received."), "{}", done.text());
    assert!(done.contains("Paid"));
    assert_eq!(status(&app, &id), orders::OrderStatus::Paid);

    // The webhook arrives too (it was posted when the card was paid); the
    // order stays paid once.
    app.deliver_webhooks().await;
    app.process_webhooks().await;
    let payments: Vec<(String, String, String, i64)> = pay::table
        .select((
            pay::provider,
            pay::status,
            pay::card_last4,
            pay::amount_minor,
        ))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(
        payments,
        vec![(
            "demo-pay".to_string(),
            "succeeded".to_string(),
            "4242".to_string(),
            3999
        )]
    );
    assert_eq!(
        transactions(&app),
        vec![("charge".to_string(), "approved".to_string())]
    );
    // The webhook the gateway posted at once may still be in the middle of
    // its processing (the request holds its lease): wait for it.
    let started = std::time::Instant::now();
    let events = loop {
        let events: Vec<(String, bool)> = ev::table
            .select((ev::kind, ev::processed_at.is_not_null()))
            .load(&mut *app.conn())
            .unwrap();
        if events.iter().all(|(_, done)| *done) || started.elapsed().as_secs() > 10 {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(events, vec![("charge.succeeded".to_string(), true)]);

    // Paying again charges nothing: the shop's form, the gateway's page.
    let again = c.get(&format!("/payments/{id}/")).await;
    assert!(again.contains("This order does not need paying any more."));
    let resubmit = c.submit(&pay_page, &format!("/payments/{id}/"), &[]).await;
    assert!(resubmit.url.ends_with(&format!("/orders/{id}/")));
    let gateway_again = c.get(&gateway.url).await;
    assert!(gateway_again.contains("This payment is complete (card ending 4242)."));
    let replay = c.gateway_pay_raw(&gateway, "4242424242424242").await;
    assert_eq!(
        replay.status, 303,
        "a closed page only sends the shopper back"
    );
    assert_eq!(app.payments(), 1);
    assert_eq!(approved_charges(&app), 1);
    let charged: i64 = gc::table
        .filter(gc::status.eq("succeeded"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(charged, 1, "the gateway charged once");
}

#[actix_web::test]
async fn a_declined_card_stays_on_the_gateway_and_another_card_pays() {
    let app = TestApp::spawn().await;
    let (c, _, id) = placed_order(&app).await;
    let gateway = c.open_gateway(&id).await;
    let declined = c.gateway_pay_raw(&gateway, "4000 0000 0000 0002").await;
    assert_eq!(declined.status, 402);
    assert!(
        declined.contains("Your card was declined. Nothing was charged"),
        "{}",
        declined.text()
    );
    assert!(
        !declined.body.contains("value=\"4000"),
        "card number not echoed into the form"
    );
    assert_eq!(status(&app, &id), orders::OrderStatus::Pending);

    let no_funds = c.gateway_pay_raw(&declined, "4000000000009995").await;
    assert!(no_funds.contains("insufficient funds"));
    let paid = c
        .follow(c.gateway_pay_raw(&no_funds, "4242424242424242").await)
        .await;
    assert!(paid.contains("Payment received."), "{}", paid.text());
    app.deliver_webhooks().await;
    app.process_webhooks().await;
    let statuses: Vec<String> = pay::table
        .select(pay::status)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(
        statuses,
        vec!["succeeded"],
        "one payment, paid by the third card"
    );
    assert_eq!(approved_charges(&app), 1);
}

#[actix_web::test]
async fn leaving_the_gateway_unpaid_brings_the_shopper_back_to_the_same_page() {
    let app = TestApp::spawn().await;
    let (c, _, id) = placed_order(&app).await;
    let gateway = c.open_gateway(&id).await;
    // "Cancel and return to Demo Shop".
    let back = c.get(&format!("/payments/{id}/return/")).await;
    assert!(
        back.contains("You have not finished paying"),
        "{}",
        back.text()
    );
    assert_eq!(status(&app, &id), orders::OrderStatus::Pending);
    // Continuing opens the same gateway page, not a second payment.
    let again = c.submit_raw(&back, &format!("/payments/{id}/"), &[]).await;
    assert_eq!(again.location().unwrap(), gateway.url);
    assert_eq!(app.payments(), 1);
}

#[actix_web::test]
async fn bad_card_details_are_field_errors_on_the_gateway() {
    let app = TestApp::spawn().await;
    let (c, _, id) = placed_order(&app).await;
    let gateway = c.open_gateway(&id).await;
    let page = c
        .submit_raw(
            &gateway,
            &c.path_of(&gateway.url),
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
    let declines: i64 = gc::table
        .select(gc::declines)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(declines, 0, "nothing was sent to the card network");
    assert_eq!(status(&app, &id), orders::OrderStatus::Pending);
}

#[actix_web::test]
async fn card_numbers_are_never_stored() {
    let app = TestApp::spawn_with(held()).await;
    let (c, _, id) = placed_order(&app).await;
    let gateway = c.open_gateway(&id).await;
    let declined = c.gateway_pay_raw(&gateway, "4000000000000002").await;
    c.follow(c.gateway_pay_raw(&declined, "4242424242424242").await)
        .await;
    assert_eq!(app.deliver_webhooks().await, 2);
    let mut stored: Vec<String> = Vec::new();
    let rows: Vec<(String, String, String)> = pay::table
        .inner_join(tx::table)
        .select((pay::card_last4, tx::reference, tx::message))
        .load(&mut *app.conn())
        .unwrap();
    for (a, b, c) in rows {
        stored.extend([a, b, c]);
    }
    stored.extend(
        gw::table
            .select(gw::body)
            .load::<String>(&mut *app.conn())
            .unwrap(),
    );
    stored.extend(
        ev::table
            .select(ev::payload)
            .load::<String>(&mut *app.conn())
            .unwrap(),
    );
    stored.extend(
        gc::table
            .select(gc::card_last4)
            .load::<String>(&mut *app.conn())
            .unwrap(),
    );
    assert!(stored.iter().any(|s| s.contains("4242")));
    for s in stored {
        assert!(
            !s.contains("42424242") && !s.contains("00000002"),
            "a card number was stored: {s}"
        );
    }
}

#[actix_web::test]
async fn unknown_orders_and_payment_pages_are_not_found() {
    let app = TestApp::spawn().await;
    let c = app.client();
    assert_eq!(
        c.get(&format!("/payments/{}/", "b".repeat(32)))
            .await
            .status,
        404
    );
    assert_eq!(c.get("/payments/short/").await.status, 404);
    assert_eq!(
        c.get(&format!("/demo-pay/{}/", "c".repeat(32)))
            .await
            .status,
        404
    );
    assert_eq!(c.get("/demo-pay/short/").await.status, 404);
}

#[actix_web::test]
async fn an_unreachable_gateway_is_retried_with_the_same_form_without_a_double_payment() {
    let app = TestApp::spawn_flaky().await;
    let flaky = app.flaky.clone().unwrap();
    let (c, _, id) = placed_order(&app).await;
    let url = format!("/payments/{id}/");
    let pay_page = c.get(&url).await;
    Flaky::fail(&flaky.begin_fails, 1);
    let down = c.submit_raw(&pay_page, &url, &[]).await;
    assert_eq!(down.status, 503);
    assert!(
        down.contains("We could not reach the payment service"),
        "{}",
        down.text()
    );
    // The same form again: the gateway never heard of the first attempt,
    // so it is closed (nothing charged) and the shopper may pay anew.
    let closed = c.submit_raw(&down, &url, &[]).await;
    assert_eq!(closed.status, 402);
    assert!(
        closed.contains("did not reach the payment service, so you were not charged"),
        "{}",
        closed.text()
    );
    let to_gateway = c.submit_raw(&closed, &url, &[]).await;
    assert_eq!(to_gateway.status, 303);
    let gateway = c.get(&to_gateway.location().unwrap()).await;
    let paid = c
        .follow(c.gateway_pay_raw(&gateway, "4242424242424242").await)
        .await;
    assert!(paid.contains("Payment received."));
    let statuses: Vec<String> = pay::table
        .order(pay::id)
        .select(pay::status)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(statuses, vec!["failed", "succeeded"]);
}

#[actix_web::test]
async fn when_the_return_cannot_ask_the_gateway_the_webhook_settles_the_order_once() {
    let app = TestApp::spawn_with(crate::support::Options {
        flaky: true,
        hold_webhooks: true,
        ..Default::default()
    })
    .await;
    let flaky = app.flaky.clone().unwrap();
    let (c, _, id) = placed_order(&app).await;
    let gateway = c.open_gateway(&id).await;
    Flaky::fail(&flaky.lookup_fails, 1);
    let back = c
        .follow(c.gateway_pay_raw(&gateway, "4242424242424242").await)
        .await;
    assert!(
        back.contains("We are waiting for the payment service to confirm your payment"),
        "{}",
        back.text()
    );
    assert_eq!(status(&app, &id), orders::OrderStatus::Pending);

    assert_eq!(app.deliver_webhooks().await, 1);
    assert_eq!(status(&app, &id), orders::OrderStatus::Paid);
    let order = c.get(&format!("/orders/{id}/")).await;
    assert!(order.contains("Paid"));
    assert_eq!(approved_charges(&app), 1);
    // The receipt was queued once, by the webhook.
    let receipts = app
        .sent_mail()
        .iter()
        .filter(|m| m.subject.starts_with("Payment received"))
        .count();
    assert_eq!(receipts, 1);
}

#[actix_web::test]
async fn a_payment_page_left_open_expires_and_the_order_can_be_paid_afresh() {
    let app = TestApp::spawn_with(held()).await;
    let (c, _, id) = placed_order(&app).await;
    let gateway = c.open_gateway(&id).await;
    let long_ago = site_core::now() - chrono::TimeDelta::minutes(31);
    diesel::update(gc::table)
        .set(gc::created_at.eq(long_ago))
        .execute(&mut *app.conn())
        .unwrap();
    // Too late for the card, before the expiry job even ran: back at the
    // shop, which learns the page expired (not "still open", which would
    // send the shopper round to the closed page again).
    let late = c.gateway_pay_raw(&gateway, "4242424242424242").await;
    assert_eq!(late.status, 303, "sent back to the shop");
    let back = c.follow(late).await;
    assert_eq!(back.status, 402, "{}", back.text());
    assert!(back.contains("The payment page expired before a payment was made"));
    assert_eq!(approved_charges(&app), 0);
    assert_eq!(
        payments::gateway::expire(&mut app.conn(), site_core::now()).unwrap(),
        1
    );
    assert_eq!(app.deliver_webhooks().await, 1);
    assert!(c
        .get(&gateway.url)
        .await
        .contains("This payment page has expired. Nothing was charged."));
    let statuses: Vec<String> = pay::table
        .select(pay::status)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(statuses, vec!["failed"]);
    assert_eq!(status(&app, &id), orders::OrderStatus::Pending);

    let paid = c.pay_by_card(&id, "4242424242424242").await;
    assert!(paid.contains("Payment received."), "{}", paid.text());
    assert_eq!(approved_charges(&app), 1);
}

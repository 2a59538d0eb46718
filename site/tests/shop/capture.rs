//! Capture at shipping (`SHOP_CAPTURE=shipping`): the card is authorized
//! when the shopper pays, captured by staff before the order ships (once,
//! however often the button is pressed or an answer is lost), or voided,
//! which cancels the order and charges nothing.

use diesel::prelude::*;
use futures_util::future::join_all;
use orders::OrderStatus;
use site_core::schema::{
    gateway_checkout as gc, gateway_webhook as gw, orders_order as o, payments_payment as p,
    payments_transaction as t,
};

use crate::support::{order_public_id, Client, Options, Page, TestApp};

const PW: &str = "correct horse battery staple";
const LIST: &str = "/admin/orders/order/";

fn authorizing(hold_webhooks: bool) -> Options {
    Options {
        capture_at_shipping: true,
        flaky: true,
        hold_webhooks,
        ..Options::default()
    }
}

/// A guest buys `qty` lamps (of 5) and authorizes the card on the
/// gateway; the order's id and public id, and the page back at the shop.
async fn authorized_order(app: &TestApp, c: &Client, qty: i64) -> (i64, String, Page) {
    let lamp = app.product("Lamp", 5, 2500);
    c.add_to_cart(lamp.id, qty).await;
    let public_id = order_public_id(&c.checkout("auth@example.com").await);
    let gateway = c.open_gateway(&public_id).await;
    assert!(
        gateway.contains("Authorize $"),
        "the gateway only authorizes: {}",
        gateway.text()
    );
    let answer = c.gateway_pay_raw(&gateway, "4242424242424242").await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let back = c.follow(answer).await;
    let id = o::table
        .filter(o::public_id.eq(&public_id))
        .select(o::id)
        .first(&mut *app.conn())
        .unwrap();
    (id, public_id, back)
}

/// The payment's status, the gateway's, and the approved transactions by
/// kind (authorizations, charges, voids).
fn money(app: &TestApp, order: i64) -> (String, String, i64, i64, i64) {
    let mut conn = app.conn();
    let (payment_id, status, key): (i64, String, String) = p::table
        .filter(p::order_id.eq(order))
        .order(p::id.desc())
        .select((p::id, p::status, p::idempotency_key))
        .first(&mut *conn)
        .unwrap();
    let gateway: String = gc::table
        .filter(gc::merchant_reference.eq(&key))
        .select(gc::status)
        .first(&mut *conn)
        .unwrap();
    let count = |kind: &str, conn: &mut site_core::DbConn| -> i64 {
        t::table
            .filter(t::payment_id.eq(payment_id))
            .filter(t::kind.eq(kind))
            .filter(t::status.eq("approved"))
            .count()
            .get_result(conn)
            .unwrap()
    };
    (
        status,
        gateway,
        count("authorization", &mut conn),
        count("charge", &mut conn),
        count("void", &mut conn),
    )
}

fn status(app: &TestApp, order: i64) -> OrderStatus {
    o::table
        .find(order)
        .select(o::status)
        .first(&mut *app.conn())
        .unwrap()
}

/// The admin's "Mark shipped" (or other) action for order `id`.
async fn act(staff: &Client, id: i64, action: &str) -> Page {
    let list = staff.get(LIST).await;
    let ask = staff
        .submit_multi(
            &list,
            LIST,
            &[("action", action), ("_selected", &id.to_string())],
        )
        .await;
    if action != "mark_shipped" {
        return staff.follow(ask).await;
    }
    let (carrier, tracking) = (format!("carrier-{id}"), format!("tracking_number-{id}"));
    let done = staff
        .submit_multi(&ask, LIST, &[(&carrier, "dpd"), (&tracking, "DPD123")])
        .await;
    staff.follow(done).await
}

async fn capture(staff: &Client, order: i64) -> Page {
    let url = format!("/admin/orders/order/{order}/capture/");
    let page = staff.get(&url).await;
    staff.submit(&page, &url, &[]).await
}

#[actix_web::test]
async fn an_authorized_card_is_captured_once_by_staff_before_the_order_ships() {
    let app = TestApp::spawn_with(authorizing(true)).await;
    let c = app.client();
    let (order, public_id, back) = authorized_order(&app, &c, 2).await;
    assert!(
        back.contains("Payment authorized: the amount is held on your card"),
        "{}",
        back.text()
    );
    // The order is secured (paid, receipt, stock held); the money is not taken.
    assert_eq!(status(&app, order), OrderStatus::Paid);
    assert_eq!(
        money(&app, order),
        ("authorized".into(), "authorized".into(), 1, 0, 0)
    );
    let mail = app.sent_mail();
    let receipt = mail
        .iter()
        .find(|m| m.subject.contains("confirmed: invoice"))
        .expect("a receipt");
    assert!(
        receipt
            .text
            .contains("$50.00 is held on your card and will be taken when your order ships"),
        "{}",
        receipt.text
    );
    assert!(!mail
        .iter()
        .any(|m| m.subject.starts_with("Payment received")));

    let boss = app.boss(PW).await;
    let shipped = act(&boss, order, "mark_shipped").await;
    assert!(
        shipped.contains("its card payment is only authorized: capture it"),
        "{}",
        shipped.text()
    );
    assert_eq!(status(&app, order), OrderStatus::Paid, "not shipped");
    let refund_page = boss
        .get(&format!("/admin/orders/order/{order}/refund/"))
        .await;
    assert!(
        !refund_page.contains("name=\"amount\""),
        "nothing taken, nothing to refund: {}",
        refund_page.text()
    );

    let change = boss.get(&format!("{LIST}{order}/change/")).await;
    assert!(change.contains("Capture payment") && change.contains("Void payment"));
    let confirm = boss
        .get(&format!("/admin/orders/order/{order}/capture/"))
        .await;
    assert!(confirm.contains("Capture $50.00"), "{}", confirm.text());

    // The service captures but its answer is lost: nothing is recorded,
    // and staff are told to try again.
    let flaky = app.flaky.as_ref().unwrap();
    crate::support::Flaky::fail(&flaky.capture_answers_lost, 1);
    let lost = capture(&boss, order).await;
    assert!(lost.contains("did not answer"), "{}", lost.text());
    assert_eq!(
        money(&app, order),
        ("authorized".into(), "succeeded".into(), 1, 0, 0)
    );
    // Trying again, twice at once: one capture.
    let url = format!("/admin/orders/order/{order}/capture/");
    let answers = join_all((0..2).map(|_| boss.submit_raw(&confirm, &url, &[]))).await;
    assert!(answers.iter().all(|a| a.status == 303));
    assert_eq!(
        money(&app, order),
        ("succeeded".into(), "succeeded".into(), 1, 1, 0)
    );
    // The service's webhooks (authorized, captured) change nothing more.
    assert_eq!(app.deliver_webhooks().await, 2);
    assert_eq!(
        money(&app, order),
        ("succeeded".into(), "succeeded".into(), 1, 1, 0)
    );
    let page = c.get(&format!("/orders/{public_id}/")).await;
    assert!(page.contains("Payment authorized: the amount is held on your card"));
    assert_eq!(
        page.text()
            .matches("Your card was charged for this order.")
            .count(),
        1,
        "the customer's timeline says it once: {}",
        page.text()
    );

    let shipped = act(&boss, order, "mark_shipped").await;
    assert!(
        shipped.contains("1 order was marked shipped"),
        "{}",
        shipped.text()
    );
    assert_eq!(status(&app, order), OrderStatus::Shipped);
    // Captured money is refundable as any charge.
    let refund_page = boss
        .get(&format!("/admin/orders/order/{order}/refund/"))
        .await;
    let refunded = boss
        .submit(
            &refund_page,
            &format!("/admin/orders/order/{order}/refund/"),
            &[("amount", "5.00")],
        )
        .await;
    assert!(
        refunded.contains("Refunded 5.00 USD"),
        "{}",
        refunded.text()
    );
}

#[actix_web::test]
async fn voiding_an_authorization_cancels_the_order_and_charges_nothing() {
    let app = TestApp::spawn_with(authorizing(false)).await;
    let c = app.client();
    let (order, _, _) = authorized_order(&app, &c, 2).await;
    let lamp: i64 = site_core::schema::orders_line::table
        .filter(site_core::schema::orders_line::order_id.eq(order))
        .select(site_core::schema::orders_line::product_id.assume_not_null())
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(app.stock(lamp), 3);
    let boss = app.boss(PW).await;
    let cancelled = act(&boss, order, "cancel").await;
    assert!(
        cancelled.contains("use Void payment"),
        "{}",
        cancelled.text()
    );
    assert_eq!(status(&app, order), OrderStatus::Paid);

    // A capture page opened before the void.
    let capture_page = boss
        .get(&format!("/admin/orders/order/{order}/capture/"))
        .await;
    let url = format!("/admin/orders/order/{order}/void/");
    let confirm = boss.get(&url).await;
    assert!(
        confirm.contains("and cancels the order"),
        "{}",
        confirm.text()
    );
    let done = boss.submit(&confirm, &url, &[]).await;
    assert!(
        done.contains("The payment is voided and the order cancelled"),
        "{}",
        done.text()
    );
    assert_eq!(status(&app, order), OrderStatus::Cancelled);
    assert_eq!(app.stock(lamp), 5, "the stock is back on sale");
    assert_eq!(
        money(&app, order),
        ("voided".into(), "voided".into(), 1, 0, 1)
    );
    let mail = app.sent_mail();
    let told: Vec<_> = mail
        .iter()
        .filter(|m| m.subject.contains("was cancelled"))
        .collect();
    assert_eq!(told.len(), 1);
    assert!(
        told[0].text.contains("Nothing was charged."),
        "{}",
        told[0].text
    );
    // Nothing is left to capture, here or at the service.
    let again = boss
        .get(&format!("/admin/orders/order/{order}/capture/"))
        .await;
    assert!(
        again.contains("has no authorized payment"),
        "{}",
        again.text()
    );
    let late_post = boss
        .submit(
            &capture_page,
            &format!("/admin/orders/order/{order}/capture/"),
            &[],
        )
        .await;
    assert!(
        late_post.contains("This order has no authorized payment: nothing was done."),
        "{}",
        late_post.text()
    );
    let charge: String = gc::table
        .select(gc::charge_reference.assume_not_null())
        .first(&mut *app.conn())
        .unwrap();
    let late = payments::PaymentProvider::capture(
        &*app.gateway,
        &charge,
        site_core::Money::from_minor(5000, site_core::Currency::Usd),
    )
    .unwrap();
    assert!(
        matches!(late, payments::Answer::Declined { .. }),
        "{late:?}"
    );
}

#[actix_web::test]
async fn a_customer_cancelling_an_authorized_order_releases_the_hold() {
    let app = TestApp::spawn_with(authorizing(false)).await;
    let c = app.client();
    let (order, public_id, _) = authorized_order(&app, &c, 1).await;
    let url = format!("/orders/{public_id}/cancel/");
    let confirm = c.get(&url).await;
    assert!(
        confirm.contains("held on your card released: nothing is charged"),
        "{}",
        confirm.text()
    );
    let done = c.submit(&confirm, &url, &[]).await;
    assert!(
        done.contains("the amount held on your card is released"),
        "{}",
        done.text()
    );
    assert_eq!(status(&app, order), OrderStatus::Cancelled);
    assert_eq!(
        money(&app, order),
        ("voided".into(), "voided".into(), 1, 0, 1)
    );
    let refunds: i64 = t::table
        .filter(t::kind.eq("refund"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(refunds, 0, "nothing was taken, so nothing is refunded");
}

#[actix_web::test]
async fn a_capture_reported_before_its_authorization_counts_once() {
    let app = TestApp::spawn_with(authorizing(true)).await;
    let c = app.client();
    let lamp = app.product("Lamp", 5, 2500);
    c.add_to_cart(lamp.id, 1).await;
    let public_id = order_public_id(&c.checkout("late@example.com").await);
    let gateway = c.open_gateway(&public_id).await;
    // Authorized at the gateway; the shopper never comes back.
    assert_eq!(
        c.gateway_pay_raw(&gateway, "4242424242424242").await.status,
        303
    );
    let charge: String = gc::table
        .select(gc::charge_reference.assume_not_null())
        .first(&mut *app.conn())
        .unwrap();
    let (answer, _) = payments::gateway::capture(
        &mut app.conn(),
        &charge,
        site_core::Money::from_minor(2500, site_core::Currency::Usd),
    )
    .unwrap();
    assert!(matches!(answer, payments::Answer::Approved { .. }));
    let bodies: Vec<String> = gw::table
        .order(gw::id)
        .select(gw::body)
        .load(&mut *app.conn())
        .unwrap();
    assert!(bodies[0].contains("charge.authorized") && bodies[1].contains("charge.captured"));
    // The capture arrives first, twice; the authorization last.
    for body in [&bodies[1], &bodies[1], &bodies[0]] {
        assert_eq!(app.post_signed_webhook(&c, body).await.status, 200);
    }
    app.process_webhooks().await;
    let order: i64 = o::table
        .filter(o::public_id.eq(&public_id))
        .select(o::id)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(status(&app, order), OrderStatus::Paid);
    assert_eq!(
        money(&app, order),
        ("succeeded".into(), "succeeded".into(), 0, 1, 0),
        "paid once, and the late authorization changed nothing"
    );
    let receipts = app
        .sent_mail()
        .iter()
        .filter(|m| m.subject.starts_with("Payment received"))
        .count();
    assert_eq!(receipts, 1);
}

#[actix_web::test]
async fn an_authorization_left_uncaptured_is_released_and_the_order_cannot_ship() {
    let app = TestApp::spawn_with(authorizing(true)).await;
    let c = app.client();
    let (order, _, _) = authorized_order(&app, &c, 1).await;
    app.deliver_webhooks().await;
    let later = site_core::now()
        + chrono::TimeDelta::days(payments::gateway::AUTHORIZATION_DAYS)
        + chrono::TimeDelta::hours(1);
    assert_eq!(
        payments::gateway::expire(&mut app.conn(), later).unwrap(),
        1
    );
    app.deliver_webhooks().await;
    assert_eq!(
        money(&app, order),
        ("voided".into(), "voided".into(), 1, 0, 1)
    );
    let boss = app.boss(PW).await;
    let change = boss.get(&format!("{LIST}{order}/change/")).await;
    assert!(
        change.contains("released the card authorization before it was captured"),
        "staff see it on the timeline: {}",
        change.text()
    );
    assert!(!change.contains("Capture payment"));
    let shipped = act(&boss, order, "mark_shipped").await;
    assert!(
        shipped.contains("its card authorization was released before it was captured"),
        "{}",
        shipped.text()
    );
    assert_eq!(status(&app, order), OrderStatus::Paid);
}

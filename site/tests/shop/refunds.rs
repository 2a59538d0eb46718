//! Refunds from the admin: by units of lines (with or without restocking),
//! by amount, once per form, never beyond what was captured however many
//! refunds race, and told to the customer.

use diesel::prelude::*;
use futures_util::future::join_all;
use orders::events::Actor;
use payments::domain::RefundOutcome;
use payments::refunds::{self, Plan, RefundError, Reserved};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use site_core::schema::{orders_line as l, orders_order as o, payments_payment as p};
use site_core::{Currency, Money};

use crate::support::{order_public_id, Client, Page, TestApp};

const PW: &str = "correct horse battery staple";

/// A paid guest order of `qty` of `product`; its id and public id.
async fn paid_order(app: &TestApp, product: i64, qty: i64) -> (i64, String) {
    app.order(product, qty, true).await
}

fn line_id(app: &TestApp, order: i64) -> i64 {
    l::table
        .filter(l::order_id.eq(order))
        .select(l::id)
        .first(&mut *app.conn())
        .unwrap()
}

fn refunded(app: &TestApp, order: i64) -> (i64, i64) {
    let on_order: i64 = o::table
        .find(order)
        .select(o::refunded_minor)
        .first(&mut *app.conn())
        .unwrap();
    let on_payment: i64 = p::table
        .filter(p::order_id.eq(order))
        .select(p::refunded_minor)
        .first(&mut *app.conn())
        .unwrap();
    (on_order, on_payment)
}

async fn refund_page(c: &Client, order: i64) -> Page {
    c.get(&format!("/admin/orders/order/{order}/refund/")).await
}

async fn refund(c: &Client, page: &Page, order: i64, fields: &[(&str, &str)]) -> Page {
    c.submit(
        page,
        &format!("/admin/orders/order/{order}/refund/"),
        fields,
    )
    .await
}

#[actix_web::test]
async fn staff_refund_units_of_a_line_and_put_them_back_on_sale() {
    let app = TestApp::spawn().await;
    orders::taxes::create(&mut app.conn(), "VAT", "GB", 2000).unwrap();
    let mug = app.product("Mug", 10, 1000);
    let (order, public_id) = paid_order(&app, mug.id, 3).await;
    assert_eq!(app.stock(mug.id), 7);
    let c = app.boss(PW).await;

    let change = c.get(&format!("/admin/orders/order/{order}/change/")).await;
    assert!(
        change.contains("Invoice Refund History"),
        "{}",
        change.text()
    );
    let page = refund_page(&c, order).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(
        page.testid_texts("refundable"),
        vec!["$36.00"],
        "3 × 10.00 + 20% VAT"
    );
    assert!(page.contains("$12.00"), "each mug paid 12.00 with its tax");

    let qty = format!("qty-{}", line_id(&app, order));
    let done = refund(
        &c,
        &page,
        order,
        &[(&qty, "1"), ("restock", "on"), ("note", "Arrived chipped")],
    )
    .await;
    assert!(
        done.contains("The refund is made; the customer was emailed."),
        "{}",
        done.text()
    );
    assert_eq!(refunded(&app, order), (1200, 1200));
    assert_eq!(app.stock(mug.id), 8, "the unit is back on sale");
    let units: i64 = l::table
        .filter(l::order_id.eq(order))
        .select(l::refunded_quantity)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(units, 1);
    assert!(done.contains("Refunded 12.00 USD for 1 × Mug; stock returned. Note: Arrived chipped"));

    let mail = app
        .sent_mail()
        .into_iter()
        .find(|m| m.subject.starts_with("A refund"))
        .expect("a refund email");
    assert!(mail.text.contains("we refunded $12.00"), "{}", mail.text);
    assert!(mail.text.contains("card ending 4242"));

    let customer = app.client().get(&format!("/orders/{public_id}/")).await;
    assert_eq!(
        customer.testid_texts("refund-state"),
        vec!["Partially refunded"]
    );
    assert!(customer.contains("Refunded $12.00 to your card ending 4242"));
    assert!(
        !customer.contains("Arrived chipped"),
        "staff notes stay with staff"
    );

    // The rest by amount: the order is then refunded in full.
    let page = refund_page(&c, order).await;
    let rest = refund(&c, &page, order, &[("amount", "24.00")]).await;
    assert!(rest.contains("Refunded 24.00 USD"), "{}", rest.text());
    assert_eq!(refunded(&app, order), (3600, 3600));
    let customer = app.client().get(&format!("/orders/{public_id}/")).await;
    assert_eq!(customer.testid_texts("refund-state"), vec!["Refunded"]);
    assert_eq!(app.stock(mug.id), 8, "an amount puts no stock back");
}

#[actix_web::test]
async fn a_refund_beyond_what_is_left_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let mug = app.product("Mug", 10, 1000);
    let (order, _) = paid_order(&app, mug.id, 2).await;
    let c = app.boss(PW).await;
    let page = refund_page(&c, order).await;
    let too_much = refund(&c, &page, order, &[("amount", "20.01")]).await;
    assert_eq!(too_much.status, 422);
    assert!(
        too_much.contains("At most 20.00 USD can be refunded"),
        "{}",
        too_much.text()
    );
    let nothing = refund(&c, &page, order, &[]).await;
    assert_eq!(nothing.status, 422);
    assert!(nothing.contains("Choose what to refund"));
    let qty = format!("qty-{}", line_id(&app, order));
    let bad_units = refund(&c, &page, order, &[(&qty, "3")]).await;
    assert!(bad_units.contains("Enter 0 to 2 for “Mug”."));
    assert_eq!(refunded(&app, order), (0, 0));
}

#[actix_web::test]
async fn the_same_refund_form_sent_twice_refunds_once() {
    let app = TestApp::spawn().await;
    let mug = app.product("Mug", 10, 1000);
    let (order, _) = paid_order(&app, mug.id, 2).await;
    let c = app.boss(PW).await;
    let page = refund_page(&c, order).await;
    let first = refund(&c, &page, order, &[("amount", "5.00")]).await;
    assert!(first.contains("Refunded 5.00 USD"), "{}", first.text());
    let again = refund(&c, &page, order, &[("amount", "5.00")]).await;
    assert!(
        again.contains("This refund was already made."),
        "{}",
        again.text()
    );
    assert_eq!(refunded(&app, order), (500, 500));
}

#[actix_web::test]
async fn racing_refunds_never_give_back_more_than_was_captured() {
    let app = TestApp::spawn().await;
    let mug = app.product("Mug", 10, 1000);
    let (order, _) = paid_order(&app, mug.id, 1).await;
    let c = app.boss(PW).await;
    // Ten forms (ten keys) of 4.00 each against a 10.00 payment.
    let mut pages = Vec::new();
    for _ in 0..10 {
        pages.push(refund_page(&c, order).await);
    }
    let url = format!("/admin/orders/order/{order}/refund/");
    let results = join_all(
        pages
            .iter()
            .map(|page| c.submit_raw(page, &url, &[("amount", "4.00")])),
    )
    .await;
    let done = results.iter().filter(|r| r.status == 303).count();
    assert_eq!(
        done,
        2,
        "statuses: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(results
        .iter()
        .filter(|r| r.status != 303)
        .all(|r| matches!(r.status, 409 | 422) && r.contains("can be refunded")));
    assert_eq!(refunded(&app, order), (800, 800));
}

#[actix_web::test]
async fn refunding_needs_its_own_permission() {
    let app = TestApp::spawn().await;
    let mug = app.product("Mug", 10, 1000);
    let (order, _) = paid_order(&app, mug.id, 1).await;
    app.staff_member(
        "clerk@example.com",
        PW,
        &["orders.view_order", "orders.change_order"],
    );
    let clerk = app.client();
    clerk.login("clerk@example.com", PW).await;
    assert_eq!(
        clerk
            .get_raw(&format!("/admin/orders/order/{order}/refund/"))
            .await
            .status,
        403
    );
    app.staff_member("cashier@example.com", PW, &["payments.refund_payment"]);
    let cashier = app.client();
    cashier.login("cashier@example.com", PW).await;
    assert_eq!(refund_page(&cashier, order).await.status, 200);
}

/// Any sequence of refund amounts against one payment: each is made
/// exactly when it still fits, and what the payment and the order say was
/// refunded is the sum of those made, never more than was captured.
#[actix_web::test]
async fn refunds_can_never_exceed_the_capture() {
    let app = TestApp::spawn().await;
    let mug = app.product("Mug", 1000, 2500);
    let mut orders = Vec::new();
    for _ in 0..12 {
        orders.push(paid_order(&app, mug.id, 1).await.0);
    }
    let next = std::cell::Cell::new(0usize);
    let mut runner = TestRunner::new(Config {
        cases: orders.len() as u32,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(1i64..2000, 1..12), |amounts| {
            let order = orders[next.get() % orders.len()];
            next.set(next.get() + 1);
            let mut conn = app.conn();
            let (before, _) = refunded(&app, order);
            let mut expected = before;
            for minor in amounts {
                let plan = Plan {
                    amount: Money::from_minor(minor, Currency::Usd),
                    lines: Vec::new(),
                    delivery: false,
                    restock: false,
                    note: String::new(),
                    key: site_core::random_token(32),
                    locale: site_core::money::Locale::default(),
                };
                match refunds::reserve(&mut conn, order, &plan) {
                    Ok(Reserved::Ask(r)) => {
                        prop_assert!(expected + minor <= 2500);
                        let ok = refunds::settle(
                            &mut conn,
                            &r,
                            &RefundOutcome::Approved {
                                reference: "demo_re".into(),
                            },
                            Actor::System,
                            None,
                        )
                        .unwrap();
                        prop_assert!(ok);
                        expected += minor;
                    }
                    Err(RefundError::TooMuch(left)) => {
                        prop_assert!(expected + minor > 2500);
                        prop_assert_eq!(left.minor(), 2500 - expected);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            prop_assert_eq!(refunded(&app, order), (expected, expected));
            Ok(())
        })
        .unwrap();
}

async fn cancel(c: &Client, public_id: &str) -> (Page, Page) {
    let url = format!("/orders/{public_id}/cancel/");
    let confirm = c.get(&url).await;
    let done = c.submit(&confirm, &url, &[]).await;
    (confirm, done)
}

#[actix_web::test]
async fn a_customer_cancels_an_unpaid_order_and_its_stock_returns() {
    let app = TestApp::spawn().await;
    let mug = app.product("Mug", 5, 1000);
    let (order, public_id) = app.order(mug.id, 2, false).await;
    assert_eq!(app.stock(mug.id), 3);
    let c = app.client();
    let page = c.get(&format!("/orders/{public_id}/")).await;
    assert!(page.contains("Cancel this order"));
    let (confirm, done) = cancel(&c, &public_id).await;
    assert!(confirm.contains("nothing is charged"), "{}", confirm.text());
    assert!(
        done.contains("Your order is cancelled. Nothing was charged."),
        "{}",
        done.text()
    );
    assert_eq!(app.stock(mug.id), 5);
    assert_eq!(
        o::table
            .find(order)
            .select(o::status)
            .first::<orders::OrderStatus>(&mut *app.conn())
            .unwrap(),
        orders::OrderStatus::Cancelled
    );
    assert!(!done.contains("Cancel this order"));
    let mail = app.sent_mail();
    assert!(mail
        .iter()
        .any(|m| m.subject.contains("was cancelled") && m.text.contains("Nothing was charged.")));
}

#[actix_web::test]
async fn a_customer_cancels_a_paid_order_and_is_refunded_in_full_once() {
    let app = TestApp::spawn().await;
    let mug = app.product("Mug", 5, 1000);
    let (order, public_id) = app.order(mug.id, 2, true).await;
    let c = app.client();
    let url = format!("/orders/{public_id}/cancel/");
    let confirm = c.get(&url).await;
    assert!(confirm.contains("refunded to the card you paid with"));
    let (a, b) = tokio::join!(
        c.submit_raw(&confirm, &url, &[]),
        c.submit_raw(&confirm, &url, &[])
    );
    assert_eq!((a.status, b.status), (303, 303));
    assert_eq!(refunded(&app, order), (2000, 2000), "refunded once");
    assert_eq!(app.stock(mug.id), 5, "stock back once");
    let page = c.get(&format!("/orders/{public_id}/")).await;
    assert!(
        page.contains("Your payment of $20.00 was refunded"),
        "{}",
        page.text()
    );
    assert!(page.contains("Refunded $20.00 to your card ending 4242"));
    let mail = app.sent_mail();
    let cancelled: Vec<_> = mail
        .iter()
        .filter(|m| m.subject.contains("was cancelled"))
        .collect();
    assert_eq!(cancelled.len(), 1);
    assert!(
        cancelled[0].text.contains("has been refunded"),
        "{}",
        cancelled[0].text
    );
}

#[actix_web::test]
async fn shipped_orders_and_other_peoples_orders_cannot_be_cancelled() {
    let app = TestApp::spawn().await;
    let mug = app.product("Mug", 5, 1000);
    let (order, public_id) = app.order(mug.id, 1, true).await;
    orders::Order::transition(
        &mut app.conn(),
        order,
        orders::OrderStatus::Paid,
        &orders::models::Move::Ship {
            carrier: "dhl",
            tracking_number: "JD1",
        },
    )
    .unwrap();
    let c = app.client();
    let page = c.get(&format!("/orders/{public_id}/cancel/")).await;
    assert!(page.contains("This order can no longer be cancelled."));
    assert_eq!(refunded(&app, order), (0, 0));

    // An order placed while signed in needs that account.
    app.customer("ann@example.com", PW);
    let ann = app.client();
    ann.login("ann@example.com", PW).await;
    ann.add_to_cart(mug.id, 1).await;
    let placed = ann.checkout("ann@example.com").await;
    let mine = order_public_id(&placed);
    let anonymous = app
        .client()
        .get_raw(&format!("/orders/{mine}/cancel/"))
        .await;
    assert_eq!(anonymous.status, 303, "to the login page");
    app.customer("eve@example.com", PW);
    let eve = app.client();
    eve.login("eve@example.com", PW).await;
    assert_eq!(
        eve.get_raw(&format!("/orders/{mine}/cancel/")).await.status,
        404
    );
    assert!(ann
        .get(&format!("/orders/{mine}/cancel/"))
        .await
        .contains("Cancel the order"));
}

#[actix_web::test]
async fn a_refund_whose_answer_was_lost_waits_and_is_asked_about_again_once() {
    let app = TestApp::spawn_flaky().await;
    let mug = app.product("Mug", 10, 1000);
    let (order, _) = paid_order(&app, mug.id, 2).await;
    // The gateway makes the first refund, and its answer is lost.
    let flaky = app.flaky.as_ref().unwrap();
    crate::support::Flaky::fail(&flaky.refund_answers_lost, 1);
    let c = app.boss(PW).await;
    let page = refund_page(&c, order).await;
    let held = refund(&c, &page, order, &[("amount", "8.00"), ("note", "Late")]).await;
    assert_eq!(held.status, 202);
    assert!(held.contains("The refund is on hold"), "{}", held.text());
    assert_eq!(held.testid_texts("pending-refund").len(), 1);
    assert_eq!(
        held.testid_texts("refundable"),
        vec!["$12.00"],
        "reserved meanwhile"
    );
    // Asked again: made once, with the first request's amount.
    let again = c
        .submit(&held, &format!("/admin/orders/order/{order}/refund/"), &[])
        .await;
    assert!(again.contains("The refund is made"), "{}", again.text());
    assert_eq!(refunded(&app, order), (800, 800));
    let page = refund_page(&c, order).await;
    assert!(page.testid_texts("pending-refund").is_empty());
}

#[actix_web::test]
async fn cancelling_after_a_restocking_refund_returns_only_the_rest_and_frees_the_voucher() {
    let app = TestApp::spawn().await;
    orders::vouchers::create(
        &mut app.conn(),
        &orders::vouchers::NewVoucher {
            code: "ONCE",
            description: "",
            kind: orders::vouchers::VoucherKind::Fixed,
            percent_basis_points: 0,
            amount: Money::from_minor(100, Currency::Usd),
            min_basket: None,
            valid_from: None,
            valid_until: None,
            usage_limit: Some(1),
            per_customer_limit: None,
        },
    )
    .unwrap();
    let mug = app.product("Mug", 10, 1000);
    // An unpaid order using the one-use code, cancelled: the code is free again.
    let shopper = app.client();
    shopper.add_to_cart(mug.id, 1).await;
    let review = shopper.checkout_to_review("ann@example.com").await;
    let applied = shopper
        .submit(&review, "/orders/checkout/voucher/", &[("voucher", "ONCE")])
        .await;
    let placed = shopper
        .submit(&applied, "/orders/checkout/review/", &[])
        .await;
    cancel(&shopper, &order_public_id(&placed)).await;
    let used: i64 = site_core::schema::orders_voucher::table
        .select(site_core::schema::orders_voucher::times_used)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(used, 0, "a cancelled order gives its use back");

    // 3 bought, 2 refunded and put back on sale, then the order cancelled.
    let (order, public_id) = paid_order(&app, mug.id, 3).await;
    assert_eq!(app.stock(mug.id), 7);
    let c = app.boss(PW).await;
    let page = refund_page(&c, order).await;
    let qty = format!("qty-{}", line_id(&app, order));
    refund(&c, &page, order, &[(&qty, "2"), ("restock", "on")]).await;
    assert_eq!(app.stock(mug.id), 9);
    cancel(&app.client(), &public_id).await;
    assert_eq!(app.stock(mug.id), 10, "the last unit, not all three again");
    assert_eq!(refunded(&app, order), (3000, 3000), "and the rest refunded");
}

#[actix_web::test]
async fn a_bank_transfer_refund_waits_until_staff_mark_it_sent() {
    let app = TestApp::spawn().await;
    let mug = app.product("Mug", 10, 1000);
    let c = app.client();
    c.add_to_cart(mug.id, 1).await;
    let placed = c.checkout_by_bank_transfer("ada@example.com").await;
    let public_id = order_public_id(&placed);
    let order: i64 = o::table
        .filter(o::public_id.eq(&public_id))
        .select(o::id)
        .first(&mut *app.conn())
        .unwrap();
    let staff = app.boss(PW).await;
    let url = format!("/admin/orders/order/{order}/transfer/");
    let form = staff.get(&url).await;
    staff
        .submit(
            &form,
            &url,
            &[("amount", "10.00"), ("bank_reference", "FP9")],
        )
        .await;
    // The customer cancels: the money is the shop's to send back.
    let (_, done) = cancel(&c, &public_id).await;
    assert!(done.contains("we will send it shortly"), "{}", done.text());
    let page = refund_page(&staff, order).await;
    assert_eq!(page.testid_texts("pending-refund").len(), 1);
    assert!(page.contains("send each amount back to the customer"));
    let sent = staff
        .submit(&page, &format!("/admin/orders/order/{order}/refund/"), &[])
        .await;
    assert!(sent.contains("The refund is made"), "{}", sent.text());
    assert_eq!(refunded(&app, order), (1000, 1000));
}

/// Delivery at $4.50 everywhere, so it can be refunded apart.
fn delivery_at_450(app: &TestApp) {
    diesel::update(site_core::schema::orders_shipping_method::table)
        .set(site_core::schema::orders_shipping_method::price_minor.eq(450))
        .execute(&mut *app.conn())
        .unwrap();
}

#[actix_web::test]
async fn the_delivery_is_refunded_once() {
    let app = TestApp::spawn().await;
    delivery_at_450(&app);
    let mug = app.product("Mug", 10, 1000);
    let (order, _) = paid_order(&app, mug.id, 1).await;
    let c = app.boss(PW).await;
    let page = refund_page(&c, order).await;
    assert!(
        page.contains("Refund the delivery ($4.50)"),
        "{}",
        page.text()
    );
    let done = refund(&c, &page, order, &[("delivery", "on")]).await;
    assert!(done.contains("The refund is made"), "{}", done.text());
    assert_eq!(refunded(&app, order), (450, 450));
    let again = refund_page(&c, order).await;
    assert!(!again.contains("Refund the delivery"));
    let twice = refund(&c, &again, order, &[("delivery", "on")]).await;
    assert_eq!(twice.status, 422);
    assert!(twice.contains("The delivery was refunded already."));
    assert_eq!(refunded(&app, order), (450, 450));
}

#[actix_web::test]
async fn racing_refund_forms_give_the_delivery_back_once() {
    let app = TestApp::spawn().await;
    delivery_at_450(&app);
    let mug = app.product("Mug", 10, 1000);
    let (order, _) = paid_order(&app, mug.id, 2).await;
    let c = app.boss(PW).await;
    // Five staff tabs, each opened before any refund, each refunding the
    // delivery ($4.50 of the $24.50 paid) at once.
    let mut pages = Vec::new();
    for _ in 0..5 {
        pages.push(refund_page(&c, order).await);
    }
    let answers = join_all(
        pages
            .iter()
            .map(|p| refund(&c, p, order, &[("delivery", "on")])),
    )
    .await;
    // One went through (its page: the order, status 200; the tabs share
    // a session, so which page shows the flash is down to timing).
    let made = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        made,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for refused in answers.iter().filter(|a| a.status != 200) {
        assert!(
            refused.contains("The delivery was refunded meanwhile")
                || refused.contains("The delivery was refunded already."),
            "{}",
            refused.text()
        );
    }
    assert_eq!(refunded(&app, order), (450, 450));
}

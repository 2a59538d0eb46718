//! Voucher codes at checkout: what they take off, every reason one is
//! refused, and a limited code used exactly as often as it allows however
//! many shoppers race for it.

use chrono::Duration;
use diesel::prelude::*;
use futures_util::future::join_all;
use orders::vouchers::{self, NewVoucher, VoucherKind};
use orders::Order;
use site_core::schema::{
    orders_line as l, orders_order as o, orders_shipping_method as m, orders_voucher as v,
    orders_voucher_use as vu,
};
use site_core::{Currency, Money};

use crate::support::{order_public_id, Client, Page, TestApp};

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::Usd)
}

fn voucher(app: &TestApp, code: &str, kind: VoucherKind, edit: impl FnOnce(&mut NewVoucher<'_>)) {
    let mut new = NewVoucher {
        code,
        description: "",
        kind,
        percent_basis_points: 1000,
        amount: usd(0),
        min_basket: None,
        valid_from: None,
        valid_until: None,
        usage_limit: None,
        per_customer_limit: None,
    };
    edit(&mut new);
    vouchers::create(&mut app.conn(), &new).unwrap();
}

/// Delivery at 4.50 everywhere, so discounts and delivery show apart.
fn priced_delivery(app: &TestApp) {
    diesel::update(m::table)
        .set(m::price_minor.eq(450))
        .execute(&mut *app.conn())
        .unwrap();
}

async fn apply(c: &Client, review: &Page, code: &str) -> Page {
    c.submit(review, "/orders/checkout/voucher/", &[("voucher", code)])
        .await
}

#[actix_web::test]
async fn a_percentage_voucher_is_applied_at_review_and_kept_by_the_order() {
    let app = TestApp::spawn().await;
    priced_delivery(&app);
    voucher(&app, "SAVE10", VoucherKind::Percent, |_| {});
    let mug = app.product("Mug", 10, 999);
    let pot = app.product("Pot", 10, 333);
    let c = app.client();
    c.add_to_cart(mug.id, 1).await;
    c.add_to_cart(pot.id, 1).await;
    let review = c.checkout_to_review("ann@example.com").await;
    assert!(c.get("/cart/").await.contains("enter a voucher code"));

    let applied = apply(&c, &review, " save10 ").await;
    assert_eq!(applied.status, 200, "{}", applied.text());
    assert!(applied.url.ends_with("/orders/checkout/review/"));
    assert!(applied.contains("The voucher SAVE10 is applied."));
    assert_eq!(applied.testid_texts("subtotal"), vec!["$13.32"]);
    assert_eq!(applied.testid_texts("discount"), vec!["−$1.33"]);
    assert_eq!(applied.testid_texts("shipping"), vec!["$4.50"]);
    assert_eq!(applied.testid_texts("order-total"), vec!["$16.49"]);
    assert!(applied.contains("Voucher SAVE10 (10% off)"));

    let placed = c.submit(&applied, "/orders/checkout/review/", &[]).await;
    assert_eq!(placed.status, 200, "{}", placed.text());
    assert_eq!(placed.testid_texts("order-total"), vec!["$16.49"]);
    assert!(
        placed.contains("Voucher SAVE10 −$1.33"),
        "{}",
        placed.text()
    );
    let order = Order::by_public_id(&mut app.conn(), &order_public_id(&placed)).unwrap();
    assert_eq!(
        (
            order.subtotal_minor,
            order.discount_minor,
            order.shipping_minor,
            order.total_minor
        ),
        (1332, 133, 450, 1649)
    );
    assert_eq!(order.voucher_code, "SAVE10");
    let shares: Vec<i64> = l::table
        .filter(l::order_id.eq(order.id))
        .order(l::id)
        .select(l::discount_minor)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(
        shares.iter().sum::<i64>(),
        133,
        "the lines share the discount exactly"
    );
    assert_eq!(shares, vec![100, 33]);
    let (used, uses): (i64, i64) = (
        v::table
            .select(v::times_used)
            .first(&mut *app.conn())
            .unwrap(),
        vu::table.count().get_result(&mut *app.conn()).unwrap(),
    );
    assert_eq!((used, uses), (1, 1));
    let mail = &app.sent_mail()[0];
    assert!(
        mail.text.contains("Voucher SAVE10: -$1.33"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("Total: $16.49"));
}

#[actix_web::test]
async fn free_delivery_and_amount_off_vouchers() {
    let app = TestApp::spawn().await;
    priced_delivery(&app);
    voucher(&app, "FREESHIP", VoucherKind::FreeShipping, |_| {});
    voucher(&app, "TWENTY", VoucherKind::Fixed, |n| n.amount = usd(2000));
    let pen = app.product("Pen", 10, 1500);
    let c = app.client();
    c.add_to_cart(pen.id, 1).await;
    let review = c.checkout_to_review("ann@example.com").await;
    let free = apply(&c, &review, "freeship").await;
    assert_eq!(free.testid_texts("discount"), vec!["−$4.50"]);
    assert_eq!(free.testid_texts("order-total"), vec!["$15.00"]);

    let removed = c
        .submit(&free, "/orders/checkout/voucher/remove/", &[])
        .await;
    assert!(removed.contains("The voucher FREESHIP was taken off."));
    assert_eq!(removed.testid_texts("order-total"), vec!["$19.50"]);
    // More than the basket: only the basket comes off, delivery is paid.
    let capped = apply(&c, &removed, "TWENTY").await;
    assert_eq!(capped.testid_texts("discount"), vec!["−$15.00"]);
    assert_eq!(capped.testid_texts("order-total"), vec!["$4.50"]);
}

#[actix_web::test]
async fn every_refusal_says_why_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let now = site_core::now();
    voucher(&app, "OLD", VoucherKind::Percent, |n| {
        n.valid_until = Some(now - Duration::days(1))
    });
    voucher(&app, "SOON", VoucherKind::Percent, |n| {
        n.valid_from = Some(now + Duration::days(1))
    });
    voucher(&app, "BIG", VoucherKind::Percent, |n| {
        n.min_basket = Some(usd(5000))
    });
    voucher(&app, "ONCE", VoucherKind::Percent, |n| {
        n.usage_limit = Some(1)
    });
    voucher(&app, "MINE", VoucherKind::Percent, |n| {
        n.per_customer_limit = Some(1)
    });
    diesel::update(v::table.filter(v::code.eq("ONCE")))
        .set(v::times_used.eq(1))
        .execute(&mut *app.conn())
        .unwrap();
    let tea = app.product("Tea", 50, 1000);

    // Ann has used MINE once already.
    let first = app.client();
    first.add_to_cart(tea.id, 1).await;
    let review = first.checkout_to_review("ann@example.com").await;
    let applied = apply(&first, &review, "MINE").await;
    first
        .submit(&applied, "/orders/checkout/review/", &[])
        .await;

    let c = app.client();
    c.add_to_cart(tea.id, 1).await;
    let review = c.checkout_to_review("ann@example.com").await;
    for (code, message) in [
        ("NOPE", "“NOPE” is not a voucher code we know."),
        ("OLD", "This code has expired."),
        ("SOON", "This code cannot be used yet."),
        ("BIG", "This code needs a basket of at least $50.00."),
        ("ONCE", "This code has been used up."),
        (
            "MINE",
            "You have already used this code as many times as it allows.",
        ),
        ("", "Enter the code from your voucher."),
    ] {
        let page = apply(&c, &review, code).await;
        assert_eq!(page.status, 422, "{code}");
        assert!(page.contains(message), "{code}: {}", page.text());
        assert_eq!(page.testid_texts("order-total"), vec!["$10.00"], "{code}");
        assert!(
            page.body.contains(&format!("value=\"{code}\"")),
            "what was typed stays"
        );
    }
    // Someone else may still use MINE.
    let other = app.client();
    other.add_to_cart(tea.id, 1).await;
    let review = other.checkout_to_review("bob@example.com").await;
    assert!(apply(&other, &review, "MINE")
        .await
        .contains("The voucher MINE is applied."));
}

#[actix_web::test]
async fn a_voucher_that_expires_before_placing_is_refused_and_nothing_is_placed() {
    let app = TestApp::spawn().await;
    voucher(&app, "BRIEF", VoucherKind::Percent, |_| {});
    let tea = app.product("Tea", 5, 1000);
    let c = app.client();
    c.add_to_cart(tea.id, 1).await;
    let review = c.checkout_to_review("ann@example.com").await;
    let applied = apply(&c, &review, "BRIEF").await;
    assert_eq!(applied.testid_texts("order-total"), vec!["$9.00"]);
    diesel::update(v::table)
        .set(v::valid_until.eq(Some(site_core::now() - Duration::minutes(1))))
        .execute(&mut *app.conn())
        .unwrap();

    let refused = c.submit(&applied, "/orders/checkout/review/", &[]).await;
    assert_eq!(refused.status, 409);
    assert!(refused.contains("The voucher BRIEF could not be used: This code has expired."));
    assert_eq!(refused.testid_texts("order-total"), vec!["$10.00"]);
    assert_eq!(Order::count(&mut app.conn()).unwrap(), 0);
    assert_eq!(app.stock(tea.id), 5);
    let times_used: i64 = v::table
        .select(v::times_used)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(times_used, 0);

    // The review without it places the order at the price shown.
    let placed = c.submit(&refused, "/orders/checkout/review/", &[]).await;
    assert_eq!(placed.testid_texts("order-total"), vec!["$10.00"]);
    assert_eq!(Order::count(&mut app.conn()).unwrap(), 1);
}

/// The race: 500 shoppers with a code limited to 5 uses try to buy
/// the last 10 units at once. Exactly 5 orders use the code; the others are
/// shown their order without it, place it again at once, and the 5 units
/// left sell: 10 orders, 5 discounted, stock 0, the code used 5 times.
#[actix_web::test]
async fn five_hundred_shoppers_race_for_a_code_limited_to_five_uses() {
    let app = TestApp::spawn().await;
    voucher(&app, "FIVE", VoucherKind::Percent, |n| {
        n.usage_limit = Some(5)
    });
    let print = app.product("Limited Print", 10, 5000);
    let ready = join_all((0..500).map(|i| {
        let c = app.client();
        async move {
            c.add_to_cart(print.id, 1).await;
            let review = c
                .checkout_to_review(&format!("shopper{i}@example.com"))
                .await;
            let applied = apply(&c, &review, "FIVE").await;
            assert!(applied.contains("The voucher FIVE is applied."));
            (c, applied)
        }
    }))
    .await;

    let first = join_all(
        ready
            .iter()
            .map(|(c, page)| c.submit(page, "/orders/checkout/review/", &[])),
    )
    .await;
    let placed = first.iter().filter(|p| p.status == 200).count();
    assert_eq!(
        placed,
        5,
        "statuses: {:?}",
        first.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    let refused: Vec<_> = ready
        .iter()
        .zip(&first)
        .filter(|(_, p)| p.status == 409)
        .collect();
    assert_eq!(refused.len(), 495);
    assert!(refused
        .iter()
        .all(|(_, p)| p.contains("This code has been used up.")));

    let second = join_all(
        refused
            .iter()
            .map(|((c, _), page)| c.submit(page, "/orders/checkout/review/", &[])),
    )
    .await;
    assert_eq!(second.iter().filter(|p| p.status == 200).count(), 5);
    assert!(second
        .iter()
        .filter(|p| p.status != 200)
        .all(|p| p.status == 409 && p.contains("“Limited Print” is out of stock")));

    let mut conn = app.conn();
    assert_eq!(Order::count(&mut conn).unwrap(), 10);
    let discounted: i64 = o::table
        .filter(o::discount_minor.gt(0))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(discounted, 5);
    assert_eq!(app.stock(print.id), 0);
    let (used, uses): (i64, i64) = (
        v::table.select(v::times_used).first(&mut *conn).unwrap(),
        vu::table.count().get_result(&mut *conn).unwrap(),
    );
    assert_eq!((used, uses), (5, 5));
}

#[actix_web::test]
async fn staff_create_vouchers_in_the_admin_with_their_rules_checked() {
    let app = TestApp::spawn().await;
    let c = app.boss("correct horse battery staple").await;
    let add = "/admin/orders/voucher/add/";
    let form = c.get(add).await;
    assert_eq!(form.status, 200, "{}", form.text());
    let base = [
        ("code", "spring-25"),
        ("kind", "percent"),
        ("is_active", "on"),
        ("valid_from", "2026-03-01"),
        ("valid_until", "2026-02-01"),
        ("percent", "150"),
    ];
    let bad = c.submit(&form, add, &base).await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.contains("Enter a percentage above 0 and at most 100"),
        "{}",
        bad.text()
    );
    let mut fields = base.to_vec();
    fields[5] = ("percent", "12.5");
    let bad_dates = c.submit(&form, add, &fields).await;
    assert!(bad_dates.contains("The last day cannot come before the first."));
    fields[4] = ("valid_until", "2026-03-31");
    fields.push(("usage_limit", "100"));
    let added = c.submit(&form, add, &fields).await;
    assert!(
        added.contains("The voucher “SPRING-25” was added."),
        "{}",
        added.text()
    );
    let (bp, until): (i32, Option<chrono::NaiveDateTime>) = v::table
        .select((v::percent_basis_points, v::valid_until))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(bp, 1250);
    assert_eq!(
        until.unwrap().to_string(),
        "2026-04-01 00:00:00",
        "valid to the end of the last day"
    );
    let list = c.get("/admin/orders/voucher/").await;
    assert!(list.contains("SPRING-25") && list.contains("12.5%") && list.contains("0 of 100"));
}

#[actix_web::test]
async fn a_deleted_account_leaves_no_email_on_its_voucher_uses() {
    let app = TestApp::spawn().await;
    const PW: &str = "correct horse battery staple";
    voucher(&app, "ONE", VoucherKind::Percent, |n| {
        n.per_customer_limit = Some(1)
    });
    let tea = app.product("Tea", 5, 1000);
    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    c.add_to_cart(tea.id, 1).await;
    let review = c.checkout_to_review("ann@example.com").await;
    let applied = apply(&c, &review, "ONE").await;
    c.submit(&applied, "/orders/checkout/review/", &[]).await;
    let form = c.get("/accounts/delete/").await;
    let gone = c
        .submit(&form, "/accounts/delete/", &[("password", PW)])
        .await;
    assert!(gone.contains("Your account was deleted."));
    let emails: Vec<String> = vu::table.select(vu::email).load(&mut *app.conn()).unwrap();
    assert_eq!(emails, vec!["deleted@invalid".to_string()]);
}

#[actix_web::test]
async fn an_order_the_voucher_pays_in_full_is_paid_at_once() {
    let app = TestApp::spawn().await;
    voucher(&app, "ALL", VoucherKind::Percent, |n| {
        n.percent_basis_points = 10_000
    });
    let pen = app.product("Pen", 10, 1500);
    let c = app.client();
    c.add_to_cart(pen.id, 1).await;
    let review = c.checkout_to_review("ann@example.com").await;
    let applied = apply(&c, &review, "ALL").await;
    assert_eq!(applied.testid_texts("order-total"), vec!["$0.00"]);
    let placed = c.submit(&applied, "/orders/checkout/review/", &[]).await;
    assert!(
        placed.contains("there is nothing to pay"),
        "{}",
        placed.text()
    );
    assert_eq!(placed.testid_texts("order-status"), vec!["Paid"]);
    assert!(!placed.contains("Pay $0.00"));
    let mail = app.sent_mail();
    assert!(mail
        .iter()
        .any(|m| m.subject.ends_with("invoice INV-000001")));
    let confirmation = mail
        .iter()
        .find(|m| m.subject.contains("is confirmed"))
        .unwrap();
    assert!(
        !confirmation.text.contains("waiting for payment"),
        "{}",
        confirmation.text
    );
}

#[actix_web::test]
async fn free_delivery_counts_the_goods_after_the_discount() {
    let app = TestApp::spawn().await;
    // Delivery at 4.50, free from 50.00 of goods.
    diesel::update(m::table)
        .set((m::price_minor.eq(450), m::free_over_minor.eq(Some(5000))))
        .execute(&mut *app.conn())
        .unwrap();
    voucher(&app, "SAVE10", VoucherKind::Percent, |_| {});
    let lamp = app.product("Lamp", 5, 5500);
    let c = app.client();
    c.add_to_cart(lamp.id, 1).await;
    let review = c.checkout_to_review("free@example.com").await;
    assert_eq!(
        review.testid_texts("shipping"),
        vec!["Free"],
        "55.00 of goods"
    );
    // 10% off leaves 49.50 of goods: under the threshold, delivery is due.
    let discounted = apply(&c, &review, "SAVE10").await;
    assert_eq!(discounted.testid_texts("shipping"), vec!["$4.50"]);
    assert_eq!(discounted.testid_texts("order-total"), vec!["$54.00"]);
    // The order charges what the review showed.
    let placed = c.submit(&discounted, "/orders/checkout/review/", &[]).await;
    assert_eq!(
        placed.testid_texts("order-total"),
        vec!["$54.00"],
        "{}",
        placed.text()
    );
}

#[actix_web::test]
async fn a_signed_in_customer_cannot_reuse_a_once_per_customer_code_under_another_email() {
    const PW: &str = "correct horse battery staple";
    let app = TestApp::spawn().await;
    voucher(&app, "MINE", VoucherKind::Percent, |n| {
        n.per_customer_limit = Some(1)
    });
    let tea = app.product("Tea", 50, 1000);
    app.customer("bea@example.com", PW);
    let c = app.client();
    c.login("bea@example.com", PW).await;
    c.add_to_cart(tea.id, 1).await;
    let review = c.checkout_to_review("bea@example.com").await;
    let applied = apply(&c, &review, "MINE").await;
    assert_eq!(applied.testid_texts("order-total"), vec!["$9.00"]);
    c.submit(&applied, "/orders/checkout/review/", &[]).await;

    // The same account, another email at checkout: still the same customer.
    c.add_to_cart(tea.id, 1).await;
    let review = c.checkout_to_review("bea.other@example.com").await;
    let refused = apply(&c, &review, "MINE").await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.contains("You have already used this code as many times as it allows."),
        "{}",
        refused.text()
    );
    // A guest with a new email is another customer, as before.
    let guest = app.client();
    guest.add_to_cart(tea.id, 1).await;
    let review = guest.checkout_to_review("cy@example.com").await;
    assert_eq!(
        apply(&guest, &review, "MINE")
            .await
            .testid_texts("order-total"),
        vec!["$9.00"]
    );
}

//! Cash on delivery: the order ships unpaid, the courier collects the
//! cash, staff record it.

use diesel::prelude::*;
use orders::{Order, OrderStatus};
use site_core::schema::{orders_invoice as inv, orders_order as o, payments_payment as pay};

use crate::support::{order_public_id, Client, Options, Page, TestApp};

const PW: &str = "correct horse battery staple";
const LIST: &str = "/admin/orders/order/";

fn status(app: &TestApp, public_id: &str) -> OrderStatus {
    Order::by_public_id(&mut app.conn(), public_id)
        .unwrap()
        .status
}

/// Checks out and places the order asking to pay in cash on delivery:
/// the review and the page placing led to.
async fn place_choosing_cash(c: &Client, email: &str) -> (Page, Page) {
    let review = c.checkout_to_review(email).await;
    let placed = c
        .submit(
            &review,
            "/orders/checkout/review/",
            &[("payment_method", "cash_on_delivery")],
        )
        .await;
    (review, placed)
}

fn id_of(app: &TestApp, public_id: &str) -> i64 {
    o::table
        .filter(o::public_id.eq(public_id))
        .select(o::id)
        .first(&mut *app.conn())
        .unwrap()
}

/// The admin's "Mark shipped" action for order `id`, with a DPD parcel.
async fn mark_shipped(staff: &Client, id: i64) -> Page {
    let list = staff.get(LIST).await;
    let ask = staff
        .submit_multi(
            &list,
            LIST,
            &[("action", "mark_shipped"), ("_selected", &id.to_string())],
        )
        .await;
    let (carrier, tracking) = (format!("carrier-{id}"), format!("tracking_number-{id}"));
    staff
        .submit_multi(&ask, LIST, &[(&carrier, "dpd"), (&tracking, "DPD123")])
        .await
}

#[actix_web::test]
async fn an_order_paid_on_delivery_ships_unpaid_and_is_paid_when_staff_record_the_cash() {
    let app = TestApp::spawn_with(Options {
        cash_on_delivery: true,
        ..Options::default()
    })
    .await;
    let lamp = app.product("Lamp", 5, 2500);
    let c = app.client();
    c.add_to_cart(lamp.id, 2).await;
    let (review, placed) = place_choosing_cash(&c, "cod@example.com").await;
    assert!(review.contains("In cash on delivery"), "{}", review.text());
    let public_id = order_public_id(&placed);
    assert!(placed.contains("pay the courier in cash when it arrives"));
    assert_eq!(
        placed.testid_texts("cash-on-delivery").len(),
        1,
        "{}",
        placed.text()
    );
    assert!(placed.contains("You pay $50.00 in cash to the courier"));
    assert_eq!(
        placed.testid_texts("order-status"),
        vec!["Confirmed: pay on delivery".to_string()],
        "not waiting for the shopper to pay"
    );
    assert_eq!(app.stock(lamp.id), 3, "its stock is held");
    let confirmation = &app.sent_mail()[0];
    assert!(
        confirmation
            .text
            .contains("please pay the courier $50.00 in cash when it arrives"),
        "{}",
        confirmation.text
    );

    // It waits for the courier, not for the card hold (nor the bank's days).
    diesel::update(o::table.filter(o::public_id.eq(&public_id)))
        .set(o::updated_at.eq(site_core::now() - chrono::TimeDelta::days(30)))
        .execute(&mut *app.conn())
        .unwrap();
    assert_eq!(
        payments::holds::release_unpaid_orders(
            &app.db,
            chrono::TimeDelta::minutes(60),
            chrono::TimeDelta::days(7)
        )
        .unwrap(),
        0
    );

    // Staff ship it unpaid.
    let id = id_of(&app, &public_id);
    let staff = app.boss(PW).await;
    let change = staff
        .get(&format!("/admin/orders/order/{id}/change/"))
        .await;
    assert!(change.contains("Cash on delivery"), "paid by, on the page");
    assert!(change.contains("Mark shipped"));
    assert!(change.contains("Record cash received"));
    let shipped = staff.follow(mark_shipped(&staff, id).await).await;
    assert!(
        shipped.contains("1 order was marked shipped"),
        "{}",
        shipped.text()
    );
    assert_eq!(status(&app, &public_id), OrderStatus::Shipped);
    let order_page = c.get(&format!("/orders/{public_id}/")).await;
    assert!(order_page.contains("You pay $50.00 in cash to the courier"));
    assert!(
        !order_page.contains("Pay by card now instead"),
        "on its way"
    );

    // The courier hands over the cash: staff record it.
    let url = format!("/admin/orders/order/{id}/transfer/");
    let form = staff.get(&url).await;
    assert!(
        form.contains("Record cash received for order"),
        "{}",
        form.text()
    );
    let short = staff
        .submit(
            &form,
            &url,
            &[("amount", "40.00"), ("bank_reference", "DPD-R1")],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.contains("The cash must cover the order's total of $50.00"));
    let done = staff
        .submit(
            &form,
            &url,
            &[("amount", "50.00"), ("bank_reference", "DPD-R1")],
        )
        .await;
    assert!(done.contains("The cash is recorded"), "{}", done.text());
    assert!(done.contains("Cash on delivery of $50.00 received, courier reference DPD-R1"));
    assert!(done.contains("Cash received on delivery; invoice INV-000001"));
    assert!(!done.contains("Record cash received"), "not twice");

    let order = Order::by_public_id(&mut app.conn(), &public_id).unwrap();
    assert_eq!(order.status, OrderStatus::Shipped, "paid, still on its way");
    assert!(order.paid_at.is_some());
    let invoices: i64 = inv::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(invoices, 1);
    let (provider, paid): (String, String) = pay::table
        .select((pay::provider, pay::status))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(
        (provider.as_str(), paid.as_str()),
        ("cash-on-delivery", "succeeded")
    );
    assert!(app
        .sent_mail()
        .iter()
        .any(|m| m.subject.starts_with("Payment received")));
    let again = staff
        .submit(
            &form,
            &url,
            &[("amount", "50.00"), ("bank_reference", "DPD-R1")],
        )
        .await;
    assert!(
        again.contains("not waiting for payment any more"),
        "{}",
        again.text()
    );
    assert_eq!(app.payments(), 1);

    // The customer sees it paid; a refund is money the shop sends back.
    let order_page = c.get(&format!("/orders/{public_id}/")).await;
    assert!(order_page.contains("Payment received on delivery; invoice INV-000001"));
    let refund = staff
        .get(&format!("/admin/orders/order/{id}/refund/"))
        .await;
    assert_eq!(refund.status, 200);
}

#[actix_web::test]
async fn cash_on_delivery_is_offered_only_when_the_shop_takes_it() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Lamp", 5, 2500);
    let c = app.client();
    c.add_to_cart(lamp.id, 1).await;
    // A hand-made form cannot choose it: the order is paid by card.
    let (review, placed) = place_choosing_cash(&c, "card@example.com").await;
    assert!(!review.contains("In cash on delivery"));
    let public_id = order_public_id(&placed);
    assert!(placed.contains("Pay now to complete it."));
    assert!(placed.testid_texts("cash-on-delivery").is_empty());
    // And a card order cannot ship before it is paid.
    let id = id_of(&app, &public_id);
    let staff = app.boss(PW).await;
    let change = staff
        .get(&format!("/admin/orders/order/{id}/change/"))
        .await;
    assert!(!change.contains("Mark shipped"));
    let refused = mark_shipped(&staff, id).await;
    assert!(
        refused.contains("cannot become shipped"),
        "{}",
        refused.text()
    );
    assert_eq!(status(&app, &public_id), OrderStatus::Pending);
}

//! Orders and payments in the admin: the status actions through the one
//! transition function, the emails they send, what the customer then sees,
//! the read-only payment records and the dashboard.

use diesel::prelude::*;
use site_core::schema::{orders_order as o, payments_payment as pay};

use crate::support::TestApp;

const PW: &str = "correct horse battery staple";
const LIST: &str = "/admin/orders/order/";

/// A guest order of `qty` of `product`, paid with the demo card when
/// `pay`; returns its id and public id.
async fn order(app: &TestApp, product: i64, qty: i64, pay: bool) -> (i64, String) {
    app.order(product, qty, pay).await
}

fn status(app: &TestApp, id: i64) -> orders::OrderStatus {
    o::table
        .find(id)
        .select(o::status)
        .first(&mut *app.conn())
        .unwrap()
}

#[actix_web::test]
async fn a_paid_order_is_shipped_and_the_customer_sees_the_tracking_number() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let (id, public_id) = order(&app, lamp.id, 2, true).await;
    assert_eq!(status(&app, id), orders::OrderStatus::Paid);
    let c = app.boss(PW).await;

    let list = c.get(LIST).await;
    assert!(list.contains("Paid"));
    assert!(list.contains("Ada Lovelace · ada@example.com"));
    let order_page = c.get(&format!("/admin/orders/order/{id}/change/")).await;
    assert!(order_page.contains("Lines"));
    assert!(order_page.contains("Oak Lamp"));
    assert!(
        order_page.contains("Payments"),
        "the payments app adds its table"
    );
    assert!(order_page.contains("•••• 4242"));
    assert!(order_page.contains("Mark shipped"));
    assert!(
        !order_page.contains("Mark delivered"),
        "not before it ships"
    );

    let id_s = id.to_string();
    let ask = c
        .submit_multi(
            &list,
            LIST,
            &[("action", "mark_shipped"), ("_selected", &id_s)],
        )
        .await;
    assert_eq!(ask.status, 200);
    assert!(ask.contains("Each order needs its carrier and tracking number"));
    let carrier = format!("carrier-{id}");
    let tracking = format!("tracking_number-{id}");
    let missing = c
        .submit_multi(&ask, LIST, &[(&carrier, "ups"), (&tracking, " ")])
        .await;
    assert_eq!(missing.status, 422);
    assert!(missing.contains("This field is required."));
    assert_eq!(status(&app, id), orders::OrderStatus::Paid);
    let bad_carrier = c
        .submit_multi(&ask, LIST, &[(&carrier, "pigeon"), (&tracking, "1Z999")])
        .await;
    assert_eq!(bad_carrier.status, 422);

    let done = c
        .follow(
            c.submit_multi(
                &ask,
                LIST,
                &[(&carrier, "ups"), (&tracking, "1Z999AA10123456784")],
            )
            .await,
        )
        .await;
    assert!(
        done.contains("1 order was marked shipped; each customer was emailed the tracking number."),
        "{}",
        done.text()
    );
    assert_eq!(status(&app, id), orders::OrderStatus::Shipped);

    let mail = app.sent_mail();
    let shipped = mail
        .iter()
        .find(|m| m.subject.contains("is on its way"))
        .expect("a shipping email");
    assert_eq!(shipped.to, "ada@example.com");
    assert!(shipped.text.contains("Carrier: UPS"));
    assert!(shipped.text.contains("Tracking number: 1Z999AA10123456784"));

    let customer_page = app.client().get(&format!("/orders/{public_id}/")).await;
    assert!(customer_page.contains("Shipped on"));
    assert!(customer_page.contains("with UPS"));
    assert!(customer_page.contains("Tracking number: 1Z999AA10123456784"));

    let history = c.get(&format!("/admin/orders/order/{id}/history/")).await;
    assert!(
        history.contains("Action: Mark shipped"),
        "{}",
        history.text()
    );
    assert!(history.contains("Status: Paid → Shipped"));
    assert!(history.contains("Tracking number: → 1Z999AA10123456784"));

    // Then delivered, from the order's own page.
    let page = c.get(&format!("/admin/orders/order/{id}/change/")).await;
    assert!(page.contains("Mark delivered"));
    let delivered = c
        .follow(
            c.submit_multi(
                &page,
                LIST,
                &[("action", "mark_delivered"), ("_selected", &id_s)],
            )
            .await,
        )
        .await;
    assert!(delivered.contains("1 order was marked delivered."));
    assert_eq!(status(&app, id), orders::OrderStatus::Delivered);
    assert!(app
        .client()
        .get(&format!("/orders/{public_id}/"))
        .await
        .contains("Delivered on"));
}

#[actix_web::test]
async fn only_the_moves_the_pipeline_allows_happen_all_or_nothing() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 9, 2500);
    let (paid, _) = order(&app, lamp.id, 1, true).await;
    let (pending, pending_public) = order(&app, lamp.id, 1, false).await;
    let c = app.boss(PW).await;
    let list = c.get(LIST).await;
    let (ip, iq) = (paid.to_string(), pending.to_string());

    let refused = c
        .follow(
            c.submit_multi(
                &list,
                LIST,
                &[
                    ("action", "mark_delivered"),
                    ("_selected", &ip),
                    ("_selected", &iq),
                ],
            )
            .await,
        )
        .await;
    assert!(
        refused.contains("Nothing was changed"),
        "{}",
        refused.text()
    );
    assert!(refused.contains(&format!(
        "Order {}: an order that is awaiting payment cannot become delivered.",
        &pending_public[..8].to_uppercase()
    )));
    assert_eq!(status(&app, paid), orders::OrderStatus::Paid);
    assert_eq!(status(&app, pending), orders::OrderStatus::Pending);

    // Shipping a mix: the form asks, then refuses the unpaid one and
    // ships neither.
    let ask = c
        .submit_multi(
            &list,
            LIST,
            &[
                ("action", "mark_shipped"),
                ("_selected", &ip),
                ("_selected", &iq),
            ],
        )
        .await;
    let fields = [
        (format!("carrier-{paid}"), "dhl"),
        (format!("tracking_number-{paid}"), "JD1"),
        (format!("carrier-{pending}"), "dhl"),
        (format!("tracking_number-{pending}"), "JD2"),
    ];
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let refused = c.submit_multi(&ask, LIST, &pairs).await;
    assert_eq!(refused.status, 422);
    assert!(refused.contains("Nothing was changed."));
    assert!(refused.contains("cannot become shipped"));
    assert_eq!(status(&app, paid), orders::OrderStatus::Paid);
}

#[actix_web::test]
async fn cancelling_returns_the_stock_and_tells_the_customer() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let (paid, paid_public) = order(&app, lamp.id, 2, true).await;
    let (pending, pending_public) = order(&app, lamp.id, 1, false).await;
    assert_eq!(app.stock(lamp.id), 2);
    let c = app.boss(PW).await;
    let list = c.get(LIST).await;
    let (ip, iq) = (paid.to_string(), pending.to_string());
    let done = c
        .follow(
            c.submit_multi(
                &list,
                LIST,
                &[("action", "cancel"), ("_selected", &ip), ("_selected", &iq)],
            )
            .await,
        )
        .await;
    assert!(
        done.contains("2 orders were cancelled; their stock is back on sale"),
        "{}",
        done.text()
    );
    assert!(
        done.contains(&format!(
            "open {} and use Refund",
            orders::emails::short_ref(&paid_public)
        )),
        "staff are reminded of the refund the customer was promised"
    );
    assert_eq!(app.stock(lamp.id), 5);
    assert_eq!(status(&app, paid), orders::OrderStatus::Cancelled);
    let mail = app.sent_mail();
    let cancelled: Vec<_> = mail
        .iter()
        .filter(|m| m.subject.contains("was cancelled"))
        .collect();
    assert_eq!(cancelled.len(), 2);
    assert!(cancelled
        .iter()
        .any(|m| m.text.contains("will be refunded")));
    assert!(cancelled
        .iter()
        .any(|m| m.text.contains("Nothing was charged.")));
    let page = app
        .client()
        .get(&format!("/orders/{pending_public}/"))
        .await;
    assert!(page.contains("cancelled before it was paid"));

    // A cancelled order cannot be cancelled again, nor its stock returned twice.
    let again = c
        .follow(
            c.submit_multi(&list, LIST, &[("action", "cancel"), ("_selected", &ip)])
                .await,
        )
        .await;
    assert!(again.contains("cannot become cancelled"));
    assert_eq!(app.stock(lamp.id), 5);

    // The promised refund, in full, by the lines: the stock the cancel
    // returned is not returned twice, even with the box ticked.
    let refund_url = format!("/admin/orders/order/{paid}/refund/");
    let form = c.get(&refund_url).await;
    assert!(form.contains("its stock is already back on sale"));
    let line: i64 = site_core::schema::orders_line::table
        .filter(site_core::schema::orders_line::order_id.eq(paid))
        .select(site_core::schema::orders_line::id)
        .first(&mut *app.conn())
        .unwrap();
    let refunded = c
        .submit(
            &form,
            &refund_url,
            &[(&format!("qty-{line}"), "2"), ("restock", "on")],
        )
        .await;
    assert!(
        refunded.contains("The refund is made"),
        "{}",
        refunded.text()
    );
    assert_eq!(app.stock(lamp.id), 5);
    let customer = app.client().get(&format!("/orders/{paid_public}/")).await;
    assert!(customer.contains("Your payment of $50.00 was refunded"));

    // An order whose payment is being processed waits for its answer.
    let (paying, _) = order(&app, lamp.id, 1, false).await;
    let now = site_core::now();
    diesel::insert_into(pay::table)
        .values((
            pay::order_id.eq(paying),
            pay::provider.eq("demo"),
            pay::status.eq("processing"),
            pay::amount_minor.eq(2500),
            pay::currency.eq("USD"),
            pay::card_last4.eq("4242"),
            pay::idempotency_key.eq("in-flight"),
            pay::created_at.eq(now),
            pay::updated_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let list = c.get(LIST).await;
    let refused = c
        .follow(
            c.submit_multi(
                &list,
                LIST,
                &[("action", "cancel"), ("_selected", &paying.to_string())],
            )
            .await,
        )
        .await;
    assert!(
        refused.contains("its payment is still being processed"),
        "{}",
        refused.text()
    );
    assert_eq!(status(&app, paying), orders::OrderStatus::Pending);
    assert_eq!(app.stock(lamp.id), 4, "its stock stays held");
}

#[actix_web::test]
async fn an_address_is_corrected_before_shipping_but_not_after() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let (id, _) = order(&app, lamp.id, 1, true).await;
    let c = app.boss(PW).await;
    let change = format!("/admin/orders/order/{id}/change/");
    let fields = [
        ("email", "ada@example.com"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("address", "1 New Street"),
        ("postal_code", "SW1A 1AA"),
        ("city", "London"),
        ("country", "GB"),
    ];
    let page = c.get(&change).await;
    let saved = c.submit(&page, &change, &fields).await;
    assert!(saved.contains("was changed."), "{}", saved.text());
    let address: String = o::table
        .find(id)
        .select(o::address)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(address, "1 New Street");
    let mut conn = app.conn();
    orders::Order::transition(
        &mut conn,
        id,
        orders::OrderStatus::Paid,
        &orders::models::Move::Ship {
            carrier: "dhl",
            tracking_number: "X",
        },
    )
    .unwrap();
    drop(conn);
    let page = c.get(&change).await;
    let refused = c.submit(&page, &change, &fields).await;
    assert_eq!(refused.status, 422);
    assert!(refused
        .contains("This order is shipped: its customer and address can no longer be changed."));
}

#[actix_web::test]
async fn payments_are_read_only_records() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    order(&app, lamp.id, 1, true).await;
    let c = app.boss(PW).await;
    let list = c.get("/admin/payments/payment/").await;
    assert_eq!(list.status, 200);
    assert!(list.contains("Succeeded"));
    assert!(!list.contains("Add payment"));
    let payment: i64 = site_core::schema::payments_payment::table
        .select(site_core::schema::payments_payment::id)
        .first(&mut *app.conn())
        .unwrap();
    let change = format!("/admin/payments/payment/{payment}/change/");
    let page = c.get(&change).await;
    assert!(page.contains("View payment"));
    assert!(page.contains("Transactions"));
    assert!(page.contains("approved"));
    assert!(!page.body.contains("name=\"_save\""));
    let refused = c.submit_raw(&page, &change, &[("status", "failed")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(c.get_raw("/admin/payments/payment/add/").await.status, 404);
    assert_eq!(
        c.get_raw(&format!("/admin/payments/payment/{payment}/delete/"))
            .await
            .status,
        404
    );
    assert_eq!(c.get("/admin/payments/transaction/").await.status, 200);
}

#[actix_web::test]
async fn the_dashboard_charts_sales_and_lists_what_needs_doing() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 6, 2500);
    let (paid, _) = order(&app, lamp.id, 2, true).await;
    order(&app, lamp.id, 1, false).await;
    let c = app.boss(PW).await;
    let index = c.get("/admin/").await;
    assert_eq!(index.status, 200);
    assert!(index.contains("Sales, last 30 days"));
    assert!(index.body.contains("<svg"));
    assert!(index.body.contains("role=\"img\""));
    assert!(index.contains("in all"), "a summary says the total");
    assert!(index.contains("$50.00"));
    assert!(index.contains("Orders of the last 30 days, by status"));
    assert!(index.contains("Waiting to be shipped (1)"));
    assert!(
        index.contains("Ada Lovelace"),
        "the warehouse sees who the parcel is for"
    );
    assert!(index.contains("Low stock (5 or fewer left)"));
    assert!(index.contains("Oak Lamp"), "3 left of the lamp");
    let today = site_core::now().date();
    assert!(crate::support::html::decode(&index.body).contains(&format!(
        "/admin/orders/order/?paid_from={today}&paid_to={today}"
    )));
    let day = c
        .get(&format!(
            "/admin/orders/order/?paid_from={today}&paid_to={today}"
        ))
        .await;
    assert_eq!(day.input_values("_selected"), vec![paid.to_string()]);

    // Someone who may not see orders sees no order panels.
    app.staff_member("cat@example.com", PW, &["products.view_product"]);
    let clerk = app.client();
    clerk.login("cat@example.com", PW).await;
    let theirs = clerk.get("/admin/").await;
    assert!(!theirs.contains("Sales, last 30 days"));
    assert!(theirs.contains("Low stock"));
}

#[actix_web::test]
async fn every_change_goes_on_the_timeline_and_the_customer_sees_theirs() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let (id, public_id) = order(&app, lamp.id, 1, true).await;
    let c = app.boss(PW).await;
    let id_s = id.to_string();

    // A staff note, then shipping.
    let list = c.get(LIST).await;
    let ask = c
        .submit_multi(&list, LIST, &[("action", "add_note"), ("_selected", &id_s)])
        .await;
    assert!(ask.contains("customers do not see them"), "{}", ask.text());
    let note = format!("note-{id}");
    let noted = c
        .follow(
            c.submit_multi(&ask, LIST, &[(&note, "Gift wrap, no invoice in the box")])
                .await,
        )
        .await;
    assert!(noted.contains("The note was added to the order's timeline."));
    let ask = c
        .submit_multi(
            &list,
            LIST,
            &[("action", "mark_shipped"), ("_selected", &id_s)],
        )
        .await;
    let (carrier, tracking) = (format!("carrier-{id}"), format!("tracking_number-{id}"));
    c.submit_multi(&ask, LIST, &[(&carrier, "dhl"), (&tracking, "JD0001")])
        .await;

    let change = c.get(&format!("/admin/orders/order/{id}/change/")).await;
    let text = change.text();
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not on the timeline: {text}"))
    };
    assert!(at("Placed by ada@example.com (guest): 1 item") < at("Paid; invoice INV-000001"));
    assert!(
        at("Gift wrap, no invoice in the box")
            < at("Marked shipped with DHL, tracking number JD0001")
    );
    assert!(text.contains("boss@example.com"), "who shipped it");

    let customer = app.client().get(&format!("/orders/{public_id}/")).await;
    assert_eq!(
        customer.testid_texts("timeline").len(),
        1,
        "one list: {}",
        customer.text()
    );
    let seen = customer.text();
    for line in [
        "Order placed",
        "Payment received; invoice INV-000001. Thank you!",
        "Shipped with DHL. Tracking number: JD0001",
    ] {
        assert!(seen.contains(line), "{line}: {seen}");
    }
    assert!(!seen.contains("Gift wrap"), "staff notes stay with staff");
}

//! Unpaid orders hold their stock only for SHOP_ORDER_HOLD_MINUTES.

use diesel::prelude::*;
use orders::Order;
use site_core::schema::{orders_order as o, payments_payment as pay};

use crate::support::{order_public_id, TestApp};

const HOLD: chrono::TimeDelta = chrono::TimeDelta::minutes(60);
const BANK_HOLD: chrono::TimeDelta = chrono::TimeDelta::days(7);

fn age(app: &TestApp, public_id: &str, minutes: i64) {
    diesel::update(o::table.filter(o::public_id.eq(public_id)))
        .set(o::updated_at.eq(site_core::now() - chrono::TimeDelta::minutes(minutes)))
        .execute(&mut *app.conn())
        .unwrap();
}

#[actix_web::test]
async fn an_unpaid_order_past_its_hold_is_cancelled_and_its_stock_returns() {
    let app = TestApp::spawn().await;
    let p = app.product("Held Lamp", 3, 2000);
    let c = app.client();
    c.add_to_cart(p.id, 2).await;
    let page = c.checkout("slow@example.com").await;
    let id = order_public_id(&page);
    let pay_form = c.get(&format!("/payments/{id}/")).await;
    assert_eq!(app.stock(p.id), 1);

    age(&app, &id, 59);
    assert_eq!(
        payments::holds::release_unpaid_orders(&app.db, HOLD, BANK_HOLD).unwrap(),
        0,
        "still within its hold"
    );
    age(&app, &id, 61);
    assert_eq!(
        payments::holds::release_unpaid_orders(&app.db, HOLD, BANK_HOLD).unwrap(),
        1
    );
    assert_eq!(app.stock(p.id), 3, "stock is back on sale");
    assert_eq!(
        Order::by_public_id(&mut app.conn(), &id).unwrap().status,
        orders::OrderStatus::Cancelled
    );
    assert_eq!(
        payments::holds::release_unpaid_orders(&app.db, HOLD, BANK_HOLD).unwrap(),
        0,
        "once only"
    );

    let order_page = c.get(&format!("/orders/{id}/")).await;
    assert!(order_page.contains("Cancelled"));
    assert!(order_page.contains("was cancelled before it was paid"));
    // The old payment form can no longer charge it.
    let late = c
        .submit(
            &pay_form,
            &format!("/payments/{id}/"),
            &crate::support::card_fields("4242424242424242"),
        )
        .await;
    assert!(
        late.contains("This order does not need paying any more."),
        "{}",
        late.text()
    );
    assert_eq!(app.payments(), 0);
}

#[actix_web::test]
async fn an_order_whose_payment_is_unsettled_is_not_cancelled() {
    let app = TestApp::spawn().await;
    let p = app.product("Pending Pay", 3, 2000);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let id = order_public_id(&c.checkout("p@example.com").await);
    let order = Order::by_public_id(&mut app.conn(), &id).unwrap();
    let now = site_core::now();
    diesel::insert_into(pay::table)
        .values((
            pay::order_id.eq(order.id),
            pay::provider.eq("demo-card"),
            pay::status.eq("unconfirmed"),
            pay::amount_minor.eq(order.total_minor),
            pay::currency.eq("USD"),
            pay::card_last4.eq("4242"),
            pay::idempotency_key.eq(site_core::random_token(32)),
            pay::created_at.eq(now),
            pay::updated_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    age(&app, &id, 600);
    assert_eq!(
        payments::holds::release_unpaid_orders(&app.db, HOLD, BANK_HOLD).unwrap(),
        0
    );
    assert_eq!(
        Order::by_public_id(&mut app.conn(), &id).unwrap().status,
        orders::OrderStatus::Pending
    );
    assert_eq!(app.stock(p.id), 2);
}

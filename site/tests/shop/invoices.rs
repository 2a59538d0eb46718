//! Invoices: numbered when paid, without gaps or repeats however payments
//! race, sent with the receipt, and printable.

use diesel::prelude::*;
use futures_util::future::join_all;
use site_core::schema::{orders_invoice as i, orders_order as o};

use crate::support::{order_public_id, Client, TestApp};

async fn placed(app: &TestApp, product: i64) -> (Client, String) {
    let c = app.client();
    c.add_to_cart(product, 1).await;
    let page = c.checkout("ada@example.com").await;
    (c, order_public_id(&page))
}

async fn pay(c: &Client, public_id: &str, card: &str) -> crate::support::Page {
    c.pay_by_card(public_id, card).await
}

fn number_of(app: &TestApp, public_id: &str) -> Option<i64> {
    i::table
        .inner_join(o::table)
        .filter(o::public_id.eq(public_id))
        .select(i::number)
        .first(&mut *app.conn())
        .optional()
        .unwrap()
}

#[actix_web::test]
async fn paying_issues_the_next_number_and_emails_the_receipt_with_it() {
    let app = TestApp::spawn().await;
    orders::taxes::create(&mut app.conn(), "VAT", "GB", 2000).unwrap();
    let lamp = app.product("Lamp", 10, 2500);
    let (c1, first) = placed(&app, lamp.id).await;
    let (c2, declined) = placed(&app, lamp.id).await;
    let (c3, second) = placed(&app, lamp.id).await;

    assert_eq!(
        c1.get_raw(&format!("/orders/{first}/invoice/"))
            .await
            .status,
        404,
        "no invoice before payment"
    );
    pay(&c1, &first, "4242424242424242").await;
    pay(&c2, &declined, "4000000000000002").await;
    pay(&c3, &second, "4242424242424242").await;
    assert_eq!(number_of(&app, &first), Some(1));
    assert_eq!(
        number_of(&app, &declined),
        None,
        "a declined card takes no number"
    );
    assert_eq!(number_of(&app, &second), Some(2));

    let receipt = app
        .sent_mail()
        .into_iter()
        .find(|m| m.subject.starts_with("Payment received"))
        .expect("a receipt");
    assert!(
        receipt.subject.ends_with("invoice INV-000001"),
        "{}",
        receipt.subject
    );
    assert!(
        receipt.text.contains("payment of $30.00"),
        "{}",
        receipt.text
    );
    assert!(receipt.text.contains(&format!("/orders/{first}/invoice/")));

    let order = c1.get(&format!("/orders/{first}/")).await;
    assert!(order.contains("View and print the invoice"));
    let invoice = c1.get(&format!("/orders/{first}/invoice/")).await;
    assert_eq!(invoice.status, 200);
    assert!(invoice.contains("Invoice INV-000001"));
    assert_eq!(invoice.testid_texts("invoice-total"), vec!["$30.00"]);
    let summary = invoice.text();
    assert!(
        summary.contains("VAT 20% $25.00 $5.00 $30.00"),
        "net, tax and gross by rate: {summary}"
    );
}

#[actix_web::test]
async fn twenty_payments_at_once_take_numbers_one_to_twenty() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Lamp", 100, 2500);
    let mut orders = Vec::new();
    for _ in 0..20 {
        orders.push(placed(&app, lamp.id).await);
    }
    let pages = join_all(orders.iter().map(|(c, id)| c.open_gateway(id))).await;
    join_all(orders.iter().zip(&pages).map(|((c, _), page)| async move {
        // Back to the shop, racing the gateway's webhooks.
        c.follow(c.gateway_pay_raw(page, "4242424242424242").await)
            .await
    }))
    .await;
    let mut numbers: Vec<i64> = i::table.select(i::number).load(&mut *app.conn()).unwrap();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<i64>>());
}

#[actix_web::test]
async fn a_bank_transfer_order_waits_for_the_money_and_staff_record_it() {
    use site_core::schema::payments_payment as pay;
    let app = TestApp::spawn().await;
    let lamp = app.product("Lamp", 10, 2500);
    let c = app.client();
    c.add_to_cart(lamp.id, 1).await;
    let review = c.checkout_to_review("ada@example.com").await;
    assert!(review.contains("By bank transfer"));
    let placed = c
        .submit(
            &review,
            "/orders/checkout/review/",
            &[("payment_method", "bank_transfer")],
        )
        .await;
    let public_id = order_public_id(&placed);
    let reference = public_id[..8].to_uppercase();
    assert!(
        placed.contains("Transfer the total as shown below"),
        "{}",
        placed.text()
    );
    let box_text = placed.text();
    assert!(box_text.contains("IBAN GB33 BUKB 2020 1555 5555 55"));
    assert!(box_text.contains(&format!("with the reference {reference}")));
    let mail = &app.sent_mail()[0];
    assert!(
        mail.text.contains("Please transfer $25.00 to:"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains(&reference));

    // Past the card hold, within the transfer's days: it waits.
    let hold = chrono::TimeDelta::minutes(60);
    let bank = chrono::TimeDelta::days(7);
    diesel::update(o::table.filter(o::public_id.eq(&public_id)))
        .set(o::updated_at.eq(site_core::now() - chrono::TimeDelta::hours(3)))
        .execute(&mut *app.conn())
        .unwrap();
    assert_eq!(
        payments::holds::release_unpaid_orders(&app.db, hold, bank).unwrap(),
        0
    );

    let id: i64 = o::table
        .filter(o::public_id.eq(&public_id))
        .select(o::id)
        .first(&mut *app.conn())
        .unwrap();
    let staff = app.boss("correct horse battery staple").await;
    let change = staff
        .get(&format!("/admin/orders/order/{id}/change/"))
        .await;
    assert!(change.contains("Record a bank transfer"));
    let url = format!("/admin/orders/order/{id}/transfer/");
    let form = staff.get(&url).await;
    let short = staff
        .submit(
            &form,
            &url,
            &[("amount", "20.00"), ("bank_reference", "FP123")],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.contains("The transfer must cover the order's total of $25.00"));
    let done = staff
        .submit(
            &form,
            &url,
            &[("amount", "25.00"), ("bank_reference", "FP123")],
        )
        .await;
    assert!(
        done.contains("The bank transfer is recorded"),
        "{}",
        done.text()
    );
    assert!(done.contains("Bank transfer of $25.00 received, bank reference FP123"));
    assert_eq!(number_of(&app, &public_id), Some(1));
    let (provider, status): (String, String) = pay::table
        .filter(pay::order_id.eq(id))
        .select((pay::provider, pay::status))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(
        (provider.as_str(), status.as_str()),
        ("bank-transfer", "succeeded")
    );
    assert!(app
        .sent_mail()
        .iter()
        .any(|m| m.subject.ends_with("invoice INV-000001")));
    // Recorded once: the page now refuses.
    let again = staff
        .submit(
            &form,
            &url,
            &[("amount", "25.00"), ("bank_reference", "FP123")],
        )
        .await;
    assert!(again.contains("not waiting for payment any more"));
}

#[actix_web::test]
async fn an_unpaid_bank_transfer_order_is_released_after_its_days() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Lamp", 10, 2500);
    let c = app.client();
    c.add_to_cart(lamp.id, 2).await;
    let placed = c.checkout_by_bank_transfer("ada@example.com").await;
    let public_id = order_public_id(&placed);
    assert_eq!(app.stock(lamp.id), 8);
    diesel::update(o::table.filter(o::public_id.eq(&public_id)))
        .set(o::updated_at.eq(site_core::now() - chrono::TimeDelta::days(8)))
        .execute(&mut *app.conn())
        .unwrap();
    let released = payments::holds::release_unpaid_orders(
        &app.db,
        chrono::TimeDelta::minutes(60),
        chrono::TimeDelta::days(7),
    )
    .unwrap();
    assert_eq!(released, 1);
    assert_eq!(app.stock(lamp.id), 10);
}

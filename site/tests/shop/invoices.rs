//! Invoices: numbered when paid, without gaps or repeats however payments
//! race, sent with the receipt, and printable.

use diesel::prelude::*;
use futures_util::future::join_all;
use site_core::schema::{orders_invoice as i, orders_order as o};

use crate::support::{card_fields, order_public_id, Client, TestApp};

async fn placed(app: &TestApp, product: i64) -> (Client, String) {
    let c = app.client();
    c.add_to_cart(product, 1).await;
    let page = c.checkout("ada@example.com").await;
    (c, order_public_id(&page))
}

async fn pay(c: &Client, public_id: &str, card: &str) -> crate::support::Page {
    let url = format!("/payments/{public_id}/");
    let form = c.get(&url).await;
    c.submit(&form, &url, &card_fields(card)).await
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
    let forms = join_all(orders.iter().map(|(c, id)| async move {
        let url = format!("/payments/{id}/");
        (c.get(&url).await, url)
    }))
    .await;
    let card = card_fields("4242424242424242");
    join_all(
        orders
            .iter()
            .zip(&forms)
            .map(|((c, _), (form, url))| c.submit(form, url, &card)),
    )
    .await;
    let mut numbers: Vec<i64> = i::table.select(i::number).load(&mut *app.conn()).unwrap();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<i64>>());
}

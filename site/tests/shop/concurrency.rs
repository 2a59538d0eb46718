use futures_util::future::join_all;
use orders::Order;

use crate::support::TestApp;

/// 50 shoppers check out the last 5 units at the same moment: exactly 5
/// orders, stock 0, and 45 clear "out of stock" pages. Never oversold.
#[actix_web::test]
async fn fifty_concurrent_checkouts_for_five_units_sell_exactly_five() {
    let app = TestApp::spawn().await;
    let p = app.product("Limited Print", 5, 5000);
    let mut shoppers = Vec::new();
    for _ in 0..50 {
        let c = app.client();
        let cart = c.add_to_cart(p.id, 1).await;
        assert!(cart.contains("Cart 1"));
        let review = c.checkout_to_review("rush@example.com").await;
        shoppers.push((c, review));
    }
    let results = join_all(
        shoppers
            .iter()
            .map(|(c, review)| c.submit_raw(review, "/orders/checkout/review/", &[])),
    )
    .await;

    let placed = results
        .iter()
        .filter(|r| r.status == 303 && r.location().is_some_and(|l| l.starts_with("/orders/")))
        .count();
    let refused = results.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        placed,
        5,
        "statuses: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(refused, 45);
    assert!(results
        .iter()
        .filter(|r| r.status == 409)
        .all(|r| r.contains("“Limited Print” is out of stock")));
    assert_eq!(app.stock(p.id), 0);
    assert_eq!(Order::count(&mut app.conn()).unwrap(), 5);
}

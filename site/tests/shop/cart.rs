use crate::support::TestApp;

#[actix_web::test]
async fn add_change_and_remove_lines() {
    let app = TestApp::spawn().await;
    let tea = app.product("Green Tea", 10, 450);
    let pot = app.product("Teapot", 4, 2500);
    let c = app.client();

    let cart = c.add_to_cart(tea.id, 2).await;
    assert_eq!(cart.status, 200);
    assert!(cart.url.ends_with("/cart/"));
    assert!(cart.contains("Added 2 × “Green Tea” to your cart."));
    assert!(cart.contains("Cart 2"), "nav badge counts items");
    c.add_to_cart(pot.id, 1).await;
    let cart = c.add_to_cart(tea.id, 1).await;
    assert!(cart.contains("Cart 4"));
    assert!(
        cart.contains("$13.50"),
        "line total 3 × $4.50: {}",
        cart.text()
    );
    assert!(cart.contains("$38.50"), "cart total");

    let updated = c
        .submit(
            &cart,
            &format!("/cart/update/{}/", pot.id),
            &[("quantity", "3")],
        )
        .await;
    assert!(updated.contains("Cart 6"));
    assert!(updated.contains("$88.50"));
    let removed = c
        .submit(&updated, &format!("/cart/remove/{}/", tea.id), &[])
        .await;
    assert!(removed.contains("Removed from your cart."));
    assert!(removed.contains("Cart 3"));
    let zero = c
        .submit(
            &removed,
            &format!("/cart/update/{}/", pot.id),
            &[("quantity", "0")],
        )
        .await;
    assert!(zero.contains("Your cart is empty."));
}

#[actix_web::test]
async fn adding_more_than_in_stock_adds_nothing_and_says_so() {
    let app = TestApp::spawn().await;
    let p = app.product("Rare Vase", 2, 9900);
    let c = app.client();
    let page = c.add_to_cart(p.id, 3).await;
    assert!(
        page.url.ends_with(&crate::support::product_path(&p)),
        "back on the product page"
    );
    assert!(
        page.contains("Sorry, only 2 of “Rare Vase” in stock."),
        "{}",
        page.text()
    );
    assert!(page.contains("Cart 0"));

    c.add_to_cart(p.id, 2).await;
    let again = c.add_to_cart(p.id, 1).await;
    assert!(again.contains("only 2 of “Rare Vase” in stock and you already have 2 in your cart"));
    assert!(again.contains("Cart 2"));
    let cart = c.get("/cart/").await;
    let update = c
        .submit(
            &cart,
            &format!("/cart/update/{}/", p.id),
            &[("quantity", "5")],
        )
        .await;
    assert!(update.contains("only 2"));
    assert!(update.contains("Cart 2"));
}

#[actix_web::test]
async fn bad_quantities_are_refused_with_a_message() {
    let app = TestApp::spawn().await;
    let p = app.product("Spoon", 50, 100);
    let c = app.client();
    for bad in ["0", "-3", "abc", "", "1000", "2.5"] {
        let form = c.get(&format!("/products/{}/", p.id)).await;
        let after = c
            .submit(&form, &format!("/cart/add/{}/", p.id), &[("quantity", bad)])
            .await;
        assert!(after.contains("Quantity:"), "{bad:?}: {}", after.text());
    }
    assert!(
        c.get("/cart/").await.contains("Cart 0"),
        "nothing was added"
    );
    // Unknown or inactive products are 404, not 500.
    let form = c.get(&format!("/products/{}/", p.id)).await;
    let fields = form.hidden_fields(&format!("/cart/add/{}/", p.id)).unwrap();
    let token = fields
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1
        .clone();
    let missing = c
        .post_raw(
            "/cart/add/99999/",
            &[("csrf_token", &token), ("quantity", "1")],
        )
        .await;
    assert_eq!(missing.status, 404);
}

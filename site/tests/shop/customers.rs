//! What a customer account adds to shopping: saved addresses at checkout,
//! order history (and nobody else's), a cart that follows them.

use crate::support::{checkout_fields, TestApp};

const PW: &str = "a long passphrase";

fn address(first: &str, street: &str, city: &str) -> Vec<(&'static str, String)> {
    vec![
        ("first_name", first.to_string()),
        ("last_name", "Lovelace".to_string()),
        ("address", street.to_string()),
        ("postal_code", "sw1y 4jh".to_string()),
        ("city", city.to_string()),
        ("country", "United Kingdom".to_string()),
    ]
}

fn refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[actix_web::test]
async fn the_address_book_and_checkout_use_it() {
    let app = TestApp::spawn().await;
    let p = app.product("Kettle", 5, 3000);
    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;

    let list = c.get("/accounts/addresses/").await;
    assert!(list.contains("No saved addresses yet."));
    let mut bad = address("Ann", "", "London");
    bad[4].1 = "".into();
    let invalid = c.submit(&list, "/accounts/addresses/", &refs(&bad)).await;
    assert_eq!(invalid.status, 422);
    assert!(invalid.body.contains("id=\"err_address\""));
    assert!(invalid.body.contains("value=\"Ann\""), "input kept");

    c.submit(
        &list,
        "/accounts/addresses/",
        &refs(&address("Ann", "1 Home Street", "London")),
    )
    .await;
    let saved = c
        .submit(
            &list,
            "/accounts/addresses/",
            &refs(&address("Ann", "2 Work Road", "Leeds")),
        )
        .await;
    assert!(saved.contains("Address saved."));
    assert_eq!(saved.body.matches("data-testid=\"address\"").count(), 2);
    assert!(saved.contains("SW1Y 4JH"), "postal code normalised");

    // The first address is the default; checkout fills it in.
    c.add_to_cart(p.id, 1).await;
    let checkout = c.get("/orders/checkout/").await;
    assert!(
        checkout.body.contains("value=\"1 Home Street\""),
        "{}",
        checkout.body
    );
    assert!(checkout.body.contains("value=\"ann@example.com\""));
    assert_eq!(
        checkout
            .body
            .matches("data-testid=\"saved-address\"")
            .count(),
        2
    );
    let work_id = accounts::Address::list_for(&mut app.conn(), 1).unwrap()[1].id;
    let picked = c.get(&format!("/orders/checkout/?address={work_id}")).await;
    assert!(picked.body.contains("value=\"2 Work Road\""));

    // Make the work address the default, edit it, delete the other.
    let list = c.get("/accounts/addresses/").await;
    c.submit(
        &list,
        &format!("/accounts/addresses/{work_id}/default/"),
        &[],
    )
    .await;
    assert!(c
        .get("/orders/checkout/")
        .await
        .body
        .contains("value=\"2 Work Road\""));
    let edit = c.get(&format!("/accounts/addresses/{work_id}/")).await;
    let edited = c
        .submit(
            &edit,
            &format!("/accounts/addresses/{work_id}/"),
            &refs(&address("Ann", "3 New Road", "Leeds")),
        )
        .await;
    assert!(edited.contains("3 New Road"));
    let home_id = accounts::Address::list_for(&mut app.conn(), 1)
        .unwrap()
        .iter()
        .find(|a| !a.is_default)
        .unwrap()
        .id;
    let list = c.get("/accounts/addresses/").await;
    let after = c
        .submit(
            &list,
            &format!("/accounts/addresses/{home_id}/delete/"),
            &[],
        )
        .await;
    assert!(after.contains("Address deleted."));
    assert!(!after.contains("1 Home Street"));

    // Another customer cannot see, edit or delete these.
    app.customer("eve@example.com", PW);
    let eve = app.client();
    eve.login("eve@example.com", PW).await;
    assert_eq!(
        eve.get_raw(&format!("/accounts/addresses/{work_id}/"))
            .await
            .status,
        404
    );
    let eve_list = eve.get("/accounts/addresses/").await;
    // Forged forms, with Eve's own valid CSRF token.
    let token = eve_list
        .hidden_fields("/accounts/addresses/")
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1;
    let del = eve
        .post_raw(
            &format!("/accounts/addresses/{work_id}/delete/"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(del.status, 404);
    let eve_address = address("Eve", "x", "y");
    let mut forged = refs(&eve_address);
    forged.push(("csrf_token", &token));
    let edit = eve
        .post_raw(&format!("/accounts/addresses/{work_id}/"), &forged)
        .await;
    assert_eq!(edit.status, 404);
    assert_eq!(
        accounts::Address::list_for(&mut app.conn(), 1).unwrap()[0].address,
        "3 New Road"
    );
}

#[actix_web::test]
async fn checkout_can_save_the_address() {
    let app = TestApp::spawn().await;
    let p = app.product("Kettle", 5, 3000);
    let user = app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    c.add_to_cart(p.id, 1).await;
    let mut fields = checkout_fields("ann@example.com");
    fields.push(("save_address", "on"));
    let review = c.checkout_to_review_with(&fields, None).await;
    c.submit(&review, "/orders/checkout/review/", &[]).await;
    let book = accounts::Address::list_for(&mut app.conn(), user.id).unwrap();
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].address, "12 St James's Square");
    assert!(book[0].is_default);
}

#[actix_web::test]
async fn order_history_shows_only_the_customers_own_orders() {
    let app = TestApp::spawn().await;
    let p = app.product("Kettle", 10, 3000);
    app.customer("ann@example.com", PW);
    app.customer("eve@example.com", PW);
    let ann = app.client();
    ann.login("ann@example.com", PW).await;
    ann.add_to_cart(p.id, 2).await;
    ann.checkout("ann@example.com").await;
    let guest = app.client();
    guest.add_to_cart(p.id, 1).await;
    guest.checkout("guest@example.com").await;

    let history = ann.get("/accounts/orders/").await;
    assert_eq!(history.status, 200);
    assert_eq!(history.body.matches("data-testid=\"order-row\"").count(), 1);
    assert!(history.contains("$60.00"));
    let ann_order = orders::Order::for_user(&mut app.conn(), 1, 10, 0).unwrap()[0].id;
    let detail = ann.get(&format!("/accounts/orders/{ann_order}/")).await;
    assert_eq!(detail.status, 200);
    assert!(detail.contains("Kettle"));

    let eve = app.client();
    eve.login("eve@example.com", PW).await;
    assert_eq!(
        eve.get("/accounts/orders/")
            .await
            .body
            .matches("data-testid=\"order-row\"")
            .count(),
        0
    );
    assert_eq!(
        eve.get_raw(&format!("/accounts/orders/{ann_order}/"))
            .await
            .status,
        404,
        "IDOR"
    );
    let guest_order = ann_order + 1;
    assert_eq!(
        ann.get_raw(&format!("/accounts/orders/{guest_order}/"))
            .await
            .status,
        404,
        "a guest order is nobody's"
    );
    assert_eq!(ann.get_raw("/accounts/orders/abc/").await.status, 404);
    let anonymous = app.client().get_raw("/accounts/orders/").await;
    assert_eq!(anonymous.status, 303);
    assert!(anonymous
        .location()
        .unwrap()
        .starts_with("/accounts/login/?next="));
}

#[actix_web::test]
async fn the_guest_cart_merges_into_the_customers_cart_capped_by_stock() {
    let app = TestApp::spawn().await;
    let kettle = app.product("Kettle", 3, 3000);
    let mug = app.product("Mug", 10, 500);
    app.customer("ann@example.com", PW);

    // Earlier, on another device, Ann put 2 kettles in her cart.
    let phone = app.client();
    phone.login("ann@example.com", PW).await;
    phone.add_to_cart(kettle.id, 2).await;
    phone.logout().await;

    // Now, as a guest on the laptop: 2 more kettles and a mug.
    let laptop = app.client();
    laptop.add_to_cart(kettle.id, 2).await;
    laptop.add_to_cart(mug.id, 1).await;
    let after = laptop.login("ann@example.com", PW).await;
    assert!(
        after.contains("Only 3 of “Kettle” are available"),
        "{}",
        after.body
    );
    let cart = laptop.get("/cart/").await;
    assert!(cart.contains("Cart 4"), "3 kettles + 1 mug: {}", cart.body);

    // The phone sees the same cart when it logs in again, from the database.
    phone.login("ann@example.com", PW).await;
    let on_phone = phone.get("/cart/").await;
    assert!(on_phone.contains("Cart 4"), "{}", on_phone.body);

    // Logging out leaves an empty guest cart; logging in brings it back.
    laptop.logout().await;
    assert!(laptop.get("/cart/").await.contains("Cart 0"));
    laptop.login("ann@example.com", PW).await;
    assert!(laptop.get("/cart/").await.contains("Cart 4"));
}

use diesel::prelude::*;
use orders::Order;
use site_core::schema::{orders_line, orders_order};

use crate::support::{order_public_id, TestApp};

fn order_count(app: &TestApp) -> i64 {
    Order::count(&mut app.conn()).unwrap()
}

#[actix_web::test]
async fn a_guest_buys_a_product_and_gets_a_confirmation_email() {
    let app = TestApp::spawn().await;
    let mug = app.product("Blue Mug", 5, 1250);
    let c = app.client();
    c.add_to_cart(mug.id, 2).await;

    let order_page = c.checkout("ada@example.com").await;
    assert_eq!(order_page.status, 200, "{}", order_page.text());
    assert!(order_page.contains("Thank you! Your order is placed."));
    assert!(order_page.contains("Awaiting payment"));
    assert!(order_page.contains("2 $25.00"), "{}", order_page.text());
    assert!(order_page.contains("Cart 0"), "the cart is emptied");
    assert_eq!(app.stock(mug.id), 3, "stock taken");

    let public_id = order_public_id(&order_page);
    let order = Order::by_public_id(&mut app.conn(), &public_id).unwrap();
    assert_eq!(order.email, "ada@example.com");
    assert_eq!(order.total_minor, 2500);
    let lines = order.lines(&mut app.conn()).unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (
            lines[0].product_name.as_str(),
            lines[0].sku.as_str(),
            lines[0].unit_price_minor,
            lines[0].quantity
        ),
        ("Blue Mug", "SKU-blue-mug", 1250, 2)
    );

    let mail = app.sent_mail();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, "ada@example.com");
    let reference = public_id[..8].to_uppercase();
    assert_eq!(
        mail[0].subject,
        format!("Your order {reference} is confirmed")
    );
    assert!(
        mail[0].text.contains("2 x Blue Mug (SKU-blue-mug)"),
        "{}",
        mail[0].text
    );
    assert!(mail[0].text.contains("Total: $25.00"));
    assert!(
        mail[0]
            .text
            .contains(&format!("{}/orders/{public_id}/", app.base)),
        "absolute link"
    );
    assert!(mail[0].html.contains("<strong>$25.00</strong>"));
}

#[actix_web::test]
async fn orders_keep_what_was_bought_when_the_catalogue_changes() {
    let app = TestApp::spawn().await;
    let p = app.product("Old Name", 5, 1000);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let page = c.checkout("bob@example.com").await;
    let url = page.url.clone();
    diesel::update(site_core::schema::products_product::table.find(p.id))
        .set((
            site_core::schema::products_product::name.eq("New Name"),
            site_core::schema::products_product::price_minor.eq(99999),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let again = c.get(&url).await;
    assert!(again.contains("Old Name") && again.contains("$10.00"));
    assert!(!again.contains("New Name"));
}

#[actix_web::test]
async fn invalid_checkout_shows_every_field_error_and_keeps_the_input() {
    let app = TestApp::spawn().await;
    let p = app.product("Pen", 5, 300);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let form = c.get("/orders/checkout/").await;
    let page = c
        .submit_raw(
            &form,
            "/orders/checkout/",
            &[
                ("email", "not-an-email"),
                ("first_name", "Ada"),
                ("postal_code", "<b>"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.contains("Enter a valid email address"));
    assert!(page.contains("Enter a postal code using letters"));
    assert_eq!(
        page.count("This field is required."),
        3,
        "last name, address, city"
    );
    assert!(page.contains("Choose a country from the list."));
    assert!(
        page.body.contains("value=\"not-an-email\""),
        "what was typed is kept"
    );
    assert!(page.body.contains("value=\"Ada\""));
    assert!(page.body.contains("value=\"&lt;b&gt;\""), "and escaped");
    assert_eq!(order_count(&app), 0);
    assert_eq!(app.stock(p.id), 5);
}

#[actix_web::test]
async fn checkout_with_an_empty_cart_goes_back_to_the_cart() {
    let app = TestApp::spawn().await;
    let page = app.client().get("/orders/checkout/").await;
    assert!(page.url.ends_with("/cart/"));
    assert!(page.contains("Your cart is empty: add something before checking out."));
}

#[actix_web::test]
async fn a_form_without_its_key_is_a_clear_400() {
    let app = TestApp::spawn().await;
    let p = app.product("Pen", 5, 300);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let review = c.checkout_to_review("x@example.com").await;
    let page = c
        .submit_raw(
            &review,
            "/orders/checkout/review/",
            &[("checkout_key", "tampered")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.contains("This checkout form is incomplete or out of date"));
    assert_eq!(order_count(&app), 0);
}

#[actix_web::test]
async fn submitting_the_same_checkout_twice_creates_one_order() {
    let app = TestApp::spawn().await;
    let p = app.product("Lamp", 5, 4000);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let review = c.checkout_to_review("ann@example.com").await;
    let first = c.submit(&review, "/orders/checkout/review/", &[]).await;
    // Back button, submit again: the same form, the same key.
    let second = c.submit(&review, "/orders/checkout/review/", &[]).await;
    assert_eq!(first.url, second.url, "both land on the same order");
    assert!(second.contains("This order was already placed; here it is."));
    assert_eq!(order_count(&app), 1);
    assert_eq!(app.stock(p.id), 4, "stock taken once");
    assert_eq!(app.sent_mail().len(), 1, "one confirmation");
}

#[actix_web::test]
async fn a_double_click_sending_both_at_once_creates_one_order() {
    let app = TestApp::spawn().await;
    let p = app.product("Lamp", 5, 4000);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let review = c.checkout_to_review("ann@example.com").await;
    let (a, b) = tokio::join!(
        c.submit_raw(&review, "/orders/checkout/review/", &[]),
        c.submit_raw(&review, "/orders/checkout/review/", &[])
    );
    assert_eq!(a.status, 303);
    assert_eq!(b.status, 303);
    assert_eq!(a.location(), b.location());
    assert_eq!(order_count(&app), 1);
    assert_eq!(app.stock(p.id), 4);
    // The second request loaded the session before the first emptied the
    // cart; it must not write the bought cart back.
    assert!(c.get("/cart/").await.contains("Your cart is empty."));
}

#[actix_web::test]
async fn stock_gone_at_checkout_names_the_product_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let ok = app.product("Plenty", 10, 100);
    let scarce = app.product("Scarce", 3, 100);
    let c = app.client();
    c.add_to_cart(ok.id, 2).await;
    c.add_to_cart(scarce.id, 3).await;
    // Someone else buys most of it meanwhile.
    products::Product::set_stock(&mut app.conn(), scarce.id, 1).unwrap();
    let review = c.checkout_to_review("x@example.com").await;
    let page = c.submit(&review, "/orders/checkout/review/", &[]).await;
    assert_eq!(page.status, 409);
    assert!(
        page.contains("“Scarce”: only 1 left, you asked for 3."),
        "{}",
        page.text()
    );
    assert!(page.contains("x@example.com"), "the checkout is kept");
    assert_eq!(order_count(&app), 0, "nothing written");
    assert_eq!(app.stock(ok.id), 10, "the other line's stock is untouched");
    assert_eq!(app.stock(scarce.id), 1);
    assert_eq!(
        orders_line::table
            .count()
            .get_result::<i64>(&mut *app.conn())
            .unwrap(),
        0
    );
}

#[actix_web::test]
async fn order_pages_need_the_unguessable_id() {
    let app = TestApp::spawn().await;
    let p = app.product("Cup", 5, 100);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let page = c.checkout("a@example.com").await;
    let id = order_public_id(&page);
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    let numeric: i64 = orders_order::table
        .select(orders_order::id)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(c.get(&format!("/orders/{numeric}/")).await.status, 404);
    assert_eq!(
        c.get(&format!("/orders/{}/", "A".repeat(32))).await.status,
        404
    );
    // Another browser with the link sees it (the link is the key).
    assert_eq!(
        app.client().get(&format!("/orders/{id}/")).await.status,
        200
    );
}

#[actix_web::test]
async fn a_guest_finds_an_order_by_its_number_and_email_with_tries_limited() {
    let app = TestApp::spawn().await;
    let p = app.product("Cup", 5, 100);
    let (_, public_id) = app.order(p.id, 1, false).await;
    let reference = public_id[..8].to_uppercase();
    let c = app.client();
    let home = c.get("/").await;
    assert!(home.contains("Find an order"));
    let form = c.get("/orders/lookup/").await;
    assert_eq!(form.status, 200);

    let found = c
        .submit(
            &form,
            "/orders/lookup/",
            &[
                ("reference", &reference.to_lowercase()),
                ("email", "ADA@example.com"),
            ],
        )
        .await;
    assert!(
        found.url.ends_with(&format!("/orders/{public_id}/")),
        "{}",
        found.url
    );

    let wrong = c
        .submit(
            &form,
            "/orders/lookup/",
            &[("reference", &reference), ("email", "eve@example.com")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.contains("We found no order with this number and email address."));
    let bad = c
        .submit(
            &form,
            "/orders/lookup/",
            &[("reference", "x"), ("email", "nope")],
        )
        .await;
    assert!(bad.contains("Enter the 8-character order number"));
    assert!(bad.contains("Enter a valid email address"));

    // Five tries a minute from one client: the sixth waits, even when right.
    for _ in 0..2 {
        c.submit(
            &form,
            "/orders/lookup/",
            &[("reference", "AAAAAAAA"), ("email", "a@example.com")],
        )
        .await;
    }
    let limited = c
        .submit(
            &form,
            "/orders/lookup/",
            &[("reference", &reference), ("email", "ada@example.com")],
        )
        .await;
    assert_eq!(limited.status, 429);
    assert!(limited.contains("Too many tries from here"));
}

#[actix_web::test]
async fn the_same_review_posted_five_times_at_once_places_one_order() {
    let app = TestApp::spawn().await;
    let p = app.product("Lamp", 5, 4000);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let review = c.checkout_to_review("ann@example.com").await;
    let posts = futures_util::future::join_all(
        (0..5).map(|_| c.submit_raw(&review, "/orders/checkout/review/", &[])),
    )
    .await;
    let places: Vec<_> = posts.iter().map(|r| r.location()).collect();
    assert!(
        posts.iter().all(|r| r.status == 303),
        "{:?}",
        posts.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        places.windows(2).all(|w| w[0] == w[1]),
        "all land on one order: {places:?}"
    );
    assert_eq!(order_count(&app), 1);
    assert_eq!(app.stock(p.id), 4);
    assert_eq!(app.sent_mail().len(), 1, "one confirmation");
}

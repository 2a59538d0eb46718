//! Tax at checkout: the delivery country's rate (or the default one), added
//! to prices or included in them, rounded where the shop says, and kept by
//! the order with the rate it was placed at.

use diesel::prelude::*;
use orders::Order;
use site_core::schema::{
    orders_adjustment as adj, orders_line as l, orders_shipping_method as m, orders_tax_rate as t,
};

use crate::support::{checkout_fields, order_public_id, Options, TestApp};

const PW: &str = "correct horse battery staple";

fn address_in(country: &str) -> Vec<(&'static str, &str)> {
    let mut fields = checkout_fields("ann@example.com");
    for f in &mut fields {
        if f.0 == "country" {
            f.1 = country;
        }
    }
    fields
}

fn setup(app: &TestApp) {
    let mut conn = app.conn();
    diesel::update(m::table)
        .set(m::price_minor.eq(500))
        .execute(&mut *conn)
        .unwrap();
    orders::taxes::create(&mut conn, "VAT", "GB", 2000).unwrap();
    orders::taxes::create(&mut conn, "Sales tax", "", 500).unwrap();
}

#[actix_web::test]
async fn tax_is_added_at_the_delivery_countrys_rate_and_kept_by_the_order() {
    let app = TestApp::spawn().await;
    setup(&app);
    let mug = app.product("Mug", 10, 1000);
    let c = app.client();
    c.add_to_cart(mug.id, 2).await;

    let review = c.checkout_to_review_with(&address_in("GB"), None).await;
    assert_eq!(review.testid_texts("subtotal"), vec!["$20.00"]);
    assert_eq!(review.testid_texts("shipping"), vec!["$5.00"]);
    assert_eq!(review.testid_texts("tax"), vec!["$5.00"], "20% of 25.00");
    assert_eq!(review.testid_texts("order-total"), vec!["$30.00"]);
    assert!(review.contains("VAT 20%"));

    let placed = c.submit(&review, "/orders/checkout/review/", &[]).await;
    assert_eq!(placed.testid_texts("order-total"), vec!["$30.00"]);
    assert!(placed.contains("VAT 20% $5.00"), "{}", placed.text());
    let order = Order::by_public_id(&mut app.conn(), &order_public_id(&placed)).unwrap();
    assert_eq!(
        (order.tax_minor, order.total_minor, order.tax_included),
        (500, 3000, false)
    );
    let line_tax: i64 = l::table
        .filter(l::order_id.eq(order.id))
        .select(l::tax_minor)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(line_tax, 400, "the rest is on delivery");
    let row: (String, i64, Option<i32>) = adj::table
        .filter(adj::order_id.eq(order.id))
        .filter(adj::kind.eq("tax"))
        .select((adj::label, adj::amount_minor, adj::rate_basis_points))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(row, ("VAT 20%".into(), 500, Some(2000)));
    assert!(app.sent_mail()[0].text.contains("VAT 20%: $5.00"));

    // A later rate change does not touch the order.
    diesel::update(t::table.filter(t::country.eq("GB")))
        .set(t::rate_basis_points.eq(2500))
        .execute(&mut *app.conn())
        .unwrap();
    assert_eq!(
        c.get(&placed.url).await.testid_texts("order-total"),
        vec!["$30.00"]
    );
}

#[actix_web::test]
async fn other_countries_pay_the_default_rate_or_none() {
    let app = TestApp::spawn().await;
    setup(&app);
    let mug = app.product("Mug", 10, 1000);
    let c = app.client();
    c.add_to_cart(mug.id, 1).await;
    let fr = c.checkout_to_review_with(&address_in("FR"), None).await;
    assert!(fr.contains("Sales tax 5%"));
    assert_eq!(fr.testid_texts("tax"), vec!["$0.75"]);
    assert_eq!(fr.testid_texts("order-total"), vec!["$15.75"]);

    diesel::update(t::table.filter(t::country.eq("")))
        .set(t::is_active.eq(false))
        .execute(&mut *app.conn())
        .unwrap();
    let untaxed = c.get("/orders/checkout/review/").await;
    assert!(untaxed.testid_texts("tax").is_empty());
    assert_eq!(untaxed.testid_texts("order-total"), vec!["$15.00"]);
}

#[actix_web::test]
async fn prices_that_include_tax_show_it_without_adding_it() {
    let app = TestApp::spawn_with(Options {
        prices_include_tax: true,
        ..Options::default()
    })
    .await;
    setup(&app);
    let mug = app.product("Mug", 10, 1200);
    let c = app.client();
    c.add_to_cart(mug.id, 1).await;
    let review = c.checkout_to_review_with(&address_in("GB"), None).await;
    assert_eq!(review.testid_texts("order-total"), vec!["$17.00"]);
    assert_eq!(review.testid_texts("tax"), vec!["$2.83"], "17.00 × 20/120");
    assert!(review.contains("VAT 20% included"));
    let placed = c.submit(&review, "/orders/checkout/review/", &[]).await;
    let order = Order::by_public_id(&mut app.conn(), &order_public_id(&placed)).unwrap();
    assert_eq!(
        (order.tax_minor, order.total_minor, order.tax_included),
        (283, 1700, true)
    );
    let text = &app.sent_mail()[0].text;
    assert!(text.contains("VAT 20% included: $2.83"), "{text}");
    assert!(
        !text.contains("VAT 20%: "),
        "not added as its own line: {text}"
    );
}

#[actix_web::test]
async fn tax_rounded_once_per_order_when_the_shop_says_so() {
    let app = TestApp::spawn_with(Options {
        tax_per_order: true,
        ..Options::default()
    })
    .await;
    orders::taxes::create(&mut app.conn(), "VAT", "GB", 2000).unwrap();
    let a = app.product("Sticker A", 10, 2);
    let b = app.product("Sticker B", 10, 2);
    let c = app.client();
    c.add_to_cart(a.id, 1).await;
    c.add_to_cart(b.id, 1).await;
    // 0.4 cent of tax on each line: 0 each when rounded per line, 1 cent
    // on the order's 4 cents.
    let review = c.checkout_to_review_with(&address_in("GB"), None).await;
    assert_eq!(review.testid_texts("tax"), vec!["$0.01"]);
    assert_eq!(review.testid_texts("order-total"), vec!["$0.05"]);
}

#[actix_web::test]
async fn staff_set_one_rate_per_country_in_the_admin() {
    let app = TestApp::spawn().await;
    app.user("boss@example.com", PW, true);
    let c = app.client();
    c.login("boss@example.com", PW).await;
    let add = "/admin/orders/taxrate/add/";
    let form = c.get(add).await;
    assert_eq!(form.status, 200, "{}", form.text());
    assert!(form.contains("Every other country (default)"));
    let bad = c
        .submit(
            &form,
            add,
            &[
                ("country", "IE"),
                ("name", "VAT"),
                ("rate", "23.125"),
                ("is_active", "on"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.contains("Enter a rate from 0 to 100 with at most two decimals."));
    let added = c
        .submit(
            &form,
            add,
            &[
                ("country", "IE"),
                ("name", "VAT"),
                ("rate", "23"),
                ("is_active", "on"),
            ],
        )
        .await;
    assert!(added.contains("was added."), "{}", added.text());
    let again = c
        .submit(
            &form,
            add,
            &[
                ("country", "IE"),
                ("name", "VAT"),
                ("rate", "13.5"),
                ("is_active", "on"),
            ],
        )
        .await;
    assert_eq!(again.status, 422);
    assert!(again.contains("This country has a rate already"));
    let default = c
        .submit(
            &form,
            add,
            &[
                ("country", "*"),
                ("name", "Tax"),
                ("rate", "7.25"),
                ("is_active", "on"),
            ],
        )
        .await;
    assert!(default.contains("was added."), "{}", default.text());
    let rows: Vec<(String, i32)> = t::table
        .order(t::country)
        .select((t::country, t::rate_basis_points))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(rows, vec![("".into(), 725), ("IE".into(), 2300)]);
}

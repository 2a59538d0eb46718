//! Checkout in steps (address, delivery, review) with shipping methods
//! staff manage: only the methods that fit are offered, the order keeps
//! its price breakdown, and every total matches.

use diesel::prelude::*;
use orders::shipping::{self, NewMethod, ShippingKind};
use orders::Order;
use site_core::schema::{orders_adjustment as adj, orders_shipping_method as m};
use site_core::{Currency, Money};

use crate::support::{checkout_fields, order_public_id, Client, TestApp};

const PW: &str = "correct horse battery staple";

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::Usd)
}

/// The shop's own methods instead of the tests' free default: UK flat
/// 4.50 (free from 50), EU by weight (1 kg 8.00, 5 kg 15.00). Returns
/// their ids.
fn uk_and_eu(app: &TestApp) -> (i64, i64) {
    let mut conn = app.conn();
    diesel::update(m::table)
        .set(m::is_active.eq(false))
        .execute(&mut *conn)
        .unwrap();
    let uk = shipping::create(
        &mut conn,
        &NewMethod {
            name: "UK standard",
            description: "2–3 working days.",
            kind: ShippingKind::Flat,
            price: usd(450),
            free_over: Some(usd(5000)),
            countries: "GB",
            position: 0,
        },
        &[],
    )
    .unwrap();
    let eu = shipping::create(
        &mut conn,
        &NewMethod {
            name: "Europe tracked",
            description: "",
            kind: ShippingKind::Weight,
            price: usd(0),
            free_over: None,
            countries: "FR DE IE",
            position: 1,
        },
        &[(1_000, 800), (5_000, 1500)],
    )
    .unwrap();
    (uk, eu)
}

fn address_in(country: &str) -> Vec<(&'static str, &str)> {
    let mut fields = checkout_fields("ann@example.com");
    for f in &mut fields {
        if f.0 == "country" {
            f.1 = country;
        }
    }
    fields
}

async fn shipping_step(c: &Client, country: &str) -> crate::support::Page {
    let form = c.get("/orders/checkout/").await;
    c.submit(&form, "/orders/checkout/", &address_in(country))
        .await
}

#[actix_web::test]
async fn only_the_methods_that_fit_the_address_and_the_cart_are_offered() {
    let app = TestApp::spawn().await;
    let (uk, eu) = uk_and_eu(&app);
    // 500 g each (the tests' products).
    let tea = app.product("Green Tea", 50, 1000);
    let c = app.client();
    c.add_to_cart(tea.id, 1).await;

    let gb = shipping_step(&c, "GB").await;
    assert_eq!(gb.status, 200, "{}", gb.text());
    assert_eq!(gb.input_values("shipping_method"), vec![uk.to_string()]);
    assert!(gb.contains("UK standard $4.50"), "{}", gb.text());
    assert!(gb.contains("Free on orders of $50.00 or more."));

    let fr = shipping_step(&c, "FR").await;
    assert_eq!(fr.input_values("shipping_method"), vec![eu.to_string()]);
    assert!(
        fr.contains("Europe tracked $8.00"),
        "1 kg band: {}",
        fr.text()
    );
    // A method for another country cannot be forced in.
    let forced = c
        .submit_raw(
            &fr,
            "/orders/checkout/shipping/",
            &[("shipping_method", &uk.to_string())],
        )
        .await;
    assert_eq!(forced.status, 422);
    assert!(forced.contains("Choose one of the delivery options."));

    // 4 more: 2.5 kg, the 5 kg band.
    c.add_to_cart(tea.id, 4).await;
    let heavier = c.get("/orders/checkout/shipping/").await;
    assert!(
        heavier.contains("Europe tracked $15.00"),
        "{}",
        heavier.text()
    );
    // 11 in all: 5.5 kg, heavier than every band, and no UK method for FR.
    c.add_to_cart(tea.id, 6).await;
    let none = c.get("/orders/checkout/shipping/").await;
    assert!(none.input_values("shipping_method").is_empty());
    assert!(
        none.contains("We do not deliver this order to France"),
        "{}",
        none.text()
    );

    let jp = shipping_step(&c, "JP").await;
    assert!(jp.contains("We do not deliver this order to Japan"));
}

#[actix_web::test]
async fn the_order_keeps_its_breakdown_and_every_page_shows_the_same_total() {
    let app = TestApp::spawn().await;
    let (uk, _) = uk_and_eu(&app);
    let mug = app.product("Blue Mug", 5, 1250);
    let c = app.client();
    c.add_to_cart(mug.id, 2).await;

    let review = c.checkout_to_review_with(&address_in("GB"), Some(uk)).await;
    assert_eq!(review.testid_texts("subtotal"), vec!["$25.00"]);
    assert_eq!(review.testid_texts("shipping"), vec!["$4.50"]);
    assert_eq!(review.testid_texts("order-total"), vec!["$29.50"]);
    assert!(review.contains("Place order: $29.50"));

    let placed = c.submit(&review, "/orders/checkout/review/", &[]).await;
    assert_eq!(placed.status, 200, "{}", placed.text());
    assert_eq!(placed.testid_texts("order-total"), vec!["$29.50"]);
    assert!(placed.contains("Delivery: UK standard"));
    assert!(placed.contains("Pay $29.50"));
    assert!(
        placed.contains("SW1Y 4JH London United Kingdom"),
        "the country's name, not its code"
    );

    let order = Order::by_public_id(&mut app.conn(), &order_public_id(&placed)).unwrap();
    assert_eq!(
        (
            order.subtotal_minor,
            order.shipping_minor,
            order.discount_minor,
            order.tax_minor,
            order.total_minor
        ),
        (2500, 450, 0, 0, 2950)
    );
    assert_eq!(order.country, "GB");
    assert_eq!(order.shipping_method, "UK standard");
    assert_eq!(order.shipping_method_id, Some(uk));
    let rows: Vec<(String, String, i64)> = adj::table
        .filter(adj::order_id.eq(order.id))
        .select((adj::kind, adj::label, adj::amount_minor))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(rows, vec![("shipping".into(), "UK standard".into(), 450)]);

    let mail = &app.sent_mail()[0];
    assert!(mail.text.contains("Subtotal: $25.00"), "{}", mail.text);
    assert!(mail.text.contains("Delivery (UK standard): $4.50"));
    assert!(mail.text.contains("Total: $29.50"));

    // The payment asks for the same total, shipping included.
    let pay = c.get(&format!("/payments/{}/", order.public_id)).await;
    assert!(pay.contains("$29.50"), "{}", pay.text());
    let gateway = c.open_gateway(&order.public_id).await;
    assert_eq!(gateway.testid_texts("gateway-amount"), vec!["$29.50"]);

    // Staff changing the method's price later does not touch the order.
    diesel::update(m::table.find(uk))
        .set(m::price_minor.eq(999))
        .execute(&mut *app.conn())
        .unwrap();
    let again = c.get(&placed.url).await;
    assert_eq!(again.testid_texts("order-total"), vec!["$29.50"]);
}

#[actix_web::test]
async fn delivery_is_free_from_the_methods_threshold() {
    let app = TestApp::spawn().await;
    let (uk, _) = uk_and_eu(&app);
    let lamp = app.product("Lamp", 5, 5000);
    let c = app.client();
    c.add_to_cart(lamp.id, 1).await;
    let review = c.checkout_to_review_with(&address_in("GB"), Some(uk)).await;
    assert_eq!(review.testid_texts("shipping"), vec!["Free"]);
    assert_eq!(review.testid_texts("order-total"), vec!["$50.00"]);
}

#[actix_web::test]
async fn steps_cannot_be_skipped_and_a_new_country_asks_for_delivery_again() {
    let app = TestApp::spawn().await;
    let (uk, _) = uk_and_eu(&app);
    let tea = app.product("Tea", 5, 1000);
    let c = app.client();
    c.add_to_cart(tea.id, 1).await;
    let review = c.get("/orders/checkout/review/").await;
    assert!(review.url.ends_with("/orders/checkout/"), "{}", review.url);
    let shipping = c.get("/orders/checkout/shipping/").await;
    assert!(shipping.url.ends_with("/orders/checkout/"));

    c.checkout_to_review_with(&address_in("GB"), Some(uk)).await;
    // Back to the address, now in France: the UK method no longer fits.
    let fr = shipping_step(&c, "FR").await;
    assert!(fr.url.ends_with("/orders/checkout/shipping/"));
    let review = c.get("/orders/checkout/review/").await;
    assert!(
        review.url.ends_with("/orders/checkout/shipping/"),
        "{}",
        review.url
    );
    // The address step remembers what was entered.
    let address = c.get("/orders/checkout/").await;
    assert!(address.body.contains("<option value=\"FR\" selected>"));
    assert!(address.body.contains("St James"), "{}", address.body);
}

#[actix_web::test]
async fn an_unknown_country_is_refused_with_the_input_kept() {
    let app = TestApp::spawn().await;
    let tea = app.product("Tea", 5, 1000);
    let c = app.client();
    c.add_to_cart(tea.id, 1).await;
    let form = c.get("/orders/checkout/").await;
    assert!(form.body.contains("<option value=\"GB\">"));
    let page = c
        .submit(&form, "/orders/checkout/", &address_in("Atlantis"))
        .await;
    assert_eq!(page.status, 422);
    assert!(page.contains("Choose a country from the list."));
    assert!(page.body.contains("value=\"Ada\""));
}

#[actix_web::test]
async fn a_price_change_before_placing_shows_the_new_total_and_places_nothing() {
    let app = TestApp::spawn().await;
    let (uk, _) = uk_and_eu(&app);
    let tea = app.product("Tea", 5, 1000);
    let c = app.client();
    c.add_to_cart(tea.id, 1).await;
    let review = c.checkout_to_review_with(&address_in("GB"), Some(uk)).await;
    assert_eq!(review.testid_texts("order-total"), vec!["$14.50"]);
    diesel::update(m::table.find(uk))
        .set(m::price_minor.eq(650))
        .execute(&mut *app.conn())
        .unwrap();
    let refused = c.submit(&review, "/orders/checkout/review/", &[]).await;
    assert_eq!(refused.status, 409);
    assert!(refused.contains("Prices changed while you were checking out."));
    assert_eq!(refused.testid_texts("order-total"), vec!["$16.50"]);
    assert_eq!(Order::count(&mut app.conn()).unwrap(), 0);
    assert_eq!(app.stock(tea.id), 5);

    let placed = c.submit(&refused, "/orders/checkout/review/", &[]).await;
    assert_eq!(placed.status, 200);
    assert_eq!(placed.testid_texts("order-total"), vec!["$16.50"]);
    assert_eq!(Order::count(&mut app.conn()).unwrap(), 1);
}

#[actix_web::test]
async fn a_method_withdrawn_before_placing_sends_the_shopper_back_to_delivery() {
    let app = TestApp::spawn().await;
    let (uk, _) = uk_and_eu(&app);
    let tea = app.product("Tea", 5, 1000);
    let c = app.client();
    c.add_to_cart(tea.id, 1).await;
    let review = c.checkout_to_review_with(&address_in("GB"), Some(uk)).await;
    diesel::update(m::table.find(uk))
        .set(m::is_active.eq(false))
        .execute(&mut *app.conn())
        .unwrap();
    let page = c.submit(&review, "/orders/checkout/review/", &[]).await;
    assert!(
        page.url.ends_with("/orders/checkout/shipping/"),
        "{}",
        page.url
    );
    assert!(page.contains("The delivery option you chose is no longer available"));
    assert_eq!(Order::count(&mut app.conn()).unwrap(), 0);
    assert_eq!(app.stock(tea.id), 5);
}

#[actix_web::test]
async fn staff_manage_methods_and_their_weight_bands_in_the_admin() {
    let app = TestApp::spawn().await;
    app.user("boss@example.com", PW, true);
    let c = app.client();
    c.login("boss@example.com", PW).await;
    let add = "/admin/orders/shippingmethod/add/";
    let form = c.get(add).await;
    assert_eq!(form.status, 200, "{}", form.text());

    let bad = c
        .submit(
            &form,
            add,
            &[
                ("name", "Courier"),
                ("kind", "weight"),
                ("countries", "GB Narnia"),
                ("is_active", "on"),
                ("position", "1"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.contains("Not ISO country codes: Narnia."),
        "{}",
        bad.text()
    );

    let no_bands = c
        .submit(
            &form,
            add,
            &[
                ("name", "Courier"),
                ("kind", "weight"),
                ("countries", "gb ie"),
                ("is_active", "on"),
                ("position", "1"),
            ],
        )
        .await;
    assert_eq!(no_bands.status, 422);
    assert!(no_bands.contains("A weight-band method needs at least one band"));

    let added = c
        .submit(
            &form,
            add,
            &[
                ("name", "Courier"),
                ("kind", "weight"),
                ("countries", "gb ie"),
                ("is_active", "on"),
                ("position", "1"),
                ("bands-new0-max_weight_grams", "2000"),
                ("bands-new0-price", "7.00"),
                ("bands-new1-max_weight_grams", "10000"),
                ("bands-new1-price", "12.50"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text());
    assert!(added.contains("The shipping method “Courier” was added."));
    let (id, countries): (i64, String) = m::table
        .filter(m::name.eq("Courier"))
        .select((m::id, m::countries))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(countries, "GB IE", "codes normalised");

    // A shopper in Ireland is offered it at the band's price.
    let tea = app.product("Tea", 50, 1000);
    let shopper = app.client();
    shopper.add_to_cart(tea.id, 5).await;
    let step = shipping_step(&shopper, "IE").await;
    assert!(step.contains("Courier $12.50"), "2.5 kg: {}", step.text());
    assert!(step
        .input_values("shipping_method")
        .contains(&id.to_string()));

    let list = c.get("/admin/orders/shippingmethod/").await;
    assert!(list.contains("Courier"));
    assert!(list.contains("GB IE"));
}

#[actix_web::test]
async fn a_customer_picks_a_saved_address_in_another_country() {
    let app = TestApp::spawn().await;
    let (_, eu) = uk_and_eu(&app);
    let user = app.customer("ann@example.com", PW);
    accounts::Address::create(
        &mut app.conn(),
        user.id,
        &site_core::address::PostalAddress {
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            address: "1 Rue de Rivoli".into(),
            postal_code: "75001".into(),
            city: "Paris".into(),
            country: "FR".into(),
        },
        true,
    )
    .unwrap();
    let tea = app.product("Tea", 5, 1000);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    c.add_to_cart(tea.id, 1).await;
    let form = c.get("/orders/checkout/").await;
    assert!(form.body.contains("<option value=\"FR\" selected>"));
    assert!(form.body.contains("value=\"1 Rue de Rivoli\""));
    let step = c
        .submit(
            &form,
            "/orders/checkout/",
            &[
                ("email", "ann@example.com"),
                ("first_name", "Ann"),
                ("last_name", "Lee"),
                ("address", "1 Rue de Rivoli"),
                ("postal_code", "75001"),
                ("city", "Paris"),
                ("country", "FR"),
            ],
        )
        .await;
    assert_eq!(step.input_values("shipping_method"), vec![eu.to_string()]);
}

#[actix_web::test]
async fn a_separate_billing_address_goes_on_the_invoice() {
    let app = TestApp::spawn().await;
    let tea = app.product("Tea", 5, 1000);
    let c = app.client();
    c.add_to_cart(tea.id, 1).await;
    let form = c.get("/orders/checkout/").await;
    assert!(form.contains("Send the invoice to a different billing address"));
    let mut fields = address_in("GB");
    fields.extend([
        ("billing_differs", "on"),
        ("billing_first_name", "Acme"),
        ("billing_last_name", "Accounts"),
        ("billing_address", "1 Ledger Lane"),
        ("billing_postal_code", "EC1A 1BB"),
        ("billing_city", "London"),
        ("billing_country", ""),
    ]);
    let missing = c.submit(&form, "/orders/checkout/", &fields).await;
    assert_eq!(missing.status, 422, "the billing country is missing");
    assert!(missing.contains("Choose a country from the list."));
    assert!(missing.body.contains("value=\"1 Ledger Lane\""), "kept");
    fields.pop();
    fields.push(("billing_country", "GB"));
    let shipping = c.submit(&missing, "/orders/checkout/", &fields).await;
    let picked = shipping.input_values("shipping_method")[0].clone();
    let review = c
        .submit(
            &shipping,
            "/orders/checkout/shipping/",
            &[("shipping_method", &picked)],
        )
        .await;
    assert!(review.testid_texts("billing").is_empty() || review.contains("1 Ledger Lane"));
    assert!(review.contains("Acme Accounts"), "{}", review.text());
    let placed = c.submit(&review, "/orders/checkout/review/", &[]).await;
    let public_id = order_public_id(&placed);
    c.pay_by_card(&public_id, "4242424242424242").await;
    let invoice = c.get(&format!("/orders/{public_id}/invoice/")).await;
    let billed = invoice.text();
    assert!(
        billed.contains("Billed to Acme Accounts 1 Ledger Lane EC1A 1BB London"),
        "{billed}"
    );

    // Unticked, the billing fields are ignored even when filled in.
    let c2 = app.client();
    c2.add_to_cart(tea.id, 1).await;
    let form = c2.get("/orders/checkout/").await;
    let mut fields = address_in("GB");
    fields.extend([
        ("billing_first_name", "Ignored"),
        ("billing_country", "Narnia"),
    ]);
    let step = c2.submit(&form, "/orders/checkout/", &fields).await;
    assert!(
        step.url.ends_with("/orders/checkout/shipping/"),
        "{}",
        step.url
    );
}

//! Variants: a product with sizes or colours is shown and found once,
//! bought as the variant the shopper picks (without JavaScript), stocked
//! per variant (never oversold, however many race), and remembered on the
//! order as what it was.

use diesel::prelude::*;
use futures_util::future::join_all;
use site_core::schema::{orders_line as l, products_product as p};

use crate::support::{product_path, TestApp};

const PW: &str = "correct horse battery staple";

fn totals(app: &TestApp, id: i64) -> (i64, i64, bool) {
    p::table
        .find(id)
        .select((p::stock, p::price_minor, p::has_variants))
        .first(&mut *app.conn())
        .unwrap()
}

/// A pair of shoes in three sizes, one sold out.
fn shoes(app: &TestApp) -> (products::Product, Vec<i64>) {
    let parent = app.product("Trail Runner", 0, 8900);
    let ids = app.variants(
        &parent,
        "Shoes",
        &["Size", "Colour"],
        &[
            ("42 / Black", "TR-42-BLK", 8900, 3),
            ("43 / Black", "TR-43-BLK", 8900, 0),
            ("44 / Sand", "TR-44-SND", 9500, 2),
        ],
    );
    (parent, ids)
}

#[actix_web::test]
async fn a_shopper_picks_a_variant_and_the_order_remembers_it() {
    let app = TestApp::spawn().await;
    let (parent, v) = shoes(&app);
    assert_eq!(totals(&app, parent.id), (5, 8900, true), "sum and lowest");
    let c = app.client();

    // Listed once, from the lowest price; the variants themselves are not.
    let list = c.get("/products/?q=runner").await;
    assert_eq!(list.testid_texts("card-rating").len(), 0);
    assert!(list.contains("From $89.00"), "{}", list.text());
    assert_eq!(
        list.body.matches("Trail Runner").count(),
        1,
        "{}",
        list.text()
    );
    let by_sku = c.get("/products/?q=TR-44-SND").await;
    assert!(
        !by_sku.contains("Trail Runner ("),
        "variants are not listed"
    );

    // The page offers each variant with its price and stock; the sold-out
    // one cannot be picked.
    let page = c.get(&product_path(&parent)).await;
    assert_eq!(page.status, 200);
    let offered = page.testid_texts("variant");
    assert_eq!(offered.len(), 3, "{offered:?}");
    assert!(page.contains("From $89.00"));
    assert!(page.contains("42 / Black"));
    assert!(page.contains("Sold out"));
    assert!(page.body.contains(&format!("value=\"{}\" disabled", v[1])));

    // Without a pick, nothing is added and the shopper is told why.
    let action = format!("/cart/add/{}/", parent.id);
    let refused = c.submit(&page, &action, &[("quantity", "1")]).await;
    assert!(
        refused.contains("Choose which “Trail Runner” you would like first."),
        "{}",
        refused.text()
    );
    assert!(c.get("/cart/").await.contains("Your cart is empty"));
    // A variant of another product is not a pick of this one.
    let other = app.product("Other Shoe", 5, 100);
    let stray = c
        .submit(
            &page,
            &action,
            &[("quantity", "1"), ("variant", &other.id.to_string())],
        )
        .await;
    assert!(stray.contains("Choose which"), "{}", stray.text());

    // Picked: the cart holds that variant, named by its values.
    let cart = c
        .submit(
            &page,
            &action,
            &[("quantity", "2"), ("variant", &v[2].to_string())],
        )
        .await;
    assert!(
        cart.contains("Added 2 × “Trail Runner (44, Sand)” to your cart."),
        "{}",
        cart.text()
    );
    assert!(cart.contains("$190.00"));
    // More than that variant has is refused, whatever the others hold.
    let greedy = c
        .submit(
            &page,
            &action,
            &[("quantity", "1"), ("variant", &v[2].to_string())],
        )
        .await;
    assert!(greedy.contains("only 2 of “Trail Runner (44, Sand)” in stock"));

    let placed = c.checkout("ada@example.com").await;
    assert!(
        placed.contains("Trail Runner (44, Sand)"),
        "{}",
        placed.text()
    );
    let line: (Option<i64>, String, String) = l::table
        .select((l::product_id, l::sku, l::options))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(
        line,
        (
            Some(v[2]),
            "TR-44-SND".into(),
            "Size: 44, Colour: Sand".into()
        )
    );
    assert_eq!(app.stock(v[2]), 0);
    assert_eq!(app.stock(v[0]), 3, "other sizes untouched");
    // The parent follows: 3 left in all, lowest price unchanged.
    assert_eq!(totals(&app, parent.id), (3, 8900, true));
}

#[actix_web::test]
async fn a_variants_own_address_opens_its_product_with_it_picked() {
    let app = TestApp::spawn().await;
    let (parent, v) = shoes(&app);
    let c = app.client();
    let page = c.get_raw(&format!("/products/{}/", v[2])).await;
    let page = c.follow(page).await;
    assert_eq!(page.status, 200);
    assert!(
        page.url
            .ends_with(&format!("{}?variant={}", product_path(&parent), v[2])),
        "{}",
        page.url
    );
    // Its price and SKU are the page's, and it is the one checked.
    assert_eq!(page.testid_texts("price"), vec!["$95.00".to_string()]);
    assert!(page.contains("SKU TR-44-SND"));
    assert!(page.body.contains(&format!("value=\"{}\" checked", v[2])));
    // Structured data offers each variant.
    assert!(page.body.contains("\"@type\":\"AggregateOffer\""));
    assert!(page.body.contains("\"highPrice\":\"95.00\""));
}

#[actix_web::test]
async fn racing_buyers_never_oversell_a_variant_and_the_parent_keeps_the_sum() {
    let app = TestApp::spawn().await;
    let parent = app.product("Canvas Tote", 0, 3000);
    let v = app.variants(
        &parent,
        "Bags",
        &["Colour"],
        &[("Red", "TOTE-R", 3000, 3), ("Blue", "TOTE-B", 3000, 2)],
    );
    // 32 shoppers: half want red, half blue, and every fourth wants both
    // (lines of two variants of one product, taken in one checkout).
    let mut shoppers = Vec::new();
    for n in 0..32 {
        let c = app.client();
        let page = c.get(&product_path(&parent)).await;
        let action = format!("/cart/add/{}/", parent.id);
        let first = v[n % 2];
        c.submit(
            &page,
            &action,
            &[("quantity", "1"), ("variant", &first.to_string())],
        )
        .await;
        if n % 4 == 0 {
            c.submit(
                &page,
                &action,
                &[("quantity", "1"), ("variant", &v[1 - n % 2].to_string())],
            )
            .await;
        }
        let review = c.checkout_to_review("rush@example.com").await;
        shoppers.push((c, review));
    }
    let results = join_all(
        shoppers
            .iter()
            .map(|(c, review)| c.submit_raw(review, "/orders/checkout/review/", &[])),
    )
    .await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 409),
        "every buyer gets an order or a clear refusal, never an error: {statuses:?}"
    );
    let sold = |id: i64| -> i64 {
        l::table
            .filter(l::product_id.eq(id))
            .select(l::quantity)
            .load::<i64>(&mut *app.conn())
            .unwrap()
            .iter()
            .sum()
    };
    assert_eq!((sold(v[0]), sold(v[1])), (3, 2), "every unit sold once");
    assert_eq!((app.stock(v[0]), app.stock(v[1])), (0, 0));
    assert_eq!(totals(&app, parent.id).0, 0, "the parent's sum follows");
}

#[actix_web::test]
async fn a_cancelled_order_puts_the_variant_back_and_the_parent_follows() {
    let app = TestApp::spawn().await;
    let (parent, v) = shoes(&app);
    let c = app.client();
    c.add_variant(&parent, v[0], 3).await;
    c.checkout("ada@example.com").await;
    assert_eq!((app.stock(v[0]), totals(&app, parent.id).0), (0, 2));
    let boss = app.boss(PW).await;
    let order: i64 = site_core::schema::orders_order::table
        .select(site_core::schema::orders_order::id)
        .first(&mut *app.conn())
        .unwrap();
    let list = boss.get("/admin/orders/order/").await;
    let done = boss
        .follow(
            boss.submit_multi(
                &list,
                "/admin/orders/order/",
                &[("action", "cancel"), ("_selected", &order.to_string())],
            )
            .await,
        )
        .await;
    assert!(done.contains("was cancelled"), "{}", done.text());
    assert_eq!((app.stock(v[0]), totals(&app, parent.id).0), (3, 5));
}

#[actix_web::test]
async fn staff_give_a_product_variants_in_its_form() {
    let app = TestApp::spawn().await;
    let boss = app.boss(PW).await;
    // A type and what its variants differ by.
    let add = boss.get("/admin/products/producttype/add/").await;
    assert_eq!(add.status, 200, "{}", add.text());
    let saved = boss
        .submit(
            &add,
            "/admin/products/producttype/add/",
            &[
                ("name", "T-shirts"),
                ("attributes-new0-name", "Size"),
                ("attributes-new1-name", "Colour"),
            ],
        )
        .await;
    assert!(saved.contains("T-shirts"), "{}", saved.text());
    let list = boss.get("/admin/products/producttype/").await;
    assert!(list.contains("Size, Colour"), "{}", list.text());
    let kind: i64 = site_core::schema::products_product_type::table
        .select(site_core::schema::products_product_type::id)
        .first(&mut *app.conn())
        .unwrap();

    let tee = app.product("Organic Tee", 7, 2000);
    let change = format!("/admin/products/product/{}/change/", tee.id);
    let form = boss.get(&change).await;
    let category = tee.category_id.to_string();
    let kind = kind.to_string();
    let base = vec![
        ("name", "Organic Tee"),
        ("slug", "organic-tee"),
        ("sku", "SKU-organic-tee"),
        ("category", category.as_str()),
        ("product_type", kind.as_str()),
        ("description", "Soft."),
        ("price", "20.00"),
        ("stock", "7"),
        ("is_active", "on"),
        ("_continue", "1"),
    ];

    // One value where the type wants two: re-rendered with the reason,
    // nothing saved.
    let mut bad = base.clone();
    bad.extend([
        ("variants-new0-options", "M"),
        ("variants-new0-sku", "TEE-M"),
        ("variants-new0-price", "20.00"),
        ("variants-new0-stock", "4"),
    ]);
    let refused = boss.submit_multipart(&form, &change, &bad, &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(
        refused.contains("Give one value for each of Size / Colour"),
        "{}",
        refused.text()
    );
    assert!(
        refused.body.contains("value=\"TEE-M\""),
        "what was typed stays"
    );
    assert_eq!(totals(&app, tee.id), (7, 2000, false));

    let mut good = base.clone();
    good.extend([
        ("variants-new0-options", "M / Navy"),
        ("variants-new0-sku", "TEE-M-NVY"),
        ("variants-new0-price", "22.00"),
        ("variants-new0-stock", "4"),
        ("variants-new1-options", "L / Navy"),
        ("variants-new1-sku", "TEE-L-NVY"),
        ("variants-new1-price", "21.00"),
        ("variants-new1-stock", "6"),
    ]);
    let done = boss.submit_multipart(&form, &change, &good, &[]).await;
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(totals(&app, tee.id), (10, 2100, true), "sum and lowest");
    let form = boss.get(&change).await;
    assert!(form.body.contains("M &#x2F; Navy"), "{}", form.text());
    let sku_id = |sku: &str| -> i64 {
        p::table
            .filter(p::sku.eq(sku))
            .select(p::id)
            .first(&mut *app.conn())
            .unwrap()
    };
    let (medium, large) = (sku_id("TEE-M-NVY"), sku_id("TEE-L-NVY"));
    let row = |id: i64, f: &str| format!("variants-{id}-{f}");
    let kept = [
        (row(medium, "options"), "M / Navy"),
        (row(medium, "sku"), "TEE-M-NVY"),
        (row(medium, "price"), "22.00"),
        (row(medium, "stock"), "4"),
        (row(large, "options"), "L / Navy"),
        (row(large, "sku"), "TEE-L-NVY"),
        (row(large, "price"), "21.00"),
        (row(large, "stock"), "6"),
    ];

    // The parent's stock is its variants': typing over it is refused.
    let mut typed = base.clone();
    typed.retain(|(k, _)| *k != "stock" && *k != "price");
    typed.extend([("stock", "99"), ("price", "21.00")]);
    typed.extend(kept.iter().map(|(k, v)| (k.as_str(), *v)));
    let refused = boss.submit_multipart(&form, &change, &typed, &[]).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.contains("the sum of its variants"),
        "{}",
        refused.text()
    );

    // Two variants with the same values could not be told apart.
    let mut twin = base.clone();
    twin.retain(|(k, _)| *k != "stock" && *k != "price");
    twin.extend([("stock", "10"), ("price", "21.00")]);
    twin.extend(kept.iter().map(|(k, v)| (k.as_str(), *v)));
    twin.extend([
        ("variants-new0-options", "m / navy"),
        ("variants-new0-sku", "TEE-M2"),
        ("variants-new0-price", "20.00"),
        ("variants-new0-stock", "1"),
    ]);
    let refused = boss.submit_multipart(&form, &change, &twin, &[]).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.contains("Another variant of this product is already m / navy."),
        "{}",
        refused.text()
    );
    assert_eq!(totals(&app, tee.id), (10, 2100, true), "nothing half-saved");

    // A variant's stock changed in the product list: the parent follows.
    let list = boss.get("/admin/products/product/").await;
    let field = |id: i64, f: &str| format!("form-{id}-{f}");
    let edited = boss
        .submit_multi(
            &list,
            "/admin/products/product/",
            &[
                (&field(tee.id, "price"), "21.00"),
                (&field(tee.id, "stock"), "10"),
                (&field(large, "price"), "21.00"),
                (&field(large, "stock"), "6"),
                (&field(medium, "price"), "22.00"),
                (&field(medium, "stock"), "1"),
                ("_save", "1"),
            ],
        )
        .await;
    assert!(edited.status < 400, "{}", edited.text());
    assert_eq!(app.stock(medium), 1);
    assert_eq!(totals(&app, tee.id).0, 7);

    // In the shop: one card from $21.00, two sizes to pick, found by the
    // variants' colour.
    let c = app.client();
    assert_eq!(
        c.get("/products/?q=navy").await.card_names(),
        ["Organic Tee"]
    );
    let page = c.get(&product_path(&tee)).await;
    assert_eq!(page.testid_texts("variant").len(), 2);
    assert!(page.contains("L / Navy"));

    // Taken off sale: gone from the page, out of the parent's sum.
    let form = boss.get(&change).await;
    let mut off = base.clone();
    off.retain(|(k, _)| *k != "stock" && *k != "price");
    off.extend([("stock", "7"), ("price", "21.00")]);
    let (m_opts, m_sku, m_price, m_stock) = (
        row(medium, "options"),
        row(medium, "sku"),
        row(medium, "price"),
        row(medium, "stock"),
    );
    let (l_opts, l_sku, l_price, l_stock, l_off) = (
        row(large, "options"),
        row(large, "sku"),
        row(large, "price"),
        row(large, "stock"),
        row(large, "off_sale"),
    );
    off.extend([
        (m_opts.as_str(), "M / Navy"),
        (m_sku.as_str(), "TEE-M-NVY"),
        (m_price.as_str(), "22.00"),
        (m_stock.as_str(), "1"),
        (l_opts.as_str(), "L / Navy"),
        (l_sku.as_str(), "TEE-L-NVY"),
        (l_price.as_str(), "21.00"),
        (l_stock.as_str(), "6"),
        (l_off.as_str(), "on"),
    ]);
    let done = boss.submit_multipart(&form, &change, &off, &[]).await;
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(totals(&app, tee.id), (1, 2200, true), "only M counts now");
    let page = c.get(&product_path(&tee)).await;
    assert_eq!(page.testid_texts("variant").len(), 1);
    assert!(!page.contains("L / Navy"));
}

#[actix_web::test]
async fn buying_a_variant_lets_the_customer_review_its_product() {
    let app = TestApp::spawn().await;
    let (parent, v) = shoes(&app);
    app.customer("ann@example.com", "a long passphrase");
    let c = app.client();
    c.login("ann@example.com", "a long passphrase").await;
    let page = c.get(&product_path(&parent)).await;
    assert!(page.contains("Only customers who bought this product can review it."));
    c.submit(
        &page,
        &format!("/cart/add/{}/", parent.id),
        &[("quantity", "1"), ("variant", &v[0].to_string())],
    )
    .await;
    let placed = c.checkout("ann@example.com").await;
    c.pay_by_card(
        &crate::support::order_public_id(&placed),
        "4242424242424242",
    )
    .await;
    let page = c.get(&product_path(&parent)).await;
    assert!(page.contains("Review this product"), "{}", page.text());
}

#[actix_web::test]
async fn the_demo_sells_shoes_in_sizes_and_bags_in_colours() {
    let app = TestApp::spawn().await;
    app.seed(48, 24);
    let named = |sku: &str| -> products::Product {
        p::table
            .filter(p::sku.eq(sku))
            .select(products::Product::as_select())
            .first(&mut *app.conn())
            .unwrap()
    };
    // DEMO-00012 is the first product of Shoes, DEMO-00011 of Bags.
    let shoe = named("DEMO-00012");
    let bag = named("DEMO-00011");
    for (parent, kinds, variants) in [
        (&shoe, ["Running Shoes", "Sneakers", "Boots", "Loafers"], 12),
        (&bag, ["Backpack", "Bag", "Bag", "Bag"], 3),
    ] {
        assert!(
            kinds.iter().any(|k| parent.name.contains(k)),
            "a name that fits its category: {}",
            parent.name
        );
        assert!(parent.has_variants);
        let children: Vec<(i64, bool)> = p::table
            .filter(p::parent_id.eq(parent.id))
            .select((p::stock, p::is_active))
            .load(&mut *app.conn())
            .unwrap();
        assert_eq!(children.len(), variants);
        assert_eq!(parent.stock, children.iter().map(|(s, _)| s).sum::<i64>());
        let page = app.client().get(&product_path(parent)).await;
        assert_eq!(
            page.testid_texts("variant").len(),
            variants,
            "{}",
            page.text()
        );
    }
    // Each colour has its own picture: a list of black shoes shows black
    // ones, and the stone pair's page shows the stone picture.
    let black = app.client().get("/products/?colour=black").await;
    assert!(black.body.contains("demo-art-shoes-black.png"));
    assert!(black.body.contains("demo-art-bags-black.png"));
    assert!(!black.body.contains("demo-art-shoes-stone.png"));
    let stone = named(&format!("{}-43-STONE", shoe.sku));
    let page = app
        .client()
        .get(&format!("{}?variant={}", product_path(&shoe), stone.id))
        .await;
    assert!(page.body.contains("demo-art-shoes-stone.png"));
    assert!(app
        .config
        .media_root
        .join("products/demo-art-shoes-stone.png")
        .exists());
    let coffee: String = p::table
        .filter(p::sku.eq("DEMO-00001"))
        .select(p::name)
        .first(&mut *app.conn())
        .unwrap();
    assert!(coffee.contains("Beans"), "{coffee}");
}

#[actix_web::test]
async fn deleting_a_variant_or_its_product_keeps_totals_and_orders_right() {
    let app = TestApp::spawn().await;
    let (parent, v) = shoes(&app);
    // 44 / Sand is bought; 42 / Black never is.
    let c = app.client();
    c.add_variant(&parent, v[2], 1).await;
    c.checkout("ada@example.com").await;
    assert_eq!(totals(&app, parent.id), (4, 8900, true));

    let boss = app.boss(PW).await;
    let delete = |id: i64| format!("/admin/products/product/{id}/delete/");
    // A variant nobody ordered goes, and the product's totals follow.
    let form = boss.get(&delete(v[0])).await;
    let gone = boss.submit(&form, &delete(v[0]), &[]).await;
    assert!(gone.status < 400, "{}", gone.text());
    let left: i64 = p::table
        .filter(p::id.eq(v[0]))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(left, 0, "deleted");
    assert_eq!(
        totals(&app, parent.id),
        (1, 8900, true),
        "its 3 gone from the sum"
    );
    // The product, whose variant was ordered: kept, deactivated, so the
    // order keeps pointing at what it bought.
    let form = boss.get(&delete(parent.id)).await;
    assert!(form.contains("deactivated instead"), "{}", form.text());
    boss.submit(&form, &delete(parent.id), &[]).await;
    let line: Option<i64> = l::table
        .select(l::product_id)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(line, Some(v[2]));
    let active: bool = p::table
        .find(parent.id)
        .select(p::is_active)
        .first(&mut *app.conn())
        .unwrap();
    assert!(!active);
}

#[actix_web::test]
async fn taking_a_product_off_sale_takes_its_variants_out_of_carts() {
    let app = TestApp::spawn().await;
    let (parent, v) = shoes(&app);
    let c = app.client();
    c.add_variant(&parent, v[0], 1).await;
    products::Product::set_active(&mut app.conn(), parent.id, false).unwrap();
    let cart = c.get("/cart/").await;
    assert!(
        cart.contains("Some products in your cart are no longer sold and were removed."),
        "{}",
        cart.text()
    );
    // Nor can it be added again by its own address.
    let other = app.product("Other Shoe", 5, 100);
    let page = c.get(&product_path(&other)).await;
    let token = page
        .hidden_fields(&format!("/cart/add/{}/", other.id))
        .and_then(|f| f.into_iter().find(|(k, _)| k == "csrf_token"))
        .map(|(_, v)| v)
        .unwrap();
    let again = c
        .post_raw(
            &format!("/cart/add/{}/", v[0]),
            &[("quantity", "1"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(again.status, 404);
}

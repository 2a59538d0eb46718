//! Search in a shopper's own words: a product is found by its name, SKU,
//! category (and department), its variants' colours and sizes, and its
//! description; the best matches come first; a misspelt word is taken for
//! the closest one the shop knows.

use diesel::prelude::*;
use site_core::schema::products_product as p;

use crate::support::TestApp;

const PW: &str = "a long staff passphrase";

#[actix_web::test]
async fn products_are_found_by_category_colour_and_description_best_match_first() {
    let app = TestApp::spawn().await;
    let desk = app.product("Walnut Desk", 3, 30000);
    let lamp = app.product("Oak Lamp", 3, 4000);
    diesel::update(p::table.find(lamp.id))
        .set(p::description.eq("A lamp with a solid walnut base."))
        .execute(&mut *app.conn())
        .unwrap();
    let shoes = app.product("Trail Runner", 0, 8900);
    app.variants(
        &shoes,
        "Shoes",
        &["Size", "Colour"],
        &[
            ("42 / Black", "TR-42-BLK", 8900, 3),
            ("44 / Sand", "TR-44-SND", 9500, 2),
        ],
    );
    let c = app.client();

    // The name outranks the description, though the lamp is newer.
    let walnut = c.get("/products/?q=walnut").await;
    assert_eq!(walnut.card_names(), ["Walnut Desk", "Oak Lamp"]);
    assert!(walnut
        .body
        .contains("<option value=\"relevance\" selected>Best match</option>"));
    // Asked for newest first, newest first.
    let newest = c.get("/products/?q=walnut&sort=newest").await;
    assert_eq!(newest.card_names(), ["Oak Lamp", "Walnut Desk"]);
    // A colour only a variant has finds its product (once), and so does a
    // variant's SKU.
    assert_eq!(
        c.get("/products/?q=sand").await.card_names(),
        ["Trail Runner"]
    );
    assert_eq!(
        c.get("/products/?q=TR-44-SND").await.card_names(),
        ["Trail Runner"]
    );
    // The category's name finds what is in it.
    let aisle: String = site_core::schema::products_category::table
        .find(desk.category_id)
        .select(site_core::schema::products_category::name)
        .first(&mut *app.conn())
        .unwrap();
    let by_aisle = c
        .get(&format!("/products/?q={}", aisle.replace(' ', "+")))
        .await;
    assert_eq!(by_aisle.card_names(), ["Walnut Desk"]);
    // Lists without a search offer no "Best match".
    assert!(!c.get("/products/").await.body.contains("Best match"));
}

#[actix_web::test]
async fn a_misspelt_search_shows_what_was_probably_meant() {
    let app = TestApp::spawn().await;
    app.product("Walnut Desk", 3, 30000);
    app.product("Canvas Tote", 3, 3000);
    let c = app.client();
    let typo = c.get("/products/?q=walnt+dsek").await;
    assert_eq!(typo.card_names(), ["Walnut Desk"]);
    assert!(
        typo.contains("Nothing matches “walnt dsek”"),
        "{}",
        typo.text()
    );
    assert!(typo
        .body
        .contains("showing results for “<strong>walnut desk</strong>”"));
    // Far from anything: no guess, the no-results page.
    let nothing = c.get("/products/?q=zzyzx").await;
    assert!(nothing.testid_texts("corrected").is_empty());
    assert!(nothing.contains("Nothing matches “zzyzx”"));
}

#[actix_web::test]
async fn corrections_know_the_words_of_products_added_and_renamed() {
    let app = TestApp::spawn().await;
    let mug = app.product("Plain Mug", 3, 900);
    app.product("Tee-Shirt (Organic)", 3, 1900);
    diesel::update(p::table.find(mug.id))
        .set((
            p::name.eq("Enamel Mug"),
            p::sku.eq("MUG-1"),
            p::description.eq("Holds tea."),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let c = app.client();
    // The new name's words are known; punctuation splits words.
    for (typed, meant, found) in [
        ("enamle", "enamel", "Enamel Mug"),
        ("orgnic", "organic", "Tee-Shirt (Organic)"),
    ] {
        let page = c.get(&format!("/products/?q={typed}")).await;
        assert_eq!(page.card_names(), [found], "{typed}");
        assert!(
            page.body
                .contains(&format!("showing results for “<strong>{meant}</strong>”")),
            "{typed}: {}",
            page.text()
        );
    }
    // The old name's words find nothing now, so they are never offered.
    let old = c.get("/products/?q=plian").await;
    assert!(old.testid_texts("corrected").is_empty());
    assert!(old.contains("Nothing matches “plian”"));
}

#[actix_web::test]
async fn the_demo_is_found_by_department() {
    let app = TestApp::spawn().await;
    app.seed(48, 24);
    // "Clothing & Accessories" holds Bags, Shoes and Watches.
    let found = app.client().get("/products/?q=accessories").await;
    let n = found.card_names();
    assert!(n.len() >= 6, "{n:?}");
    let count = found.testid_texts("listing-count");
    assert!(count[0].contains("of 6 products"), "{count:?}");
}

#[actix_web::test]
async fn a_category_finds_what_is_below_it_at_any_depth_as_staff_arrange_them() {
    use site_core::schema::products_category as c;
    let app = TestApp::spawn().await;
    let lamp = app.product("Brass Desk Lamp", 3, 4000);
    app.user("boss@example.com", PW, true);
    let staff = app.client();
    staff.login("boss@example.com", PW).await;
    let id_of = |slug: &str| -> i64 {
        c::table
            .filter(c::slug.eq(slug))
            .select(c::id)
            .first(&mut *app.conn())
            .unwrap()
    };
    let add = "/admin/products/category/add/";
    let form = staff.get(add).await;
    staff
        .submit(&form, add, &[("name", "Home"), ("slug", "home")])
        .await;
    let home = id_of("home");
    staff
        .submit(
            &form,
            add,
            &[
                ("name", "Lighting"),
                ("slug", "lighting"),
                ("parent", &home.to_string()),
            ],
        )
        .await;
    // The lamp's aisle moves under Lighting, two levels below Home.
    let (aisle_name, aisle_slug): (String, String) = c::table
        .find(lamp.category_id)
        .select((c::name, c::slug))
        .first(&mut *app.conn())
        .unwrap();
    let change = format!("/admin/products/category/{}/change/", lamp.category_id);
    let page = staff.get(&change).await;
    let moved = staff
        .submit(
            &page,
            &change,
            &[
                ("name", &aisle_name),
                ("slug", &aisle_slug),
                ("parent", &id_of("lighting").to_string()),
            ],
        )
        .await;
    assert_eq!(moved.status, 200);
    let shopper = app.client();
    for word in ["lighting", "home"] {
        assert_eq!(
            shopper
                .get(&format!("/products/?q={word}"))
                .await
                .card_names(),
            ["Brass Desk Lamp"],
            "{word}"
        );
    }

    // Renaming the top of the tree renames what finds the lamp.
    let change = format!("/admin/products/category/{home}/change/");
    let page = staff.get(&change).await;
    staff
        .submit(&page, &change, &[("name", "Household"), ("slug", "home")])
        .await;
    assert_eq!(
        shopper.get("/products/?q=household").await.card_names(),
        ["Brass Desk Lamp"]
    );
    let home = shopper.get("/products/?q=home").await;
    assert!(home.contains("Nothing matches “home”"), "{}", home.text());

    // Deleting the middle of the tree takes its name off what was below.
    let delete = format!("/admin/products/category/{}/delete/", id_of("lighting"));
    let confirm = staff.get(&delete).await;
    staff.submit(&confirm, &delete, &[]).await;
    let lighting = shopper.get("/products/?q=lighting").await;
    assert!(
        lighting.contains("Nothing matches “lighting”"),
        "{}",
        lighting.text()
    );
}

/// A search with more matches than the shop counts ("more than 10,000"),
/// sorted by price, lists the cheapest (or the dearest) of them all first.
/// (On PostgreSQL its page comes from the index holding each product's
/// words, by a path of its own.)
#[actix_web::test]
async fn a_search_too_big_to_count_sorted_by_price_starts_at_the_cheapest() {
    use site_core::schema::products_category as c;
    let app = TestApp::spawn().await;
    app.seed(10_050, 1);
    let category: i64 = p::table
        .filter(p::parent_id.is_null())
        .select(p::category_id)
        .first(&mut *app.conn())
        .unwrap();
    let name: String = c::table
        .find(category)
        .select(c::name)
        .first(&mut *app.conn())
        .unwrap();
    let word = name.split_whitespace().last().unwrap().to_lowercase();
    let listed = || {
        p::table
            .filter(p::is_active.eq(true))
            .filter(p::parent_id.is_null())
            .filter(p::category_id.eq(category))
            .select(p::name)
            .limit(24)
            .into_boxed()
    };
    let cheapest: Vec<String> = listed()
        .order((p::price_minor.asc(), p::id.asc()))
        .load(&mut *app.conn())
        .unwrap();
    let dearest: Vec<String> = listed()
        .order((p::price_minor.desc(), p::id.desc()))
        .load(&mut *app.conn())
        .unwrap();
    let unescaped = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .map(|n| {
                n.replace("&#x27;", "'")
                    .replace("&quot;", "\"")
                    .replace("&#x2F;", "/")
                    .replace("&amp;", "&")
            })
            .collect()
    };
    let c = app.client();
    for (sort, expected) in [("price", cheapest), ("-price", dearest)] {
        let page = c.get(&format!("/products/?q={word}&sort={sort}")).await;
        assert_eq!(page.status, 200);
        assert!(
            page.testid_texts("listing-count")[0].contains("of more than 10,000 products"),
            "{sort}: {:?}",
            page.testid_texts("listing-count")
        );
        assert_eq!(unescaped(page.card_names()), expected, "{sort}");
    }
}

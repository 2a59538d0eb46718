//! Facets: a listing narrows by attribute values, price band, stock and
//! category, with how many products each choice leaves, combinable and in
//! the URL (so results can be shared).

use diesel::prelude::*;
use site_core::schema::{products_image as i, products_product as p};

use crate::support::TestApp;

/// (title, [choice text]) of each facet on a page.
fn facets(page: &crate::support::Page) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    // The sidebar's; a phone's "Filter" below repeats them.
    let body = page.body.as_str();
    let mut rest = &body[..body.find("<details class=\"refine\"").unwrap_or(body.len())];
    while let Some(at) = rest.find("<h2>") {
        rest = &rest[at + 4..];
        let title = rest[..rest.find("</h2>").unwrap()].to_string();
        let after = &rest[rest.find("</h2>").unwrap()..];
        if !after
            .trim_start_matches("</h2>")
            .trim_start()
            .starts_with("<ul class=\"facet\"")
        {
            continue;
        }
        let list = &after[..after.find("</ul>").unwrap()];
        let choices = list
            .split("data-testid=\"facet-choice\">")
            .skip(1)
            .map(|c| {
                let text = &c[..c.find("</a>").unwrap()];
                let mut plain = String::new();
                let mut tag = false;
                for ch in text.chars() {
                    match ch {
                        '<' => tag = true,
                        '>' => tag = false,
                        _ if !tag => plain.push(ch),
                        _ => {}
                    }
                }
                plain.replace("&#x2F;", "/").trim().to_string()
            })
            .collect();
        out.push((title, choices));
    }
    out
}

fn facet(page: &crate::support::Page, title: &str) -> Vec<String> {
    facets(page)
        .into_iter()
        .find(|(t, _)| t == title)
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("no facet {title}: {:?}", facets(page)))
}

/// The href of the choice whose text starts with `label` in facet `title`.
fn choice_href(page: &crate::support::Page, label: &str) -> String {
    let at = page
        .body
        .split("<a href=\"")
        .find(|a| {
            a.contains("data-testid=\"facet-choice\">")
                && a.split("data-testid=\"facet-choice\">")
                    .nth(1)
                    .is_some_and(|t| {
                        t.trim_start_matches("<span aria-hidden=\"true\">✓ </span>")
                            .starts_with(label)
                    })
        })
        .unwrap_or_else(|| panic!("no choice {label}"));
    let href = &at[..at.find('"').unwrap()];
    href.replace("&amp;", "&").replace("&#x2F;", "/")
}

/// The card names, sorted.
fn sorted(page: &crate::support::Page) -> Vec<String> {
    let mut n = page.card_names();
    n.sort();
    n
}

/// The colours with black chosen in [`shop`]: each colour counted
/// without the colour filter.
const BLACK_CHOSEN: [&str; 4] = [
    "✓ Black (1) (chosen: remove)",
    "Blue (1)",
    "Red (1)",
    "Sand (1)",
];

/// Shoes in black and sand, a tote in red and blue, a lamp with no
/// variants: three categories.
fn shop(app: &TestApp) {
    let shoes = app.product("Trail Runner", 0, 8900);
    app.variants(
        &shoes,
        "Shoes",
        &["Size", "Colour"],
        &[
            ("42 / Black", "TR-42-BLK", 8900, 3),
            ("43 / Black", "TR-43-BLK", 8900, 0),
            ("44 / Sand", "TR-44-SND", 9500, 2),
        ],
    );
    let tote = app.product("Canvas Tote", 0, 3000);
    app.variants(
        &tote,
        "Bags",
        &["Colour"],
        &[("Red", "TOTE-R", 3000, 1), ("Blue", "TOTE-B", 3200, 0)],
    );
    app.product("Oak Lamp", 0, 2500);
}

#[actix_web::test]
async fn shoppers_narrow_a_list_by_colour_size_and_price_and_share_the_url() {
    let app = TestApp::spawn().await;
    shop(&app);
    let c = app.client();

    let all = c.get("/products/").await;
    assert_eq!(sorted(&all), ["Canvas Tote", "Oak Lamp", "Trail Runner"]);
    // Values of every product type, each with how many products have it.
    assert_eq!(
        facet(&all, "Colour"),
        ["Black (1)", "Blue (1)", "Red (1)", "Sand (1)"]
    );
    assert_eq!(facet(&all, "Size"), ["42 (1)", "43 (1)", "44 (1)"]);
    assert_eq!(
        facet(&all, "Price band"),
        ["$25 to $50 (2)", "$50 to $100 (1)"]
    );
    assert!(all.contains("In stock only (2)"), "{}", all.text());
    // The category tree is the list's; only a search counts categories.
    assert!(!facets(&all).iter().any(|(t, _)| t == "Category"));
    // On a phone the same choices fold into "Filter" above the products.
    assert!(all.body.contains("<summary>Filter</summary>"));

    // Black: the shoes only. The colour's other values still count as
    // what choosing them would add.
    let black = c
        .get(&format!("/products/{}", choice_href(&all, "Black")))
        .await;
    assert_eq!(sorted(&black), ["Trail Runner"]);
    assert!(
        black.url.ends_with("/products/?colour=Black"),
        "{}",
        black.url
    );
    assert_eq!(facet(&black, "Colour"), BLACK_CHOSEN);
    // And red too: either colour.
    let two = c
        .get(&format!("/products/{}", choice_href(&black, "Red")))
        .await;
    assert_eq!(sorted(&two), ["Canvas Tote", "Trail Runner"]);
    // Combined with a price band and in-stock, sorted: all in the URL, so
    // the same address shows the same list to anyone.
    let narrowed =
        "/products/?sort=price&in_stock=1&min_price=25&max_price=49.99&colour=black&colour=red";
    let shared = app.client().get(narrowed).await;
    assert_eq!(sorted(&shared), ["Canvas Tote"]);
    assert!(shared.contains("Filter (3 chosen)"), "{}", shared.text());
    // The band's choices are counted without the band.
    assert_eq!(
        facet(&shared, "Price band"),
        ["✓ $25 to $50 (1) (chosen: remove)", "$50 to $100 (1)"]
    );
    // Removing a choice keeps the others.
    let unred = choice_href(&shared, "Red");
    assert!(unred.contains("sort=price"), "{unred}");
    assert!(unred.contains("in_stock=1") && unred.contains("colour=black"));
    assert!(!unred.contains("colour=red"), "{unred}");
    // Paging and sorting keep the chosen values too.
    assert!(shared
        .body
        .contains("<input type=\"hidden\" name=\"colour\" value=\"black\">"));

    // A size and a colour no product has together: nothing, and the
    // chosen values are still there to remove.
    let none = c.get("/products/?size=44&colour=red").await;
    assert_eq!(none.testid_texts("listing-count"), ["No products"]);
    assert!(facet(&none, "Size").iter().any(|c| c.starts_with("✓ 44")));

    // Size and colour are one variant's: the shoes come in 42 black and
    // 44 sand, not 42 sand; size 43 is sold out. Case does not matter.
    for (query, found) in [
        ("size=42&colour=SAND", false),
        ("size=44&colour=sand", true),
        ("size=43", true),
        ("size=43&in_stock=1", false),
    ] {
        let page = c.get(&format!("/products/?{query}")).await;
        let count = page.testid_texts("listing-count");
        assert_eq!(count[0] != "No products", found, "{query}: {count:?}");
    }

    // Parameters that are not attributes (campaign tags) change nothing.
    let tagged = c.get("/products/?utm_source=mail&colour=").await;
    assert_eq!(sorted(&tagged).len(), 3);
}

#[actix_web::test]
async fn a_search_shows_its_categories_and_values() {
    let app = TestApp::spawn().await;
    shop(&app);
    app.product("Runner Rug", 3, 4000);
    let found = app.client().get("/products/?q=runner").await;
    assert_eq!(sorted(&found), ["Runner Rug", "Trail Runner"]);
    assert_eq!(facet(&found, "Category").len(), 2);
    assert_eq!(facet(&found, "Colour"), ["Black (1)", "Sand (1)"]);
    // Choosing a category keeps the search.
    let href = choice_href(&found, "Aisle");
    assert!(
        href.contains("q=runner") && href.contains("category="),
        "{href}"
    );
}

#[actix_web::test]
async fn facets_cost_the_same_queries_however_many_products_are_listed() {
    let app = TestApp::spawn().await;
    shop(&app);
    let c = app.client();
    c.get("/products/?in_stock=1&colour=black").await;
    let before = app.query_count();
    c.get("/products/?min_price=1&colour=black").await;
    let few = app.query_count() - before;
    for n in 0..30 {
        let p = app.product(&format!("Lamp {n}"), 2, 2600 + n);
        app.variants(
            &p,
            &format!("Lamps {n}"),
            &["Colour"],
            &[("Black", &format!("LAMP-{n}-B"), 2600, 2)],
        );
    }
    let before = app.query_count();
    let many = c.get("/products/?min_price=1&colour=black").await;
    assert_eq!(sorted(&many).len(), 24, "a full page");
    assert_eq!(app.query_count() - before, few);
}

/// A listing's facets come from one read of its products' variants:
/// choosing a second attribute, or a price, costs no more queries than
/// choosing one value, and each chosen attribute still counts its values
/// without itself.
#[actix_web::test]
async fn more_chosen_attributes_cost_no_more_queries() {
    let app = TestApp::spawn().await;
    shop(&app);
    let c = app.client();
    c.get("/products/?colour=sand").await;
    let before = app.query_count();
    c.get("/products/?colour=black").await;
    let one = app.query_count() - before;
    let before = app.query_count();
    let two = c
        .get("/products/?colour=black&colour=red&size=42&in_stock=1&max_price=99")
        .await;
    assert_eq!(app.query_count() - before, one);
    assert_eq!(sorted(&two), ["Trail Runner"]);
    // Sizes of the black or red products in stock (the shoes), and
    // colours of the products in size 42 (the shoes again; the red asked
    // for stays there to be removed).
    assert_eq!(
        facet(&two, "Size"),
        ["✓ 42 (1) (chosen: remove)", "43 (1)", "44 (1)"]
    );
    assert_eq!(
        facet(&two, "Colour"),
        [
            "✓ Black (1) (chosen: remove)",
            "Sand (1)",
            "✓ red (0) (chosen: remove)"
        ]
    );
}

/// A chosen value in a catalogue too big to count still has its
/// attribute's values counted: only products with variants can match,
/// and those are few.
#[actix_web::test]
async fn a_catalogue_too_big_to_count_still_counts_a_chosen_attribute() {
    let app = TestApp::spawn().await;
    app.seed(10_050, 3);
    shop(&app);
    let c = app.client();
    let all = c.get("/products/").await;
    assert_eq!(facet(&all, "Colour"), ["Black", "Blue", "Red", "Sand"]);
    let black = c.get("/products/?colour=black").await;
    assert_eq!(sorted(&black), ["Trail Runner"]);
    assert_eq!(facet(&black, "Colour"), BLACK_CHOSEN);
    assert_eq!(facet(&black, "Size"), ["42 (1)", "43 (1)", "44 (1)"]);
    assert!(black.contains("In stock only (1)"), "{}", black.text());
}

/// A card in a list narrowed by colour shows a variant of that colour:
/// its own picture when it has one, else the product's.
#[actix_web::test]
async fn a_chosen_colour_shows_that_colours_picture_on_the_card() {
    let app = TestApp::spawn().await;
    shop(&app);
    let picture = |sku: &str, name: &str| {
        let mut conn = app.conn();
        let id: i64 = p::table
            .filter(p::sku.eq(sku))
            .select(p::id)
            .first(&mut *conn)
            .unwrap();
        diesel::insert_into(i::table)
            .values((
                i::product_id.eq(id),
                i::large_path.eq(format!("products/{name}-large.jpg")),
                i::card_path.eq(format!("products/{name}-card.jpg")),
                i::thumb_path.eq(format!("products/{name}-thumb.jpg")),
                i::width.eq(1200),
                i::height.eq(900),
                i::alt.eq(""),
                i::position.eq(0),
                i::is_main.eq(true),
                i::created_at.eq(site_core::now()),
            ))
            .execute(&mut *conn)
            .unwrap();
    };
    // Both black shoes have pictures: the one in stock is shown.
    picture("TR-43-BLK", "black-43");
    picture("TR-42-BLK", "black-42");
    picture("TR-44-SND", "sand");
    let c = app.client();
    let sand = c.get("/products/?colour=sand").await;
    assert!(sand.body.contains("sand-card.jpg"));
    let black = c.get("/products/?colour=black").await;
    assert!(black.body.contains("black-42-card.jpg"));
    assert!(!black.body.contains("sand-card") && !black.body.contains("black-43"));
    // Size 43 is only black, sold out: its picture all the same.
    let sold_out = c.get("/products/?size=43").await;
    assert!(sold_out.body.contains("black-43-card.jpg"));
    // The 42 sells out and the 43 comes back: the 43 is shown, though
    // the 42 comes first otherwise.
    for (sku, stock) in [("TR-42-BLK", 0), ("TR-43-BLK", 2)] {
        diesel::update(p::table.filter(p::sku.eq(sku)))
            .set(p::stock.eq(stock))
            .execute(&mut *app.conn())
            .unwrap();
    }
    let restocked = c.get("/products/?colour=black").await;
    assert!(restocked.body.contains("black-43-card.jpg"));
    assert!(!restocked.body.contains("black-42-card.jpg"));
    // Nothing chosen: the product's own (here none, the placeholder).
    let all = c.get("/products/").await;
    assert!(!all.body.contains("-card.jpg"), "{}", all.body);
    // The tote's red has no picture of its own: the tote's is kept.
    let red = c.get("/products/?colour=red").await;
    assert_eq!(sorted(&red), ["Canvas Tote"]);
    assert!(!red.body.contains("-card.jpg"));
}

/// "In stock only (n)" beside chosen values counts what ticking it would
/// list: products with a chosen variant in stock, not products with any
/// stock (the shoes are in stock, but not in size 43).
#[actix_web::test]
async fn in_stock_only_counts_the_chosen_variant_as_ticking_it_lists() {
    let app = TestApp::spawn().await;
    shop(&app);
    let c = app.client();
    let sold_out = c.get("/products/?size=43").await;
    assert_eq!(sorted(&sold_out), ["Trail Runner"]);
    assert!(
        sold_out.contains("In stock only (0)"),
        "{}",
        sold_out.text()
    );
    let ticked = c.get("/products/?size=43&in_stock=1").await;
    assert_eq!(ticked.testid_texts("listing-count"), ["No products"]);

    // Black: the 42 is in stock (the 43 is not); blue: the tote's blue is
    // sold out though its red is not.
    let dark = c.get("/products/?colour=black&colour=blue").await;
    assert_eq!(sorted(&dark), ["Canvas Tote", "Trail Runner"]);
    assert!(dark.contains("In stock only (1)"), "{}", dark.text());
    let ticked = c
        .get("/products/?colour=black&colour=blue&in_stock=1")
        .await;
    assert_eq!(sorted(&ticked), ["Trail Runner"]);
}

use crate::support::TestApp;

#[actix_web::test]
async fn home_shows_categories_and_newest_products() {
    let app = TestApp::spawn().await;
    app.seed(30, 12);
    let page = app.client().get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.contains("Coffee"));
    assert!(!page.contains("Watches"), "only the 12 seeded categories");
    assert!(page.contains("Shop by category"));
    assert_eq!(page.count("class=\"card\""), 8, "eight newest products");
    assert!(page.contains("Cart 0"), "the nav shows an empty cart");
}

#[actix_web::test]
async fn list_paginates_24_per_page_and_falls_back_past_the_end() {
    let app = TestApp::spawn().await;
    app.seed(60, 5);
    let c = app.client();
    let p1 = c.get("/products/").await;
    assert_eq!(p1.status, 200);
    assert_eq!(p1.count("class=\"card\""), 24);
    assert!(p1.contains("1–24 of 60 products"));
    // The first row's pictures load at once (the first first of all), the
    // others as they scroll near.
    assert_eq!(p1.count("loading=\"lazy\""), 21);
    assert_eq!(p1.count("fetchpriority=\"high\""), 1);
    let home = c.get("/").await;
    assert_eq!(
        home.count("loading=\"lazy\""),
        home.count("class=\"card\""),
        "the home page's cards are below its welcome"
    );
    let p3 = c.get("/products/?page=3").await;
    assert_eq!(p3.count("class=\"card\""), 12);
    assert!(p3.contains("49–60 of 60 products"));
    let past = c.get("/products/?page=99").await;
    assert_eq!(past.status, 200, "past the end shows the last page");
    assert!(past.contains("49–60 of 60 products"));
    // Links to other pages keep the other parameters.
    let sorted = c.get("/products/?sort=price&in_stock=1").await;
    assert!(
        sorted
            .body
            .contains("?sort=price&amp;in_stock=1&amp;page=2"),
        "{}",
        sorted.body
    );
}

/// Pages past the middle are read from the end backwards (so the last page
/// of a million skips a few rows, not a million): page by page, every sort
/// must still list each product once, in order.
#[actix_web::test]
async fn every_page_of_every_sort_lists_each_product_once_in_order() {
    use diesel::prelude::*;
    use site_core::schema::products_product as p;
    let app = TestApp::spawn().await;
    app.seed(61, 5);
    let c = app.client();
    for sort in ["newest", "price", "-price", "name"] {
        let mut ids: Vec<i64> = Vec::new();
        for page in 1..=3 {
            let page = c.get(&format!("/products/?sort={sort}&page={page}")).await;
            ids.extend(page.card_ids());
        }
        assert_eq!(ids.len(), 61, "sort {sort:?}: every card once");
        let mut rows: Vec<(i64, String, i64, chrono::NaiveDateTime)> = p::table
            .filter(p::parent_id.is_null())
            .select((p::id, p::name, p::price_minor, p::created_at))
            .load(&mut app.conn())
            .unwrap();
        match sort {
            "price" => rows.sort_by_key(|r| (r.2, r.0)),
            "-price" => rows.sort_by_key(|r| std::cmp::Reverse((r.2, r.0))),
            "name" => rows.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0))),
            _ => rows.sort_by_key(|r| std::cmp::Reverse((r.3, r.0))),
        }
        let expected: Vec<i64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(ids, expected, "sort {sort:?}");
    }
}

#[actix_web::test]
async fn bad_listing_parameters_get_a_clear_400() {
    let app = TestApp::spawn().await;
    app.seed(5, 2);
    let c = app.client();
    for (url, says) in [
        ("/products/?page=abc", "is not a page number"),
        ("/products/?page=0", "is not a page number"),
        ("/products/?sort=drop", "Unknown sort order"),
        ("/products/?in_stock=maybe", "in_stock"),
        ("/products/?category=nope", "There is no category"),
    ] {
        let page = c.get(url).await;
        assert_eq!(page.status, 400, "{url}");
        assert!(
            page.contains(says),
            "{url} should say {says:?}: {}",
            page.text()
        );
        assert!(page.contains("Bad request"));
    }
}

#[actix_web::test]
async fn sorting_filtering_and_search() {
    let app = TestApp::spawn().await;
    let cheap = app.product("Cheap Teapot", 3, 500);
    let dear = app.product("Dear Teapot", 0, 90000);
    app.product("Plain Mug", 2, 1500);
    let c = app.client();

    let by_price = c.get("/products/?sort=price").await;
    // Card titles, not the sidebar's category names.
    let pos = |page: &crate::support::Page, name: &str| {
        page.body.find(&format!(">{name}</a></h3>")).unwrap()
    };
    assert!(
        pos(&by_price, "Cheap Teapot") < pos(&by_price, "Dear Teapot"),
        "cheapest first"
    );
    let desc = c.get("/products/?sort=-price").await;
    assert!(
        pos(&desc, "Dear Teapot") < pos(&desc, "Cheap Teapot"),
        "dearest first"
    );

    let in_stock = c.get("/products/?in_stock=1").await;
    assert!(in_stock.contains("Cheap Teapot") && !in_stock.contains("Dear Teapot"));

    let search = c.get("/products/?q=TEAPOT").await;
    assert!(
        search.contains("2 of 2 products") || search.contains("1–2 of 2 products"),
        "{}",
        search.text()
    );
    assert!(!search.contains("Plain Mug"));
    assert!(search.contains("Results for “TEAPOT”"));
    // Wildcards in the search text are literal.
    let wild = c.get("/products/?q=%25").await;
    assert!(wild.contains("No products"), "{}", wild.text());
    let by_sku = c
        .get(&format!("/products/?q={}", cheap.sku.to_lowercase()))
        .await;
    assert!(by_sku.contains("Cheap Teapot"));
    // Inactive products are not listed and their pages are 404.
    products::Product::set_active(&mut app.conn(), dear.id, false).unwrap();
    assert!(!c.get("/products/").await.contains("Dear Teapot"));
    assert_eq!(c.get(&format!("/products/{}/", dear.id)).await.status, 404);
}

#[actix_web::test]
async fn detail_page_shows_the_product_and_related_ones() {
    let app = TestApp::spawn().await;
    app.seed(40, 2);
    let c = app.client();
    let page = c.get("/products/2/").await;
    assert_eq!(page.status, 200);
    let product = products::Product::find(&mut app.conn(), 2).unwrap();
    assert!(page.contains(&product.name));
    assert!(page.contains(&format!("SKU {}", product.sku)));
    assert!(page.body.contains("<strong>"), "markdown is rendered");
    assert_eq!(page.count("class=\"card\""), 4, "four related products");
    assert!(
        page.hidden_fields("/cart/add/2/").is_some(),
        "an add-to-cart form"
    );

    for missing in [
        "/products/99999/",
        "/products/abc/",
        "/products/category/nope/",
        "/no/such/page",
    ] {
        let p = c.get(missing).await;
        assert_eq!(p.status, 404, "{missing}");
        assert!(p.contains("Page not found"));
    }
}

#[actix_web::test]
async fn category_page_lists_only_its_products() {
    let app = TestApp::spawn().await;
    app.seed(30, 3);
    let page = app.client().get("/products/category/tea/").await;
    assert_eq!(page.status, 200);
    assert!(page.contains("Tea"));
    assert!(page.contains("1–10 of 10 products"), "{}", page.text());
}

/// The list page runs the same number of queries for 1 product and for 24.
#[actix_web::test]
async fn list_page_query_count_does_not_grow_with_products() {
    let app = TestApp::spawn().await;
    let c = app.client();
    app.seed(1, 1);
    c.get("/products/").await; // warm the pool
    let before = app.query_count();
    assert_eq!(c.get("/products/").await.status, 200);
    let one = app.query_count() - before;

    let more = TestApp::spawn().await;
    more.seed(24, 1);
    let c2 = more.client();
    c2.get("/products/").await;
    let before = more.query_count();
    let page = c2.get("/products/").await;
    assert_eq!(page.count("class=\"card\""), 24);
    let twenty_four = more.query_count() - before;

    assert_eq!(one, twenty_four, "queries for 1 product vs 24");
    // The categories, the count, the page of products, and the facets'
    // two (what the list's products are; their variants' values).
    assert!(
        one <= 5,
        "list page should need at most 5 queries, ran {one}"
    );
}

/// With the catalogue cache off (every read paid), a category page, a
/// search and a product page run as many queries for a shop of two products
/// as for one of thirty: nothing is read per card, per match or per
/// related product. (Two: a single match needs no ranking, a query less.)
#[actix_web::test]
async fn catalogue_pages_run_as_many_queries_for_two_products_as_for_thirty() {
    use diesel::prelude::*;
    use site_core::schema::{products_category as c, products_product as p};
    let mut counts = Vec::new();
    for products in [2, 30] {
        let app = TestApp::spawn().await;
        app.seed(products, 1);
        let (slug, name): (String, String) = c::table
            .inner_join(p::table)
            .select((c::slug, c::name))
            .first(&mut *app.conn())
            .unwrap();
        let first: products::Product = p::table
            .order(p::id.asc())
            .select(products::Product::as_select())
            .first(&mut *app.conn())
            .unwrap();
        let word = name.split_whitespace().last().unwrap().to_lowercase();
        let client = app.client();
        let mut seen = Vec::new();
        for path in [
            format!("/products/category/{slug}/"),
            format!("/products/?q={word}"),
            crate::support::product_path(&first),
        ] {
            // The first visit warms the pool and the session.
            client.get(&path).await;
            let before = app.query_count();
            let page = client.get(&path).await;
            assert_eq!(page.status, 200, "{path}");
            seen.push(app.query_count() - before);
        }
        counts.push(seen);
    }
    assert_eq!(
        counts[0], counts[1],
        "category, search, product page: two products vs thirty"
    );
}

/// With the catalogue cache on, a repeated listing reads nothing: its
/// count, the categories, its cards and its sidebar are kept.
#[actix_web::test]
async fn the_catalogue_cache_spares_a_repeated_listing_every_query() {
    let app = TestApp::spawn_with(crate::support::Options {
        catalogue_cache_seconds: 60,
        ..Default::default()
    })
    .await;
    app.seed(30, 3);
    let c = app.client();
    let first = c.get("/products/").await;
    let before = app.query_count();
    let page = c.get("/products/").await;
    assert!(page.contains("1–24 of 30 products"));
    assert_eq!(app.query_count() - before, 0, "all of it kept");
    // The cards' links name the products (names may repeat in the demo).
    assert_eq!(page.card_links(), first.card_links());
    // Another page of the same listing has cards of its own.
    let second = c.get("/products/?page=2").await;
    assert_eq!(second.card_links().len(), 6);
    assert!(second
        .card_links()
        .iter()
        .all(|l| !first.card_links().contains(l)));
    // A search the first time: the matches, their ranking, the page, and
    // the facets' two; the same search again, nothing. A different one,
    // or the same words narrowed otherwise, is its own.
    let before = app.query_count();
    let found = c.get("/products/?q=ethiopian").await;
    assert_eq!(app.query_count() - before, 5);
    let before = app.query_count();
    let again = c.get("/products/?q=ethiopian").await;
    assert_eq!(app.query_count() - before, 0);
    assert_eq!(again.card_links(), found.card_links());
    assert!(!found.card_links().is_empty());
    let stocked = c.get("/products/?q=ethiopian&in_stock=1").await;
    assert!(stocked
        .card_links()
        .iter()
        .all(|l| found.card_links().contains(l)));
    let before = app.query_count();
    c.get("/products/?q=tea").await;
    assert!(app.query_count() - before > 0);
}

#[actix_web::test]
async fn the_sidebar_marks_the_category_being_shown() {
    let app = TestApp::spawn().await;
    app.seed(10, 3);
    let page = app.client().get("/products/category/tea/").await;
    assert_eq!(
        page.count("aria-current=\"page\">Tea</a>"),
        1,
        "{}",
        page.body
    );
    assert_eq!(page.count("class=\"active\" aria-current=\"page\""), 1);
    let all = app.client().get("/products/").await;
    assert_eq!(all.count("aria-current=\"page\""), 0);
}

/// Home › Kitchen › Cookware, and Garden beside Kitchen: a category's page
/// lists what is anywhere below it, the sidebar opens the branch being
/// shown, and every page carries the trail down to it.
#[actix_web::test]
async fn categories_nest_and_a_parent_lists_everything_below_it() {
    use diesel::prelude::*;
    use products::models::{Category, NewCategory};
    use site_core::schema::products_product as p;
    let app = TestApp::spawn().await;
    let category = |name: &str, slug: &str, parent: Option<i64>| -> Category {
        Category::insert(
            &mut app.conn(),
            &NewCategory {
                name,
                slug,
                description: "",
                parent_id: parent,
                created_at: site_core::now(),
            },
        )
        .unwrap()
    };
    let home = category("Home", "home", None);
    let kitchen = category("Kitchen", "kitchen", Some(home.id));
    let cookware = category("Cookware", "cookware", Some(kitchen.id));
    let garden = category("Garden", "garden", Some(home.id));
    let toys = category("Toys", "toys", None);
    let put = |name: &str, stock: i64, cat: &Category| {
        let made = app.product(name, stock, 1000);
        diesel::update(p::table.find(made.id))
            .set(p::category_id.eq(cat.id))
            .execute(&mut *app.conn())
            .unwrap();
        made
    };
    put("Bread Knife", 3, &kitchen);
    let pan = put("Cast Iron Pan", 0, &cookware);
    put("Copper Pot", 2, &cookware);
    put("Trowel", 4, &garden);
    put("Kite", 1, &toys);
    let c = app.client();

    let all_home = c.get("/products/category/home/").await;
    assert_eq!(all_home.status, 200);
    assert_eq!(
        all_home.testid_texts("listing-count"),
        ["1–4 of 4 products"]
    );
    for name in ["Bread Knife", "Cast Iron Pan", "Copper Pot", "Trowel"] {
        assert!(all_home.contains(name), "{name} is under Home");
    }
    assert!(!all_home.contains("Kite"));
    let kitchen_page = c.get("/products/category/kitchen/?in_stock=1").await;
    assert_eq!(
        kitchen_page.testid_texts("listing-count"),
        ["1–2 of 2 products"],
        "the knife and the pot; the pan is sold out"
    );

    // The trail and the open branch.
    let page = c.get("/products/category/cookware/").await;
    let trail = page.body.split("aria-label=\"Breadcrumb\"").nth(1).unwrap();
    let trail = trail.split("</nav>").next().unwrap();
    for step in [">Products<", ">Home<", ">Kitchen<", ">Cookware<"] {
        assert!(trail.contains(step), "{step} in {trail}");
    }
    assert!(
        page.body.contains(
            "<li class=\"depth-2\"><a href=\"&#x2F;products&#x2F;category&#x2F;cookware&#x2F;\" \
             class=\"active\" aria-current=\"page\">Cookware</a>"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains(
        "<li class=\"depth-1\"><a href=\"&#x2F;products&#x2F;category&#x2F;garden&#x2F;\">"
    ));
    assert!(page.body.contains("class=\"on-path\">Kitchen</a>"));
    assert!(page.body.contains(">Garden</a>"), "Kitchen's sibling shows");
    let top = c.get("/products/").await;
    assert!(
        !top.body.contains(">Cookware</a>"),
        "closed branches stay closed"
    );
    assert!(top.body.contains(">Home</a>") && top.body.contains(">Toys</a>"));

    // The product page's trail, also for search engines.
    let product = c.get(&crate::support::product_path(&pan)).await;
    let crumbs = product
        .body
        .split("aria-label=\"Breadcrumb\"")
        .nth(1)
        .unwrap();
    let crumbs = crumbs.split("</nav>").next().unwrap();
    for step in [">Home<", ">Kitchen<", ">Cookware<", ">Cast Iron Pan<"] {
        assert!(crumbs.contains(step), "{step} in {crumbs}");
    }
    let ld = product.body.split("\"BreadcrumbList\"").nth(1).unwrap();
    for (i, name) in ["Products", "Home", "Kitchen", "Cookware", "Cast Iron Pan"]
        .iter()
        .enumerate()
    {
        assert!(
            ld.contains(&format!("\"name\":\"{name}\",\"position\":{}", i + 1))
                || ld.contains(&format!("\"position\":{},\"name\":\"{name}\"", i + 1)),
            "{name} at {} in {ld}",
            i + 1
        );
    }
    // The home page offers the top level only.
    let front = c.get("/").await;
    assert!(front.body.contains(">Home</a>") && !front.body.contains(">Kitchen</a>"));
}

/// A search that finds nothing says so, offers to drop the category and
/// the stock filter, and shows something new instead of an empty page.
#[actix_web::test]
async fn a_search_that_finds_nothing_offers_a_way_on() {
    let app = TestApp::spawn().await;
    app.seed(10, 3);
    let c = app.client();
    let page = c.get("/products/category/tea/?q=zzyzx&in_stock=1").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.testid_texts("listing-count"), ["No products"]);
    assert!(
        page.contains("Nothing matches “zzyzx” in Tea"),
        "{}",
        page.text()
    );
    assert!(page.contains("Check the spelling"));
    assert!(page.body.contains("Search every category for “zzyzx”"));
    assert!(
        page.body
            .contains("href=\"&#x2F;products&#x2F;?q=zzyzx&amp;in_stock=1\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("Include products that are sold out"));
    assert!(page
        .body
        .contains("href=\"&#x2F;products&#x2F;category&#x2F;tea&#x2F;?q=zzyzx\""));
    assert!(page.contains("New in the shop"));
    assert_eq!(page.count("class=\"card\""), 4, "four products instead");
    // A search that finds something shows neither.
    app.product("Zebra Mug", 3, 1200);
    let found = c.get("/products/?q=zebra").await;
    assert_eq!(found.testid_texts("listing-count"), ["1–1 of 1 product"]);
    assert!(!found.body.contains("data-testid=\"no-results\""));
}

/// `min_price` and `max_price` narrow a listing (they were ignored), are
/// kept by the sort form and the page links, can be cleared, and a price
/// that is not one is refused with the reason.
#[actix_web::test]
async fn a_price_range_narrows_the_listing() {
    let app = TestApp::spawn().await;
    for (name, price) in [
        ("Pencil", 150),
        ("Notebook", 1200),
        ("Pen", 2500),
        ("Satchel", 9900),
    ] {
        app.product(name, 5, price);
    }
    let c = app.client();
    let page = c.get("/products/?min_price=10&max_price=25").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.testid_texts("listing-count"), ["1–2 of 2 products"]);
    assert!(page.contains("Notebook") && page.contains("Pen"));
    assert!(!page.contains("Pencil") && !page.contains("Satchel"));
    assert!(page.body.contains("name=\"min_price\" value=\"10.00\""));
    assert!(page.body.contains("Any price"));
    // Either way round.
    let swapped = c.get("/products/?min_price=25&max_price=10").await;
    assert_eq!(swapped.testid_texts("listing-count"), ["1–2 of 2 products"]);
    // From alone, with the stock filter and a search.
    assert_eq!(
        c.get("/products/?min_price=20&in_stock=1")
            .await
            .testid_texts("listing-count"),
        ["1–2 of 2 products"]
    );
    assert_eq!(
        c.get("/products/?q=pen&max_price=5")
            .await
            .testid_texts("listing-count"),
        ["1–1 of 1 product"]
    );
    // Not a price: 400, saying why.
    let bad = c.get_raw("/products/?min_price=cheap").await;
    assert_eq!(bad.status, 400);
    assert!(bad.contains("is not a price"), "{}", bad.text());
}

/// Each product card is one link, named by the product (the picture is
/// part of it, not a second nameless link).
#[actix_web::test]
async fn each_card_is_one_link_with_the_products_name() {
    let app = TestApp::spawn().await;
    app.seed(6, 2);
    let page = app.client().get("/products/").await;
    let cards: Vec<&str> = page
        .body
        .split("<article class=\"card\">")
        .skip(1)
        .collect();
    assert_eq!(cards.len(), 6);
    for card in cards {
        let card = card.split("</article>").next().unwrap();
        assert_eq!(card.matches("<a ").count(), 1, "{card}");
        let name = card.split("class=\"card-link\"").nth(1).unwrap();
        let name = name.split_once('>').unwrap().1.split('<').next().unwrap();
        assert!(!name.trim().is_empty(), "{card}");
    }
}

/// The whole of a product's data, as a staff member edits it.
fn product_form(p: &products::Product, name: &str, stock: &str) -> Vec<(String, String)> {
    [
        ("name", name),
        ("description", p.description.as_str()),
        ("slug", p.slug.as_str()),
        ("sku", p.sku.as_str()),
        ("category", &p.category_id.to_string()),
        ("price", "25.00"),
        ("stock", stock),
        ("is_active", "on"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// With the cache on, a product page is read once for every shopper
/// (what only a signed-in shopper sees is read for them); a staff
/// member's change shows on the next page, not after the cache expires.
#[actix_web::test]
async fn a_cached_product_page_reads_nothing_again_and_shows_a_staff_edit_at_once() {
    let app = TestApp::spawn_with(crate::support::Options {
        catalogue_cache_seconds: 60,
        ..Default::default()
    })
    .await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let stool = app.product("Oak Stool", 5, 2500);
    {
        use diesel::prelude::*;
        use site_core::schema::products_product as p;
        diesel::update(p::table.find(stool.id))
            .set(p::category_id.eq(lamp.category_id))
            .execute(&mut *app.conn())
            .unwrap();
    }
    let path = crate::support::product_path(&lamp);
    let shopper = app.client();
    assert!(shopper.get(&path).await.contains("Only 5 left in stock."));
    let before = app.query_count();
    let again = shopper.get(&path).await;
    assert!(again.contains("Only 5 left in stock."));
    assert!(again.contains("Oak Stool"), "with its related products");
    assert_eq!(app.query_count() - before, 0);

    // The list's cards are kept too; both follow a staff edit at once.
    assert!(shopper.get("/products/").await.contains("Oak Lamp"));
    let boss = app.boss("a long passphrase").await;
    let change = format!("/admin/products/product/{}/change/", lamp.id);
    let form = boss.get(&change).await;
    let fields = product_form(&lamp, "Oak Desk Lamp", "0");
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = boss.submit(&form, &change, &fields).await;
    assert!(done.contains("was changed."), "{}", done.text());
    let page = shopper.get(&path).await;
    assert!(page.contains("Oak Desk Lamp"), "{}", page.text());
    assert!(page.contains("Out of stock."));
    let list = shopper.get("/products/").await;
    assert!(list.card_names().contains(&"Oak Desk Lamp".to_string()));

    // A signed-in shopper's own part (may they review it?) is theirs.
    app.customer("ann@example.com", "a long passphrase");
    let ann = app.client();
    ann.login("ann@example.com", "a long passphrase").await;
    let before = app.query_count();
    let hers = ann.get(&path).await;
    assert!(hers.contains("Only customers who bought this product can review it."));
    assert!(app.query_count() - before > 0);
}

//! The staff admin through the real HTTP stack: who may enter, change
//! lists, forms, conflicts, deletes, actions, history, CSV and queries.

use diesel::prelude::*;
use site_core::schema::products_product as p;

use crate::support::{Page, TestApp};

const PW: &str = "correct horse battery staple";

fn row_ids(page: &Page) -> Vec<i64> {
    page.input_values("_selected")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect()
}

#[actix_web::test]
async fn only_staff_get_in_and_see_only_what_they_may() {
    let app = TestApp::spawn().await;
    app.customer("cust@example.com", PW);
    app.staff_member("clerk@example.com", PW, &[]);
    app.staff_member("viewer@example.com", PW, &["products.view_product"]);
    app.user("boss@example.com", PW, true);

    let anon = app.client().get_raw("/admin/products/product/?q=oak").await;
    assert_eq!(anon.status, 303);
    assert_eq!(
        anon.location().as_deref(),
        Some("/accounts/login/?next=%2Fadmin%2Fproducts%2Fproduct%2F%3Fq%3Doak")
    );
    let cust = app.client();
    cust.login("cust@example.com", PW).await;
    let refused = cust.get_raw("/admin/").await;
    assert_eq!(refused.status, 403);
    assert!(refused.contains("The admin is for staff"));

    let clerk = app.client();
    clerk.login("clerk@example.com", PW).await;
    let index = clerk.get("/admin/").await;
    assert_eq!(index.status, 200);
    assert!(index.contains("ask an administrator for permissions"));
    assert_eq!(clerk.get_raw("/admin/products/product/").await.status, 403);

    let viewer = app.client();
    viewer.login("viewer@example.com", PW).await;
    let index = viewer.get("/admin/").await;
    assert!(index.contains("Products"));
    assert!(!index.contains("Categories"), "no permission on categories");
    assert!(!index.contains("Outgoing emails"));
    assert_eq!(
        viewer.get_raw("/admin/products/category/").await.status,
        403
    );
    assert_eq!(viewer.get_raw("/admin/core/outbox/").await.status, 403);

    let boss = app.client();
    boss.login("boss@example.com", PW).await;
    let index = boss.get("/admin/").await;
    for name in ["Categories", "Products", "Outgoing emails"] {
        assert!(index.contains(name), "a superuser sees {name}");
    }
    assert_eq!(boss.get_raw("/admin/nope/thing/").await.status, 404);
    assert_eq!(
        boss.get_raw("/admin/products/product/abc/change/")
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn each_permission_opens_its_own_door() {
    let app = TestApp::spawn().await;
    let product = app.product("Oak Lamp", 5, 2500);
    let staff = app.staff_member("s@example.com", PW, &["products.view_product"]);
    let c = app.client();
    c.login("s@example.com", PW).await;
    let change = format!("/admin/products/product/{}/change/", product.id);
    let delete = format!("/admin/products/product/{}/delete/", product.id);

    // View only: read-only pages, no buttons, every write refused.
    let list = c.get("/admin/products/product/").await;
    assert!(!list.contains("Add product"));
    assert!(!list.body.contains("name=\"action\""));
    assert!(!list.body.contains("name=\"_save\""));
    let page = c.get(&change).await;
    assert_eq!(page.status, 200);
    assert!(page.contains("View product"));
    assert_eq!(page.testid_texts("readonly-name"), vec!["Oak Lamp"]);
    assert!(!page.body.contains("name=\"_save\""));
    let token = page
        .hidden_fields(&change)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1;
    let post = c
        .post_raw(&change, &[("csrf_token", &token), ("name", "Hacked")])
        .await;
    assert_eq!(post.status, 403);
    assert_eq!(c.get_raw("/admin/products/product/add/").await.status, 403);
    assert_eq!(c.get_raw(&delete).await.status, 403);
    assert_eq!(
        c.post_raw(&delete, &[("csrf_token", &token)]).await.status,
        403
    );

    for (perm, path) in [
        ("products.change_product", change.as_str()),
        ("products.add_product", "/admin/products/product/add/"),
        ("products.delete_product", delete.as_str()),
    ] {
        accounts::permissions::grant_user(&mut app.conn(), staff.id, perm).unwrap();
        assert_eq!(c.get_raw(path).await.status, 200, "{perm} opens {path}");
    }
    let page = c.get(&change).await;
    assert!(page.body.contains("name=\"_save\""));
    assert_eq!(Product::name(&app, product.id), "Oak Lamp");
}

struct Product;

impl Product {
    fn name(app: &TestApp, id: i64) -> String {
        p::table
            .find(id)
            .select(p::name)
            .first(&mut *app.conn())
            .unwrap()
    }

    fn price_and_stock(app: &TestApp, id: i64) -> (i64, i64) {
        p::table
            .find(id)
            .select((p::price_minor, p::stock))
            .first(&mut *app.conn())
            .unwrap()
    }
}

#[actix_web::test]
async fn posts_without_a_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    app.user("boss@example.com", PW, true);
    let c = app.client();
    c.login("boss@example.com", PW).await;
    let refused = c
        .post_raw(
            "/admin/products/category/add/",
            &[("name", "Tea"), ("slug", "tea")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.contains("CSRF check failed"));
    let none: i64 = site_core::schema::products_category::table
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(none, 0);
}

#[actix_web::test]
async fn categories_are_added_changed_and_deleted_with_history() {
    let app = TestApp::spawn().await;
    app.user("boss@example.com", PW, true);
    let c = app.client();
    c.login("boss@example.com", PW).await;
    let add = "/admin/products/category/add/";
    let form = c.get(add).await;
    assert!(form.body.contains("data-slug-from=\"id_name\""));

    let bad = c
        .submit(&form, add, &[("name", ""), ("slug", "Not A Slug")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.contains("This field is required."));
    assert!(bad.contains("Use lowercase letters, digits and hyphens only."));
    assert!(
        bad.body.contains("value=\"Not A Slug\""),
        "what was typed stays"
    );

    let added = c
        .submit(&form, add, &[("name", "Loose Tea"), ("slug", "loose-tea")])
        .await;
    assert_eq!(added.status, 200);
    assert!(
        added.url.ends_with("/admin/products/category/"),
        "{}",
        added.url
    );
    assert!(added.contains("The category “Loose Tea” was added."));
    let id: i64 = site_core::schema::products_category::table
        .select(site_core::schema::products_category::id)
        .first(&mut *app.conn())
        .unwrap();

    let again = c
        .submit(&form, add, &[("name", "Other"), ("slug", "loose-tea")])
        .await;
    assert_eq!(again.status, 422);
    assert!(again.contains("Another category has this slug."));

    let change = format!("/admin/products/category/{id}/change/");
    let page = c.get(&change).await;
    let saved = c
        .submit(
            &page,
            &change,
            &[
                ("name", "Fine Tea"),
                ("slug", "loose-tea"),
                ("_continue", "1"),
            ],
        )
        .await;
    assert!(saved.url.ends_with(&change), "{}", saved.url);
    assert!(saved.contains("You may edit it again below."));

    // It cannot be its own parent.
    let page = c.get(&change).await;
    let cycle = c
        .submit(
            &page,
            &change,
            &[
                ("name", "Fine Tea"),
                ("slug", "loose-tea"),
                ("parent", &id.to_string()),
            ],
        )
        .await;
    assert_eq!(cycle.status, 422);
    assert!(cycle.contains("cannot sit inside itself"));

    let history = c
        .get(&format!("/admin/products/category/{id}/history/"))
        .await;
    let entries = history.count("data-testid=\"history-entry\"");
    assert_eq!(entries, 2, "added, then renamed");
    assert!(
        history.contains("Name: Loose Tea → Fine Tea"),
        "{}",
        history.text()
    );
    assert!(history.contains("boss@example.com"));

    // A category with products is protected.
    app.product("In Aisle", 1, 100);
    let aisle: i64 = p::table
        .select(p::category_id)
        .first(&mut *app.conn())
        .unwrap();
    let delete = format!("/admin/products/category/{aisle}/delete/");
    let confirm = c.get(&delete).await;
    assert!(confirm.contains("Cannot delete"));
    assert!(confirm.contains("1 product is in this category"));
    assert!(!confirm.contains("Yes, delete"));
    let refused = c.submit(&confirm, &delete, &[]).await;
    assert!(refused.contains("Nothing was deleted."));

    let delete = format!("/admin/products/category/{id}/delete/");
    let confirm = c.get(&delete).await;
    assert!(confirm.contains("Yes, delete"));
    let done = c.submit(&confirm, &delete, &[]).await;
    assert!(done.contains("1 category deleted."));
    assert_eq!(c.get_raw(&change).await.status, 404);
    let history = c
        .get(&format!("/admin/products/category/{id}/history/"))
        .await;
    assert!(history.contains("Deleted"), "history outlives the object");
}

#[actix_web::test]
async fn product_lists_filter_search_sort_drill_and_page() {
    let app = TestApp::spawn().await;
    app.seed(120, 3);
    app.user("boss@example.com", PW, true);
    let c = app.client();
    c.login("boss@example.com", PW).await;
    let summary = |page: &Page| page.testid_texts("list-summary").join("");

    let first = c.get("/admin/products/product/").await;
    assert_eq!(first.status, 200);
    assert_eq!(summary(&first), "1–50 of 120 products");
    assert_eq!(row_ids(&first).len(), 50);
    let third = c.get("/admin/products/product/?page=3").await;
    assert_eq!(summary(&third), "101–120 of 120 products");
    let beyond = c.get("/admin/products/product/?page=99").await;
    assert_eq!(summary(&beyond), "101–120 of 120 products", "the last page");

    let cat: i64 = site_core::schema::products_category::table
        .select(site_core::schema::products_category::id)
        .order(site_core::schema::products_category::id)
        .first(&mut *app.conn())
        .unwrap();
    let filtered = c
        .get(&format!("/admin/products/product/?category={cat}"))
        .await;
    assert_eq!(summary(&filtered), "1–40 of 40 products");

    let one = c.get("/admin/products/product/?q=demo-00007").await;
    assert_eq!(row_ids(&one).len(), 1);
    // Every word must match, in any of the fields.
    let name: String = p::table
        .filter(p::sku.eq("DEMO-00007"))
        .select(p::name)
        .first(&mut *app.conn())
        .unwrap();
    let first_word = name.split_whitespace().next().unwrap();
    let both = c
        .get(&format!(
            "/admin/products/product/?q={}+00007",
            first_word.to_lowercase()
        ))
        .await;
    assert_eq!(row_ids(&both).len(), 1);
    let none = c
        .get(&format!("/admin/products/product/?q={first_word}+zzzz"))
        .await;
    assert!(row_ids(&none).is_empty());
    assert!(none.contains("No products match the search and filters."));

    let by_price = c.get("/admin/products/product/?o=price").await;
    let ids = row_ids(&by_price);
    let prices: Vec<i64> = ids
        .iter()
        .map(|id| Product::price_and_stock(&app, *id).0)
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    assert!(by_price.body.contains("aria-sort=\"ascending\""));
    let cheapest: i64 = p::table
        .select(diesel::dsl::min(p::price_minor))
        .first::<Option<i64>>(&mut *app.conn())
        .unwrap()
        .unwrap();
    assert_eq!(prices[0], cheapest);

    let sold_out = c.get("/admin/products/product/?in_stock=no").await;
    for id in row_ids(&sold_out) {
        assert_eq!(Product::price_and_stock(&app, id).1, 0);
    }

    // The demo catalogue is dated January 2025.
    let year = c.get("/admin/products/product/").await;
    assert!(year.body.contains("year=2025"));
    let month = c.get("/admin/products/product/?year=2025").await;
    assert!(month.contains("January"));
    let day = c
        .get("/admin/products/product/?year=2025&month=1&day=1")
        .await;
    assert_eq!(summary(&day), "1–50 of 120 products");
    let empty = c.get("/admin/products/product/?year=2024").await;
    assert_eq!(summary(&empty), "0 products");

    for bad in [
        "?o=password_hash",
        "?category=abc",
        "?active=perhaps",
        "?created_from=yesterday",
        "?month=2",
        "?foo=1",
    ] {
        let page = c.get_raw(&format!("/admin/products/product/{bad}")).await;
        assert_eq!(page.status, 400, "{bad}");
    }
}

#[actix_web::test]
async fn change_lists_run_a_fixed_number_of_queries() {
    let app = TestApp::spawn().await;
    app.seed(10, 2);
    app.user("boss@example.com", PW, true);
    let c = app.client();
    c.login("boss@example.com", PW).await;
    let cost = |path: &'static str| {
        let c = c.clone();
        let app = &app;
        async move {
            c.get(path).await;
            let before = app.query_count();
            let page = c.get(path).await;
            assert_eq!(page.status, 200);
            app.query_count() - before
        }
    };
    let paths = [
        "/admin/products/product/",
        "/admin/products/product/?q=demo&o=-price&active=yes",
        "/admin/products/category/",
        "/admin/core/outbox/",
    ];
    let mut small = Vec::new();
    for path in paths {
        small.push(cost(path).await);
    }
    // Many more rows on the page cost no more queries.
    let now = site_core::now();
    let mut conn = app.conn();
    let cat: i64 = p::table.select(p::category_id).first(&mut *conn).unwrap();
    for i in 0..60 {
        diesel::insert_into(p::table)
            .values((
                p::category_id.eq(cat),
                p::name.eq(format!("Oak Extra {i}")),
                p::slug.eq("oak-extra"),
                p::sku.eq(format!("X-{i}")),
                p::description.eq(""),
                p::price_minor.eq(100 + i),
                p::currency.eq("USD"),
                p::stock.eq(3),
                p::is_active.eq(true),
                p::image.eq(""),
                p::created_at.eq(now),
                p::updated_at.eq(now),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    drop(conn);
    for (path, before) in paths.into_iter().zip(small) {
        assert_eq!(cost(path).await, before, "{path}");
    }
}

#[actix_web::test]
async fn search_finds_whole_words_first_then_word_beginnings() {
    let app = TestApp::spawn().await;
    app.product("Bamboo Lamp", 5, 2500);
    app.product("Bamboozle Game", 5, 1500);
    app.product("Oak Lamp", 5, 1500);
    app.user("boss@example.com", PW, true);
    let c = app.client();
    c.login("boss@example.com", PW).await;
    let whole = c.get("/admin/products/product/?q=bamboo+LAMP").await;
    assert_eq!(
        whole.input_values("_selected").len(),
        1,
        "every word, whole"
    );
    assert!(!whole.contains("words that begin with them"));
    let begins = c.get("/admin/products/product/?q=bamb").await;
    assert_eq!(
        begins.input_values("_selected").len(),
        2,
        "Bamboo and Bamboozle"
    );
    assert!(begins
        .contains("No product has all those words whole: these have words that begin with them."));
    let sku = c.get("/admin/products/product/?q=SKU-oak").await;
    assert_eq!(sku.input_values("_selected").len(), 1);
    let nothing = c.get("/admin/products/product/?q=%25%25").await;
    assert!(
        nothing.input_values("_selected").is_empty(),
        "no letters, no matches"
    );

    // The shop's search box works the same way.
    let shop = app.client().get("/products/?q=bamb").await;
    assert!(shop.contains("Bamboo Lamp") && shop.contains("Bamboozle Game"));
    assert!(shop.contains("Nothing has all those words whole"));
    let shop = app.client().get("/products/?q=lamp").await;
    assert!(shop.contains("Bamboo Lamp") && shop.contains("Oak Lamp"));
    assert!(!shop.contains("Bamboozle"));

    // Renaming a product re-indexes it at once.
    let id: i64 = p::table
        .filter(p::name.eq("Oak Lamp"))
        .select(p::id)
        .first(&mut *app.conn())
        .unwrap();
    diesel::update(p::table.find(id))
        .set(p::name.eq("Walnut Lamp"))
        .execute(&mut *app.conn())
        .unwrap();
    let renamed = c.get("/admin/products/product/?q=walnut").await;
    assert_eq!(renamed.input_values("_selected"), vec![id.to_string()]);
}

#[actix_web::test]
async fn a_catalogue_too_large_to_count_shows_an_estimate() {
    let app = TestApp::spawn().await;
    app.seed(10_050, 3);
    app.user("boss@example.com", PW, true);
    let c = app.client();
    c.login("boss@example.com", PW).await;
    let list = c.get("/admin/products/product/").await;
    assert_eq!(
        list.testid_texts("list-summary"),
        vec!["1–50 of about 10,050 products"]
    );
    assert!(list.contains("Next ›"));
    let deep = c.get("/admin/products/product/?page=201").await;
    assert_eq!(deep.input_values("_selected").len(), 50, "page 201 exists");
    let past = c.get("/admin/products/product/?page=202").await;
    assert!(past.testid_texts("list-summary")[0].starts_with("No products on this page"));
    let filtered = c.get("/admin/products/product/?active=yes").await;
    assert_eq!(
        filtered.testid_texts("list-summary"),
        vec!["1–50 of more than 10,000 products"]
    );
    let shop = app.client().get("/products/").await;
    assert_eq!(
        shop.testid_texts("listing-count"),
        vec!["1–24 of about 10,050 products"]
    );
    // Narrowed by what no index answers alone, the shop counts no further
    // than 10,000, and pages stop there.
    let priced = app.client().get("/products/?min_price=1").await;
    assert_eq!(
        priced.testid_texts("listing-count"),
        vec!["1–24 of more than 10,000 products"]
    );
    assert!(priced.testid_texts("narrow-note").is_empty());
    let last = app.client().get("/products/?min_price=1&page=9999").await;
    assert_eq!(
        last.testid_texts("listing-count"),
        vec!["9,985–10,000 of more than 10,000 products"]
    );
    assert_eq!(last.testid_texts("narrow-note").len(), 1);
    assert_eq!(last.count("class=\"card\""), 16);
    // Exactly as many as the cap is counted, not estimated: the last
    // page, read from the end, is then exactly the last 16.
    {
        use diesel::prelude::*;
        use site_core::schema::products_product as p;
        let hidden: Vec<i64> = p::table
            .select(p::id)
            .order(p::id)
            .limit(50)
            .load(&mut app.conn())
            .unwrap();
        diesel::update(p::table.filter(p::id.eq_any(&hidden)))
            .set(p::is_active.eq(false))
            .execute(&mut app.conn())
            .unwrap();
    }
    let exact = app.client().get("/products/?page=9999").await;
    assert_eq!(
        exact.testid_texts("listing-count"),
        vec!["9,985–10,000 of 10,000 products"]
    );
    assert_eq!(exact.count("class=\"card\""), 16);
}

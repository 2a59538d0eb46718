//! What search engines read: robots.txt and the sitemap index, whose
//! product files cover 50,000 ids each (so a million products fit).

use diesel::prelude::*;
use site_core::schema::products_product as p;

use crate::support::{product_path, TestApp};

#[actix_web::test]
async fn robots_keeps_crawlers_out_of_private_pages_and_names_the_sitemap() {
    let app = TestApp::spawn().await;
    let robots = app.client().get_raw("/robots.txt").await;
    assert_eq!(robots.status, 200);
    for line in [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /cart/",
        "Disallow: /orders/",
        "Disallow: /accounts/",
        &format!("Sitemap: {}/sitemap.xml", app.base),
    ] {
        assert!(
            robots.body.lines().any(|l| l == line),
            "{line}: {}",
            robots.body
        );
    }
}

#[actix_web::test]
async fn the_sitemap_lists_every_product_on_sale_in_files_of_fifty_thousand() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Lamp", 5, 2500);
    let hidden = app.product("Retired Lamp", 5, 2500);
    diesel::update(p::table.find(hidden.id))
        .set(p::is_active.eq(false))
        .execute(&mut *app.conn())
        .unwrap();
    // A product far along the ids: the second file's.
    let far = app.product("Far Lamp", 5, 2500);
    diesel::update(p::table.find(far.id))
        .set(p::id.eq(50_001))
        .execute(&mut *app.conn())
        .unwrap();
    let c = app.client();
    let index = c.get_raw("/sitemap.xml").await;
    assert_eq!(index.status, 200);
    assert!(index.body.starts_with("<?xml"));
    for file in [
        "sitemap-pages.xml",
        "sitemap-products-1.xml",
        "sitemap-products-2.xml",
    ] {
        assert!(
            index
                .body
                .contains(&format!("<loc>{}/{file}</loc>", app.base)),
            "{file}: {}",
            index.body
        );
    }
    assert!(!index.body.contains("sitemap-products-3.xml"));

    let first = c.get_raw("/sitemap-products-1.xml").await;
    assert!(first
        .body
        .contains(&format!("<loc>{}{}</loc>", app.base, product_path(&lamp))));
    assert!(first.body.contains("<lastmod>"));
    assert!(
        !first.body.contains(&format!("/products/{}/", hidden.id)),
        "not on sale, not listed"
    );
    assert!(!first.body.contains("/products/50001/"));
    let second = c.get_raw("/sitemap-products-2.xml").await;
    assert!(second
        .body
        .contains(&format!("<loc>{}/products/50001/", app.base)));
    assert_eq!(c.get_raw("/sitemap-products-3.xml").await.status, 404);
    assert_eq!(c.get_raw("/sitemap-products-0.xml").await.status, 404);

    let pages = c.get_raw("/sitemap-pages.xml").await;
    assert!(pages
        .body
        .contains(&format!("<loc>{}/products/</loc>", app.base)));
    assert!(
        pages.body.contains("/products/category/"),
        "the categories: {}",
        pages.body
    );
}

/// The JSON-LD blocks of a page, parsed.
fn json_ld(body: &str) -> Vec<serde_json::Value> {
    body.split("<script type=\"application/ld+json\">")
        .skip(1)
        .map(|rest| serde_json::from_str(rest.split("</script>").next().unwrap()).unwrap())
        .collect()
}

#[actix_web::test]
async fn a_product_page_tells_search_engines_what_it_sells() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Lamp </script><script>alert(1)</script>", 5, 2500);
    let page = app.client().get_raw(&product_path(&lamp)).await;
    assert_eq!(page.status, 200);
    let canonical = format!("{}{}", app.base, product_path(&lamp));
    assert!(page
        .body
        .contains(&format!("<link rel=\"canonical\" href=\"{canonical}\">")));
    assert!(page
        .body
        .contains("<meta property=\"og:type\" content=\"product\">"));
    assert!(page.body.contains("<meta name=\"description\" content=\""));
    assert!(
        !page.body.contains("<script>alert(1)"),
        "a product's name cannot end the JSON-LD script"
    );
    let blocks = json_ld(&page.body);
    assert_eq!(blocks.len(), 1, "one block: {}", page.body);
    let (product, crumbs) = (&blocks[0][0], &blocks[0][1]);
    assert_eq!(product["@type"], "Product");
    assert_eq!(product["name"], "Lamp </script><script>alert(1)</script>");
    assert_eq!(product["url"], canonical.as_str());
    assert_eq!(product["offers"]["price"], "25.00");
    assert_eq!(product["offers"]["priceCurrency"], "USD");
    assert_eq!(
        product["offers"]["availability"],
        "https://schema.org/InStock"
    );
    assert_eq!(crumbs["@type"], "BreadcrumbList");
    assert_eq!(crumbs["itemListElement"][2]["item"], canonical.as_str());
}

/// The canonical link of a page, if it has one.
fn canonical(body: &str) -> Option<String> {
    let rest = body.split("<link rel=\"canonical\" href=\"").nth(1)?;
    Some(rest.split('"').next()?.to_string())
}

#[actix_web::test]
async fn sorted_and_filtered_listings_and_searches_name_one_page_each() {
    let app = TestApp::spawn().await;
    app.seed(30, 1);
    let slug: String = site_core::schema::products_category::table
        .select(site_core::schema::products_category::slug)
        .first(&mut *app.conn())
        .unwrap();
    let c = app.client();
    let list = format!("{}/products/", app.base);
    for variant in [
        "/products/",
        "/products/?sort=price",
        "/products/?in_stock=1&sort=-price",
    ] {
        let page = c.get_raw(variant).await;
        assert_eq!(
            canonical(&page.body).as_deref(),
            Some(list.as_str()),
            "{variant}"
        );
    }
    let second = c.get_raw("/products/?sort=price&page=2").await;
    assert_eq!(
        canonical(&second.body),
        Some(format!("{list}?page=2")),
        "a later page is its own"
    );
    let own = format!("{}/products/category/{slug}/", app.base);
    for variant in [
        format!("/products/?category={slug}"),
        format!("/products/category/{slug}/?sort=name"),
    ] {
        let page = c.get_raw(&variant).await;
        assert_eq!(
            canonical(&page.body).as_deref(),
            Some(own.as_str()),
            "{variant}"
        );
    }
    // A search is its words: sorting and filters do not make another one.
    for variant in [
        "/products/?q=lamp",
        "/products/?q=lamp&sort=price&in_stock=1",
    ] {
        let search = c.get_raw(variant).await;
        assert_eq!(
            canonical(&search.body),
            Some(format!("{list}?q=lamp")),
            "{variant}"
        );
        assert!(!search.body.contains("noindex"), "{variant}");
    }
}

/// Each `og:` property of a page, in order.
fn open_graph(body: &str) -> Vec<(String, String)> {
    body.split("<meta property=\"og:")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once("\" content=\"")?;
            Some((name.to_string(), rest.split('"').next()?.to_string()))
        })
        .collect()
}

#[actix_web::test]
async fn the_home_list_category_and_search_pages_are_shared_with_a_title_and_their_url() {
    let app = TestApp::spawn().await;
    app.seed(12, 1);
    let (name, slug): (String, String) = site_core::schema::products_category::table
        .select((
            site_core::schema::products_category::name,
            site_core::schema::products_category::slug,
        ))
        .first(&mut *app.conn())
        .unwrap();
    let c = app.client();
    let base = &app.base;
    for (path, title, url) in [
        ("/".to_string(), "Demo Shop".to_string(), format!("{base}/")),
        (
            "/products/?sort=price".to_string(),
            "All products".to_string(),
            format!("{base}/products/"),
        ),
        (
            format!("/products/category/{slug}/"),
            // As the page escapes it.
            name.replace('&', "&amp;"),
            format!("{base}/products/category/{slug}/"),
        ),
        (
            "/products/?q=lamp".to_string(),
            "Search: lamp".to_string(),
            format!("{base}/products/?q=lamp"),
        ),
    ] {
        let page = c.get_raw(&path).await;
        assert_eq!(page.status, 200, "{path}");
        let og = open_graph(&page.body);
        let get = |k: &str| og.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("type"), Some("website"), "{path}");
        assert_eq!(get("title"), Some(title.as_str()), "{path}");
        assert_eq!(get("url"), Some(url.as_str()), "{path}");
        assert_eq!(
            canonical(&page.body).as_deref(),
            Some(url.as_str()),
            "{path}"
        );
    }
}

/// A product's URL carries its slug; the short form, an old slug and a
/// mistyped one move there permanently, so links made before keep working
/// and search engines index one URL.
#[actix_web::test]
async fn product_urls_carry_a_slug_and_every_other_form_redirects_there() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Brass Desk Lamp", 5, 2500);
    assert_eq!(lamp.slug, "brass-desk-lamp");
    let own = product_path(&lamp);
    assert_eq!(own, format!("/products/{}/brass-desk-lamp/", lamp.id));
    let c = app.client();
    assert_eq!(c.get_raw(&own).await.status, 200);
    for old in [
        format!("/products/{}/", lamp.id),
        format!("/products/{}/desk-lamp/", lamp.id),
        format!("/products/{}/-/", lamp.id),
    ] {
        let moved = c.get_raw(&old).await;
        assert_eq!(moved.status, 301, "{old}");
        assert_eq!(
            moved.headers.get("location").and_then(|l| l.to_str().ok()),
            Some(own.as_str()),
            "{old}"
        );
    }
    // Campaign tags on an old link survive the redirect.
    let tagged = c
        .get_raw(&format!("/products/{}/?utm_source=mail", lamp.id))
        .await;
    assert_eq!(
        tagged.headers.get("location").and_then(|l| l.to_str().ok()),
        Some(format!("{own}?utm_source=mail").as_str())
    );
    // Renamed: the slug changes, the old URL follows.
    diesel::update(p::table.find(lamp.id))
        .set(p::slug.eq("brass-reading-lamp"))
        .execute(&mut *app.conn())
        .unwrap();
    let moved = c.get_raw(&own).await;
    assert_eq!(moved.status, 301);
    assert_eq!(
        moved.headers.get("location").and_then(|l| l.to_str().ok()),
        Some(format!("/products/{}/brass-reading-lamp/", lamp.id).as_str())
    );
    // Cards and the cart link to the slug URL.
    let list = c.get("/products/").await;
    assert!(list.body.contains("brass-reading-lamp"), "{}", list.body);
    // Not a product: 404, with or without a slug.
    assert_eq!(c.get_raw("/products/999999/").await.status, 404);
    assert_eq!(c.get_raw("/products/999999/lamp/").await.status, 404);
    assert_eq!(c.get_raw("/products/lamp/").await.status, 404);
}

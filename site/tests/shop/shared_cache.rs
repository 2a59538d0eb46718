//! The catalogue cache's Redis tier: app servers on one database and one
//! Redis count a listing once between them. Runs where `TEST_REDIS_URL`
//! names a server (CI).

use crate::support::{Options, TestApp};

#[actix_web::test]
async fn app_servers_share_listing_counts_and_categories_through_redis() {
    let Some(redis) = crate::support::redis_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = crate::support::fresh_database(dir.path());
    let prefix = format!("test-{}:", site_core::random_token(10).to_lowercase());
    let server = || {
        TestApp::spawn_with(Options {
            redis: Some(redis.clone()),
            redis_prefix: Some(prefix.clone()),
            database_url: Some(url.clone()),
            catalogue_cache_seconds: 60,
            ..Options::default()
        })
    };
    let a = server().await;
    a.seed(30, 3);
    let b = server().await;

    // The first server counts, and reads the categories.
    let before = a.query_count();
    let page = a.client().get("/products/").await;
    assert!(page.contains("1–24 of 30 products"), "{}", page.text());
    assert!(
        a.query_count() - before >= 3,
        "the count, the categories, the page"
    );

    // The second reads both from Redis: only its page of products.
    let before = b.query_count();
    let page = b.client().get("/products/").await;
    assert!(page.contains("1–24 of 30 products"), "{}", page.text());
    assert_eq!(b.query_count() - before, 1, "only the page of products");

    // A category's listing (and its in-stock filter) the same way.
    for path in [
        "/products/category/tea/",
        "/products/category/tea/?in_stock=1",
    ] {
        let first = a.client().get(path).await;
        assert_eq!(first.status, 200);
        let before = b.query_count();
        let second = b.client().get(path).await;
        assert_eq!(
            b.query_count() - before,
            1,
            "{path}: only the page (count and facets from Redis)"
        );
        assert_eq!(
            first.testid_texts("listing-count"),
            second.testid_texts("listing-count"),
            "{path}"
        );
    }
    // Searches are never shared: their matches, their ranking, the page
    // and the facets' two.
    let before = b.query_count();
    b.client().get("/products/?q=ethiopian").await;
    assert_eq!(b.query_count() - before, 5);

    drop((a, b));
    crate::support::drop_database(pg);
}

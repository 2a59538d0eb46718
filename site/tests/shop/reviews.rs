//! Reviews: only a customer who bought a product reviews it, once; what
//! they wrote shows escaped; the average shows on cards, the page and in
//! the structured data; staff hide and show reviews and the average
//! follows.

use diesel::prelude::*;
use site_core::schema::{products_product as p, products_review as r};

use crate::support::{order_public_id, product_path, TestApp};

const PW: &str = "a long passphrase";

/// A CSRF token from a signed-in page (its log-out form).
fn csrf(page: &crate::support::Page) -> String {
    page.hidden_fields("/accounts/logout/")
        .and_then(|f| f.into_iter().find(|(k, _)| k == "csrf_token"))
        .map(|(_, v)| v)
        .expect("a signed-in page")
}

/// POSTs `fields` as a browser would from a form, following the answer.
async fn post(
    c: &crate::support::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> crate::support::Page {
    c.follow(c.post_raw(path, fields).await).await
}

fn counts(app: &TestApp, product: i64) -> (i64, i64, i64) {
    let reviews = r::table
        .filter(r::product_id.eq(product))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    let (count, sum) = p::table
        .find(product)
        .select((p::rating_count, p::rating_sum))
        .first(&mut *app.conn())
        .unwrap();
    (reviews, count, sum)
}

#[actix_web::test]
async fn only_a_buyer_reviews_a_product_once_and_staff_can_hide_it() {
    let app = TestApp::spawn().await;
    let pan = app.product("Cast Iron Pan", 10, 4500);
    let page_path = product_path(&pan);
    let review_path = format!("{page_path}review/");

    // Signed out: asked to log in.
    let guest = app.client().get(&page_path).await;
    assert!(guest.contains("Log in to review a product you bought."));
    assert!(guest.contains("No reviews yet."));

    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    let page = c.get(&page_path).await;
    assert!(page.contains("Only customers who bought this product can review it."));
    // Posting anyway is refused.
    let refused = post(
        &c,
        &review_path,
        &[
            ("rating", "5"),
            ("title", "Great"),
            ("csrf_token", &csrf(&page)),
        ],
    )
    .await;
    assert!(refused.contains("Only customers who bought this product can review it."));
    assert_eq!(counts(&app, pan.id), (0, 0, 0));

    // An order waiting for payment does not count; a paid one does.
    c.add_to_cart(pan.id, 1).await;
    let placed = c.checkout("ann@example.com").await;
    let public_id = order_public_id(&placed);
    assert!(c
        .get(&page_path)
        .await
        .contains("Only customers who bought this product can review it."));
    c.pay_by_card(&public_id, "4242424242424242").await;
    let page = c.get(&page_path).await;
    assert!(page.contains("Review this product"), "{}", page.text());

    // No stars: the form comes back with the error and what was typed.
    let again = c
        .submit(
            &page,
            &review_path,
            &[("title", "Heavy and good"), ("body", "x")],
        )
        .await;
    assert!(again.contains("Choose from one to five stars."));
    assert!(again.body.contains("value=\"Heavy and good\""));
    assert_eq!(counts(&app, pan.id).0, 0);

    let posted = c
        .submit(
            &again,
            &review_path,
            &[
                ("rating", "4"),
                ("title", "Heavy and good"),
                ("body", "Seasons <b>well</b>.\nHeavy."),
            ],
        )
        .await;
    assert!(posted.url.ends_with(&page_path), "{}", posted.url);
    assert!(posted.contains("Thank you: your review is on the page."));
    assert_eq!(posted.count("data-testid=\"review\""), 1);
    assert!(
        posted
            .body
            .contains("Seasons &lt;b&gt;well&lt;&#x2F;b&gt;.<br>Heavy."),
        "{}",
        posted.body
    );
    assert!(posted.contains("You reviewed this product on"));
    let summary = posted.testid_texts("rating-summary");
    assert!(
        summary[0].contains("4.0 out of 5, from 1 review"),
        "{summary:?}"
    );
    assert_eq!(counts(&app, pan.id), (1, 1, 4));

    // Once: a second post (another tab) changes nothing.
    let twice = post(
        &c,
        &review_path,
        &[("rating", "1"), ("csrf_token", &csrf(&posted))],
    )
    .await;
    assert!(twice.contains("You have already reviewed this product."));
    assert_eq!(counts(&app, pan.id), (1, 1, 4));

    // Cards and the structured data carry the average.
    let list = c.get("/products/").await;
    assert_eq!(list.testid_texts("card-rating").len(), 1);
    assert!(list.testid_texts("card-rating")[0].contains("Rated 4.0 out of 5 by 1 customer"));
    let guest = app.client().get(&page_path).await;
    assert!(
        guest.body.contains("\"aggregateRating\":{"),
        "{}",
        guest.body
    );
    assert!(guest.body.contains("\"reviewCount\":1"));

    // Staff hide it: the average goes with it; the author is told.
    let boss = app.boss(PW).await;
    let id: i64 = r::table.select(r::id).first(&mut *app.conn()).unwrap();
    let admin = boss.get("/admin/products/review/").await;
    assert_eq!(admin.status, 200);
    assert!(admin.contains("Heavy and good"));
    let hidden = boss
        .follow(
            boss.submit_multi(
                &admin,
                "/admin/products/review/",
                &[("action", "hide"), ("_selected", &id.to_string())],
            )
            .await,
        )
        .await;
    assert!(
        hidden.contains("1 review was hidden from the shop."),
        "{}",
        hidden.text()
    );
    assert_eq!(counts(&app, pan.id), (1, 0, 0));
    let gone = app.client().get(&page_path).await;
    assert!(gone.contains("No reviews yet."));
    assert!(!gone.body.contains("aggregateRating"));
    assert!(c
        .get(&page_path)
        .await
        .contains("Our staff have hidden it from the page."));
    // And shown again.
    boss.follow(
        boss.submit_multi(
            &admin,
            "/admin/products/review/",
            &[("action", "show"), ("_selected", &id.to_string())],
        )
        .await,
    )
    .await;
    assert_eq!(counts(&app, pan.id), (1, 1, 4));

    // The review goes with its author's account, and off the average.
    let export = c.get("/accounts/export/").await;
    assert!(
        export.body.contains("Heavy and good"),
        "in their data export"
    );
    let form = c.get("/accounts/delete/").await;
    let gone = c
        .submit(&form, "/accounts/delete/", &[("password", PW)])
        .await;
    assert!(
        gone.contains("Your account was deleted."),
        "{}",
        gone.text()
    );
    assert_eq!(counts(&app, pan.id), (0, 0, 0));
}

/// Two posts of the same review at once (a double click): one review, one
/// rating on the product.
#[actix_web::test]
async fn a_double_submitted_review_counts_once() {
    let app = TestApp::spawn().await;
    let kettle = app.product("Kettle", 10, 3000);
    app.customer("bo@example.com", PW);
    let c = app.client();
    c.login("bo@example.com", PW).await;
    c.add_to_cart(kettle.id, 1).await;
    let placed = c.checkout("bo@example.com").await;
    c.pay_by_card(&order_public_id(&placed), "4242424242424242")
        .await;
    let page = c.get(&product_path(&kettle)).await;
    let token = csrf(&page);
    let path = format!("{}review/", product_path(&kettle));
    let fields = [("rating", "5"), ("csrf_token", token.as_str())];
    let (a, b) =
        futures_util::future::join(post(&c, &path, &fields), post(&c, &path, &fields)).await;
    assert!(a.status < 500 && b.status < 500);
    assert_eq!(counts(&app, kettle.id), (1, 1, 5));

    // Two staff hiding it at once take it off the average once.
    let id: i64 = r::table.select(r::id).first(&mut *app.conn()).unwrap();
    let db = app.db.clone();
    let hides: Vec<bool> = std::thread::scope(|s| {
        let tries: Vec<_> = (0..2)
            .map(|_| {
                let db = db.clone();
                s.spawn(move || {
                    products::reviews::set_visible(&mut db.get().unwrap(), id, false).unwrap()
                })
            })
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(hides.iter().filter(|h| **h).count(), 1, "{hides:?}");
    assert_eq!(counts(&app, kettle.id), (1, 0, 0));
}

/// The demo's customers have reviewed about half of what they bought, and
/// every product's average is its shown reviews'.
#[actix_web::test]
async fn the_demo_has_reviews_by_its_buyers() {
    let app = TestApp::spawn().await;
    site::demo::seed(
        &app.db,
        &app.config,
        &site::demo::Demo {
            products: 24,
            categories: 12,
            orders: 60,
            customers: 6,
        },
        Some("a long passphrase"),
        &site::demo::hidden,
    )
    .unwrap();
    let reviews: Vec<(i64, i64, i32)> = r::table
        .select((r::product_id, r::user_id, r::rating))
        .load(&mut *app.conn())
        .unwrap();
    assert!(reviews.len() >= 5, "{} reviews", reviews.len());
    for (product, user, _) in &reviews {
        assert!(
            products::reviews::bought(&mut app.conn(), *user, *product).unwrap(),
            "only buyers review"
        );
    }
    let rated: Vec<(i64, i64, i64)> = p::table
        .filter(p::rating_count.gt(0))
        .select((p::id, p::rating_count, p::rating_sum))
        .load(&mut *app.conn())
        .unwrap();
    assert!(!rated.is_empty());
    for (product, count, sum) in rated {
        let mine: Vec<i32> = reviews
            .iter()
            .filter(|(p, _, _)| *p == product)
            .map(|(_, _, r)| *r)
            .collect();
        assert_eq!(count, mine.len() as i64);
        assert_eq!(sum, mine.iter().map(|r| i64::from(*r)).sum::<i64>());
    }
}

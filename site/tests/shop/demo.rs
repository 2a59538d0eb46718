//! Demo mode (`SHOP_DEMO=1`): a banner, the shared logins on the login
//! page, a staff login that looks and changes nothing (not even its own
//! account), and the data reset to the seeded demo, keeping staff.

use diesel::prelude::*;
use site::demo::{Demo, CUSTOMER_PASSWORD, VIEWER_EMAIL, VIEWER_PASSWORD};
use site_core::schema::{accounts_user as u, orders_order as o, products_product as p};

use crate::support::{Options, TestApp};

const PW: &str = "correct horse battery staple";

const SMALL: Demo = Demo {
    // Twelve categories and products: one of them shoes, with variants
    // (and their product type) to wipe and seed again.
    products: 12,
    categories: 12,
    orders: 5,
    customers: 2,
};

fn counts(app: &TestApp) -> (i64, i64, i64) {
    let mut conn = app.conn();
    (
        p::table.count().get_result(&mut *conn).unwrap(),
        o::table.count().get_result(&mut *conn).unwrap(),
        u::table.count().get_result(&mut *conn).unwrap(),
    )
}

#[actix_web::test]
async fn a_public_demo_shows_its_logins_lets_staff_look_and_resets_its_data() {
    let app = TestApp::spawn_with(Options {
        demo: true,
        ..Options::default()
    })
    .await;
    // Seeded as `cargo run` seeds an empty shop, smaller.
    site::demo::seed(
        &app.db,
        &app.config,
        &SMALL,
        Some(CUSTOMER_PASSWORD),
        &site::demo::hidden,
    )
    .unwrap();
    site::demo::prepare_viewer(&mut app.conn()).unwrap();
    site::demo::mark_reset(&mut app.conn()).unwrap();
    // The operator's own login.
    app.user("boss@example.com", PW, true);

    let c = app.client();
    let home = c.get("/").await;
    assert!(
        home.testid_texts("demo-banner")[0].contains("resets every 6 hours"),
        "{}",
        home.text()
    );
    let login = c.get("/accounts/login/").await;
    assert!(login.body.contains("data-testid=\"demo-logins\""));
    for shown in [
        VIEWER_EMAIL,
        VIEWER_PASSWORD,
        "customer1@example.com",
        CUSTOMER_PASSWORD,
    ] {
        assert!(login.contains(shown), "{shown}: {}", login.text());
    }

    // The shared staff login looks at everything and changes nothing.
    c.login(VIEWER_EMAIL, VIEWER_PASSWORD).await;
    let orders = c.get("/admin/orders/order/").await;
    assert_eq!(orders.status, 200, "{}", orders.text());
    assert!(orders.body.contains("data-testid=\"demo-banner\""));
    let product: i64 = p::table
        .filter(p::stock.gt(1))
        .filter(p::is_active.eq(true))
        // A product sold as itself (not a variant, nor chosen among them).
        .filter(p::parent_id.is_null())
        .filter(p::has_variants.eq(false))
        .select(p::id)
        .first(&mut *app.conn())
        .unwrap();
    let change = c
        .get(&format!("/admin/products/product/{product}/change/"))
        .await;
    assert_eq!(change.status, 200);
    assert!(change.contains("View product"), "{}", change.text());
    assert!(!change.contains(">Save<"), "no save button");
    // Not even its own account: everyone uses it.
    let form = c.get("/accounts/password/").await;
    let refused = c
        .submit_raw(
            &form,
            "/accounts/password/",
            &[
                ("old_password", VIEWER_PASSWORD),
                ("new_password1", "an entirely new secret 42"),
                ("new_password2", "an entirely new secret 42"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.contains("its account cannot be changed"));
    c.logout().await;
    let again = c.login(VIEWER_EMAIL, VIEWER_PASSWORD).await;
    assert!(
        again.url.ends_with('/'),
        "still its password: {}",
        again.url
    );

    // Visitors leave things behind: an account, an order.
    app.customer("visitor@example.com", PW);
    app.order(product, 1, true).await;
    let before = counts(&app);
    // 12 products, and the pair of shoes' 12 variants and the bag's 3.
    assert_eq!(before.0, 12 + 12 + 3);
    assert_eq!(before.1, SMALL.orders as i64 + 1);
    // 2 demo customers, the viewer, the operator, the visitor.
    assert_eq!(before.2, 5);

    use site_core::schema::core_job as j;
    site::jobs::runner(&site::apps(&app.config))
        .schedule(&mut app.conn())
        .unwrap();
    let jobs = |recurring: bool| -> i64 {
        let q = j::table.into_boxed();
        let q = if recurring {
            q.filter(j::every_seconds.is_not_null())
        } else {
            q.filter(j::every_seconds.is_null())
        };
        q.count().get_result(&mut *app.conn()).unwrap()
    };
    let recurring = jobs(true);
    assert!(recurring >= 5, "{recurring} recurring jobs");
    assert!(jobs(false) > 0, "the visitor's order queued its emails");

    let now = site_core::now();
    assert!(!site::demo::due(&mut app.conn(), 6, now).unwrap());
    let later = now + chrono::TimeDelta::hours(6);
    assert!(site::demo::due(&mut app.conn(), 6, later).unwrap());
    site::demo::reset(&app.db, &app.config, &SMALL).unwrap();
    assert!(!site::demo::due(&mut app.conn(), 6, later).unwrap());
    assert_eq!(jobs(true), recurring, "the recurring jobs stay scheduled");
    // Queued jobs about wiped rows are gone: what is queued now is about
    // the seeded demo's own email and webhook events.
    let queued: Vec<String> = j::table
        .filter(j::every_seconds.is_null())
        .select(j::payload)
        .load(&mut *app.conn())
        .unwrap();
    for payload in queued {
        let args: serde_json::Value = serde_json::from_str(&payload).unwrap();
        let exists: i64 = if let Some(id) = args["outbox"].as_i64() {
            use site_core::schema::core_outbox as o;
            o::table
                .find(id)
                .count()
                .get_result(&mut *app.conn())
                .unwrap()
        } else if let Some(id) = args["event"].as_i64() {
            use site_core::schema::payments_webhook_event as e;
            e::table
                .find(id)
                .count()
                .get_result(&mut *app.conn())
                .unwrap()
        } else {
            0
        };
        assert_eq!(exists, 1, "{payload} refers to a row of the new demo");
    }

    assert_eq!(
        counts(&app),
        (12 + 12 + 3, SMALL.orders as i64, 4),
        "the seeded demo again; the staff kept"
    );
    let gone: Option<i64> = u::table
        .filter(u::email.eq("visitor@example.com"))
        .select(u::id)
        .first(&mut *app.conn())
        .optional()
        .unwrap();
    assert_eq!(gone, None);
    for (email, password) in [
        ("boss@example.com", PW),
        (VIEWER_EMAIL, VIEWER_PASSWORD),
        ("customer1@example.com", CUSTOMER_PASSWORD),
    ] {
        let c = app.client();
        let page = c.login(email, password).await;
        assert!(
            !page.url.ends_with("/accounts/login/"),
            "{email} logs in after the reset: {}",
            page.text()
        );
    }
    let viewer = app.client();
    viewer.login(VIEWER_EMAIL, VIEWER_PASSWORD).await;
    assert_eq!(viewer.get("/admin/orders/order/").await.status, 200);
}

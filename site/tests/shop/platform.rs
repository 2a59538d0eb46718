//! What every page shares: security headers, CSRF, error pages, static
//! files, and a schema both backends agree on.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::support::TestApp;

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    app.seed(3, 1);
    let c = app.client();
    for path in ["/", "/products/", "/no/such/page", "/cart/"] {
        let page = c.get_raw(path).await;
        let csp = page
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("CSP on {path}"));
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(
            page.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(
            page.header("referrer-policy").as_deref(),
            Some("same-origin")
        );
        assert!(page.header("x-request-id").is_some());
        assert!(
            page.header("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
        assert!(
            !page.body.contains("<script>"),
            "no inline script on {path}"
        );
    }
}

#[actix_web::test]
async fn posts_without_a_valid_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let p = app.product("Guarded", 5, 100);
    let c = app.client();
    let page = c.get(&format!("/products/{}/", p.id)).await;
    let action = format!("/cart/add/{}/", p.id);

    let missing = c.post_raw(&action, &[("quantity", "1")]).await;
    assert_eq!(missing.status, 403);
    assert!(missing.contains("CSRF check failed"), "{}", missing.text());
    let forged = c
        .post_raw(
            &action,
            &[("quantity", "1"), ("csrf_token", &"x".repeat(43))],
        )
        .await;
    assert_eq!(forged.status, 403);
    // A fresh browser has no token cookie: its POST cannot pass.
    let stranger = app
        .client()
        .post_raw(
            &action,
            &[("quantity", "1"), ("csrf_token", &"x".repeat(43))],
        )
        .await;
    assert_eq!(stranger.status, 403);

    let token = page
        .hidden_fields(&action)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1;
    let cross_site = c
        .post_with_headers(
            &action,
            &[("quantity", "1"), ("csrf_token", &token)],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(cross_site.status, 403);
    assert!(cross_site.contains("sent from another site"));
    assert!(
        c.get("/cart/").await.contains("Cart 0"),
        "nothing was added by refused posts"
    );

    let same_site = c
        .post_with_headers(
            &action,
            &[("quantity", "1"), ("csrf_token", &token)],
            &[("origin", &app.base)],
        )
        .await;
    assert_eq!(same_site.status, 303);
    let by_header = c
        .post_with_headers(&action, &[("quantity", "1")], &[("x-csrf-token", &token)])
        .await;
    assert_eq!(by_header.status, 303);
    assert!(c.get("/cart/").await.contains("Cart 2"));
}

#[actix_web::test]
async fn a_server_error_page_leaks_nothing_and_gives_a_reference() {
    let app = TestApp::spawn().await;
    app.seed(3, 1);
    app.conn()
        .batch_execute("ALTER TABLE products_product RENAME TO products_gone")
        .unwrap();
    let page = app.client().get("/products/").await;
    assert_eq!(page.status, 500);
    assert!(page.contains("Something went wrong on our side."));
    let id = page.header("x-request-id").unwrap();
    assert!(page.contains(&format!("Reference: {id}")));
    let lower = page.body.to_lowercase();
    for secret in [
        "products_product",
        "no such table",
        "relation",
        "diesel",
        "sql",
    ] {
        assert!(!lower.contains(secret), "the 500 page mentions {secret:?}");
    }
}

#[actix_web::test]
async fn static_files_are_hashed_cached_and_compressed() {
    let app = TestApp::spawn().await;
    let page = app.client().get("/cart/").await;
    let start = page.body.find("/static/css/shop.").unwrap();
    let href = &page.body[start..start + page.body[start..].find('"').unwrap()];
    let http = reqwest::Client::new();
    let res = http
        .get(app.url(href))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.headers()["content-type"], "text/css");
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let plain = http
        .get(app.url("/static/css/shop.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()["cache-control"], "public, max-age=300");
    assert_eq!(
        http.get(app.url("/static/../Cargo.toml"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

/// Each model's columns exist with the types the schema says, on this
/// backend: a full purchase writes every table, then every model loads.
#[actix_web::test]
async fn migrations_match_the_schema() {
    let app = TestApp::spawn().await;
    let p = app.product("Schema Check", 5, 100);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let page = c.checkout("s@example.com").await;
    let id = crate::support::order_public_id(&page);
    c.pay_by_card(&id, "4242424242424242").await;
    app.customer("u@example.com", "long enough to pass");

    let mut conn = app.conn();
    use site_core::schema::*;
    assert_eq!(
        accounts_user::table
            .select(accounts::User::as_select())
            .load(&mut *conn)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        products_category::table
            .select(products::Category::as_select())
            .load(&mut *conn)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        products_product::table
            .select(products::Product::as_select())
            .load(&mut *conn)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        orders_order::table
            .select(orders::Order::as_select())
            .load(&mut *conn)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        orders_line::table
            .select(orders::OrderLine::as_select())
            .load(&mut *conn)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        payments_payment::table
            .select(payments::Payment::as_select())
            .load(&mut *conn)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        payments_transaction::table
            .select(payments::models::Transaction::as_select())
            .load(&mut *conn)
            .unwrap()
            .len(),
        1
    );
    let sessions: i64 = core_session::table.count().get_result(&mut *conn).unwrap();
    assert!(sessions >= 1);
    // Stock can never go below zero, whatever the code does.
    let negative = diesel::update(products_product::table.find(p.id))
        .set(products_product::stock.eq(-1))
        .execute(&mut *conn);
    assert!(
        negative.is_err(),
        "the CHECK constraint refuses negative stock"
    );
}

/// A flash message is shown once, even when the page that shows it is an
/// error page.
#[actix_web::test]
async fn a_message_shown_on_an_error_page_is_not_shown_again() {
    let app = TestApp::spawn().await;
    let p = app.product("Once", 5, 100);
    let c = app.client();
    let page = c.get(&format!("/products/{}/", p.id)).await;
    let added = c
        .submit_raw(&page, &format!("/cart/add/{}/", p.id), &[("quantity", "1")])
        .await;
    assert_eq!(added.status, 303);
    let missing = c.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.contains("Added 1 × “Once” to your cart."));
    assert!(missing.contains("Cart 1"), "error pages show the real cart");
    let cart = c.get("/cart/").await;
    assert!(!cart.contains("Added 1 ×"), "the message was already shown");
}

/// A catalogue priced in another currency than SHOP_CURRENCY would fail
/// on every cart: the shop refuses to start and says why.
#[actix_web::test]
async fn the_shop_refuses_to_start_with_a_mismatched_currency() {
    let app = TestApp::spawn().await;
    app.product("Priced in dollars", 1, 100);
    let mut config = app.config.clone();
    config.currency = site_core::Currency::Eur;
    let (mailer, _) = site_core::mail::Mailer::memory("shop@example.com");
    let err = site::Shop::open(config, mailer).err().expect("refused");
    let text = format!("{err:#}");
    assert!(
        text.contains("SHOP_CURRENCY is EUR") && text.contains("USD"),
        "{text}"
    );
}

/// Behind HTTPS: HSTS on every response, and cookies only over HTTPS.
#[actix_web::test]
async fn https_mode_adds_hsts_and_secure_cookies() {
    let app = TestApp::spawn_with(crate::support::Options {
        https: true,
        ..Default::default()
    })
    .await;
    let p = app.product("Secure Thing", 5, 100);
    let c = app.client();
    let page = c.get_raw(&crate::support::product_path(&p)).await;
    assert_eq!(
        page.header("strict-transport-security").as_deref(),
        Some("max-age=31536000; includeSubDomains")
    );
    let cookies = |page: &crate::support::Page| -> Vec<String> {
        page.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let csrf = cookies(&page);
    assert!(
        csrf.iter()
            .any(|c| c.starts_with("csrftoken=") && c.contains("Secure") && c.contains("HttpOnly")),
        "{csrf:?}"
    );
    // The client will not send Secure cookies over http, so post the token
    // by header and cookie by hand to see the session cookie's flags.
    let token = csrf[0]
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("csrftoken=")
        .to_string();
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url(&format!("/cart/add/{}/", p.id)))
        .header("cookie", format!("csrftoken={token}"))
        .header("x-csrf-token", &token)
        .form(&[("quantity", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let session: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let session = session
        .iter()
        .find(|c| c.starts_with("sessionid="))
        .expect("a session cookie");
    for flag in ["Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }
}

#[actix_web::test]
async fn expired_sessions_are_cleared() {
    let app = TestApp::spawn().await;
    let p = app.product("Session Thing", 5, 100);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    let mut conn = app.conn();
    use site_core::schema::core_session as s;
    assert_eq!(
        site_core::db::clear_expired_sessions(&mut conn).unwrap(),
        0,
        "a live session stays"
    );
    diesel::update(s::table)
        .set(s::expires_at.eq(site_core::now() - chrono::TimeDelta::seconds(1)))
        .execute(&mut *conn)
        .unwrap();
    drop(conn);
    assert!(
        c.get("/cart/").await.contains("Cart 0"),
        "an expired session is not loaded"
    );
    let mut conn = app.conn();
    assert!(site_core::db::clear_expired_sessions(&mut conn).unwrap() >= 1);
    let left: i64 = s::table
        .filter(s::expires_at.lt(site_core::now()))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(left, 0);
}

/// The bundled SQLite is built with a stable query planner: without it every
/// cached statement with a bound LIMIT is recompiled on each use.
#[actix_web::test]
async fn sqlite_is_built_with_a_stable_query_planner() {
    let app = TestApp::spawn().await;
    if app.backend() != "sqlite" {
        return;
    }
    #[derive(QueryableByName)]
    struct Opt {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }
    let opts: Vec<Opt> = diesel::sql_query("SELECT compile_options FROM pragma_compile_options")
        .load(&mut *app.conn())
        .unwrap();
    let opts: Vec<String> = opts.into_iter().map(|o| o.compile_options).collect();
    assert!(opts.iter().any(|o| o == "ENABLE_QPSG"), "{opts:?}");
    assert!(opts.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{opts:?}");
}

#[actix_web::test]
async fn health_and_readiness_probes_say_what_is_wrong() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let alive = c.get_raw("/healthz").await;
    assert_eq!(alive.status, 200);
    assert_eq!(alive.body, r#"{"status":"ok"}"#);
    let ready = c.get_raw("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(
        ready.body,
        r#"{"status":"ok","database":"ok","migrations":"ok"}"#
    );
    assert_eq!(ready.header("cache-control").as_deref(), Some("no-store"));

    // A binary newer than its database: not ready until migrated.
    use diesel::connection::SimpleConnection;
    app.conn()
        .batch_execute(
            "DELETE FROM __diesel_schema_migrations WHERE version = \
             (SELECT MAX(version) FROM __diesel_schema_migrations)",
        )
        .unwrap();
    let behind = c.get_raw("/readyz").await;
    assert_eq!(behind.status, 503);
    assert!(
        behind
            .body
            .contains(r#""migrations":"pending: run `site migrate`""#),
        "{}",
        behind.body
    );
    assert_eq!(c.get_raw("/healthz").await.status, 200, "still alive");
}

fn csrf_field(page: &crate::support::Page, action: &str) -> String {
    page.hidden_fields(action)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1
}

#[actix_web::test]
async fn the_csrf_secret_is_masked_in_every_page_set_only_with_a_form_and_renewed_at_login() {
    const PW: &str = "correct horse battery staple";
    let app = TestApp::spawn().await;
    app.customer("mask@example.com", PW);
    let p = app.product("Masked", 5, 100);
    let c = app.client();

    // Nothing with a form, no cookie: static files and probes stay
    // cacheable.
    assert_eq!(c.get_raw("/healthz").await.header("set-cookie"), None);
    let css = c.get_raw("/static/css/shop.css").await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("set-cookie"), None);
    assert_eq!(c.cookie("csrftoken"), None);

    // A page with a form sets it; each page masks it differently.
    let action = format!("/cart/add/{}/", p.id);
    let first = c.get(&format!("/products/{}/", p.id)).await;
    let secret = c
        .cookie("csrftoken")
        .expect("the form's page sets the cookie");
    let second = c.get(&format!("/products/{}/", p.id)).await;
    let (a, b) = (csrf_field(&first, &action), csrf_field(&second, &action));
    assert_ne!(a, b, "a fresh mask per page");
    assert!(!first.body.contains(&secret) && !second.body.contains(&secret));
    for page in [&first, &second] {
        let added = c.submit_raw(page, &action, &[("quantity", "1")]).await;
        assert_eq!(added.status, 303, "{}", added.text());
    }

    // Logging in issues a new secret: a form from before no longer passes.
    let before = c.get(&format!("/products/{}/", p.id)).await;
    c.login("mask@example.com", PW).await;
    let renewed = c.cookie("csrftoken").unwrap();
    assert_ne!(renewed, secret);
    let stale = c.submit_raw(&before, &action, &[("quantity", "1")]).await;
    assert_eq!(stale.status, 403, "{}", stale.text());
    let fresh = c.get(&format!("/products/{}/", p.id)).await;
    assert_eq!(
        c.submit_raw(&fresh, &action, &[("quantity", "1")])
            .await
            .status,
        303
    );
}

#[actix_web::test]
async fn requests_for_a_host_the_shop_does_not_serve_are_refused() {
    let app = TestApp::spawn_with(crate::support::Options {
        allowed_hosts: vec!["shop.example.com".into(), ".example.org".into()],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let get = |host: &'static str| {
        let req = http.get(app.url("/")).header("host", host);
        async move { req.send().await.unwrap() }
    };
    assert_eq!(get("shop.example.com").await.status(), 200);
    assert_eq!(get("shop.example.com:8443").await.status(), 200);
    assert_eq!(get("www.example.org").await.status(), 200);
    let evil = get("evil.example.net").await;
    assert_eq!(evil.status(), 400);
    assert!(evil
        .text()
        .await
        .unwrap()
        .contains("This site does not answer to the host"));
    assert_eq!(get("example.com").await.status(), 400);
}

#[actix_web::test]
async fn metrics_exist_only_with_a_token_and_count_requests_orders_and_revenue() {
    let closed = TestApp::spawn().await;
    assert_eq!(closed.client().get_raw("/metrics").await.status, 404);

    const TOKEN: &str = "s3cret-metrics-token";
    let app = TestApp::spawn_with(crate::support::Options {
        metrics_token: Some(TOKEN.into()),
        ..Default::default()
    })
    .await;
    let lamp = app.product("Metered Lamp", 5, 2500);
    app.order(lamp.id, 1, true).await;
    let c = app.client();
    assert_eq!(c.get(&format!("/products/{}/", lamp.id)).await.status, 200);
    assert_eq!(c.get_raw("/no-such-page/").await.status, 404);

    let scrape = |auth: Option<&'static str>| {
        let req = reqwest::Client::new().get(app.url("/metrics"));
        let req = match auth {
            Some(a) => req.header("authorization", a),
            None => req,
        };
        async move { req.send().await.unwrap() }
    };
    assert_eq!(scrape(None).await.status(), 401);
    assert_eq!(scrape(Some("Bearer guess")).await.status(), 401);
    let ok = scrape(Some("Bearer s3cret-metrics-token")).await;
    assert_eq!(ok.status(), 200);
    let body = ok.text().await.unwrap();
    let has = |needle: &str| body.lines().any(|l| l.contains(needle));
    assert!(
        has(
            r#"shop_http_requests_total{method="GET",route="/products/{id}/{slug}/",status="200"}"#
        ),
        "{body}"
    );
    assert!(has(r#"route="(no route)",status="404""#), "{body}");
    assert!(has("shop_http_request_duration_seconds_bucket{"));
    assert!(has("shop_db_pool_connections "));
    assert!(has("shop_orders_paid 1"), "{body}");
    assert!(
        has(r#"shop_revenue_paid_minor{currency="USD"} 2500"#),
        "{body}"
    );
    assert!(
        has("shop_mail_waiting "),
        "the receipt and the confirmation"
    );
    assert!(has("shop_webhook_events_waiting "));
    assert!(has("shop_jobs_waiting "), "{body}");
    assert!(has("shop_jobs_failed 0"), "{body}");
}

/// The migration that rebuilds the payment tables (SQLite cannot change a
/// CHECK in place) keeps every payment and every row referring to one,
/// both ways: reverted and applied again over a paid order.
#[actix_web::test]
async fn rebuilding_the_payment_tables_keeps_payments_and_their_transactions() {
    use diesel_migrations::MigrationHarness;
    use site_core::db::DbConn;
    use site_core::schema::{payments_payment as p, payments_transaction as t};
    let app = TestApp::spawn().await;
    let lamp = app.product("Lamp", 5, 2500);
    let (order, _) = app.order(lamp.id, 1, true).await;
    let rows = |conn: &mut DbConn| -> (i64, i64) {
        (
            p::table.count().get_result(conn).unwrap(),
            t::table.count().get_result(conn).unwrap(),
        )
    };
    let mut conn = app.conn();
    assert_eq!(rows(&mut conn), (1, 1));
    // Reverted back to before the rebuild (later migrations first).
    let until_rebuild = |v: String| v.contains("000024");
    match &mut *conn {
        DbConn::Sqlite(c) => {
            use site_core::db::SQLITE_MIGRATIONS as M;
            while !until_rebuild(c.revert_last_migration(M).unwrap().to_string()) {}
            c.run_pending_migrations(M).unwrap();
        }
        DbConn::Postgres(c) => {
            use site_core::db::POSTGRES_MIGRATIONS as M;
            while !until_rebuild(c.revert_last_migration(M).unwrap().to_string()) {}
            c.run_pending_migrations(M).unwrap();
        }
    }
    assert_eq!(rows(&mut conn), (1, 1), "nothing lost");
    // The references still hold: deleting the order takes its payment and
    // the payment's transactions with it.
    diesel::delete(site_core::schema::orders_order::table.find(order))
        .execute(&mut *conn)
        .unwrap();
    assert_eq!(rows(&mut conn), (0, 0));
}

/// Servers started together on one database take turns to migrate it
/// and create the permissions the apps declare: one applies every
/// migration, the others find nothing left, none fails.
#[actix_web::test]
async fn servers_starting_at_once_migrate_once() {
    use diesel::migration::MigrationSource;
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = crate::support::fresh_database(dir.path());
    let dbs: Vec<site_core::db::Database> = (0..4)
        .map(|_| site_core::db::Database::open(&url, 1).unwrap())
        .collect();
    let vars = std::collections::HashMap::from([("DATABASE_URL", url.clone())]);
    let config = site_core::Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let apps = site::apps(&config);
    let applied: Vec<Vec<String>> = std::thread::scope(|s| {
        let starts: Vec<_> = dbs
            .iter()
            .map(|db| s.spawn(|| site::migrate(db, &apps)))
            .collect();
        starts
            .into_iter()
            .map(|r| r.join().unwrap().expect("every start succeeds"))
            .collect()
    });
    let all = match pg {
        Some(_) => {
            MigrationSource::<diesel::pg::Pg>::migrations(&site_core::db::POSTGRES_MIGRATIONS)
                .unwrap()
                .len()
        }
        None => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&site_core::db::SQLITE_MIGRATIONS)
                .unwrap()
                .len()
        }
    };
    assert_eq!(applied.iter().map(Vec::len).sum::<usize>(), all);
    assert_eq!(
        applied.iter().filter(|a| !a.is_empty()).count(),
        1,
        "one start migrated, the others found nothing to do"
    );
    drop(dbs);
    crate::support::drop_database(pg);
}

/// The PostgreSQL server's self-signed certificate (Debian's "snakeoil",
/// issued to localhost), which `verify-full` is told to trust.
const SERVER_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// Whether a connection to `url` is encrypted, or why it failed.
fn tls_in_use(url: &str) -> Result<bool, String> {
    use diesel::sql_types::Bool;
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::select(diesel::dsl::sql::<Bool>(
        "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
    ))
    .get_result(&mut conn)
    .map_err(|e| e.to_string())
}

/// PostgreSQL over TLS: `sslmode=require` encrypts the connection;
/// `verify-full` also checks the server's certificate and its name, and
/// refuses a server that is not the one named. The shop's own pool
/// connects the same way. (PostgreSQL only: the SQLite run has no server.)
#[actix_web::test]
async fn postgres_connections_use_tls_when_asked() {
    let Some(base) = crate::support::postgres_url() else {
        return;
    };
    let with = |host: &str, params: &[(&str, &str)]| {
        let mut url = url::Url::parse(&base).unwrap();
        url.set_host(Some(host)).unwrap();
        // Connect to the local server whatever name is checked.
        url.query_pairs_mut().append_pair("hostaddr", "127.0.0.1");
        for (k, v) in params {
            url.query_pairs_mut().append_pair(k, v);
        }
        url.to_string()
    };
    assert_eq!(
        tls_in_use(&with("localhost", &[("sslmode", "disable")])),
        Ok(false)
    );
    let required = with("localhost", &[("sslmode", "require")]);
    assert_eq!(
        tls_in_use(&required),
        Ok(true),
        "the server must offer TLS (ssl = on)"
    );
    let verified = with(
        "localhost",
        &[("sslmode", "verify-full"), ("sslrootcert", SERVER_CERT)],
    );
    assert_eq!(tls_in_use(&verified), Ok(true));
    let impostor = with(
        "db.example.com",
        &[("sslmode", "verify-full"), ("sslrootcert", SERVER_CERT)],
    );
    let refused = tls_in_use(&impostor).unwrap_err();
    assert!(refused.contains("does not match host name"), "{refused}");

    let db = site_core::db::Database::open(&verified, 1).unwrap();
    site_core::db::ping(&mut db.get().unwrap()).unwrap();
}

/// A TCP proxy in front of PostgreSQL that a test can cut and restore, as
/// a database restart does to the shop's connections.
struct Cuttable {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Cuttable {
    fn start(target: std::net::SocketAddr) -> Cuttable {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                // Down: a connection is taken and closed at once.
                if !up2.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                let mut kept = open2.lock().unwrap();
                kept.push(client.try_clone().unwrap());
                kept.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Cuttable { port, up, open }
    }

    /// The database goes away: open connections drop, new ones fail.
    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// PostgreSQL restarting under the shop: while it is away pages answer 503
/// "try again" within seconds (not a hang, not a bare 500), the probes say
/// what is wrong, and once it is back the shop serves again by itself.
#[actix_web::test]
async fn a_database_outage_shows_a_clear_page_and_the_shop_recovers() {
    if crate::support::postgres_url().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (direct, pg) = crate::support::fresh_database(dir.path());
    let mut url = url::Url::parse(&direct).unwrap();
    let target = std::net::ToSocketAddrs::to_socket_addrs(&(
        url.host_str().unwrap().to_string(),
        url.port().unwrap_or(5432),
    ))
    .unwrap()
    .next()
    .unwrap();
    let proxy = Cuttable::start(target);
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.port)).unwrap();
    let app = TestApp::spawn_with(crate::support::Options {
        database_url: Some(url.to_string()),
        ..Default::default()
    })
    .await;
    let lamp = app.product("Lamp", 5, 2500);
    let page = crate::support::product_path(&lamp);
    let c = app.client();
    assert_eq!(c.get_raw(&page).await.status, 200);

    proxy.cut();
    let asked = std::time::Instant::now();
    let down = c.get_raw(&page).await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(
        down.contains("The shop cannot reach a service it needs just now"),
        "{}",
        down.text()
    );
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(15),
        "answered in {:?}",
        asked.elapsed()
    );
    // The pooled connections fail at once, each once; then a request
    // waits for a new one, in vain. Once one has waited, the next are
    // told at once rather than each holding a worker for the full wait.
    let mut waited = false;
    for _ in 0..30 {
        let asked = std::time::Instant::now();
        assert_eq!(c.get_raw(&page).await.status, 503);
        if asked.elapsed() >= std::time::Duration::from_secs(4) {
            waited = true;
            break;
        }
    }
    assert!(waited, "some request waited for a connection");
    for _ in 0..3 {
        let asked = std::time::Instant::now();
        let again = app.client().get_raw(&page).await;
        assert_eq!(again.status, 503, "{}", again.body);
        assert!(
            asked.elapsed() < std::time::Duration::from_secs(2),
            "answered in {:?}",
            asked.elapsed()
        );
    }
    let probe = app.client();
    assert_eq!(probe.get_raw("/healthz").await.status, 200, "alive");
    assert_eq!(probe.get_raw("/readyz").await.status, 503, "not ready");
    // A payment service's webhook gets 503 too (it will retry), not 500:
    // the cause survives the trip through anyhow.
    let event = r#"{"id":"evt_outage","type":"charge.succeeded","reference":"nobody","amount_minor":100,"currency":"USD"}"#;
    let webhook = app.post_signed_webhook(&probe, event).await;
    assert_eq!(webhook.status, 503, "{}", webhook.body);

    proxy.restore();
    c.until_served(&page, std::time::Duration::from_secs(30))
        .await;
    assert_eq!(probe.get_raw("/readyz").await.status, 200);
    drop(app);
    crate::support::drop_database(pg);
}

/// A shop started on a fresh volume has its media folder (uploads and
/// /media need it), rather than each worker logging that it is missing.
#[actix_web::test]
async fn the_shop_makes_its_media_folder_at_start() {
    let app = TestApp::spawn().await;
    assert!(
        app.config.media_root.is_dir(),
        "{} is made at start",
        app.config.media_root.display()
    );
}

/// A list of ids bound as one parameter (`site_core::db::IdList`) picks
/// exactly those rows; on PostgreSQL the planner sees it as one constant
/// array. A cast it cannot fold would be parsed again for every row tested:
/// the variants read for a list's facets took 123 ms instead of 4 at a
/// million products when it was.
#[actix_web::test]
async fn an_id_list_picks_its_rows_and_reaches_the_planner_as_one_constant() {
    use diesel::sql_types::{BigInt, Text};
    use site_core::db::search::Dialect;
    use site_core::db::IdList;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text)]
        line: String,
    }
    let app = TestApp::spawn().await;
    let a = app.product("First", 1, 100);
    app.product("Second", 1, 100);
    let c = app.product("Third", 1, 100);
    let mut conn = app.conn();
    let dialect = Dialect::of(&conn);
    let pick = |conn: &mut site_core::db::DbConn, ids: &[i64]| -> Vec<i64> {
        let list = IdList::new(dialect, 1, ids);
        diesel::sql_query(format!(
            "SELECT id FROM products_product WHERE id {} ORDER BY id",
            list.sql
        ))
        .bind::<Text, _>(list.bound)
        .load::<Id>(conn)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
    };
    assert_eq!(pick(&mut conn, &[c.id, a.id]), [a.id, c.id]);
    assert!(pick(&mut conn, &[]).is_empty());

    if dialect == Dialect::Postgres {
        diesel::sql_query(
            "CREATE FUNCTION pg_temp.plan_of(q text, arg text) RETURNS SETOF text \
             LANGUAGE plpgsql AS $$ DECLARE line text; BEGIN \
             FOR line IN EXECUTE 'EXPLAIN ' || q USING arg LOOP RETURN NEXT line; END LOOP; \
             END $$",
        )
        .execute(&mut *conn)
        .unwrap();
        let list = IdList::new(dialect, 1, &[a.id, c.id]);
        let plan: Vec<String> =
            diesel::sql_query("SELECT line FROM pg_temp.plan_of($1, $2) AS line")
                .bind::<Text, _>(format!(
                    "SELECT id FROM products_product WHERE stock >= 0 AND id {}",
                    list.sql
                ))
                .bind::<Text, _>(list.bound)
                .load::<Line>(&mut *conn)
                .unwrap()
                .into_iter()
                .map(|l| l.line)
                .collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains(&format!("ANY ('{{{},{}}}'::bigint[])", a.id, c.id)),
            "{plan}"
        );
    }
}

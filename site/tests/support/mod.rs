//! The harness every integration test uses: the real shop on port 0 with a
//! fresh database (a temp SQLite file, or a fresh PostgreSQL schema when
//! `TEST_DATABASE_URL` is set), and a client that keeps cookies and submits
//! forms with their hidden fields (CSRF token included), as a browser does.
#![allow(dead_code)]

pub mod html;

use std::collections::HashMap;
use std::net::TcpListener;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use site::Shop;
use site_core::db::{Database, PooledConn};
use site_core::mail::{Mailer, SentMail};
use site_core::Config;

pub use html::Page;

/// What a test may change about the shop it spawns.
#[derive(Default)]
pub struct Options {
    /// The demo gateway behind a `Flaky` wrapper (`TestApp::flaky`).
    pub flaky: bool,
    /// The demo gateway posts webhooks only when a test asks
    /// (`TestApp::deliver_webhooks`), not as soon as a card is paid.
    pub hold_webhooks: bool,
    /// Shoppers may pay in cash on delivery (`SHOP_CASH_ON_DELIVERY=1`).
    pub cash_on_delivery: bool,
    /// `SHOP_ALLOWED_HOSTS` (empty: any).
    pub allowed_hosts: Vec<String>,
    /// `SHOP_METRICS_TOKEN` (none: no `/metrics`).
    pub metrics_token: Option<String>,
    /// As if served behind HTTPS (`SHOP_HTTPS=1`).
    pub https: bool,
    pub catalogue_cache_seconds: u64,
    /// Staff must use two-factor authentication (`SHOP_STAFF_2FA=1`).
    pub staff_2fa: bool,
    /// Prices include tax (`SHOP_PRICES_INCLUDE_TAX=1`).
    pub prices_include_tax: bool,
    /// Tax rounded once per order (`SHOP_TAX_ROUNDING=order`).
    pub tax_per_order: bool,
    /// Cards are authorized at checkout, captured by staff
    /// (`SHOP_CAPTURE=shipping`).
    pub capture_at_shipping: bool,
    /// A public demo (`SHOP_DEMO=1`).
    pub demo: bool,
    /// Sessions in Redis (`REDIS_URL`, from `TEST_REDIS_URL`).
    pub redis: Option<String>,
    /// `REDIS_KEY_PREFIX` (default: one of the test's own, so tests
    /// sharing a Redis keep apart; shops sharing one give the same).
    pub redis_prefix: Option<String>,
    /// This database instead of a fresh one (the test made it, and drops
    /// it).
    pub database_url: Option<String>,
}

pub struct TestApp {
    pub base: String,
    pub db: Database,
    pub config: Config,
    mail: SentMail,
    pub mailer: Mailer,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
    pg_schema: Option<(String, String)>,
    pub gateway: std::sync::Arc<payments::DemoGateway>,
    renderer: std::sync::Arc<site_core::templates::Renderer>,
    /// The provider's failures to inject, with `Options::flaky`.
    pub flaky: Option<std::sync::Arc<Flaky>>,
}

/// A product page's path (its id, then its slug).
pub fn product_path(p: &products::Product) -> String {
    format!("/products/{}/{}/", p.id, p.slug)
}

/// A port free on loopback now (for a server a test starts itself).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind port 0")
        .local_addr()
        .expect("its address")
        .port()
}

/// The Redis server for the tests that need one: `TEST_REDIS_URL`. Unset,
/// they pass without running unless `SHOP_REQUIRE_REDIS=1` (as `.ci/run`
/// sets), which makes a missing one fail them.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var_os("SHOP_REQUIRE_REDIS").is_some() {
        panic!("SHOP_REQUIRE_REDIS is set but TEST_REDIS_URL is not");
    }
    url
}

/// The PostgreSQL server to test against, if any. When `.ci/run` sets it,
/// an unreachable server fails the tests rather than skipping them.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A test's own connection URL: its schema first on the search path, and
/// without TLS unless the URL asks for it. The test process exits while
/// its server's threads still hold pooled connections; with TLS, OpenSSL's
/// cleanup at exit then races them and the process dies (SIGABRT or
/// SIGSEGV after its test passed: 1 run in 4 of 33 tests, 0 in 4 without
/// TLS). The TLS test asks for it itself.
fn with_options(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let tls = if url.contains("sslmode=") {
        ""
    } else {
        "&sslmode=disable"
    };
    format!("{url}{sep}options=-c%20search_path%3D{schema}{tls}")
}

/// An empty database for one test: a SQLite file in `dir`, or a fresh
/// schema on `TEST_DATABASE_URL` (returned, to drop afterwards).
pub fn fresh_database(dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match postgres_url() {
        Some(base) => {
            let schema = format!("test_{}", site_core::random_token(12).to_lowercase());
            let mut admin = diesel::PgConnection::establish(&base)
                .unwrap_or_else(|e| panic!("TEST_DATABASE_URL={base} is set but unreachable: {e}"));
            admin
                .batch_execute(&format!("CREATE SCHEMA {schema}"))
                .expect("create test schema");
            (with_options(&base, &schema), Some((base, schema)))
        }
        None => (format!("sqlite://{}/shop.sqlite3", dir.display()), None),
    }
}

/// Drops what `fresh_database` made on PostgreSQL.
pub fn drop_database(pg: Option<(String, String)>) {
    if let Some((base, schema)) = pg {
        if let Ok(mut c) = diesel::PgConnection::establish(&base) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Checkout needs a way to deliver: free, everywhere, so totals are the
/// lines' sum unless a test adds priced methods.
fn default_shipping(db: &Database, currency: site_core::Currency) {
    orders::shipping::create(
        &mut db.get().expect("a connection"),
        &orders::shipping::NewMethod {
            name: "Standard delivery",
            description: "",
            kind: orders::shipping::ShippingKind::Flat,
            price: site_core::Money::zero(currency),
            free_over: None,
            countries: "",
            position: 100,
        },
        &[],
    )
    .expect("the default shipping method");
}

/// A product with exactly this stock and price, in a fresh category.
pub fn new_product(db: &Database, name: &str, stock: i64, price_minor: i64) -> products::Product {
    use products::models::{Category, NewCategory, NewProduct};
    let mut conn = db.get().expect("a connection");
    let slug = site_core::forms::Slug::from_name(name);
    // A category named apart from the product, so text searches for the
    // product do not also find the sidebar.
    let aisle = site_core::random_token(8).to_lowercase();
    let now = site_core::now();
    let category = Category::insert(
        &mut conn,
        &NewCategory {
            name: &format!("Aisle {aisle}"),
            slug: &format!("aisle-{aisle}"),
            description: "",
            parent_id: None,
            created_at: now,
        },
    )
    .expect("category");
    products::Product::insert(
        &mut conn,
        &NewProduct {
            category_id: category.id,
            name,
            slug: slug.as_str(),
            sku: &format!("SKU-{}", slug.as_str()),
            description: "A *test* product.",
            price_minor,
            currency: "USD",
            stock,
            is_active: true,
            image: "",
            created_at: now,
            updated_at: now,
            weight_grams: 500,
            search_terms: "",
        },
    )
    .expect("product")
}

/// A migrated, empty shop made sellable: a delivery method and one
/// product (10 in stock, $25.00), whose id is returned.
pub fn stock_shop(db: &Database) -> i64 {
    default_shipping(db, site_core::Currency::Usd);
    new_product(db, "Lamp", 10, 2500).id
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Options::default()).await
    }

    /// The shop whose payment service fails when a test says (`flaky`).
    pub async fn spawn_flaky() -> TestApp {
        TestApp::spawn_with(Options {
            flaky: true,
            ..Options::default()
        })
        .await
    }

    pub async fn spawn_with(options: Options) -> TestApp {
        let Options {
            flaky,
            hold_webhooks,
            cash_on_delivery,
            allowed_hosts,
            metrics_token,
            https,
            catalogue_cache_seconds,
            staff_2fa,
            prices_include_tax,
            tax_per_order,
            capture_at_shipping,
            demo,
            redis,
            redis_prefix,
            database_url: given_database,
        } = options;
        if std::env::var_os("TEST_LOG").is_some() {
            // TEST_LOG=1 shows the server's log (errors behind a 500 page).
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
                .with_test_writer()
                .try_init();
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg_schema) = match given_database {
            Some(url) => (url, None),
            None => fresh_database(dir.path()),
        };
        let vars: HashMap<&str, String> = HashMap::from([
            ("DATABASE_URL", database_url),
            ("SHOP_VAR_DIR", dir.path().display().to_string()),
            ("SHOP_BIND", "127.0.0.1:0".to_string()),
            ("SECRET_KEY", site_core::random_token(64)),
            // Off unless a test asks: tests change the catalogue and look at
            // it at once, and count queries.
            (
                "SHOP_CATALOGUE_CACHE_SECONDS",
                catalogue_cache_seconds.to_string(),
            ),
        ]);
        let mut config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config");
        config.https = https;
        config.staff_2fa = staff_2fa;
        config.prices_include_tax = prices_include_tax;
        config.cash_on_delivery = cash_on_delivery;
        config.demo = demo;
        config.redis_url = redis;
        config.redis_prefix = redis_prefix
            .unwrap_or_else(|| format!("test-{}:", site_core::random_token(10).to_lowercase()));
        if capture_at_shipping {
            config.capture = site_core::config::Capture::AtShipping;
        }
        config.allowed_hosts = allowed_hosts;
        config.metrics_token = metrics_token;
        // The shop offers bank transfer when it names an account.
        config.bank_account = "Demo Shop Ltd · IBAN GB33 BUKB 2020 1555 5555 55".into();
        if tax_per_order {
            config.tax_rounding = site_core::config::TaxRounding::PerOrder;
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        config.site_url = format!("http://{addr}");
        let (mailer, mail) = Mailer::memory("Demo Shop <shop@example.com>");
        let mut shop = Shop::open(config.clone(), mailer.clone())
            .unwrap_or_else(|e| panic!("open the shop: {e:#}"));
        let db = shop.db.clone();
        let renderer = shop.renderer.clone();
        default_shipping(&db, config.currency);
        let gateway = std::sync::Arc::new(payments::DemoGateway {
            notify_at_once: !hold_webhooks,
            ..payments::DemoGateway::new(
                db.clone(),
                &config.site_url,
                config.secret_key.as_deref().expect("a test secret"),
            )
        });
        shop.demo_gateway = gateway.clone();
        shop.payment_provider = gateway.clone();
        let flaky = flaky.then(|| {
            let f = std::sync::Arc::new(Flaky::new(gateway.clone()));
            shop.payment_provider = f.clone();
            f
        });
        shop.connect_redis().await.expect("Redis (TEST_REDIS_URL)");
        let server = shop.server(listener).expect("server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestApp {
            base: format!("http://{addr}"),
            db,
            config,
            mail,
            mailer,
            handle,
            _dir: dir,
            pg_schema,
            gateway,
            flaky,
            renderer,
        }
    }

    /// Posts the demo gateway's due webhooks to the shop (as its delivery
    /// job does); how many the shop accepted.
    pub async fn deliver_webhooks(&self) -> usize {
        let gateway = self.gateway.clone();
        actix_web::web::block(move || gateway.deliver_now())
            .await
            .unwrap()
            .expect("webhook delivery")
    }

    /// The key the demo gateway signs its webhooks with.
    pub fn webhook_key(&self) -> Vec<u8> {
        payments::gateway::webhook_key(self.config.secret_key.as_deref().expect("a test secret"))
    }

    /// Posts `body` to the demo gateway's webhook endpoint through `c`,
    /// signed now as the gateway signs it.
    pub async fn post_signed_webhook(&self, c: &Client, body: &str) -> Page {
        let signature = payments::gateway::sign(
            &self.webhook_key(),
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        c.post_body(
            "/payments/webhooks/demo-pay/",
            body,
            &[
                ("content-type", "application/json"),
                (payments::gateway::SIGNATURE_HEADER, &signature),
            ],
        )
        .await
    }

    /// What the apps' jobs get.
    pub fn job_env(&self) -> site_core::app::JobEnv {
        site_core::app::JobEnv {
            db: self.db.clone(),
            mailer: self.mailer.clone(),
            config: self.config.clone(),
            renderer: self.renderer.clone(),
            secret: self
                .config
                .secret_key
                .as_deref()
                .expect("a test secret")
                .into(),
        }
    }

    /// Runs the queued jobs of `kinds` (every kind when `None`) due at
    /// `now`, as a worker would (the test server runs none); what ran.
    pub async fn run_jobs_at(
        &self,
        kinds: Option<&[&'static str]>,
        now: chrono::NaiveDateTime,
    ) -> Vec<site_core::jobs::Ran> {
        let env = self.job_env();
        let apps = site::apps(&self.config);
        let kinds = kinds.map(<[_]>::to_vec);
        actix_web::web::block(move || {
            let runner = site::jobs::runner(&apps);
            runner.run_due(&env, kinds.as_deref(), now)
        })
        .await
        .unwrap()
        .expect("running jobs")
    }

    /// Processes stored webhook events left unprocessed (as the job does);
    /// how many jobs ran.
    pub async fn process_webhooks(&self) -> usize {
        self.run_jobs_at(
            Some(&[payments::webhooks::PROCESS_WEBHOOK]),
            site_core::now(),
        )
        .await
        .len()
    }

    pub fn backend(&self) -> &'static str {
        self.db.backend.name()
    }

    pub fn conn(&self) -> PooledConn {
        self.db.get().expect("a database connection")
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Statements run against the database so far.
    pub fn query_count(&self) -> u64 {
        self.db.query_count()
    }

    pub fn seed(&self, products: usize, categories: usize) {
        let opts = products::demo::SeedOptions {
            categories,
            products,
            media_root: self.config.media_root.clone(),
            currency: self.config.currency,
        };
        products::demo::seed(&mut self.conn(), &opts, &|_| {}).expect("seed");
    }

    /// A product with exactly this stock and price, in a fresh category.
    pub fn product(&self, name: &str, stock: i64, price_minor: i64) -> products::Product {
        new_product(&self.db, name, stock, price_minor)
    }

    /// Gives `parent` a product type named `kind` with `attributes` and
    /// these variants: (options "42 / Black", SKU, price, stock). Returns
    /// the variants' ids in the order given.
    pub fn variants(
        &self,
        parent: &products::Product,
        kind: &str,
        attributes: &[&str],
        rows: &[(&str, &str, i64, i64)],
    ) -> Vec<i64> {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        use products::variants;
        use site_core::schema::products_product as p;
        let mut conn = self.conn();
        let conn = &mut *conn;
        let kind = variants::create_type(conn, kind, attributes).expect("a product type");
        diesel::update(p::table.find(parent.id))
            .set(p::product_type_id.eq(kind))
            .execute(conn)
            .expect("typed");
        let parent = products::Product::find(conn, parent.id).expect("the parent");
        let attributes = variants::attributes(conn, kind).expect("attributes");
        let ids = rows
            .iter()
            .map(|(options, sku, price_minor, stock)| {
                let values = variants::parse_options(options, &attributes).expect("options");
                let new = variants::NewVariant {
                    sku,
                    price_minor: *price_minor,
                    stock: *stock,
                    is_active: true,
                    values: &values,
                };
                variants::create(conn, &parent, &attributes, &new).expect("a variant")
            })
            .collect();
        products::models::refresh_parents(conn, &[parent.id]).expect("totals");
        // As the admin does: the values become search words.
        products::search::refresh_terms(conn, products::search::Scope::Products(&[parent.id]))
            .expect("search terms");
        ids
    }

    /// A guest order (ada@example.com) of `qty` of `product`, paid with
    /// the demo card when `pay`; its id and public id.
    pub async fn order(&self, product: i64, qty: i64, pay: bool) -> (i64, String) {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        use site_core::schema::orders_order as o;
        let c = self.client();
        c.add_to_cart(product, qty).await;
        let page = c.checkout("ada@example.com").await;
        let public_id = order_public_id(&page);
        if pay {
            c.pay_by_card(&public_id, "4242424242424242").await;
        }
        let id = o::table
            .filter(o::public_id.eq(&public_id))
            .select(o::id)
            .first(&mut *self.conn())
            .expect("the order");
        (id, public_id)
    }

    /// A user with this email and password (verified; staff if asked).
    pub fn user(&self, email: &str, password: &str, staff: bool) -> accounts::User {
        let email = site_core::forms::Email::parse(email).expect("test email");
        accounts::User::create(
            &mut self.conn(),
            &accounts::NewUser {
                email: &email,
                password,
                first_name: "",
                last_name: "",
                is_staff: staff,
                is_superuser: staff,
                email_verified: true,
            },
        )
        .expect("create user")
    }

    /// Staff (not a superuser) holding exactly `perms` (`app.action_model`).
    /// A superuser, boss@example.com, logged in.
    pub async fn boss(&self, password: &str) -> Client {
        self.user("boss@example.com", password, true);
        let c = self.client();
        c.login("boss@example.com", password).await;
        c
    }

    pub fn staff_member(&self, email: &str, password: &str, perms: &[&str]) -> accounts::User {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        let user = self.user(email, password, false);
        let mut conn = self.conn();
        diesel::update(site_core::schema::accounts_user::table.find(user.id))
            .set(site_core::schema::accounts_user::is_staff.eq(true))
            .execute(&mut *conn)
            .expect("make staff");
        for p in perms {
            accounts::permissions::grant_user(&mut conn, user.id, p).expect("grant");
        }
        user
    }

    /// A verified customer.
    pub fn customer(&self, email: &str, password: &str) -> accounts::User {
        self.user(email, password, false)
    }

    /// Rows in `core_outbox` with this status.
    pub fn outbox(
        &self,
        status: site_core::mail::outbox::Status,
    ) -> Vec<site_core::mail::outbox::OutboxMessage> {
        site_core::mail::outbox::list(&mut self.conn(), status, 1000).expect("outbox")
    }

    /// How many payments were recorded.
    pub fn payments(&self) -> i64 {
        use diesel::{QueryDsl, RunQueryDsl};
        site_core::schema::payments_payment::table
            .count()
            .get_result(&mut *self.conn())
            .expect("count payments")
    }

    pub fn stock(&self, product_id: i64) -> i64 {
        products::Product::find(&mut self.conn(), product_id)
            .expect("product")
            .stock
    }

    /// Runs the mail worker once (the test server runs no background jobs).
    pub fn deliver_mail(&self) -> site_core::mail::outbox::Delivery {
        site_core::mail::outbox::deliver_due(&self.db, &self.mailer, site_core::now())
            .expect("mail delivery")
    }

    /// Every message sent so far (after delivering what is queued), parsed.
    pub fn sent_mail(&self) -> Vec<Mail> {
        self.deliver_mail();
        self.mail
            .lock()
            .unwrap()
            .iter()
            .map(|raw| {
                let m = mail_parser::MessageParser::default()
                    .parse(raw)
                    .expect("a parseable message");
                Mail {
                    to: m
                        .to()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .unwrap_or_default()
                        .to_string(),
                    subject: m.subject().unwrap_or_default().to_string(),
                    text: m.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                    html: m.body_html(0).map(|t| t.to_string()).unwrap_or_default(),
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The path of the first link in the text part on this site that
    /// starts with `prefix` (e.g. "/accounts/verify/").
    pub fn link(&self, prefix: &str) -> String {
        self.text
            .split_whitespace()
            .filter_map(|w| w.find(prefix).map(|i| w[i..].to_string()))
            .next()
            .unwrap_or_else(|| panic!("no {prefix} link in:\n{}", self.text))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Never panic here: a panic while a failed test unwinds aborts the
        // process (SIGABRT) and hides the assertion that failed.
        if tokio::runtime::Handle::try_current().is_ok() {
            let handle = self.handle.clone();
            actix_web::rt::spawn(async move { handle.stop(false).await });
        }
        drop_database(self.pg_schema.take());
    }
}

/// A browser-like client: keeps cookies, follows redirects when asked, and
/// submits forms with the hidden fields the page put in them.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            // Never reuse a connection the server may be closing: actix
            // drops idle ones after 5 s, and a request sent on one just
            // then dies unanswered (IncompleteMessage). Under load (500
            // racing shoppers on a busy CI machine) a shopper's next step
            // can come that late.
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("http client");
        Client {
            http,
            base: base.to_string(),
            jar,
        }
    }

    /// The same browser (cookies and all) talking to another server of
    /// the shop, at `base`.
    pub fn at(&self, base: &str) -> Client {
        Client {
            http: self.http.clone(),
            base: base.to_string(),
            jar: self.jar.clone(),
        }
    }

    /// The value of the cookie `name` this browser holds for the shop.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().expect("base URL");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    fn abs(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// GET without following redirects.
    pub async fn get_raw(&self, path: &str) -> Page {
        Page::from(self.http.get(self.abs(path)).send().await.expect("GET")).await
    }

    /// GET, following redirects like a browser.
    pub async fn get(&self, path: &str) -> Page {
        self.follow(self.get_raw(path).await).await
    }

    /// POST these exact fields (no CSRF token added), without following.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Page::from(
            self.http
                .post(self.abs(path))
                .form(fields)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn post_with_headers(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self.http.post(self.abs(path)).form(fields);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Page::from(req.send().await.expect("POST")).await
    }

    /// POST a raw body with these headers (no CSRF token), not followed.
    pub async fn post_body(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.http.post(self.abs(path)).body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Page::from(req.send().await.expect("POST")).await
    }

    pub async fn follow(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            match page.location() {
                Some(loc) if (300..400).contains(&page.status) => page = self.get_raw(&loc).await,
                _ => return page,
            }
        }
        panic!("too many redirects");
    }

    /// Submits the form on `page` whose action is `action`: its hidden
    /// fields plus `fields`, without following the redirect.
    pub async fn submit_raw(&self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(String, String)> = page.hidden_fields(action).unwrap_or_else(|| {
            panic!(
                "no form with action {action} on {}:\n{}",
                page.url, page.body
            )
        });
        for (k, v) in fields {
            all.retain(|(name, _)| name != k);
            all.push((k.to_string(), v.to_string()));
        }
        Page::from(
            self.http
                .post(self.abs(action))
                .form(&all)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Submits the form on `page` whose action is `action` with its hidden
    /// fields plus `pairs`, whose names may repeat (ticked boxes); hidden
    /// fields named in `pairs` are replaced. Does not follow the redirect.
    pub async fn submit_multi(&self, page: &Page, action: &str, pairs: &[(&str, &str)]) -> Page {
        let mut all: Vec<(String, String)> = page.hidden_fields(action).unwrap_or_else(|| {
            panic!(
                "no form with action {action} on {}:\n{}",
                page.url, page.body
            )
        });
        all.retain(|(name, _)| !pairs.iter().any(|(k, _)| k == name));
        all.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Page::from(
            self.http
                .post(self.abs(action))
                .form(&all)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Submits a form and follows where it leads.
    pub async fn submit(&self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
        let first = self.submit_raw(page, action, fields).await;
        self.follow(first).await
    }

    /// The path of a page's URL on this client's server.
    pub fn path_of(&self, url: &str) -> String {
        url.strip_prefix(&self.base).unwrap_or(url).to_string()
    }

    /// Opens the order's payment page and follows its button to Demo Pay,
    /// the demo gateway's hosted page (returned).
    pub async fn open_gateway(&self, public_id: &str) -> Page {
        let url = format!("/payments/{public_id}/");
        let pay = self.get(&url).await;
        let sent = self.submit_raw(&pay, &url, &[]).await;
        assert_eq!(sent.status, 303, "to the gateway: {}", sent.text());
        let gateway = self.get(&sent.location().expect("a redirect")).await;
        assert!(
            gateway.url.contains("/demo-pay/"),
            "the gateway's page: {}",
            gateway.url
        );
        gateway
    }

    /// Submits a card on the gateway page; its answer, not followed (a
    /// redirect back to the shop, or the page again with an error).
    pub async fn gateway_pay_raw(&self, gateway: &Page, number: &str) -> Page {
        let action = self.path_of(&gateway.url);
        self.submit_raw(gateway, &action, &card_fields(number))
            .await
    }

    /// Pays the order by card on the gateway and follows back to the shop.
    pub async fn pay_by_card(&self, public_id: &str, number: &str) -> Page {
        let gateway = self.open_gateway(public_id).await;
        let answer = self.gateway_pay_raw(&gateway, number).await;
        self.follow(answer).await
    }

    /// Opens a product page and adds `quantity` of it to the cart.
    pub async fn add_to_cart(&self, product_id: i64, quantity: i64) -> Page {
        let page = self.get(&format!("/products/{product_id}/")).await;
        assert_eq!(page.status, 200, "product page: {}", page.body);
        self.submit(
            &page,
            &format!("/cart/add/{product_id}/"),
            &[("quantity", &quantity.to_string())],
        )
        .await
    }

    /// Opens a product's page, picks variant `variant` and adds `quantity`
    /// of it to the cart.
    pub async fn add_variant(
        &self,
        product: &products::Product,
        variant: i64,
        quantity: i64,
    ) -> Page {
        let page = self.get(&product_path(product)).await;
        self.submit(
            &page,
            &format!("/cart/add/{}/", product.id),
            &[
                ("quantity", &quantity.to_string()),
                ("variant", &variant.to_string()),
            ],
        )
        .await
    }

    /// Uploads `bytes` as file field `field` (named `filename`) through
    /// the multipart form on `page` whose action is `action`.
    pub async fn upload(
        &self,
        page: &Page,
        action: &str,
        field: &str,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Page {
        let hidden = page
            .hidden_fields(action)
            .unwrap_or_else(|| panic!("no form with action {action} on {}", page.url));
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in hidden {
            form = form.text(k, v);
        }
        form = form.part(
            field.to_string(),
            reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
        );
        let first = Page::from(
            self.http
                .post(self.abs(action))
                .multipart(form)
                .send()
                .await
                .expect("POST multipart"),
        )
        .await;
        self.follow(first).await
    }

    /// Submits the multipart form on `page` whose action is `action`: its
    /// hidden fields, `fields` (names may repeat) and `files` (field, file
    /// name, bytes). Does not follow the redirect.
    pub async fn submit_multipart(
        &self,
        page: &Page,
        action: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Page {
        let mut hidden = page
            .hidden_fields(action)
            .unwrap_or_else(|| panic!("no form with action {action} on {}", page.url));
        hidden.retain(|(name, _)| !fields.iter().any(|(k, _)| k == name));
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in hidden {
            form = form.text(k, v);
        }
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (field, name, bytes) in files {
            form = form.part(
                field.to_string(),
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
            );
        }
        Page::from(
            self.http
                .post(self.abs(action))
                .multipart(form)
                .send()
                .await
                .expect("POST multipart"),
        )
        .await
    }

    /// Opens an emailed verification link and presses its confirm button
    /// (the GET alone changes nothing); a refused link's page otherwise.
    pub async fn confirm_email(&self, link: &str) -> Page {
        let page = self.get(link).await;
        if page.status != 200 {
            return page;
        }
        self.submit(&page, link, &[]).await
    }

    /// Logs in through the form; returns the page it leads to.
    pub async fn login(&self, email: &str, password: &str) -> Page {
        let form = self.get("/accounts/login/").await;
        self.submit(
            &form,
            "/accounts/login/",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Changes the signed-in user's password on the password page; the
    /// page it leads to.
    pub async fn change_password(&self, current: &str, new: &str) -> Page {
        let form = self.get("/accounts/password/").await;
        self.submit(
            &form,
            "/accounts/password/",
            &[
                ("current_password", current),
                ("password1", new),
                ("password2", new),
            ],
        )
        .await
    }

    /// Sends the contact form (as Grace, grace@example.com); the page it
    /// leads to.
    pub async fn send_contact(&self, subject: &str, message: &str) -> Page {
        let form = self.get("/contact/").await;
        self.submit(
            &form,
            "/contact/",
            &[
                ("name", "Grace"),
                ("email", "grace@example.com"),
                ("subject", subject),
                ("message", message),
            ],
        )
        .await
    }

    /// Asks for `path` until it answers 200 (a service came back), failing
    /// after `within`.
    pub async fn until_served(&self, path: &str, within: std::time::Duration) {
        let started = std::time::Instant::now();
        loop {
            let page = self.get_raw(path).await;
            if page.status == 200 {
                return;
            }
            assert!(
                started.elapsed() < within,
                "{path} still answers {} after {within:?}",
                page.status
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Whether this client's session has ended: its profile page sends it
    /// to log in.
    pub async fn signed_out(&self) -> bool {
        let page = self.get_raw("/accounts/profile/").await;
        page.status == 303
            && page
                .location()
                .is_some_and(|l| l.starts_with("/accounts/login/"))
    }

    /// Logs out through the nav's form.
    pub async fn logout(&self) -> Page {
        let page = self.get("/").await;
        self.submit(&page, "/accounts/logout/", &[]).await
    }

    /// Goes through checkout's address and delivery steps (the method
    /// preselected, the first offered); returns the review page.
    pub async fn checkout_to_review(&self, email: &str) -> Page {
        self.checkout_to_review_with(&checkout_fields(email), None)
            .await
    }

    /// The address and delivery steps with these address fields and
    /// method (the first offered when `None`); returns the review page.
    pub async fn checkout_to_review_with(
        &self,
        address: &[(&str, &str)],
        method: Option<i64>,
    ) -> Page {
        let form = self.get("/orders/checkout/").await;
        assert_eq!(form.status, 200, "checkout form: {}", form.body);
        let shipping = self.submit(&form, "/orders/checkout/", address).await;
        assert!(
            shipping.url.ends_with("/orders/checkout/shipping/"),
            "the address step leads to delivery, got {}: {}",
            shipping.url,
            shipping.body
        );
        let picked = match method {
            Some(id) => id.to_string(),
            None => shipping
                .input_values("shipping_method")
                .into_iter()
                .next()
                .expect("a delivery option is offered"),
        };
        let review = self
            .submit(
                &shipping,
                "/orders/checkout/shipping/",
                &[("shipping_method", &picked)],
            )
            .await;
        assert!(
            review.url.ends_with("/orders/checkout/review/"),
            "the delivery step leads to the review, got {}: {}",
            review.url,
            review.body
        );
        review
    }

    /// Goes through checkout and places the order to be paid by bank
    /// transfer; returns the order page.
    pub async fn checkout_by_bank_transfer(&self, email: &str) -> Page {
        let review = self.checkout_to_review(email).await;
        self.submit(
            &review,
            "/orders/checkout/review/",
            &[("payment_method", "bank_transfer")],
        )
        .await
    }

    /// Goes through checkout and places the order; returns where it leads.
    pub async fn checkout(&self, email: &str) -> Page {
        let review = self.checkout_to_review(email).await;
        self.submit(&review, "/orders/checkout/review/", &[]).await
    }
}

/// The payment form's fields for a card number (any future expiry, any CVC).
pub fn card_fields(number: &str) -> Vec<(&str, &str)> {
    vec![
        ("holder", "Ada Lovelace"),
        ("card_number", number),
        ("expiry", "12/39"),
        ("cvc", "123"),
    ]
}

pub fn checkout_fields(email: &str) -> Vec<(&str, &str)> {
    vec![
        ("email", email),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("address", "12 St James's Square"),
        ("postal_code", "SW1Y 4JH"),
        ("city", "London"),
        ("country", "United Kingdom"),
    ]
}

/// The public id in an order page's URL.
pub fn order_public_id(page: &Page) -> String {
    let id = page
        .url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(id.len(), 32, "expected an order URL, got {}", page.url);
    id
}

/// The demo gateway with failures a test switches on: each counter is how
/// many of the next calls fail.
pub struct Flaky {
    pub inner: std::sync::Arc<payments::DemoGateway>,
    /// `begin` fails before reaching the gateway.
    pub begin_fails: std::sync::atomic::AtomicUsize,
    /// `lookup` times out.
    pub lookup_fails: std::sync::atomic::AtomicUsize,
    /// `refund` is made, then its answer is lost.
    pub refund_answers_lost: std::sync::atomic::AtomicUsize,
    /// `capture` is made, then its answer is lost.
    pub capture_answers_lost: std::sync::atomic::AtomicUsize,
}

fn take(counter: &std::sync::atomic::AtomicUsize) -> bool {
    use std::sync::atomic::Ordering::SeqCst;
    counter
        .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Flaky {
    fn new(inner: std::sync::Arc<payments::DemoGateway>) -> Flaky {
        Flaky {
            inner,
            begin_fails: Default::default(),
            lookup_fails: Default::default(),
            refund_answers_lost: Default::default(),
            capture_answers_lost: Default::default(),
        }
    }

    pub fn fail(counter: &std::sync::atomic::AtomicUsize, times: usize) {
        counter.store(times, std::sync::atomic::Ordering::SeqCst);
    }
}

impl payments::PaymentProvider for Flaky {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn begin(
        &self,
        request: &payments::BeginRequest<'_>,
    ) -> Result<String, payments::ProviderError> {
        if take(&self.begin_fails) {
            return Err(payments::ProviderError("connection refused".into()));
        }
        self.inner.begin(request)
    }

    fn lookup(&self, reference: &str) -> Result<payments::Lookup, payments::ProviderError> {
        if take(&self.lookup_fails) {
            return Err(payments::ProviderError("timed out".into()));
        }
        self.inner.lookup(reference)
    }

    fn refund(
        &self,
        request: &payments::RefundRequest<'_>,
    ) -> Result<payments::RefundOutcome, payments::ProviderError> {
        let outcome = self.inner.refund(request)?;
        if take(&self.refund_answers_lost) {
            return Err(payments::ProviderError(
                "timed out reading the answer".into(),
            ));
        }
        Ok(outcome)
    }

    fn capture(
        &self,
        charge_reference: &str,
        amount: site_core::Money,
    ) -> Result<payments::Answer, payments::ProviderError> {
        let answer = self.inner.capture(charge_reference, amount)?;
        if take(&self.capture_answers_lost) {
            return Err(payments::ProviderError(
                "timed out reading the answer".into(),
            ));
        }
        Ok(answer)
    }

    fn void(&self, charge_reference: &str) -> Result<payments::Answer, payments::ProviderError> {
        self.inner.void(charge_reference)
    }

    fn verify_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<payments::WebhookEvent, payments::WebhookError> {
        self.inner.verify_webhook(signature, body)
    }
}

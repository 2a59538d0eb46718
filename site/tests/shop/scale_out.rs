//! Two app servers (`serve --no-jobs`) and a worker on one PostgreSQL and
//! one Redis, behind Debian's nginx on loopback, as an operator runs them:
//! a login on one server counts on the other, so does a cart, the login
//! throttle counts failures on both, each email is sent once (by the
//! worker), and shoppers racing through both never oversell. Runs where
//! PostgreSQL, Redis and nginx are at hand (`.ci/run` requires it).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use futures_util::future::join_all;

use crate::support::{Client, Page};

const PW: &str = "correct horse battery staple";

/// Processes stopped when the test ends, however it ends.
struct Running(Vec<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        // SIGTERM: nginx's master stops its workers (SIGKILL would orphan
        // them), the shop's servers finish what they are doing.
        for child in &self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for child in &mut self.0 {
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn nginx() -> Option<&'static str> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if found.is_none() && std::env::var_os("SHOP_REQUIRE_NGINX").is_some() {
        panic!("SHOP_REQUIRE_NGINX is set but nginx is not installed");
    }
    found
}

/// `site <args>` with the shared settings, its own var dir.
fn site(env: &[(&str, String)], var_dir: &Path, args: &[&str]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_site"));
    cmd.args(args)
        .env("SHOP_VAR_DIR", var_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start site")
}

fn nginx_conf(dir: &Path, port: u16, upstreams: &[u16]) -> String {
    let servers: String = upstreams
        .iter()
        .map(|p| format!("server 127.0.0.1:{p}; "))
        .collect();
    let d = dir.display();
    format!(
        "worker_processes 1; pid {d}/nginx.pid; error_log stderr warn; daemon off;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  upstream shop {{ {servers} }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://shop;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"
    )
}

/// Waits until `base` answers `/readyz` with 200.
async fn ready(base: &str) {
    let started = Instant::now();
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{base} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn signed_in(page: &Page) -> bool {
    page.status == 200 && page.contains("ann@example.com")
}

#[actix_web::test]
async fn two_app_servers_behind_nginx_share_sessions_carts_throttle_mail_and_stock() {
    let (Some(pg), Some(redis), Some(nginx)) = (
        crate::support::postgres_url(),
        crate::support::redis_url(),
        nginx(),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (database_url, schema) = crate::support::fresh_database(dir.path());
    assert!(database_url.starts_with("postgres"), "{pg}");
    let (a, b, front) = (
        crate::support::free_port(),
        crate::support::free_port(),
        crate::support::free_port(),
    );
    let front_url = format!("http://127.0.0.1:{front}");
    let env = vec![
        ("DATABASE_URL", database_url.clone()),
        ("REDIS_URL", redis),
        // This run's own keys: sessions, mail limits and failed logins
        // of an earlier run (within their windows) are not this one's.
        (
            "REDIS_KEY_PREFIX",
            format!("test-{}:", site_core::random_token(10).to_lowercase()),
        ),
        ("SECRET_KEY", site_core::random_token(64)),
        ("SITE_URL", front_url.clone()),
        (
            "SHOP_MAIL_DIR",
            dir.path().join("mail").display().to_string(),
        ),
        ("SHOP_TRUSTED_PROXIES", "127.0.0.1".into()),
        ("SHOP_CATALOGUE_CACHE_SECONDS", "0".into()),
    ];
    let mut running = Running(Vec::new());
    for (port, name) in [(a, "a"), (b, "b")] {
        let bind = format!("127.0.0.1:{port}");
        running.0.push(site(
            &env,
            &dir.path().join(name),
            &["serve", "--no-jobs", "--no-seed", "--bind", &bind],
        ));
    }
    let (a_url, b_url) = (
        format!("http://127.0.0.1:{a}"),
        format!("http://127.0.0.1:{b}"),
    );
    ready(&a_url).await;
    ready(&b_url).await;
    running
        .0
        .push(site(&env, &dir.path().join("worker"), &["worker"]));
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir.path(), front, &[a, b])).unwrap();
    running.0.push(
        Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx"),
    );
    ready(&front_url).await;

    // The shop's data, as staff would have made it.
    let db = site_core::db::Database::open(&database_url, 2).unwrap();
    let product = crate::support::stock_shop(&db);
    diesel::update(site_core::schema::products_product::table.find(product))
        .set(site_core::schema::products_product::stock.eq(5))
        .execute(&mut *db.get().unwrap())
        .unwrap();
    let email = site_core::forms::Email::parse("ann@example.com").unwrap();
    accounts::User::create(
        &mut db.get().unwrap(),
        &accounts::NewUser {
            email: &email,
            password: PW,
            first_name: "Ann",
            last_name: "Lee",
            is_staff: false,
            is_superuser: false,
            email_verified: true,
        },
    )
    .unwrap();

    // A login on one server is valid on the other; so is a cart.
    let on_a = Client::new(&a_url);
    on_a.login("ann@example.com", PW).await;
    let on_b = on_a.at(&b_url);
    assert!(
        signed_in(&on_b.get("/accounts/profile/").await),
        "signed in on b"
    );
    on_b.add_to_cart(product, 2).await;
    let cart = on_a.get("/cart/").await;
    assert!(cart.contains("Lamp"), "the cart filled on b, seen on a");

    // The login throttle counts failures on both servers.
    let guesser = Client::new(&a_url);
    for i in 0..5 {
        let server = if i % 2 == 0 { &a_url } else { &b_url };
        let page = guesser
            .at(server)
            .login("ann@example.com", "wrong guess")
            .await;
        assert_eq!(page.status, 422, "a wrong password is refused");
    }
    for server in [&a_url, &b_url] {
        let paused = Client::new(server).login("ann@example.com", PW).await;
        assert!(
            !signed_in(&paused) && paused.contains("Too many"),
            "paused on {server}: {}",
            paused.text()
        );
    }

    // Shoppers race through nginx for 5 units: 5 orders, never more.
    let mut shoppers = Vec::new();
    for i in 0..16 {
        let c = Client::new(&front_url);
        c.add_to_cart(product, 1).await;
        let review = c.checkout_to_review(&format!("rush{i}@example.com")).await;
        shoppers.push((c, review));
    }
    let placed = join_all(
        shoppers
            .iter()
            .map(|(c, review)| c.submit_raw(review, "/orders/checkout/review/", &[])),
    )
    .await
    .iter()
    .filter(|r| r.status == 303 && r.location().is_some_and(|l| l.starts_with("/orders/")))
    .count();
    assert_eq!(placed, 5);
    let mut conn = db.get().unwrap();
    let stock: i64 = site_core::schema::products_product::table
        .find(product)
        .select(site_core::schema::products_product::stock)
        .first(&mut *conn)
        .unwrap();
    assert_eq!(stock, 0, "never oversold");
    assert_eq!(orders::Order::count(&mut conn).unwrap(), 5);

    // Each order's confirmation is sent once, by the worker.
    let sent = |dir: &Path| -> usize {
        std::fs::read_dir(dir.join("mail"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let started = Instant::now();
    while sent(dir.path()) < 5 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sent(dir.path()), 5, "one confirmation per order, once");

    drop(running);
    crate::support::drop_database(schema);
}

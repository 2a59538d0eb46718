//! Sessions in Redis (`REDIS_URL`): none in the database, and "log out
//! everywhere" still works, through the user's auth version rather than
//! by deleting rows. Runs where `TEST_REDIS_URL` names a server (CI).

use diesel::prelude::*;
use site_core::schema::core_session as s;

use crate::support::{Options, TestApp};

const PW: &str = "correct horse battery staple";
const NEW: &str = "a different long passphrase";

async fn with_redis() -> Option<TestApp> {
    let url = crate::support::redis_url()?;
    Some(
        TestApp::spawn_with(Options {
            redis: Some(url),
            ..Options::default()
        })
        .await,
    )
}

/// The app's session keys in Redis.
fn redis_sessions(app: &TestApp) -> usize {
    let url = crate::support::redis_url().unwrap();
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}session:*", app.config.redis_prefix))
        .query(&mut conn)
        .unwrap();
    keys.len()
}

#[actix_web::test]
async fn sessions_live_in_redis_and_logging_out_everywhere_still_works() {
    let Some(app) = with_redis().await else {
        return;
    };
    app.customer("ann@example.com", PW);

    let (laptop, phone) = (app.client(), app.client());
    laptop.login("ann@example.com", PW).await;
    phone.login("ann@example.com", PW).await;
    for c in [&laptop, &phone] {
        assert!(c
            .get("/accounts/profile/")
            .await
            .contains("ann@example.com"));
    }
    let rows: i64 = s::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(rows, 0, "no session in the database");
    assert_eq!(redis_sessions(&app), 2, "both sessions in Redis");

    let done = laptop.change_password(PW, NEW).await;
    assert!(
        done.contains("Your password was changed."),
        "{}",
        done.text()
    );
    assert!(!laptop.signed_out().await, "this session goes on");
    assert!(phone.signed_out().await, "the other session was ended");
}

#[actix_web::test]
async fn the_readiness_probe_checks_redis_when_it_is_configured() {
    let Some(app) = with_redis().await else {
        return;
    };
    let ready = app.client().get_raw("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(
        ready.body,
        r#"{"status":"ok","database":"ok","migrations":"ok","redis":"ok"}"#
    );
}

/// A Redis of the test's own, on a free port, to stop and start again;
/// stopped however the test ends.
struct OwnRedis(std::process::Child);

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis(port: u16) -> OwnRedis {
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server (installed by .ci/run)");
    let redis = OwnRedis(child);
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    redis
}

/// Redis going away is a clear "try again" page (503), not a panic or a
/// bare error; the shop serves again once Redis is back, without a
/// restart.
#[actix_web::test]
async fn a_redis_outage_shows_a_clear_page_and_the_shop_recovers() {
    if crate::support::redis_url().is_none() {
        return;
    }
    let port = crate::support::free_port();
    let redis = start_redis(port);
    let app = TestApp::spawn_with(Options {
        redis: Some(format!("redis://127.0.0.1:{port}/0")),
        ..Options::default()
    })
    .await;
    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    assert!(!c.signed_out().await);

    drop(redis);
    let down = c.get_raw("/").await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(
        down.contains("The shop cannot reach a service it needs just now"),
        "{}",
        down.text()
    );
    // The probes (no session) say what is wrong.
    let probe = app.client();
    assert_eq!(probe.get_raw("/healthz").await.status, 200, "alive");
    let ready = probe.get_raw("/readyz").await;
    assert_eq!(ready.status, 503);
    assert!(
        ready.body.contains(r#""redis":"unreachable"#),
        "{}",
        ready.body
    );

    let redis = start_redis(port);
    c.until_served("/", std::time::Duration::from_secs(15))
        .await;
    // This Redis kept nothing: the shopper logs in again, and can.
    let again = app.client();
    again.login("ann@example.com", PW).await;
    assert!(!again.signed_out().await);
    drop(redis);
}

/// Two app servers on one Redis count a client's emails together: the
/// mail limit (3, then one every 3 minutes) holds across both.
#[actix_web::test]
async fn app_servers_sharing_redis_share_the_mail_limit() {
    let Some(url) = crate::support::redis_url() else {
        return;
    };
    let prefix = format!("test-{}:", site_core::random_token(10).to_lowercase());
    let server = || {
        TestApp::spawn_with(Options {
            redis: Some(url.clone()),
            redis_prefix: Some(prefix.clone()),
            ..Options::default()
        })
    };
    let (a, b) = (server().await, server().await);
    let contact = |app: &TestApp| {
        let c = app.client();
        async move { c.send_contact("Teapot", "Does it pour well?").await }
    };
    for app in [&a, &b, &a] {
        let sent = contact(app).await;
        assert!(
            !sent.contains(site_core::http::MAIL_LIMITED),
            "{}",
            sent.text()
        );
    }
    let fourth = contact(&b).await;
    assert!(
        fourth.contains(site_core::http::MAIL_LIMITED),
        "the fourth, on the other server, waits: {}",
        fourth.text()
    );
}

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

/// Session keys in Redis.
fn redis_sessions() -> usize {
    let url = crate::support::redis_url().unwrap();
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", site_core::http::session_store::REDIS_PREFIX))
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
    let before = redis_sessions();
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
    assert!(redis_sessions() >= before + 2, "both sessions in Redis");

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

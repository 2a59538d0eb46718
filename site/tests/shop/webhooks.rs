//! The payment webhook endpoint: signed, stored once, processed once,
//! whatever the order, the repeats, or a crash in between.

use std::process::{Command, Stdio};

use diesel::prelude::*;
use futures_util::future::join_all;
use orders::Order;
use site_core::schema::{
    gateway_webhook as gw, orders_invoice as inv, payments_payment as pay,
    payments_transaction as tx, payments_webhook_event as ev,
};

use crate::support::{order_public_id, Client, Options, Page, TestApp};

const ENDPOINT: &str = "/payments/webhooks/demo-pay/";

fn held() -> Options {
    Options {
        hold_webhooks: true,
        ..Options::default()
    }
}

/// An order paid on the gateway after one declined card, with the
/// shopper never coming back: the shop knows nothing yet. The gateway's
/// two webhook bodies, oldest first (charge.failed, charge.succeeded).
async fn paid_at_the_gateway_only(app: &TestApp, c: &Client) -> (String, Vec<String>) {
    let lamp = app.product("Lamp", 5, 2500);
    c.add_to_cart(lamp.id, 1).await;
    let id = order_public_id(&c.checkout("hook@example.com").await);
    let gateway = c.open_gateway(&id).await;
    let declined = c.gateway_pay_raw(&gateway, "4000000000000002").await;
    assert_eq!(declined.status, 402);
    let paid = c.gateway_pay_raw(&declined, "4242424242424242").await;
    assert_eq!(paid.status, 303);
    let bodies = gw::table
        .order(gw::id)
        .select(gw::body)
        .load(&mut *app.conn())
        .unwrap();
    (id, bodies)
}

async fn post(c: &Client, body: &str, signature: Option<&str>) -> Page {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(s) = signature {
        headers.push((payments::gateway::SIGNATURE_HEADER, s));
    }
    c.post_body(ENDPOINT, body, &headers).await
}

async fn deliver(app: &TestApp, c: &Client, body: &str) -> Page {
    app.post_signed_webhook(c, body).await
}

/// Receipts queued (or sent).
fn receipts(conn: &mut site_core::DbConn) -> i64 {
    use site_core::schema::core_outbox as m;
    m::table
        .filter(m::subject.like("Payment received%"))
        .count()
        .get_result(conn)
        .unwrap()
}

fn counts(app: &TestApp, public_id: &str) -> (orders::OrderStatus, i64, i64, i64) {
    let mut conn = app.conn();
    let order = Order::by_public_id(&mut conn, public_id).unwrap();
    let captures: i64 = tx::table
        .filter(tx::kind.eq("charge"))
        .filter(tx::status.eq("approved"))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let invoices: i64 = inv::table.count().get_result(&mut *conn).unwrap();
    (order.status, receipts(&mut conn), captures, invoices)
}

#[actix_web::test]
async fn the_same_webhook_three_times_and_out_of_order_captures_once() {
    let app = TestApp::spawn_with(held()).await;
    let c = app.client();
    let (id, bodies) = paid_at_the_gateway_only(&app, &c).await;
    let (failed, succeeded) = (&bodies[0], &bodies[1]);
    assert!(failed.contains("charge.failed") && succeeded.contains("charge.succeeded"));
    assert_eq!(
        counts(&app, &id).0,
        orders::OrderStatus::Pending,
        "nothing known yet"
    );

    // The success three times at once, then the older failure.
    let answers = join_all((0..3).map(|_| deliver(&app, &c, succeeded))).await;
    assert!(
        answers.iter().all(|a| a.status == 200),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(deliver(&app, &c, failed).await.status, 200);
    app.process_webhooks().await;

    assert_eq!(counts(&app, &id), (orders::OrderStatus::Paid, 1, 1, 1));
    let events: Vec<(String, bool)> = ev::table
        .order(ev::kind)
        .select((ev::kind, ev::processed_at.is_not_null()))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(
        events,
        vec![
            ("charge.failed".to_string(), true),
            ("charge.succeeded".to_string(), true)
        ],
        "each event stored once"
    );
    let status: String = pay::table
        .select(pay::status)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(
        status, "succeeded",
        "the late failure did not undo the payment"
    );

    // The gateway's own deliveries and the shopper's return change nothing.
    assert_eq!(app.deliver_webhooks().await, 2);
    let back = c.get(&format!("/payments/{id}/return/")).await;
    assert!(back.contains("Payment received."), "{}", back.text());
    assert_eq!(counts(&app, &id), (orders::OrderStatus::Paid, 1, 1, 1));
}

#[actix_web::test]
async fn a_webhook_with_a_bad_signature_is_refused_and_changes_nothing() {
    let app = TestApp::spawn_with(held()).await;
    let c = app.client();
    let (id, bodies) = paid_at_the_gateway_only(&app, &c).await;
    let body = &bodies[1];
    let now = chrono::Utc::now().timestamp();
    let good = payments::gateway::sign(&app.webhook_key(), now, body.as_bytes());
    let tampered = body.replace("\"amount_minor\":2500", "\"amount_minor\":1");
    assert_ne!(&tampered, body);
    let refusals = [
        (
            post(&c, body, None).await,
            "the signature header is missing",
        ),
        (
            post(&c, &tampered, Some(&good)).await,
            "the signature does not match the body",
        ),
        (
            post(
                &c,
                body,
                Some(&payments::gateway::sign(
                    b"another key",
                    now,
                    body.as_bytes(),
                )),
            )
            .await,
            "the signature does not match the body",
        ),
        (
            post(
                &c,
                body,
                Some(&payments::gateway::sign(
                    &app.webhook_key(),
                    now - 3600,
                    body.as_bytes(),
                )),
            )
            .await,
            "the signature is too old",
        ),
    ];
    for (answer, says) in refusals {
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(answer.body.contains(says), "{says}: {}", answer.body);
    }
    let stored: i64 = ev::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(stored, 0);
    assert_eq!(counts(&app, &id), (orders::OrderStatus::Pending, 0, 0, 0));
    // Another provider's endpoint does not exist.
    let other = c.post_body("/payments/webhooks/stripe/", body, &[]).await;
    assert_eq!(other.status, 404);
    // The genuine one still works (no CSRF token needed: it is signed).
    assert_eq!(deliver(&app, &c, body).await.status, 200);
    assert_eq!(counts(&app, &id), (orders::OrderStatus::Paid, 1, 1, 1));
}

#[actix_web::test]
async fn a_charge_for_another_amount_is_not_taken_as_payment() {
    let app = TestApp::spawn_with(held()).await;
    let c = app.client();
    let (id, bodies) = paid_at_the_gateway_only(&app, &c).await;
    let odd = bodies[1]
        .replace("\"amount_minor\":2500", "\"amount_minor\":1")
        .replace("\"id\":\"evt_", "\"id\":\"evt_odd");
    assert_eq!(deliver(&app, &c, &odd).await.status, 200);
    assert_eq!(counts(&app, &id).0, orders::OrderStatus::Pending);
    let note: String = ev::table
        .select(ev::last_error)
        .first(&mut *app.conn())
        .unwrap();
    assert!(note.contains("check it with the payment service"), "{note}");
    // Staff see what the provider said, and the note, in the admin.
    let boss = app.boss("correct horse battery staple").await;
    let list = boss.get("/admin/payments/webhookevent/").await;
    assert_eq!(list.status, 200);
    assert!(list.contains("charge.succeeded"), "{}", list.text());
    assert!(list.contains("check it with the payment service"));
}

#[actix_web::test]
async fn the_gateway_retries_a_webhook_the_shop_did_not_take() {
    let app = TestApp::spawn_with(held()).await;
    let c = app.client();
    paid_at_the_gateway_only(&app, &c).await;
    // Nobody listens on port 9 here.
    let delivered = payments::gateway::deliver_due(
        &app.db,
        "http://127.0.0.1:9/payments/webhooks/demo-pay/",
        &app.webhook_key(),
    )
    .unwrap();
    assert_eq!(delivered, 0);
    let rows: Vec<(i64, chrono::NaiveDateTime, String)> = gw::table
        .select((gw::attempts, gw::next_attempt_at, gw::last_error))
        .load(&mut *app.conn())
        .unwrap();
    for (attempts, next, error) in rows {
        assert_eq!(attempts, 1);
        assert!(next > site_core::now(), "backs off");
        assert!(!error.is_empty());
    }
    // Not due yet; then due, and taken.
    assert_eq!(app.deliver_webhooks().await, 0);
    diesel::update(gw::table)
        .set(gw::next_attempt_at.eq(site_core::now()))
        .execute(&mut *app.conn())
        .unwrap();
    assert_eq!(app.deliver_webhooks().await, 2);
}

/// The site binary serving `var_dir`'s database on a free port.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(var_dir: &std::path::Path, database_url: &str, port: u16, failpoint: &str) -> Server {
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_site"))
        .args(["serve", "--no-seed"])
        .env("SHOP_VAR_DIR", var_dir)
        .env("DATABASE_URL", database_url)
        .env("SHOP_BIND", format!("127.0.0.1:{port}"))
        .env("SITE_URL", &base)
        .env("SECRET_KEY", "k".repeat(64))
        .env("SHOP_FAILPOINT", failpoint)
        .env_remove("SMTP_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run site serve");
    Server { child, base }
}

async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..300 {
        if ready() {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn answering(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http.get(format!("{base}/")).send().await.is_ok() {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{base} never answered");
}

#[actix_web::test]
async fn a_webhook_stored_before_a_crash_is_processed_once_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, pg) = crate::support::fresh_database(dir.path());
    let db = site_core::db::Database::open(&database_url, 2).unwrap();
    let migrated = Command::new(env!("CARGO_BIN_EXE_site"))
        .arg("migrate")
        .env("SHOP_VAR_DIR", dir.path())
        .env("DATABASE_URL", &database_url)
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    let lamp = crate::support::stock_shop(&db);
    let port = crate::support::free_port();

    // The first server dies the moment the webhook is stored, before it
    // processes it or answers the gateway.
    let mut first = serve(dir.path(), &database_url, port, "webhook-stored");
    answering(&first.base).await;
    let c = Client::new(&first.base);
    c.add_to_cart(lamp, 1).await;
    let id = order_public_id(&c.checkout("crash@example.com").await);
    let gateway = c.open_gateway(&id).await;
    assert_eq!(
        c.gateway_pay_raw(&gateway, "4242424242424242").await.status,
        303
    );
    until("the crash", || {
        matches!(first.child.try_wait(), Ok(Some(_)))
    })
    .await;
    assert!(!first.child.try_wait().unwrap().unwrap().success());
    let stored: Vec<Option<chrono::NaiveDateTime>> = ev::table
        .select(ev::processed_at)
        .load(&mut *db.get().unwrap())
        .unwrap();
    assert_eq!(stored, vec![None], "stored, not processed");
    let order =
        |db: &site_core::db::Database| Order::by_public_id(&mut db.get().unwrap(), &id).unwrap();
    assert_eq!(order(&db).status, orders::OrderStatus::Pending);

    // After the restart its jobs process the stored event, and the
    // gateway's retry of the same event changes nothing.
    let _second = serve(dir.path(), &database_url, port, "");
    until("the payment", || {
        order(&db).status == orders::OrderStatus::Paid
    })
    .await;
    until("the gateway's retry", || {
        gw::table
            .filter(gw::delivered_at.is_not_null())
            .count()
            .get_result::<i64>(&mut *db.get().unwrap())
            .unwrap()
            == 1
    })
    .await;
    let mut conn = db.get().unwrap();
    let events: Vec<Option<chrono::NaiveDateTime>> =
        ev::table.select(ev::processed_at).load(&mut *conn).unwrap();
    assert_eq!(events.len(), 1, "stored once");
    assert!(events[0].is_some(), "processed");
    let captures: i64 = tx::table
        .filter(tx::status.eq("approved"))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(captures, 1);
    assert_eq!(receipts(&mut conn), 1);
    drop(conn);
    drop(db);
    crate::support::drop_database(pg);
}

//! The outbox and the mail worker: retries, a real SMTP server (aiosmtpd),
//! the staff page for failures, and the contact form.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use diesel::RunQueryDsl;
use site_core::mail::outbox::{self, Status};
use site_core::mail::Mailer;

use crate::support::TestApp;

const PW: &str = "a long passphrase";

async fn send_contact(app: &TestApp, subject: &str) -> crate::support::Page {
    let c = app.client();
    let form = c.get("/contact/").await;
    c.submit(
        &form,
        "/contact/",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("subject", subject),
            ("message", "Line one.\nLine <two> & three."),
        ],
    )
    .await
}

#[actix_web::test]
async fn the_contact_form_queues_a_message_to_staff() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let form = c.get("/contact/").await;
    let bad = c
        .submit(
            &form,
            "/contact/",
            &[
                ("name", ""),
                ("email", "nope"),
                ("subject", "Hi"),
                ("message", "Text"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"err_name\"") && bad.body.contains("id=\"err_email\""));
    assert!(bad.body.contains("value=\"Hi\""), "input kept");
    assert!(bad.body.contains(">Text</textarea>"));

    let done = send_contact(&app, "Where is my order?").await;
    assert!(
        done.contains("Thank you for your message."),
        "{}",
        done.body
    );
    let mail = app.sent_mail();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, "shop@example.com", "the staff address");
    assert_eq!(mail[0].subject, "Contact form: Where is my order?");
    assert!(
        mail[0].text.contains("Line <two> & three."),
        "text as typed"
    );
    assert!(
        mail[0].html.contains("Line &lt;two&gt; &amp; three."),
        "HTML escaped"
    );
}

#[actix_web::test]
async fn the_contact_form_is_rate_limited_per_client() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        assert_eq!(send_contact(&app, "Hello").await.status, 200);
    }
    let limited = send_contact(&app, "Hello").await;
    assert_eq!(limited.status, 429);
    assert!(limited.contains("Please wait a little"));
    assert!(
        limited.body.contains("value=\"Hello\""),
        "nothing lost from the form"
    );
    assert_eq!(app.sent_mail().len(), 3);
}

#[actix_web::test]
async fn failures_are_retried_with_backoff_then_shown_to_staff() {
    let app = TestApp::spawn().await;
    send_contact(&app, "Hello").await;
    // A server that refuses connections.
    let port = crate::support::free_port();
    let mut cfg = app.config.clone();
    cfg.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    let down = Mailer::from_config(&cfg).unwrap();
    let now = site_core::now();
    let first = outbox::deliver_due(&app.db, &down, now).unwrap();
    assert_eq!((first.sent, first.deferred), (0, 1));
    let waiting = &app.outbox(Status::Pending)[0];
    assert_eq!(waiting.attempts, 1);
    assert!(waiting.next_attempt_at >= now + chrono::TimeDelta::seconds(29));
    assert!(!waiting.last_error.is_empty());
    // Not due again before the backoff.
    assert_eq!(outbox::deliver_due(&app.db, &down, now).unwrap().total(), 0);

    let mut at = now;
    for _ in 1..outbox::MAX_ATTEMPTS {
        at += chrono::TimeDelta::hours(7);
        outbox::deliver_due(&app.db, &down, at).unwrap();
    }
    let failed = app.outbox(Status::Failed);
    assert_eq!(
        failed.len(),
        1,
        "failed for good after {} attempts",
        outbox::MAX_ATTEMPTS
    );
    assert_eq!(failed[0].attempts, outbox::MAX_ATTEMPTS);

    // Staff see it, and can queue it again.
    app.user("boss@example.com", PW, true);
    let c = app.client();
    c.login("boss@example.com", PW).await;
    let page = c.get("/admin/core/outbox/?status=failed").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.count("data-testid=\"row\""), 1);
    assert!(page.contains("Contact form: Hello"));
    let id = failed[0].id.to_string();
    let retried = c
        .follow(
            c.submit_multi(
                &page,
                "/admin/core/outbox/?status=failed",
                &[("action", "retry"), ("_selected", &id)],
            )
            .await,
        )
        .await;
    assert!(
        retried.contains("1 message was queued again."),
        "{}",
        retried.text()
    );
    assert_eq!(app.sent_mail().len(), 1, "delivered by the working mailer");
    assert!(app.outbox(Status::Failed).is_empty());
}

#[actix_web::test]
async fn a_bad_address_fails_at_once_instead_of_retrying() {
    let app = TestApp::spawn().await;
    outbox::enqueue(
        &mut app.conn(),
        &site_core::mail::Email {
            to: "not an address".into(),
            subject: "x".into(),
            text: "x".into(),
            html: "x".into(),
        },
    )
    .unwrap();
    let report = app.deliver_mail();
    assert_eq!(report.failed, 1);
    assert_eq!(app.outbox(Status::Failed)[0].attempts, 1);
}

#[actix_web::test]
async fn staff_pages_check_permissions() {
    let app = TestApp::spawn().await;
    app.customer("cust@example.com", PW);
    let clerk = app.user("clerk@example.com", PW, false);
    diesel::update(diesel::QueryDsl::find(
        site_core::schema::accounts_user::table,
        clerk.id,
    ))
    .set(diesel::ExpressionMethods::eq(
        site_core::schema::accounts_user::is_staff,
        true,
    ))
    .execute(&mut *app.conn())
    .unwrap();

    assert_eq!(
        app.client().get_raw("/admin/core/outbox/").await.status,
        303,
        "login first"
    );
    let cust = app.client();
    cust.login("cust@example.com", PW).await;
    assert_eq!(cust.get_raw("/admin/core/outbox/").await.status, 403);

    let c = app.client();
    c.login("clerk@example.com", PW).await;
    assert_eq!(
        c.get_raw("/admin/core/outbox/").await.status,
        403,
        "staff without the permission"
    );
    let mut conn = app.conn();
    let support = accounts::permissions::group(&mut conn, "Support").unwrap();
    accounts::permissions::grant_group(&mut conn, support, "core.view_outbox").unwrap();
    accounts::permissions::add_to_group(&mut conn, clerk.id, support).unwrap();
    assert!(accounts::permissions::grant_group(&mut conn, support, "core.fly_outbox").is_err());
    drop(conn);
    let page = c.get("/admin/core/outbox/").await;
    assert_eq!(page.status, 200, "granted through the group");

    outbox::enqueue(
        &mut app.conn(),
        &site_core::mail::Email {
            to: "bad".into(),
            subject: "s".into(),
            text: "Reset: http://shop/accounts/reset/SECRET-TOKEN/".into(),
            html: "<a href=\"http://shop/accounts/reset/SECRET-TOKEN/\">Reset</a>".into(),
        },
    )
    .unwrap();
    app.deliver_mail();
    let id = app.outbox(Status::Failed)[0].id.to_string();
    // Mail carries live links (password resets, email confirmations): the
    // admin shows who was sent what and when, never the body.
    let message = c.get(&format!("/admin/core/outbox/{id}/change/")).await;
    assert_eq!(message.status, 200);
    assert!(message.contains("bad"), "the recipient is shown");
    assert!(!message.body.contains("SECRET-TOKEN"), "{}", message.text());
    let page = c.get("/admin/core/outbox/").await;
    let retry = [("action", "retry"), ("_selected", id.as_str())];
    assert_eq!(
        c.submit_multi(&page, "/admin/core/outbox/", &retry)
            .await
            .status,
        403,
        "retry needs change_outbox"
    );
    accounts::permissions::grant_user(&mut app.conn(), clerk.id, "core.change_outbox").unwrap();
    assert_eq!(
        c.submit_multi(&page, "/admin/core/outbox/", &retry)
            .await
            .status,
        303
    );

    let mut conn = app.conn();
    use site_core::http::auth::has_perm;
    assert!(has_perm(&mut conn, clerk.id, "core.view_outbox").unwrap());
    assert!(!has_perm(&mut conn, clerk.id, "products.delete_product").unwrap());
    let boss = accounts::User::create_superuser(
        &mut conn,
        &site_core::forms::Email::parse("b@example.com").unwrap(),
        PW,
    )
    .unwrap();
    assert!(
        has_perm(&mut conn, boss.id, "products.delete_product").unwrap(),
        "superusers may do anything"
    );
    let perms = accounts::permissions::all(&mut conn).unwrap();
    for model in [
        "products.change_product",
        "orders.view_order",
        "payments.view_payment",
        "accounts.add_group",
        "cart.delete_line",
    ] {
        assert!(
            perms.iter().any(|p| p.codename == model),
            "{model} created by the migrations"
        );
    }
}

/// `python3 -m aiosmtpd` if it can run here; CI installs it and sets
/// SHOP_REQUIRE_SMTP=1 so a missing server fails instead of skipping.
fn aiosmtpd_available() -> bool {
    let ok = Command::new("python3")
        .args(["-m", "aiosmtpd", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok && std::env::var("SHOP_REQUIRE_SMTP").is_ok_and(|v| v == "1") {
        panic!("SHOP_REQUIRE_SMTP=1 but `python3 -m aiosmtpd` does not run (pip install aiosmtpd)");
    }
    ok
}

/// A running SMTP server and the file its received messages go to: the
/// one `.ci/run` started (SHOP_TEST_SMTP_URL / SHOP_TEST_SMTP_LOG), or one
/// started here (killed when the guard drops).
struct Smtp {
    url: String,
    log: std::path::PathBuf,
    _own: Option<(std::process::Child, tempfile::NamedTempFile)>,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        if let Some((child, _)) = &mut self._own {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Smtp {
    fn received(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

async fn start_aiosmtpd(port: u16) -> (std::process::Child, tempfile::NamedTempFile) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(log.reopen().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, log);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("aiosmtpd did not start on port {port}");
}

async fn smtp_server() -> Option<Smtp> {
    if let (Ok(url), Ok(log)) = (
        std::env::var("SHOP_TEST_SMTP_URL"),
        std::env::var("SHOP_TEST_SMTP_LOG"),
    ) {
        return Some(Smtp {
            url,
            log: log.into(),
            _own: None,
        });
    }
    if !aiosmtpd_available() {
        return None;
    }
    let port = crate::support::free_port();
    let (child, log) = start_aiosmtpd(port).await;
    Some(Smtp {
        url: format!("smtp://127.0.0.1:{port}"),
        log: log.path().to_path_buf(),
        _own: Some((child, log)),
    })
}

/// Every kind of email, through a real SMTP server: multipart text and
/// HTML, absolute links, one Message-ID each.
#[actix_web::test]
async fn every_email_reaches_a_real_smtp_server() {
    let Some(smtp) = smtp_server().await else {
        eprintln!("skipped: aiosmtpd is not installed");
        return;
    };
    let app = TestApp::spawn().await;
    let mut cfg = app.config.clone();
    cfg.smtp_url = Some(smtp.url.clone());
    let mailer = Mailer::from_config(&cfg).unwrap();
    let tag = site_core::random_token(8).to_lowercase();
    let email = format!("real-{tag}@example.com");

    // Registration (verification), an order (confirmation), a reset
    // request, a password change notice and the contact form.
    let p = app.product("SMTP Kettle", 5, 1000);
    let c = app.client();
    let form = c.get("/accounts/register/").await;
    c.submit(
        &form,
        "/accounts/register/",
        &[("email", &email), ("password1", PW), ("password2", PW)],
    )
    .await;
    c.add_to_cart(p.id, 1).await;
    c.checkout(&email).await;
    let form = c.get("/accounts/password/").await;
    c.submit(
        &form,
        "/accounts/password/",
        &[
            ("current_password", PW),
            ("password1", "a newer passphrase"),
            ("password2", "a newer passphrase"),
        ],
    )
    .await;
    let reset = app.client();
    let form = reset.get("/accounts/password-reset/").await;
    reset
        .submit(&form, "/accounts/password-reset/", &[("email", &email)])
        .await;
    send_contact(&app, &format!("Question {tag}")).await;

    let report = outbox::deliver_due(&app.db, &mailer, site_core::now()).unwrap();
    assert_eq!((report.sent, report.deferred, report.failed), (5, 0, 0));
    let mut received = String::new();
    for _ in 0..50 {
        received = smtp.received();
        if received.matches(&email).count() >= 4 && received.contains(&tag) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for subject in [
        "Confirm your email address",
        "Your order",
        "Your password was changed",
        "Reset your password",
        &format!("Contact form: Question {tag}"),
    ] {
        assert!(
            received.contains(&format!("Subject: {subject}")),
            "{subject} not received:\n{received}"
        );
    }
    assert!(received.contains("multipart/alternative"));
    assert!(received.contains(&format!("{}/accounts/verify/", app.base)));
    for sent in app.outbox(Status::Sent) {
        assert_eq!(
            received.matches(&sent.message_id).count(),
            1,
            "each message once"
        );
    }
}

#[actix_web::test]
async fn mail_sent_while_smtp_is_down_is_delivered_once_it_is_back() {
    if !aiosmtpd_available() {
        eprintln!("skipped: aiosmtpd is not installed");
        return;
    }
    let app = TestApp::spawn().await;
    let port = crate::support::free_port();
    let mut cfg = app.config.clone();
    cfg.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    let smtp = Mailer::from_config(&cfg).unwrap();

    // A customer asks for a password reset while the mail server is down.
    app.customer("ann@example.com", PW);
    let c = app.client();
    let form = c.get("/accounts/password-reset/").await;
    let page = c
        .submit(
            &form,
            "/accounts/password-reset/",
            &[("email", "ann@example.com")],
        )
        .await;
    assert!(page.contains("Check your email"));
    let now = site_core::now();
    let down = outbox::deliver_due(&app.db, &smtp, now).unwrap();
    assert_eq!((down.sent, down.deferred), (0, 1));

    // The server comes back.
    let (mut server, log) = start_aiosmtpd(port).await;

    let later = now + chrono::TimeDelta::minutes(1);
    let back = outbox::deliver_due(&app.db, &smtp, later).unwrap();
    assert_eq!(back.sent, 1);
    // Later rounds (and a second worker) find nothing more to send.
    let again = outbox::deliver_due(&app.db, &smtp, later + chrono::TimeDelta::days(1)).unwrap();
    assert_eq!(again.total(), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = server.kill();
    let _ = server.wait();

    let mut received = String::new();
    log.reopen().unwrap().read_to_string(&mut received).unwrap();
    assert_eq!(
        received
            .matches("---------- MESSAGE FOLLOWS ----------")
            .count(),
        1,
        "exactly one message reached the server:\n{received}"
    );
    assert!(received.contains("Subject: Reset your password"));
    assert!(received.contains("ann@example.com"));
    let sent = &app.outbox(Status::Sent)[0];
    assert!(received.contains(&sent.message_id), "the outbox Message-ID");
}

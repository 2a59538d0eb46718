//! Two-factor authentication: enrolment, the login step, recovery codes,
//! and the setting that requires it of staff.

use crate::support::{Client, Options, TestApp};

const PW: &str = "a long passphrase";

fn code_for(secret: &str, email: &str) -> String {
    accounts::twofactor::totp(secret, email)
        .unwrap()
        .generate_current()
        .unwrap()
}

/// The code an app shows in the next 30 seconds (accepted for clocks a
/// little apart; the current one was used up at enrolment).
fn next_code(secret: &str, email: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    accounts::twofactor::totp(secret, email)
        .unwrap()
        .generate(now + 30)
}

/// The second login step: submits `code` on the code page `step`.
async fn enter_code(c: &Client, step: &crate::support::Page, code: &str) -> crate::support::Page {
    c.submit(step, "/accounts/login/code/", &[("code", code)])
        .await
}

/// The code Ann's app shows next.
fn anns_next_code(app: &TestApp) -> String {
    let user = accounts::User::find(&mut app.conn(), 1).unwrap();
    next_code(user.totp_secret.as_deref().unwrap(), "ann@example.com")
}

/// Turns two-factor on for the signed-in `email`; the recovery codes.
async fn enrol(c: &Client, email: &str) -> Vec<String> {
    let page = c.get("/accounts/two-factor/").await;
    let secret = page
        .testid_texts("totp-secret")
        .pop()
        .expect("a secret to type");
    let wrong = c
        .submit(
            &page,
            "/accounts/two-factor/",
            &[("action", "enable"), ("code", "000000"), ("password", PW)],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.contains("That code is not right."));
    let done = c
        .submit(
            &page,
            "/accounts/two-factor/",
            &[
                ("action", "enable"),
                ("code", &code_for(&secret, email)),
                ("password", PW),
            ],
        )
        .await;
    assert!(
        done.contains("Two-factor authentication is on."),
        "{}",
        done.body
    );
    done.testid_texts("recovery-code")
}

#[actix_web::test]
async fn a_customer_turns_on_two_factor_and_logs_in_with_codes() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    let codes = enrol(&c, "ann@example.com").await;
    assert_eq!(codes.len(), 10);
    let stored: Vec<String> = {
        use diesel::prelude::*;
        use site_core::schema::accounts_recovery_code as rc;
        rc::table
            .select(rc::code_hash)
            .load(&mut *app.conn())
            .unwrap()
    };
    assert!(!stored.iter().any(|h| codes.contains(h)), "stored hashed");
    c.logout().await;

    // The password alone is not enough.
    let step = c.login("ann@example.com", PW).await;
    assert!(step.url.ends_with("/accounts/login/code/"), "{}", step.url);
    assert!(!step.contains("Signed in"));
    assert_eq!(
        c.get_raw("/accounts/profile/").await.status,
        303,
        "not signed in yet"
    );
    let wrong = enter_code(&c, &step, "123456").await;
    assert_eq!(wrong.status, 422);
    let used = anns_next_code(&app);
    let ok = enter_code(&c, &step, &used).await;
    assert!(ok.contains("Signed in as ann@example.com."), "{}", ok.body);
    c.logout().await;

    // That code is spent: replaying it (seen over a shoulder, say) fails,
    // even when the clock has moved on to the next step meanwhile.
    let step = c.login("ann@example.com", PW).await;
    let replay = enter_code(&c, &step, &used).await;
    assert_eq!(replay.status, 422);

    // A recovery code works once.
    let step = c.login("ann@example.com", PW).await;
    let ok = enter_code(&c, &step, &codes[0].to_uppercase()).await;
    assert!(ok.contains("Signed in"));
    c.logout().await;
    let step = c.login("ann@example.com", PW).await;
    let reused = enter_code(&c, &step, &codes[0]).await;
    assert_eq!(reused.status, 422);

    // Turning it off needs the password.
    let c2 = app.client();
    let step = c2.login("ann@example.com", PW).await;
    enter_code(&c2, &step, &codes[1]).await;
    let page = c2.get("/accounts/two-factor/").await;
    let wrong = c2
        .submit(
            &page,
            "/accounts/two-factor/",
            &[("action", "disable"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    let off = c2
        .submit(
            &page,
            "/accounts/two-factor/",
            &[("action", "disable"), ("password", PW)],
        )
        .await;
    assert!(off.contains("Two-factor authentication is off."));
    assert!(app
        .client()
        .login("ann@example.com", PW)
        .await
        .contains("Signed in"));
}

#[actix_web::test]
async fn staff_can_be_required_to_use_two_factor() {
    let app = TestApp::spawn_with(Options {
        staff_2fa: true,
        ..Options::default()
    })
    .await;
    app.user("boss@example.com", PW, true);
    let c = app.client();
    let after = c.login("boss@example.com", PW).await;
    assert!(
        after.url.ends_with("/accounts/two-factor/"),
        "{}",
        after.url
    );
    assert!(after.contains("Staff accounts must use two-factor authentication."));
    let blocked = c.get_raw("/admin/").await;
    assert_eq!(blocked.status, 303);
    assert_eq!(blocked.location().as_deref(), Some("/accounts/two-factor/"));
    enrol(&c, "boss@example.com").await;
    assert_eq!(c.get_raw("/admin/").await.status, 200);
    let page = c.get("/accounts/two-factor/").await;
    assert!(page.contains("Staff accounts must keep it on."));
}

#[actix_web::test]
async fn enabling_asks_for_the_password_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    let other = app.client();
    other.login("ann@example.com", PW).await;
    let c = app.client();
    c.login("ann@example.com", PW).await;
    let page = c.get("/accounts/two-factor/").await;
    let secret = page.testid_texts("totp-secret").pop().unwrap();
    let no_pw = c
        .submit(
            &page,
            "/accounts/two-factor/",
            &[
                ("action", "enable"),
                ("code", &code_for(&secret, "ann@example.com")),
                ("password", "nope"),
            ],
        )
        .await;
    assert_eq!(no_pw.status, 422);
    assert!(no_pw.contains("Your password is not right."));
    enrol(&c, "ann@example.com").await;
    assert_eq!(
        other.get_raw("/accounts/profile/").await.status,
        303,
        "the password-only session ended"
    );
    assert_eq!(
        c.get_raw("/accounts/profile/").await.status,
        200,
        "this one goes on"
    );
}

#[actix_web::test]
async fn a_half_finished_login_dies_with_a_password_reset() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    enrol(&c, "ann@example.com").await;
    c.logout().await;
    let attacker = app.client();
    let step = attacker.login("ann@example.com", PW).await;
    assert!(step.url.ends_with("/accounts/login/code/"));

    // Ann resets her password meanwhile.
    let ann = app.client();
    let form = ann.get("/accounts/password-reset/").await;
    ann.submit(
        &form,
        "/accounts/password-reset/",
        &[("email", "ann@example.com")],
    )
    .await;
    let link = app
        .sent_mail()
        .last()
        .unwrap()
        .link("/accounts/password-reset/");
    let r = app.client();
    let page = r.get(&link).await;
    r.submit(
        &page,
        &link,
        &[
            ("password1", "a brand new passphrase"),
            ("password2", "a brand new passphrase"),
        ],
    )
    .await;

    let done = enter_code(&attacker, &step, &anns_next_code(&app)).await;
    assert!(done.url.ends_with("/accounts/login/"), "{}", done.url);
    assert!(done.contains("please log in again"));
    assert_eq!(attacker.get_raw("/accounts/profile/").await.status, 303);
}

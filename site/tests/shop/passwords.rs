//! Password change and password reset.

use crate::support::TestApp;

const PW: &str = "a long passphrase";
const NEW: &str = "another fine passphrase";

#[actix_web::test]
async fn changing_the_password_ends_other_sessions_and_sends_a_notice() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    let laptop = app.client();
    let phone = app.client();
    laptop.login("ann@example.com", PW).await;
    assert!(phone
        .login("ann@example.com", PW)
        .await
        .contains("Signed in as ann@example.com."));

    let form = laptop.get("/accounts/password/").await;
    let wrong = laptop
        .submit(
            &form,
            "/accounts/password/",
            &[
                ("current_password", "nope"),
                ("password1", NEW),
                ("password2", NEW),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.contains("Your current password is not right."));
    let weak = laptop
        .submit(
            &form,
            "/accounts/password/",
            &[
                ("current_password", PW),
                ("password1", "12345678"),
                ("password2", "12345678"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.contains("too common"));

    let done = laptop.change_password(PW, NEW).await;
    assert!(done.contains("Your password was changed."), "{}", done.body);
    assert!(
        laptop
            .get("/accounts/profile/")
            .await
            .contains("ann@example.com"),
        "this session goes on"
    );
    assert!(phone.signed_out().await, "the other session was ended");

    let mail = app.sent_mail();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].subject, "Your password was changed");
    assert!(mail[0]
        .text
        .contains(&format!("{}/accounts/password-reset/", app.base)));

    assert!(app
        .client()
        .login("ann@example.com", PW)
        .await
        .contains("do not match"));
    assert!(app
        .client()
        .login("ann@example.com", NEW)
        .await
        .contains("Signed in"));
}

async fn request_reset(app: &TestApp, email: &str) -> crate::support::Page {
    let c = app.client();
    let form = c.get("/accounts/password-reset/").await;
    c.submit(&form, "/accounts/password-reset/", &[("email", email)])
        .await
}

#[actix_web::test]
async fn reset_answers_the_same_for_unknown_addresses() {
    let app = TestApp::spawn().await;
    app.customer("known@example.com", PW);
    let known = request_reset(&app, "known@example.com").await;
    let unknown = request_reset(&app, "unknown@example.com").await;
    assert_eq!(known.status, 200);
    assert_eq!(known.url, unknown.url);
    assert_eq!(known.status, unknown.status);
    assert!(unknown.contains("If an account uses that address"));
    let mail = app.sent_mail();
    assert_eq!(mail.len(), 1, "only the real account gets mail");
    assert_eq!(mail[0].to, "known@example.com");

    let c = app.client();
    let form = c.get("/accounts/password-reset/").await;
    let bad = c
        .submit(
            &form,
            "/accounts/password-reset/",
            &[("email", "not an email")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.contains("Enter a valid email address"));
}

#[actix_web::test]
async fn a_reset_link_works_once_and_ends_sessions() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    let old_session = app.client();
    old_session.login("ann@example.com", PW).await;
    request_reset(&app, "ann@example.com").await;
    let link = app.sent_mail()[0].link("/accounts/password-reset/");
    assert!(app.sent_mail()[0].text.contains("60 minutes"));

    let c = app.client();
    let form = c.get(&link).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let mismatch = c
        .submit(
            &form,
            &link,
            &[("password1", NEW), ("password2", "different")],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    let done = c
        .submit(&form, &link, &[("password1", NEW), ("password2", NEW)])
        .await;
    assert!(done.contains("Your password was reset."), "{}", done.body);
    assert!(done.url.ends_with("/accounts/login/"));

    // Used: the password it was signed with is gone.
    let again = c.get(&link).await;
    assert_eq!(again.status, 400);
    assert!(again.contains("This password reset link does not work"));
    let resubmit = c
        .submit(
            &form,
            &link,
            &[
                ("password1", "yet another passphrase"),
                ("password2", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(resubmit.status, 400);

    assert_eq!(
        old_session.get_raw("/accounts/profile/").await.status,
        303,
        "sessions ended"
    );
    assert!(app
        .client()
        .login("ann@example.com", NEW)
        .await
        .contains("Signed in"));
    let notices: Vec<_> = app
        .sent_mail()
        .into_iter()
        .filter(|m| m.subject == "Your password was changed")
        .collect();
    assert_eq!(notices.len(), 1);
}

#[actix_web::test]
async fn a_reset_link_stops_working_when_the_password_changes_or_it_expires() {
    let app = TestApp::spawn().await;
    let user = app.customer("ann@example.com", PW);
    request_reset(&app, "ann@example.com").await;
    let link = app.sent_mail()[0].link("/accounts/password-reset/");

    // An expired link, signed with the shop's key an hour ago.
    let signer =
        site_core::signing::Signer::new(app.config.secret_key.as_deref().unwrap().as_bytes());
    let expired = accounts::tokens::reset_token(&signer, &user, -1);
    let page = app
        .client()
        .get(&format!("/accounts/password-reset/{expired}/"))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.contains("It has expired."));

    // The customer changes the password another way: the link dies.
    let c = app.client();
    c.login("ann@example.com", PW).await;
    let form = c.get("/accounts/password/").await;
    c.submit(
        &form,
        "/accounts/password/",
        &[
            ("current_password", PW),
            ("password1", NEW),
            ("password2", NEW),
        ],
    )
    .await;
    let dead = app.client().get(&link).await;
    assert_eq!(dead.status, 400);
    assert!(dead.contains("was changed since it was sent") || dead.contains("already used"));
}

#[actix_web::test]
async fn reset_requests_are_rate_limited_the_same_for_every_address() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    for email in ["ann@example.com", "nobody@example.com", "ann@example.com"] {
        assert_eq!(request_reset(&app, email).await.status, 200);
    }
    let known = request_reset(&app, "ann@example.com").await;
    let unknown = request_reset(&app, "nobody@example.com").await;
    assert_eq!((known.status, unknown.status), (429, 429));
    assert!(known.contains("Please wait a little"));
    assert!(
        known.body.contains("value=\"ann@example.com\""),
        "input kept"
    );
    assert_eq!(app.sent_mail().len(), 2);
}

use accounts::{NewUser, User};
use site_core::forms::Email;

use crate::support::TestApp;

fn staff(app: &TestApp, email: &str, password: &str) {
    let email = Email::parse(email).unwrap();
    User::create(
        &mut app.conn(),
        &NewUser {
            email: &email,
            password,
            is_staff: true,
            is_superuser: true,
        },
    )
    .unwrap();
}

fn session_cookie(page: &crate::support::Page) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sessionid="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

#[actix_web::test]
async fn staff_log_in_and_out() {
    let app = TestApp::spawn().await;
    staff(&app, "Boss@Example.com", "a long passphrase");
    let c = app.client();
    let form = c.get("/accounts/login/").await;
    let wrong = c
        .submit(
            &form,
            "/accounts/login/",
            &[("email", "boss@example.com"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.contains("That email and password do not match an account."));
    assert!(
        wrong.body.contains("value=\"boss@example.com\""),
        "email kept"
    );
    assert!(!wrong.body.contains("nope"), "password never echoed");
    let unknown = c
        .submit(
            &form,
            "/accounts/login/",
            &[("email", "ghost@example.com"), ("password", "nope")],
        )
        .await;
    assert!(
        unknown.contains("That email and password do not match an account."),
        "no hint whether the account exists"
    );

    let ok = c
        .submit(
            &form,
            "/accounts/login/",
            &[
                ("email", "BOSS@example.com"),
                ("password", "a long passphrase"),
            ],
        )
        .await;
    assert!(ok.contains("Signed in as boss@example.com."));
    assert!(ok.contains("Log out"));

    // Logout is POST only.
    assert_eq!(c.get_raw("/accounts/logout/").await.status, 405);
    let out = c.submit(&ok, "/accounts/logout/", &[]).await;
    assert!(out.contains("Log in"));
    assert!(!out.contains("boss@example.com"));
}

#[actix_web::test]
async fn login_rotates_the_session_id() {
    let app = TestApp::spawn().await;
    staff(&app, "s@example.com", "a long passphrase");
    let p = app.product("Thing", 5, 100);
    let c = app.client();
    let cart = c.add_to_cart(p.id, 1).await;
    drop(cart);
    let before = session_cookie(&c.get_raw(&format!("/products/{}/", p.id)).await);
    let form = c.get("/accounts/login/").await;
    let res = c
        .submit_raw(
            &form,
            "/accounts/login/",
            &[
                ("email", "s@example.com"),
                ("password", "a long passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status, 303);
    let after = session_cookie(&res).expect("a new session cookie at login");
    assert_ne!(Some(after), before);
    assert!(
        c.get("/cart/").await.contains("Cart 1"),
        "the guest cart survives the rotation"
    );
}

/// Logs in from `login_path` in a fresh browser; where the shop sends it.
async fn login_redirect(app: &TestApp, login_path: &str, extra: &[(&str, &str)]) -> Option<String> {
    let c = app.client();
    let form = c.get(login_path).await;
    let mut fields = vec![
        ("email", "s@example.com"),
        ("password", "a long passphrase"),
    ];
    fields.extend_from_slice(extra);
    c.submit_raw(&form, "/accounts/login/", &fields)
        .await
        .location()
}

#[actix_web::test]
async fn next_redirects_stay_on_this_site() {
    let app = TestApp::spawn().await;
    staff(&app, "s@example.com", "a long passphrase");
    assert_eq!(
        login_redirect(&app, "/accounts/login/?next=/cart/", &[])
            .await
            .as_deref(),
        Some("/cart/")
    );
    let evil = login_redirect(
        &app,
        "/accounts/login/?next=https://evil.example/",
        &[("next", "//evil.example/")],
    )
    .await;
    assert_eq!(evil.as_deref(), Some("/"));
    // A tab is dropped by browsers, turning "/\t/evil" into "//evil".
    let tab = login_redirect(&app, "/accounts/login/?next=/%09/evil.example", &[]).await;
    assert_eq!(tab.as_deref(), Some("/"));
}

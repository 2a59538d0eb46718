use crate::support::TestApp;

fn staff(app: &TestApp, email: &str, password: &str) {
    app.user(email, password, true);
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
    let before = c.cookie("sessionid").expect("a guest session");
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
    let after = c.cookie("sessionid").expect("a session after login");
    assert_ne!(after, before);
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

#[actix_web::test]
async fn login_is_case_insensitive_and_the_pre_login_session_id_stops_working() {
    let app = TestApp::spawn().await;
    app.customer("mixed@example.com", "a long passphrase");
    let p = app.product("Thing", 5, 100);
    let c = app.client();
    c.add_to_cart(p.id, 1).await;
    // The session id an attacker could have planted before the login.
    let planted = c.cookie("sessionid").expect("a guest session");
    let ok = c.login("MIXED@Example.COM", "a long passphrase").await;
    assert!(ok.contains("Signed in as mixed@example.com."));
    let now = c.cookie("sessionid").expect("a signed-in session");
    assert_ne!(planted, now, "a new id at login");
    let replay = |id: String| {
        let url = app.url("/accounts/profile/");
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(url)
                .header("cookie", format!("sessionid={id}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        replay(planted).await,
        303,
        "the planted id is not signed in"
    );
    assert_eq!(replay(now.clone()).await, 200, "the new one is");
    // After logout the id is dead too.
    c.logout().await;
    assert_eq!(replay(now).await, 303);
}

#[actix_web::test]
async fn logins_are_throttled_per_account_without_telling_whether_it_exists() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", "a long passphrase");
    let c = app.client();
    for _ in 0..accounts::throttle::ACCOUNT_LIMIT {
        let page = c.login("ann@example.com", "wrong password").await;
        assert_eq!(page.status, 422);
    }
    let blocked = c.login("ann@example.com", "a long passphrase").await;
    assert_eq!(blocked.status, 429, "even the right password waits");
    assert!(blocked.contains("Too many failed attempts to log in."));
    assert!(!blocked.contains("Signed in"));

    for _ in 0..accounts::throttle::ACCOUNT_LIMIT {
        c.login("ghost@example.com", "wrong password").await;
    }
    let ghost = c.login("ghost@example.com", "wrong password").await;
    assert_eq!(
        ghost.status, 429,
        "an unknown account is throttled the same way"
    );
    assert!(ghost.contains("Too many failed attempts to log in."));

    // Another account from the same address is not locked out.
    app.customer("bob@example.com", "a long passphrase");
    assert!(c
        .login("bob@example.com", "a long passphrase")
        .await
        .contains("Signed in"));
}

#[actix_web::test]
async fn logins_are_throttled_per_client_address() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", "a long passphrase");
    let c = app.client();
    // Spread over many accounts, so no single account hits its limit.
    for i in 0..accounts::throttle::CLIENT_LIMIT {
        c.login(&format!("guess{i}@example.com"), "wrong").await;
    }
    let page = c.login("ann@example.com", "a long passphrase").await;
    assert_eq!(page.status, 429);
}

#[actix_web::test]
async fn old_password_hashes_are_upgraded_at_login() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let app = TestApp::spawn().await;
    let user = app.customer("old@example.com", "a long passphrase");
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8 * 1024, 1, 1, None).unwrap(),
    );
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let old_hash = weak
        .hash_password(b"a long passphrase", &salt)
        .unwrap()
        .to_string();
    accounts::User::set_password_hash(&mut app.conn(), user.id, &old_hash).unwrap();
    assert!(app
        .client()
        .login("old@example.com", "a long passphrase")
        .await
        .contains("Signed in"));
    let stored = accounts::User::find(&mut app.conn(), user.id)
        .unwrap()
        .password_hash;
    assert_ne!(stored, old_hash);
    assert!(!accounts::password::needs_rehash(&stored));
    assert!(app
        .client()
        .login("old@example.com", "a long passphrase")
        .await
        .contains("Signed in"));
}

#[actix_web::test]
async fn parallel_guesses_cannot_slip_under_the_limit() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", "a long passphrase");
    let mut tries = Vec::new();
    for i in 0..12 {
        let c = app.client();
        tries.push(async move {
            c.login("ann@example.com", &format!("guess {i}"))
                .await
                .status
        });
    }
    let statuses = futures_util::future::join_all(tries).await;
    let checked = statuses.iter().filter(|s| **s == 422).count();
    assert!(
        checked <= accounts::throttle::ACCOUNT_LIMIT as usize,
        "{checked} passwords were checked: {statuses:?}"
    );
    assert!(statuses.iter().all(|s| *s == 422 || *s == 429));
}

#[actix_web::test]
async fn a_borrowed_session_cannot_guess_the_password_on_other_forms() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", "a long passphrase");
    let c = app.client();
    c.login("ann@example.com", "a long passphrase").await;
    for _ in 0..accounts::throttle::ACCOUNT_LIMIT {
        let profile = c.get("/accounts/profile/").await;
        let page = c
            .submit(
                &profile,
                "/accounts/profile/email/",
                &[("email", "thief@example.com"), ("password", "guess")],
            )
            .await;
        assert!(page.contains("Your password is not right."));
    }
    let profile = c.get("/accounts/profile/").await;
    let right = c
        .submit(
            &profile,
            "/accounts/profile/email/",
            &[
                ("email", "thief@example.com"),
                ("password", "a long passphrase"),
            ],
        )
        .await;
    assert!(right.contains("Too many failed attempts"), "{}", right.body);
    assert!(app.sent_mail().is_empty(), "no link went to the thief");
    let form = c.get("/accounts/delete/").await;
    let delete = c
        .submit(
            &form,
            "/accounts/delete/",
            &[("password", "a long passphrase")],
        )
        .await;
    assert!(delete.contains("Too many failed attempts"));
    assert_eq!(accounts::User::count(&mut app.conn()).unwrap(), 1);
}

#[test]
fn the_client_address_comes_from_trusted_proxies_only() {
    use actix_web::test::TestRequest;
    use site_core::http::client_ip;
    let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    let direct = TestRequest::default()
        .peer_addr("203.0.113.9:5000".parse().unwrap())
        .insert_header(("x-forwarded-for", "1.2.3.4"))
        .to_http_request();
    assert_eq!(
        client_ip(&direct, &[proxy]).to_string(),
        "203.0.113.9",
        "not a proxy: the header is ignored"
    );
    let via = TestRequest::default()
        .peer_addr("10.0.0.2:5000".parse().unwrap())
        .insert_header(("x-forwarded-for", "6.6.6.6, 198.51.100.7"))
        .to_http_request();
    assert_eq!(
        client_ip(&via, &[proxy]).to_string(),
        "198.51.100.7",
        "the address our proxy saw, not what the client wrote"
    );
    assert_eq!(client_ip(&via, &[]).to_string(), "10.0.0.2");
}

//! Registration, email verification and the password rules.

use crate::support::TestApp;

const PW: &str = "a long passphrase";

async fn register(c: &crate::support::Client, fields: &[(&str, &str)]) -> crate::support::Page {
    let form = c.get("/accounts/register/").await;
    assert_eq!(form.status, 200);
    c.submit(&form, "/accounts/register/", fields).await
}

#[actix_web::test]
async fn registering_signs_in_and_verification_link_confirms_the_address() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let home = register(
        &c,
        &[
            ("email", "Ada@Example.com"),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("password1", PW),
            ("password2", PW),
        ],
    )
    .await;
    assert_eq!(home.status, 200);
    assert!(
        home.contains("Welcome! Your account is ready."),
        "{}",
        home.body
    );
    assert!(
        home.contains("Please confirm your email address"),
        "reminded"
    );

    let mail = app.sent_mail();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, "ada@example.com");
    assert_eq!(mail[0].subject, "Confirm your email address");
    assert!(mail[0].html.contains("Confirm my email address"));
    let link = mail[0].link("/accounts/verify/");
    assert!(
        mail[0].text.contains(&format!("{}{link}", app.base)),
        "absolute link on SITE_URL"
    );

    // Opening the link (a mail scanner might) confirms nothing yet.
    let confirm = c.get(&link).await;
    assert!(confirm.contains("Is ada@example.com your address?"));
    assert!(
        !accounts::User::find(&mut app.conn(), 1)
            .unwrap()
            .email_verified
    );
    let done = c.confirm_email(&link).await;
    assert!(
        done.contains("ada@example.com is confirmed"),
        "{}",
        done.body
    );
    assert!(!done.contains("Please confirm your email address"));
    let user = accounts::User::find(&mut app.conn(), 1).unwrap();
    assert!(user.email_verified);

    // A tampered link is refused with a page that says what to do.
    let bad = c.get(&link.replacen("/verify/1", "/verify/2", 1)).await;
    assert_eq!(bad.status, 400);
    assert!(bad.contains("This confirmation link does not work"));
}

#[actix_web::test]
async fn the_verification_link_can_be_sent_again() {
    let app = TestApp::spawn().await;
    let c = app.client();
    register(
        &c,
        &[
            ("email", "b@example.com"),
            ("password1", PW),
            ("password2", PW),
        ],
    )
    .await;
    let profile = c.get("/accounts/profile/").await;
    assert!(profile.contains("not confirmed"));
    let again = c.submit(&profile, "/accounts/verify/", &[]).await;
    assert!(again.contains("We sent a new confirmation link to b@example.com."));
    assert_eq!(app.sent_mail().len(), 2);
}

#[actix_web::test]
async fn bad_registrations_get_field_errors_and_keep_input() {
    let app = TestApp::spawn().await;
    app.customer("taken@example.com", PW);
    let c = app.client();
    // (form fields, the field with the error, the message)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &[("email", "nope"), ("password1", PW), ("password2", PW)],
            "email",
            "Enter a valid email address",
        ),
        (
            &[
                ("email", "TAKEN@example.com"),
                ("password1", PW),
                ("password2", PW),
            ],
            "email",
            "An account with this email already exists",
        ),
        (
            &[
                ("email", "x@example.com"),
                ("password1", PW),
                ("password2", "other"),
            ],
            "password2",
            "The two passwords do not match.",
        ),
        (
            &[
                ("email", "x@example.com"),
                ("password1", "short"),
                ("password2", "short"),
            ],
            "password1",
            "too short",
        ),
        (
            &[
                ("email", "x@example.com"),
                ("password1", "password123"),
                ("password2", "password123"),
            ],
            "password1",
            "too common",
        ),
        (
            &[
                ("email", "x@example.com"),
                ("password1", "83749201938"),
                ("password2", "83749201938"),
            ],
            "password1",
            "entirely numeric",
        ),
        (
            &[
                ("email", "grace.hopper@example.com"),
                ("last_name", "Hopper"),
                ("password1", "hopper12"),
                ("password2", "hopper12"),
            ],
            "password1",
            "too similar to your",
        ),
    ];
    for (fields, field, message) in cases {
        let page = register(&c, fields).await;
        assert_eq!(page.status, 422, "{fields:?}");
        assert!(page.contains(message), "{fields:?}: expected {message:?}");
        assert!(
            page.body.contains(&format!("id=\"err_{field}\"")),
            "error on {field}"
        );
        assert!(
            !page.body.contains(&format!("value=\"{}\"", fields[1].1))
                || fields[1].0 != "password1",
            "passwords are never echoed"
        );
        if fields[0].1 == "x@example.com" {
            assert!(page.body.contains("value=\"x@example.com\""), "email kept");
        }
    }
    assert_eq!(
        accounts::User::count(&mut app.conn()).unwrap(),
        1,
        "nothing created"
    );
    assert!(app.sent_mail().is_empty());
}

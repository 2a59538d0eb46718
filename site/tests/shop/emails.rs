//! What each email says, as snapshots (insta): the text part, with the
//! shop's address, tokens and order references redacted.

use crate::support::{Mail, TestApp};

const PW: &str = "a long passphrase";

/// The text with what changes from run to run replaced by placeholders.
fn redacted(app: &TestApp, mail: &Mail, secrets: &[&str]) -> String {
    let mut text = mail.text.replace(&app.base, "http://shop.example");
    for prefix in ["/accounts/verify/", "/accounts/password-reset/"] {
        if let Some(start) = text.find(prefix) {
            let from = start + prefix.len();
            if let Some(len) = text[from..].find('/') {
                if len > 20 {
                    text.replace_range(from..from + len, "[token]");
                }
            }
        }
    }
    for s in secrets {
        text = text.replace(s, "[id]");
    }
    format!("To: {}\nSubject: {}\n\n{}", mail.to, mail.subject, text)
}

fn by_subject(app: &TestApp, subject: &str) -> Mail {
    app.sent_mail()
        .into_iter()
        .find(|m| m.subject.starts_with(subject))
        .unwrap_or_else(|| panic!("no email {subject:?}"))
}

#[actix_web::test]
async fn account_emails() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let form = c.get("/accounts/register/").await;
    c.submit(
        &form,
        "/accounts/register/",
        &[
            ("email", "ada@example.com"),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("password1", PW),
            ("password2", PW),
        ],
    )
    .await;
    let verify = by_subject(&app, "Confirm your email address");
    insta::assert_snapshot!("verify", redacted(&app, &verify, &[]));

    let form = c.get("/accounts/password/").await;
    c.submit(
        &form,
        "/accounts/password/",
        &[
            ("current_password", PW),
            ("password1", "another fine passphrase"),
            ("password2", "another fine passphrase"),
        ],
    )
    .await;
    let changed = by_subject(&app, "Your password was changed");
    insta::assert_snapshot!("password_changed", redacted(&app, &changed, &[]));

    let r = app.client();
    let form = r.get("/accounts/password-reset/").await;
    r.submit(
        &form,
        "/accounts/password-reset/",
        &[("email", "ada@example.com")],
    )
    .await;
    let reset = by_subject(&app, "Reset your password");
    insta::assert_snapshot!("password_reset", redacted(&app, &reset, &[]));
}

#[actix_web::test]
async fn order_confirmation_and_contact_emails() {
    let app = TestApp::spawn().await;
    let p = app.product("Snapshot Teapot", 5, 2450);
    let c = app.client();
    c.add_to_cart(p.id, 2).await;
    let page = c.checkout("grace@example.com").await;
    let public_id = crate::support::order_public_id(&page);
    let reference = public_id[..8].to_uppercase();
    let order = by_subject(&app, "Your order");
    let mut mail = order.clone();
    mail.subject = mail.subject.replace(&reference, "[ref]");
    insta::assert_snapshot!(
        "order_confirmation",
        redacted(&app, &mail, &[&public_id, &reference])
    );

    c.send_contact("Teapot spout", "Does it pour well?\nThanks.")
        .await;
    let contact = by_subject(&app, "Contact form");
    insta::assert_snapshot!("contact", redacted(&app, &contact, &[]));
}

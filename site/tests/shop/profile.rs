//! The profile: avatar uploads, email change, data export, deletion.

use crate::support::TestApp;

const PW: &str = "a long passphrase";

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[actix_web::test]
async fn an_avatar_is_checked_by_content_resized_and_served_safely() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    let profile = c.get("/accounts/profile/").await;
    let done = c
        .upload(
            &profile,
            "/accounts/profile/avatar/",
            "avatar",
            "holiday photo.png",
            png(800, 600),
        )
        .await;
    assert!(done.contains("Your picture was updated."), "{}", done.body);
    let user = accounts::User::find(&mut app.conn(), 1).unwrap();
    assert!(user.avatar.starts_with("avatars/") && user.avatar.ends_with(".png"));
    assert!(
        !user.avatar.contains("holiday"),
        "the name is ours, not the upload's"
    );
    let served = c.get_raw(&format!("/media/{}", user.avatar)).await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    assert!(served
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("image/png"));
    let stored = std::fs::read(app.config.media_root.join(&user.avatar)).unwrap();
    let img = image::load_from_memory(&stored).unwrap();
    assert_eq!((img.width(), img.height()), (256, 256));

    // A second upload replaces the first file.
    let again = c
        .upload(
            &c.get("/accounts/profile/").await,
            "/accounts/profile/avatar/",
            "avatar",
            "b.png",
            png(300, 300),
        )
        .await;
    assert!(again.contains("Your picture was updated."));
    assert!(
        !app.config.media_root.join(&user.avatar).exists(),
        "old file removed"
    );
}

#[actix_web::test]
async fn hostile_uploads_get_form_errors() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "shell.png",
            b"<?php system($_GET['c']); ?>".to_vec(),
            "not an image we can read",
        ),
        (
            "pic.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
            "not an image we can read",
        ),
        (
            "../../../etc/passwd.png",
            png(10, 10),
            "That file name is not allowed.",
        ),
        ("big.png", vec![0x89; 2 * 1024 * 1024 + 10], "at most 2 MB"),
        ("empty.png", Vec::new(), "Choose an image file"),
    ];
    for (name, bytes, message) in cases {
        let profile = c.get("/accounts/profile/").await;
        let page = c
            .upload(&profile, "/accounts/profile/avatar/", "avatar", name, bytes)
            .await;
        assert_eq!(page.status, 422, "{name}");
        assert!(page.contains(message), "{name}: expected {message:?}");
    }
    let user = accounts::User::find(&mut app.conn(), 1).unwrap();
    assert_eq!(user.avatar, "", "nothing stored");
    assert!(
        !app.config.media_root.join("avatars").exists()
            || std::fs::read_dir(app.config.media_root.join("avatars"))
                .unwrap()
                .count()
                == 0
    );
}

#[actix_web::test]
async fn an_email_change_takes_effect_only_through_the_link() {
    let app = TestApp::spawn().await;
    app.customer("old@example.com", PW);
    app.customer("other@example.com", PW);
    let c = app.client();
    c.login("old@example.com", PW).await;
    let profile = c.get("/accounts/profile/").await;
    let wrong = c
        .submit(
            &profile,
            "/accounts/profile/email/",
            &[("email", "new@example.com"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.contains("Your password is not right."));
    let taken = c
        .submit(
            &profile,
            "/accounts/profile/email/",
            &[("email", "Other@example.com"), ("password", PW)],
        )
        .await;
    assert_eq!(taken.status, 422);
    assert!(taken.contains("Another account uses that email address."));
    let asked = c
        .submit(
            &profile,
            "/accounts/profile/email/",
            &[("email", "New@example.com"), ("password", PW)],
        )
        .await;
    assert!(
        asked.contains("We sent a link to new@example.com."),
        "{}",
        asked.body
    );
    assert!(
        asked.contains("old@example.com"),
        "unchanged until confirmed"
    );

    let mail = app.sent_mail();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, "new@example.com");
    let done = c.confirm_email(&mail[0].link("/accounts/verify/")).await;
    assert!(
        done.contains("new@example.com is confirmed"),
        "{}",
        done.body
    );
    let notice: Vec<_> = app
        .sent_mail()
        .into_iter()
        .filter(|m| m.subject == "Your email address was changed")
        .collect();
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].to, "old@example.com", "the old address is told");
    assert!(notice[0].text.contains("new@example.com"));
    // The link is spent: the account's address is no longer the one it signed.
    let reused = c.get(&mail[0].link("/accounts/verify/")).await;
    assert_eq!(reused.status, 400);
    assert!(app
        .client()
        .login("new@example.com", PW)
        .await
        .contains("Signed in"));
    assert!(app
        .client()
        .login("old@example.com", PW)
        .await
        .contains("do not match"));
}

#[actix_web::test]
async fn a_customer_downloads_their_data_and_deletes_their_account() {
    let app = TestApp::spawn().await;
    let p = app.product("Teapot", 5, 2500);
    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    c.add_to_cart(p.id, 1).await;
    let order_page = c.checkout("ann@example.com").await;
    let public_id = crate::support::order_public_id(&order_page);
    c.add_to_cart(p.id, 2).await;

    let export = c.get_raw("/accounts/export/").await;
    assert_eq!(export.status, 200);
    assert!(export
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let data: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(data["account"]["email"], "ann@example.com");
    assert!(
        data["account"].get("password_hash").is_none(),
        "no hash in the export"
    );
    assert_eq!(data["orders"][0]["public_id"], public_id.as_str());
    assert_eq!(data["cart"][0]["quantity"], 2);

    let form = c.get("/accounts/delete/").await;
    let wrong = c
        .submit(&form, "/accounts/delete/", &[("password", "nope")])
        .await;
    assert_eq!(wrong.status, 422);
    let gone = c
        .submit(&form, "/accounts/delete/", &[("password", PW)])
        .await;
    assert!(gone.contains("Your account was deleted."), "{}", gone.body);
    assert!(gone.contains("Log in"));
    assert_eq!(accounts::User::count(&mut app.conn()).unwrap(), 0);
    let order = orders::Order::by_public_id(&mut app.conn(), &public_id).unwrap();
    assert_eq!(order.user_id, None);
    assert_eq!(order.email, "deleted@invalid");
    assert_eq!(order.first_name, "");
    assert_eq!(order.total_minor, 2500, "the books keep the amount");
    assert!(app
        .client()
        .login("ann@example.com", PW)
        .await
        .contains("do not match"));
}

#[actix_web::test]
async fn only_the_latest_email_change_link_works() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    let c = app.client();
    c.login("ann@example.com", PW).await;
    for typed in ["ann@exmaple.com", "ann@example.org"] {
        let profile = c.get("/accounts/profile/").await;
        c.submit(
            &profile,
            "/accounts/profile/email/",
            &[("email", typed), ("password", PW)],
        )
        .await;
    }
    let mail = app.sent_mail();
    assert_eq!(mail.len(), 2);
    let typo = app.client().get(&mail[0].link("/accounts/verify/")).await;
    assert_eq!(
        typo.status, 400,
        "the mistyped address's link died with the correction"
    );
    let good = c.confirm_email(&mail[1].link("/accounts/verify/")).await;
    assert!(
        good.contains("ann@example.org is confirmed"),
        "{}",
        good.body
    );
}

//! Product pictures from the admin: uploaded inside the product's form,
//! checked by content, resized, ordered, one of them the main picture,
//! and shown in the shop.

use std::io::Cursor;

use diesel::prelude::*;
use site_core::schema::{products_image as i, products_product as p};

use crate::support::TestApp;

const PW: &str = "correct horse battery staple";

fn png(w: u32, h: u32, colour: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(colour));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn pictures(app: &TestApp, product: i64) -> Vec<(i64, String, i32, bool, String)> {
    i::table
        .filter(i::product_id.eq(product))
        .order(i::id)
        .select((i::id, i::alt, i::position, i::is_main, i::card_path))
        .load(&mut *app.conn())
        .unwrap()
}

#[actix_web::test]
async fn staff_upload_order_and_pick_pictures_the_shop_shows() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let c = app.boss(PW).await;
    let change = format!("/admin/products/product/{}/change/", lamp.id);
    let form = c.get(&change).await;
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    let category = lamp.category_id.to_string();
    let fields = vec![
        ("name", "Oak Lamp"),
        ("slug", "oak-lamp"),
        ("sku", "SKU-oak-lamp"),
        ("category", category.as_str()),
        ("description", "A *test* product."),
        ("price", "25.00"),
        ("stock", "5"),
        ("is_active", "on"),
        ("_continue", "1"),
    ];

    // A file that is not a picture: nothing is saved, the alt text stays.
    let mut bad = fields.clone();
    bad.push(("images-new0-alt", "Lamp at night"));
    bad.push(("name", "Renamed Lamp"));
    let refused = c
        .submit_multipart(
            &form,
            &change,
            &bad,
            &[("images-new0-file", "lamp.png", b"not a picture".to_vec())],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.contains("That file is not an image we can read."),
        "{}",
        refused.text()
    );
    assert!(refused.body.contains("value=\"Lamp at night\""));
    assert!(pictures(&app, lamp.id).is_empty());
    let name: String = p::table
        .find(lamp.id)
        .select(p::name)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(name, "Oak Lamp", "nothing half-saved");

    let mut two = fields.clone();
    two.extend([
        ("images-new0-alt", "The lamp, lit"),
        ("images-new1-alt", "The lamp from above"),
        ("images-pick", "new1"),
    ]);
    let saved = c
        .submit_multipart(
            &form,
            &change,
            &two,
            &[
                (
                    "images-new0-file",
                    "lit.png",
                    png(1600, 1200, [250, 200, 40]),
                ),
                (
                    "images-new1-file",
                    "above.jpg",
                    png(800, 800, [20, 80, 200]),
                ),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let rows = pictures(&app, lamp.id);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].1, "The lamp, lit");
    assert!(!rows[0].3 && rows[1].3, "the second is the main picture");
    let card: String = p::table
        .find(lamp.id)
        .select(p::image)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(card, rows[1].4, "listings show the main picture's card");
    let stored = image::open(app.config.media_root.join(&rows[1].4)).unwrap();
    assert_eq!((stored.width(), stored.height()), (480, 360));

    let shop = app.client().get(&format!("/products/{}/", lamp.id)).await;
    let main = shop
        .body
        .split("data-testid=\"main-image\"")
        .next()
        .unwrap();
    assert!(
        main.contains("alt=\"The lamp from above\""),
        "{}",
        shop.body
    );
    assert_eq!(shop.count("data-testid=\"gallery-image\""), 1);
    assert!(shop.body.contains("alt=\"The lamp, lit\""));
    let list = app.client().get("/products/").await;
    assert!(crate::support::html::decode(&list.body).contains(&format!("/media/{}", rows[1].4)));

    // Reorder, re-pick and delete from the same form.
    let form = c.get(&change).await;
    assert_eq!(form.count("data-testid=\"formset-row\""), 2);
    let (first, second) = (rows[0].0.to_string(), rows[1].0.to_string());
    let mut edit = fields.clone();
    let alt = format!("images-{first}-alt");
    let pos = format!("images-{first}-position");
    let del = format!("images-{second}-DELETE");
    edit.extend([
        (alt.as_str(), "Lit, at dusk"),
        (pos.as_str(), "7"),
        (del.as_str(), "on"),
        ("images-pick", second.as_str()),
    ]);
    let again = c.submit_multipart(&form, &change, &edit, &[]).await;
    assert_eq!(again.status, 303, "{}", again.text());
    let rows = pictures(&app, lamp.id);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2, rows[0].3),
        ("Lit, at dusk", 7, true),
        "the one left is the main picture"
    );

    let history = c
        .get(&format!("/admin/products/product/{}/history/", lamp.id))
        .await;
    assert!(
        history.contains("added lit.png as picture"),
        "{}",
        history.text()
    );
    assert!(history.contains(&format!("deleted picture {second}")));
}

/// However many file fields a form sends, what is held in memory is
/// bounded: nine 7.5 MB files (each under the 8 MB limit) are refused as a
/// whole, with a reason, and nothing is saved.
#[actix_web::test]
async fn a_form_cannot_pile_up_files_in_memory() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let c = app.boss(PW).await;
    let change = format!("/admin/products/product/{}/change/", lamp.id);
    let form = c.get(&change).await;
    let big = vec![0u8; 7_500_000];
    let files: Vec<(&str, &str, Vec<u8>)> = (0..9)
        .map(|_| ("images-new0-file", "big.png", big.clone()))
        .collect();
    let refused = c.submit_multipart(&form, &change, &[], &files).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.contains("The files are too large together: send at most 64 MB in one form."),
        "{}",
        refused.text()
    );
    assert!(pictures(&app, lamp.id).is_empty());
}

/// Uploaded pictures come in sizes the page chooses between (`srcset`),
/// and as WebP to browsers that take it, at the same address.
#[actix_web::test]
async fn pictures_are_offered_in_sizes_and_as_webp_where_the_browser_takes_it() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let stored = products::images::store(
        &app.config.media_root,
        "lamp.png",
        &png(1600, 1200, [200, 180, 40]),
    )
    .unwrap();
    let id = products::images::insert(&mut app.conn(), lamp.id, &stored, "", None).unwrap();
    products::images::settle_main(&mut app.conn(), lamp.id, Some(id)).unwrap();

    // Cards offer the card and large sizes; the product page shows the
    // large picture whole (the card size is cropped to 4:3).
    let c = app.client();
    let list = c.get("/products/").await;
    assert!(
        list.body.replace("&#x2F;", "/").contains(&format!(
            "srcset=\"/media/{} 480w, /media/{} 1200w\" sizes=\"(max-width: 720px)",
            stored.card, stored.large
        )),
        "{}",
        list.body
    );
    let page = c.get(&crate::support::product_path(&lamp)).await;
    let main = page.body.replace("&#x2F;", "/");
    assert!(main.contains(&format!(
        "<img class=\"main\" src=\"/media/{}\"",
        stored.large
    )));

    let http = reqwest::Client::new();
    let fetch = |accept: &'static str| {
        let url = app.url(&format!("/media/{}", stored.card));
        let http = http.clone();
        async move {
            let res = http.get(url).header("Accept", accept).send().await.unwrap();
            let head = |h: &str| {
                res.headers()
                    .get(h)
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default()
            };
            let (kind, vary) = (head("content-type"), head("vary"));
            let bytes = res.bytes().await.unwrap();
            (kind, vary, bytes.len())
        }
    };
    let (kind, vary, webp_len) = fetch("image/avif,image/webp,*/*").await;
    assert_eq!(kind, "image/webp");
    assert!(vary.contains("Accept"), "{vary}");
    let (kind, vary, jpeg_len) = fetch("image/png,*/*").await;
    assert_eq!(kind, "image/jpeg");
    assert!(vary.contains("Accept"));
    assert!(webp_len < jpeg_len, "{webp_len} vs {jpeg_len}");
    // A path outside the shop's own names is never negotiated.
    let other = http
        .get(app.url("/media/products/..%2Fsecret.jpg"))
        .header("Accept", "image/webp")
        .send()
        .await
        .unwrap();
    assert!(other.status().is_client_error(), "{}", other.status());
}

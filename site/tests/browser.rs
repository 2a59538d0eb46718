//! The purchase journey in real Chromium, driven through chromedriver.
//! `.ci/run` sets SHOP_REQUIRE_BROWSER=1: there a missing browser fails the
//! test; elsewhere it is skipped with a note.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use support::TestApp;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn required() -> bool {
    std::env::var("SHOP_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn find(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

async fn start_browser(profile: &std::path::Path) -> Option<(Driver, Client)> {
    let (Some(driver_bin), Some(chrome_bin)) = (
        find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]),
        find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]),
    ) else {
        assert!(
            !required(),
            "chromium and chromium-driver are required (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipping the browser test: chromium/chromedriver not installed");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": chrome_bin,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    }))
    .unwrap();
    let mut last_err = None;
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return Some((driver, client)),
            Err(e) => {
                last_err = Some(e.to_string());
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    panic!("could not start a Chromium session: {last_err:?}");
}

async fn text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn fill(c: &Client, name: &str, value: &str) {
    let el = c
        .find(Locator::Css(&format!("input[name='{name}']")))
        .await
        .unwrap();
    el.clear().await.unwrap();
    el.send_keys(value).await.unwrap();
}

#[actix_web::test]
async fn a_shopper_buys_with_the_demo_card_in_chromium() {
    let app = TestApp::spawn().await;
    app.seed(12, 3);
    orders::vouchers::create(
        &mut app.conn(),
        &orders::vouchers::NewVoucher {
            code: "CHROMIUM5",
            description: "",
            kind: orders::vouchers::VoucherKind::Fixed,
            percent_basis_points: 0,
            amount: site_core::Money::from_minor(500, site_core::Currency::Usd),
            min_basket: None,
            valid_from: None,
            valid_until: None,
            usage_limit: Some(1),
            per_customer_limit: None,
        },
    )
    .unwrap();
    let mug = app.product("Browser Mug", 3, 1800);
    let profile = tempfile::tempdir().unwrap();
    let Some((_driver, c)) = start_browser(profile.path()).await else {
        return;
    };

    c.goto(&app.url("/products/?q=browser")).await.unwrap();
    assert!(text(&c).await.contains("Browser Mug"));
    click_link(&c, "Browser Mug").await;
    wait_path(&c, &support::product_path(&mug)).await;

    fill(&c, "quantity", "2").await;
    click(&c, "form.add button[type=submit]").await;
    wait_path(&c, "/cart/").await;
    let cart = text(&c).await;
    assert!(
        cart.contains("Added 2 × “Browser Mug” to your cart."),
        "{cart}"
    );
    assert!(cart.contains("$36.00"));

    click_link(&c, "Check out").await;
    wait_path(&c, "/orders/checkout/").await;
    fill_address(&c, "chromium@example.com").await;
    submit_panel(&c).await;
    wait_path(&c, "/orders/checkout/shipping/").await;
    assert!(text(&c).await.contains("Standard delivery"));
    submit_panel(&c).await;
    wait_path(&c, "/orders/checkout/review/").await;
    let review = text(&c).await;
    assert!(review.contains("Delivery: Standard delivery"), "{review}");
    fill(&c, "voucher", "chromium5").await;
    click(&c, "form.voucher-form button").await;
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("[data-testid='voucher']"))
        .await
        .unwrap();
    let review = text(&c).await;
    assert!(
        review.contains("Voucher CHROMIUM5 (amount off)"),
        "{review}"
    );
    assert!(
        review.contains("Place order: $31.00"),
        "36.00 less 5.00: {review}"
    );
    click(&c, "form[action='/orders/checkout/review/'] button").await;
    wait_prefix(&c, "/orders/", "/orders/checkout/review/").await;
    let order = text(&c).await;
    assert!(order.contains("Awaiting payment"), "{order}");

    click(&c, "a.button[href^='/payments/']").await;
    wait_prefix(&c, "/payments/", "").await;
    // On to the gateway's hosted page.
    submit_panel(&c).await;
    wait_prefix(&c, "/demo-pay/", "").await;
    let gateway = text(&c).await;
    assert!(
        gateway.contains("Demo Pay") && gateway.contains("Payment to"),
        "{gateway}"
    );
    pay_with(&c, "4000 0000 0000 0002").await;
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(".alert-error"))
        .await
        .unwrap();
    assert!(text(&c).await.contains("Your card was declined."));

    pay_with(&c, "4242 4242 4242 4242").await;
    wait_prefix(&c, "/orders/", "").await;
    let paid = text(&c).await;
    assert!(paid.contains("Payment received."), "{paid}");
    assert!(paid.contains("Paid"));

    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join("shop-browser-journey.png"), png);
    }
    c.close().await.unwrap();

    assert_eq!(app.stock(mug.id), 1);
    let mail = app.sent_mail();
    assert_eq!(mail.len(), 2, "the confirmation, then the receipt");
    assert_eq!(mail[0].to, "chromium@example.com");
    assert!(
        mail[1].subject.contains("invoice INV-000001"),
        "{}",
        mail[1].subject
    );
}

/// Search in one's own words, narrow by a facet, pick a size that is in
/// stock (the sold-out one cannot be picked), and buy it.
#[actix_web::test]
async fn a_shopper_searches_narrows_by_colour_picks_a_size_and_buys_it() {
    let app = TestApp::spawn().await;
    let shoes = app.product("Trail Runner", 0, 8900);
    let v = app.variants(
        &shoes,
        "Shoes",
        &["Size", "Colour"],
        &[
            ("42 / Black", "TR-42-BLK", 8900, 3),
            ("43 / Sand", "TR-43-SND", 9500, 0),
            ("44 / Sand", "TR-44-SND", 9500, 2),
        ],
    );
    app.product("Runner Rug", 4, 4000);
    let profile = tempfile::tempdir().unwrap();
    let Some((_driver, c)) = start_browser(profile.path()).await else {
        return;
    };

    c.goto(&app.url("/products/?q=runner")).await.unwrap();
    let found = text(&c).await;
    assert!(
        found.contains("Trail Runner") && found.contains("Runner Rug"),
        "{found}"
    );
    click(&c, ".refine-wide a[href*='colour=sand' i]").await;
    for _ in 0..150 {
        if c.current_url()
            .await
            .unwrap()
            .query()
            .is_some_and(|q| q.to_lowercase().contains("colour=sand"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let narrowed = text(&c).await;
    assert!(narrowed.contains("Trail Runner"), "{narrowed}");
    assert!(!narrowed.contains("Runner Rug"), "{narrowed}");
    assert!(narrowed.contains("From $89.00"));
    click(&c, "a.card-link").await;
    wait_path(&c, &support::product_path(&shoes)).await;

    let sold_out = c
        .find(Locator::Css(&format!(
            "input[name='variant'][value='{}']",
            v[1]
        )))
        .await
        .unwrap();
    assert!(
        !sold_out.is_enabled().await.unwrap(),
        "43 / Sand is sold out"
    );
    click(&c, &format!("input[name='variant'][value='{}']", v[2])).await;
    fill(&c, "quantity", "2").await;
    click(&c, "form.add button[type=submit]").await;
    wait_path(&c, "/cart/").await;
    let cart = text(&c).await;
    assert!(
        cart.contains("Added 2 × “Trail Runner (44, Sand)” to your cart."),
        "{cart}"
    );
    assert!(cart.contains("$190.00"));

    click_link(&c, "Check out").await;
    wait_path(&c, "/orders/checkout/").await;
    fill_address(&c, "sand@example.com").await;
    submit_panel(&c).await;
    wait_path(&c, "/orders/checkout/shipping/").await;
    submit_panel(&c).await;
    wait_path(&c, "/orders/checkout/review/").await;
    assert!(text(&c).await.contains("Trail Runner (44, Sand)"));
    click(&c, "form[action='/orders/checkout/review/'] button").await;
    wait_prefix(&c, "/orders/", "/orders/checkout/review/").await;
    click(&c, "a.button[href^='/payments/']").await;
    wait_prefix(&c, "/payments/", "").await;
    submit_panel(&c).await;
    wait_prefix(&c, "/demo-pay/", "").await;
    pay_with(&c, "4242 4242 4242 4242").await;
    wait_prefix(&c, "/orders/", "").await;
    let paid = text(&c).await;
    assert!(paid.contains("Payment received."), "{paid}");
    c.close().await.unwrap();

    assert_eq!(app.stock(v[2]), 0, "both units of 44 / Sand sold");
    assert_eq!(app.stock(v[0]), 3);
    use diesel::prelude::*;
    let options: String = site_core::schema::orders_line::table
        .select(site_core::schema::orders_line::options)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(options, "Size: 44, Colour: Sand");
}

async fn click_link(c: &Client, text: &str) {
    c.find(Locator::LinkText(text))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Fills the checkout's address step for `email` (a UK address).
async fn fill_address(c: &Client, email: &str) {
    for (name, value) in support::checkout_fields(email) {
        if name == "country" {
            c.find(Locator::Css("select[name='country']"))
                .await
                .unwrap()
                .select_by_value("GB")
                .await
                .unwrap();
        } else {
            fill(c, name, value).await;
        }
    }
}

/// Submits the page's main form (checkout, payment).
async fn submit_panel(c: &Client) {
    click(c, "form.panel button[type=submit]").await;
}

/// Pays on the demo gateway's page.
async fn pay_with(c: &Client, card_number: &str) {
    fill(c, "holder", "Chromium Shopper").await;
    fill(c, "card_number", card_number).await;
    fill(c, "expiry", "12/39").await;
    fill(c, "cvc", "123").await;
    click(c, "form[action^='/demo-pay/'] button[type=submit]").await;
}

async fn wait_path(c: &Client, path: &str) {
    for _ in 0..150 {
        if c.current_url().await.unwrap().path() == path {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "never reached {path}; at {} showing:\n{}",
        c.current_url().await.unwrap(),
        text(c).await
    );
}

/// Waits for a path under `prefix` that is not `not`.
async fn wait_prefix(c: &Client, prefix: &str, not: &str) {
    for _ in 0..150 {
        let url = c.current_url().await.unwrap();
        if url.path().starts_with(prefix) && url.path() != not && !text(c).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "never reached {prefix}; at {} showing:\n{}",
        c.current_url().await.unwrap(),
        text(c).await
    );
}

/// Clicks the submit button of the form posting to `action`.
async fn submit_form(c: &Client, action: &str) {
    click(c, &format!("form[action='{action}'] button[type=submit]")).await;
}

async fn log_in(c: &Client, app: &TestApp, email: &str, password: &str) {
    c.goto(&app.url("/accounts/login/")).await.unwrap();
    fill(c, "email", email).await;
    fill(c, "password", password).await;
    submit_form(c, "/accounts/login/").await;
    wait_path(c, "/").await;
    assert!(text(c).await.contains(&format!("Signed in as {email}.")));
}

async fn cart_count(c: &Client) -> String {
    c.find(Locator::Css("[data-testid=cart-count]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// At 390 px wide nothing scrolls sideways, the cart stays on screen, and
/// the account links open from a menu (a details element: no script).
#[actix_web::test]
async fn on_a_phone_the_cart_and_the_account_menu_stay_on_screen() {
    let app = TestApp::spawn().await;
    app.seed(12, 3);
    let profile = tempfile::tempdir().unwrap();
    let Some((_driver, c)) = start_browser(profile.path()).await else {
        return;
    };
    c.set_window_size(390, 844).await.unwrap();
    for path in [
        "/",
        "/products/",
        "/products/1/",
        "/cart/",
        "/accounts/login/",
    ] {
        c.goto(&app.url(path)).await.unwrap();
        let measured = c
            .execute(
                "const widest = [...document.querySelectorAll('body *')]\
                   .map(e => [e.getBoundingClientRect().right, e.tagName + '.' + e.className])\
                   .sort((a, b) => b[0] - a[0])[0];\
                 return [document.documentElement.scrollWidth, window.innerWidth, \
                 document.querySelector('.cart-link').getBoundingClientRect().right, widest];",
                vec![],
            )
            .await
            .unwrap();
        let [scroll, inner, cart] = [0, 1, 2].map(|i| measured[i].as_f64().unwrap());
        assert!(inner <= 400.0, "a phone-sized window: {inner}");
        assert!(
            scroll <= inner,
            "{path}: {scroll} px wide in a {inner} px window (widest: {})",
            measured[3]
        );
        assert!(cart <= inner, "{path}: the cart link ends at {cart} px");
    }
    c.goto(&app.url("/products/")).await.unwrap();
    let login = c
        .find(Locator::Css("details.menu a[href='/accounts/login/']"))
        .await
        .unwrap();
    assert!(!login.is_displayed().await.unwrap(), "folded away");
    click(&c, "details.menu > summary").await;
    assert!(login.is_displayed().await.unwrap());
    login.click().await.unwrap();
    wait_path(&c, "/accounts/login/").await;
    // The categories are one row to scroll sideways, not a screen of links.
    c.goto(&app.url("/products/")).await.unwrap();
    let rows = c
        .execute(
            "return new Set([...document.querySelectorAll('.filters li')]\
             .filter(li => li.offsetParent !== null)\
             .map(li => Math.round(li.getBoundingClientRect().top))).size;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rows.as_u64(), Some(1));
    // Ends the session: chromedriver then quits Chromium, which killing
    // chromedriver alone leaves running.
    c.close().await.unwrap();
}

#[actix_web::test]
async fn a_customer_registers_verifies_and_finds_their_cart_after_logging_in_again() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Browser Lamp", 5, 4200);
    let profile = tempfile::tempdir().unwrap();
    let Some((_driver, c)) = start_browser(profile.path()).await else {
        return;
    };
    const PW: &str = "correct horse battery";

    c.goto(&app.url("/")).await.unwrap();
    click_link(&c, "Register").await;
    wait_path(&c, "/accounts/register/").await;
    fill(&c, "email", "Grace@Example.com").await;
    fill(&c, "first_name", "Grace").await;
    fill(&c, "password1", PW).await;
    fill(&c, "password2", PW).await;
    submit_form(&c, "/accounts/register/").await;
    wait_path(&c, "/").await;
    let home = text(&c).await;
    assert!(home.contains("Welcome! Your account is ready."), "{home}");
    assert!(home.contains("Please confirm your email address"));

    // Follow the link from the email, as the customer would.
    let mail = app.sent_mail();
    assert_eq!(mail.len(), 1);
    let link = mail[0].link("/accounts/verify/");
    c.goto(&app.url(&link)).await.unwrap();
    assert!(text(&c)
        .await
        .contains("Is grace@example.com your address?"));
    submit_form(&c, &link).await;
    wait_path(&c, "/accounts/profile/").await;
    let profile_page = text(&c).await;
    assert!(
        profile_page.contains("grace@example.com is confirmed"),
        "{profile_page}"
    );
    assert!(!profile_page.contains("Please confirm your email address"));

    // Log out, log in, shop, log out, log in again: the cart is still there.
    submit_form(&c, "/accounts/logout/").await;
    wait_path(&c, "/").await;
    log_in(&c, &app, "grace@example.com", PW).await;
    c.goto(&app.url(&format!("/products/{}/", lamp.id)))
        .await
        .unwrap();
    fill(&c, "quantity", "2").await;
    click(&c, "form.add button[type=submit]").await;
    wait_path(&c, "/cart/").await;
    assert_eq!(cart_count(&c).await, "2");
    submit_form(&c, "/accounts/logout/").await;
    wait_path(&c, "/").await;
    assert_eq!(cart_count(&c).await, "0", "logged out: an empty guest cart");
    log_in(&c, &app, "grace@example.com", PW).await;
    assert_eq!(cart_count(&c).await, "2");
    c.goto(&app.url("/cart/")).await.unwrap();
    let cart = text(&c).await;
    assert!(
        cart.contains("Browser Lamp") && cart.contains("$84.00"),
        "{cart}"
    );
    c.close().await.unwrap();
}

#[actix_web::test]
async fn a_customer_resets_a_forgotten_password_in_chromium() {
    let app = TestApp::spawn().await;
    app.customer("ada@example.com", "the old passphrase");
    let profile = tempfile::tempdir().unwrap();
    let Some((_driver, c)) = start_browser(profile.path()).await else {
        return;
    };
    c.goto(&app.url("/accounts/login/")).await.unwrap();
    click_link(&c, "Forgot your password?").await;
    wait_path(&c, "/accounts/password-reset/").await;
    fill(&c, "email", "ada@example.com").await;
    submit_form(&c, "/accounts/password-reset/").await;
    wait_path(&c, "/accounts/password-reset/sent/").await;
    assert!(text(&c).await.contains("Check your email"));

    let link = app.sent_mail()[0].link("/accounts/password-reset/");
    c.goto(&app.url(&link)).await.unwrap();
    fill(&c, "password1", "a brand new passphrase").await;
    fill(&c, "password2", "a brand new passphrase").await;
    submit_form(&c, &link).await;
    wait_path(&c, "/accounts/login/").await;
    assert!(text(&c).await.contains("Your password was reset."));
    log_in(&c, &app, "ada@example.com", "a brand new passphrase").await;

    // The link was single-use.
    c.goto(&app.url(&link)).await.unwrap();
    assert!(text(&c)
        .await
        .contains("This password reset link does not work"));
    c.close().await.unwrap();
}

/// The admin in Chromium: a staff member adds a category and a product
/// with a picture (the slug fills itself in), sees it in the shop, changes
/// its price in the list, finds the change in its history, then ships a
/// paid order, and the customer sees the tracking number.
#[actix_web::test]
async fn staff_run_the_catalogue_and_ship_an_order_in_chromium() {
    let app = TestApp::spawn().await;
    const PW: &str = "correct horse battery staple";
    app.user("boss@example.com", PW, true);
    // A paid order from a shopper, made over HTTP.
    let lamp = app.product("Paid Lamp", 5, 3000);
    let shopper = app.client();
    shopper.add_to_cart(lamp.id, 1).await;
    let placed = shopper.checkout("shopper@example.com").await;
    let public_id = support::order_public_id(&placed);
    shopper.pay_by_card(&public_id, "4242424242424242").await;
    let picture = tempfile::Builder::new()
        .prefix("teapot-")
        .suffix(".png")
        .tempfile()
        .unwrap();
    image::RgbImage::from_pixel(640, 480, image::Rgb([40, 120, 200]))
        .save_with_format(picture.path(), image::ImageFormat::Png)
        .unwrap();

    let profile = tempfile::tempdir().unwrap();
    let Some((_driver, c)) = start_browser(profile.path()).await else {
        return;
    };
    c.goto(&app.url("/admin/")).await.unwrap();
    wait_path(&c, "/accounts/login/").await;
    fill(&c, "email", "boss@example.com").await;
    fill(&c, "password", PW).await;
    click(&c, "form[action^='/accounts/login/'] button[type=submit]").await;
    wait_path(&c, "/admin/").await;
    assert!(text(&c).await.contains("Recent actions"));

    // A category: the slug follows the name as it is typed.
    c.goto(&app.url("/admin/products/category/add/"))
        .await
        .unwrap();
    fill(&c, "name", "Browser Teas").await;
    let slug = c.find(Locator::Css("#id_slug")).await.unwrap();
    assert_eq!(
        slug.prop("value").await.unwrap().as_deref(),
        Some("browser-teas")
    );
    click(&c, "button[name=_save]").await;
    wait_path(&c, "/admin/products/category/").await;
    assert!(text(&c)
        .await
        .contains("The category “Browser Teas” was added."));

    // A product with a picture.
    c.goto(&app.url("/admin/products/product/add/"))
        .await
        .unwrap();
    fill(&c, "name", "Browser Teapot").await;
    fill(&c, "sku", "TEA-1").await;
    c.find(Locator::Css("#id_category"))
        .await
        .unwrap()
        .select_by_label("Browser Teas")
        .await
        .unwrap();
    fill(&c, "price", "24.50").await;
    fill(&c, "stock", "7").await;
    c.find(Locator::Css("input[name='images-new0-file']"))
        .await
        .unwrap()
        .send_keys(&picture.path().display().to_string())
        .await
        .unwrap();
    fill(&c, "images-new0-alt", "A blue teapot").await;
    click(&c, "button[name=_continue]").await;
    for _ in 0..50 {
        if c.current_url().await.unwrap().path() != "/admin/products/product/add/" {
            break;
        }
        if let Ok(errors) = c.find(Locator::Css(".errorlist")).await {
            panic!("the product was refused: {}", errors.text().await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_prefix(
        &c,
        "/admin/products/product/",
        "/admin/products/product/add/",
    )
    .await;
    let saved = text(&c).await;
    assert!(
        saved.contains("was added. You may edit it again below."),
        "{saved}"
    );
    let id: i64 = c
        .current_url()
        .await
        .unwrap()
        .path()
        .split('/')
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();

    // In the shop, with its picture.
    c.goto(&app.url("/products/?q=teapot")).await.unwrap();
    click_link(&c, "Browser Teapot").await;
    wait_prefix(&c, &format!("/products/{id}/"), "").await;
    assert!(text(&c).await.contains("$24.50"));
    let main = c
        .find(Locator::Css("[data-testid=main-image]"))
        .await
        .unwrap();
    assert_eq!(
        main.attr("alt").await.unwrap().as_deref(),
        Some("A blue teapot")
    );

    // A new price, typed in the list; Enter saves it (the form's first
    // button is "Save changes", not the action).
    c.goto(&app.url("/admin/products/product/?q=teapot"))
        .await
        .unwrap();
    let enter = char::from(fantoccini::key::Key::Enter);
    fill(&c, &format!("form-{id}-price"), &format!("19.99{enter}")).await;
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(".message-success"))
        .await
        .unwrap();
    assert!(text(&c).await.contains("1 product was changed."));
    c.goto(&app.url(&format!("/admin/products/product/{id}/history/")))
        .await
        .unwrap();
    let history = text(&c).await;
    assert!(history.contains("$24.50 → $19.99"), "{history}");

    // Ship the paid order: pick it, pick the action, give the tracking number.
    c.goto(&app.url("/admin/orders/order/?status=paid"))
        .await
        .unwrap();
    click(&c, "input[name=_selected]").await;
    c.find(Locator::Css("#action"))
        .await
        .unwrap()
        .select_by_value("mark_shipped")
        .await
        .unwrap();
    click(&c, "button[name=_run]").await;
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("select[name^='carrier-']"))
        .await
        .unwrap()
        .select_by_label("UPS")
        .await
        .unwrap();
    let tracking = c
        .find(Locator::Css("input[name^='tracking_number-']"))
        .await
        .unwrap();
    tracking.send_keys("1Z999AA10123456784").await.unwrap();
    click(&c, "form button.primary").await;
    c.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(".message-success"))
        .await
        .unwrap();
    assert!(text(&c).await.contains("1 order was marked shipped"));

    c.goto(&app.url(&format!("/orders/{public_id}/")))
        .await
        .unwrap();
    let order_page = text(&c).await;
    assert!(
        order_page.contains("Tracking number: 1Z999AA10123456784"),
        "{order_page}"
    );

    // Refund the line from the order's admin page; the customer's order
    // page tells the whole story.
    let order_id: i64 = {
        use diesel::prelude::*;
        use site_core::schema::orders_order as o;
        o::table
            .filter(o::public_id.eq(&public_id))
            .select(o::id)
            .first(&mut *app.conn())
            .unwrap()
    };
    c.goto(&app.url(&format!("/admin/orders/order/{order_id}/change/")))
        .await
        .unwrap();
    click_link(&c, "Refund").await;
    wait_path(&c, &format!("/admin/orders/order/{order_id}/refund/")).await;
    let units = c.find(Locator::Css("input[name^='qty-']")).await.unwrap();
    units.clear().await.unwrap();
    units.send_keys("1").await.unwrap();
    click(&c, "form[action$='/refund/'] button.primary").await;
    wait_path(&c, &format!("/admin/orders/order/{order_id}/change/")).await;
    assert!(text(&c).await.contains("The refund is made"));
    c.goto(&app.url(&format!("/orders/{public_id}/")))
        .await
        .unwrap();
    let story = text(&c).await;
    for line in [
        "Order placed",
        "Payment received; invoice INV-000001",
        "Shipped with UPS",
        "Refunded $30.00 to your card ending 4242",
    ] {
        assert!(story.contains(line), "{line}: {story}");
    }
    c.close().await.unwrap();
}

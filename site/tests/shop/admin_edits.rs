//! Editing in the admin: list-editable columns, edit conflicts, bulk
//! actions, deletes that deactivate, the audit trail and CSV export.

use diesel::prelude::*;
use site_core::schema::{admin_log as log, products_product as p};

use crate::support::{Page, TestApp};

const PW: &str = "correct horse battery staple";

fn price_and_stock(app: &TestApp, id: i64) -> (i64, i64) {
    p::table
        .find(id)
        .select((p::price_minor, p::stock))
        .first(&mut *app.conn())
        .unwrap()
}

fn active(app: &TestApp, id: i64) -> bool {
    p::table
        .find(id)
        .select(p::is_active)
        .first(&mut *app.conn())
        .unwrap()
}

fn entries(app: &TestApp, object_id: i64) -> Vec<(String, String, String)> {
    log::table
        .filter(log::object_id.eq(object_id))
        .filter(log::model.eq("product"))
        .order(log::id)
        .select((log::action, log::action_name, log::changes))
        .load(&mut *app.conn())
        .unwrap()
}

const LIST: &str = "/admin/products/product/";

#[actix_web::test]
async fn price_and_stock_are_edited_in_the_list_all_or_nothing() {
    let app = TestApp::spawn().await;
    let a = app.product("Oak Lamp", 5, 2500);
    let b = app.product("Tea Pot", 7, 1200);
    let c = app.boss(PW).await;

    let list = c.get(LIST).await;
    let (pa, sa) = (
        format!("form-{}-price", a.id),
        format!("form-{}-stock", a.id),
    );
    let (pb, sb) = (
        format!("form-{}-price", b.id),
        format!("form-{}-stock", b.id),
    );
    assert!(list
        .body
        .contains(&format!("name=\"{pa}\" value=\"25.00\"")));

    // One bad value: nothing is saved, the typed values stay.
    let bad = c
        .submit_multi(
            &list,
            LIST,
            &[
                (&pa, "19.99"),
                (&sa, "5"),
                (&pb, "twelve"),
                (&sb, "7"),
                ("_save", "1"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.contains("Enter an amount like 12.50"));
    assert!(bad.body.contains("value=\"twelve\""));
    assert_eq!(price_and_stock(&app, a.id), (2500, 5));

    let saved = c
        .submit_multi(
            &list,
            LIST,
            &[
                (&pa, "19.99"),
                (&sa, "4"),
                (&pb, "12.00"),
                (&sb, "9"),
                ("_save", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let after = c.follow(saved).await;
    assert!(
        after.contains("2 products were changed."),
        "{}",
        after.text()
    );
    assert_eq!(price_and_stock(&app, a.id), (1999, 4));
    assert_eq!(price_and_stock(&app, b.id), (1200, 9));
    let logged = entries(&app, a.id);
    assert_eq!(logged.len(), 1);
    assert!(logged[0].2.contains("$25.00") && logged[0].2.contains("$19.99"));

    // A sale lands between opening the list and saving it: refused.
    let list = c.get(LIST).await;
    products::models::reserve_stock(&mut app.conn(), a.id, 1).unwrap();
    let stale = c
        .submit_multi(
            &list,
            LIST,
            &[
                (&pa, "19.99"),
                (&sa, "10"),
                (&pb, "12.00"),
                (&sb, "9"),
                ("_save", "1"),
            ],
        )
        .await;
    assert_eq!(stale.status, 409);
    assert!(
        stale.contains(
            "Someone else changed it while you were editing (price is now $19.99, stock is now 3)"
        ),
        "{}",
        stale.text()
    );
    assert_eq!(
        price_and_stock(&app, a.id),
        (1999, 3),
        "the sale is not overwritten"
    );
    // Saving the re-shown form again is a deliberate overwrite.
    let again = c
        .submit_multi(
            &stale,
            LIST,
            &[
                (&pa, "19.99"),
                (&sa, "10"),
                (&pb, "12.00"),
                (&sb, "9"),
                ("_save", "1"),
            ],
        )
        .await;
    assert_eq!(again.status, 303);
    assert_eq!(price_and_stock(&app, a.id), (1999, 10));

    // Enter in a cell submits with the form's first button, which saves;
    // a form sent with "Run" but no action chosen saves the edits too.
    let list = c.get(LIST).await;
    let form = &list.body[list.body.find("class=\"results\"").unwrap()..];
    let first_button = &form[form.find("<button").unwrap()..];
    assert!(first_button.starts_with("<button type=\"submit\" name=\"_save\""));
    let entered = c
        .submit_multi(
            &list,
            LIST,
            &[
                (&pa, "18.00"),
                (&sa, "10"),
                (&pb, "12.00"),
                (&sb, "9"),
                ("action", ""),
                ("_run", "1"),
            ],
        )
        .await;
    assert_eq!(entered.status, 303);
    assert_eq!(price_and_stock(&app, a.id), (1800, 10));
}

#[actix_web::test]
async fn the_second_of_two_editors_is_refused_instead_of_overwriting() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    app.user("boss@example.com", PW, true);
    app.user("other@example.com", PW, true);
    let first = app.client();
    first.login("boss@example.com", PW).await;
    let second = app.client();
    second.login("other@example.com", PW).await;
    let change = format!("/admin/products/product/{}/change/", lamp.id);
    let mine = first.get(&change).await;
    let theirs = second.get(&change).await;
    let category = lamp.category_id.to_string();
    let form = |name: &'static str, price: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("name", name.into()),
            ("description", "A *test* product.".into()),
            ("slug", "oak-lamp".into()),
            ("sku", "SKU-oak-lamp".into()),
            ("category", category.clone()),
            ("price", price.into()),
            ("stock", "5".into()),
            ("is_active", "on".into()),
        ]
    };
    let a = form("Oak Lamp", "30.00");
    let a: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = first.submit(&mine, &change, &a).await;
    assert!(done.contains("was changed."), "{}", done.text());
    assert_eq!(price_and_stock(&app, lamp.id).0, 3000);

    let b = form("Oak Lamp Deluxe", "35.00");
    let b: Vec<(&str, &str)> = b.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = second.submit(&theirs, &change, &b).await;
    assert_eq!(refused.status, 409);
    assert!(refused.contains("Someone else saved this product after you opened it"));
    assert!(refused.contains("Price: $30.00"), "{}", refused.text());
    assert!(
        refused.body.contains("value=\"Oak Lamp Deluxe\""),
        "their input stays"
    );
    assert_eq!(price_and_stock(&app, lamp.id).0, 3000);

    // Having seen the other change, they save again on purpose.
    let kept = second.submit(&refused, &change, &b).await;
    assert!(kept.contains("was changed."));
    assert_eq!(price_and_stock(&app, lamp.id).0, 3500);
}

#[actix_web::test]
async fn actions_run_on_selected_rows_with_their_permission() {
    let app = TestApp::spawn().await;
    let a = app.product("Oak Lamp", 5, 2500);
    let b = app.product("Tea Pot", 7, 1200);
    let keep = app.product("Kept", 7, 1200);
    let staff = app.staff_member("s@example.com", PW, &["products.view_product"]);
    let c = app.client();
    c.login("s@example.com", PW).await;
    let list = c.get(LIST).await;
    assert!(
        !list.body.contains("name=\"action\""),
        "no actions without change"
    );
    accounts::permissions::grant_user(&mut app.conn(), staff.id, "products.change_product")
        .unwrap();
    let list = c.get(LIST).await;
    assert!(list.contains("Deactivate"));
    assert!(!list.contains("Delete selected"), "needs delete_product");

    let none = c
        .follow(
            c.submit_multi(&list, LIST, &[("action", "deactivate")])
                .await,
        )
        .await;
    assert!(none.contains("Select at least one product first"));

    let (ia, ib) = (a.id.to_string(), b.id.to_string());
    let done = c
        .follow(
            c.submit_multi(
                &list,
                LIST,
                &[
                    ("action", "deactivate"),
                    ("_selected", &ia),
                    ("_selected", &ib),
                ],
            )
            .await,
        )
        .await;
    assert!(
        done.contains("2 products were deactivated."),
        "{}",
        done.text()
    );
    assert!(!active(&app, a.id) && !active(&app, b.id) && active(&app, keep.id));
    let logged = entries(&app, a.id);
    assert_eq!(logged.len(), 1);
    assert_eq!(
        (logged[0].0.as_str(), logged[0].1.as_str()),
        ("action", "Deactivate")
    );

    let refused = c
        .submit_multi(
            &list,
            LIST,
            &[("action", "delete_selected"), ("_selected", &ia)],
        )
        .await;
    assert_eq!(refused.status, 403);
    let unknown = c
        .submit_multi(&list, LIST, &[("action", "explode"), ("_selected", &ia)])
        .await;
    assert_eq!(unknown.status, 400);
}

#[actix_web::test]
async fn ordered_products_are_deactivated_not_deleted() {
    let app = TestApp::spawn().await;
    let sold = app.product("Sold Lamp", 5, 2500);
    let spare = app.product("Spare Pot", 7, 1200);
    let shopper = app.client();
    shopper.add_to_cart(sold.id, 1).await;
    shopper.checkout("buyer@example.com").await;
    let c = app.boss(PW).await;

    let list = c.get(LIST).await;
    let (is, ip) = (sold.id.to_string(), spare.id.to_string());
    let confirm = c
        .submit_multi(
            &list,
            LIST,
            &[
                ("action", "delete_selected"),
                ("_selected", &is),
                ("_selected", &ip),
            ],
        )
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.contains("Are you sure?"));
    assert!(
        confirm.contains("Deactivated, not deleted: 1 order refers to it"),
        "{}",
        confirm.text()
    );
    assert_eq!(confirm.count("data-testid=\"delete-plan\""), 2);
    let done = c.follow(c.submit_multi(&confirm, LIST, &[]).await).await;
    assert!(
        done.contains("1 product deleted; 1 product deactivated instead"),
        "{}",
        done.text()
    );
    assert!(!active(&app, sold.id));
    let gone: i64 = p::table
        .filter(p::id.eq(spare.id))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(gone, 0);
    let logged = entries(&app, sold.id);
    assert_eq!(logged.last().unwrap().1, "Deactivated instead of deleted");
    let deleted = entries(&app, spare.id);
    assert_eq!(deleted.last().unwrap().0, "delete");
}

#[actix_web::test]
async fn the_audit_log_filters_by_who_what_and_when() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let c = app.boss(PW).await;
    app.staff_member(
        "clerk@example.com",
        PW,
        &["products.change_product", "products.view_category"],
    );
    let clerk = app.client();
    clerk.login("clerk@example.com", PW).await;

    let change = format!("/admin/products/product/{}/change/", lamp.id);
    let page = clerk.get(&change).await;
    let cat = lamp.category_id.to_string();
    clerk
        .submit(
            &page,
            &change,
            &[
                ("name", "Oak Lamp"),
                ("slug", "oak-lamp"),
                ("sku", "SKU-oak-lamp"),
                ("category", &cat),
                ("description", "A *test* product."),
                ("price", "26.00"),
                ("stock", "5"),
                ("is_active", "on"),
            ],
        )
        .await;
    let form = c.get("/admin/products/category/add/").await;
    c.submit(
        &form,
        "/admin/products/category/add/",
        &[("name", "Tea"), ("slug", "tea")],
    )
    .await;

    let everything = c.get("/admin/log/").await;
    assert_eq!(everything.count("data-testid=\"history-entry\""), 2);
    let clerk_id: i64 = site_core::schema::accounts_user::table
        .filter(site_core::schema::accounts_user::email.eq("clerk@example.com"))
        .select(site_core::schema::accounts_user::id)
        .first(&mut *app.conn())
        .unwrap();
    let by_clerk = c.get(&format!("/admin/log/?user={clerk_id}")).await;
    assert_eq!(by_clerk.count("data-testid=\"history-entry\""), 1);
    assert!(
        by_clerk.contains("Price: $25.00 → $26.00"),
        "{}",
        by_clerk.text()
    );
    let categories = c.get("/admin/log/?model=products.category").await;
    assert_eq!(categories.count("data-testid=\"history-entry\""), 1);
    assert!(categories.contains("Tea"));
    let today = site_core::now().date();
    let tomorrow = today.succ_opt().unwrap();
    let dated = c.get(&format!("/admin/log/?from={today}&to={today}")).await;
    assert_eq!(dated.count("data-testid=\"history-entry\""), 2);
    let later = c.get(&format!("/admin/log/?from={tomorrow}")).await;
    assert_eq!(later.count("data-testid=\"history-entry\""), 0);
    assert_eq!(c.get_raw("/admin/log/?from=soon").await.status, 400);
    assert_eq!(c.get_raw("/admin/log/?model=nope.thing").await.status, 400);

    // The recent actions on the index; the clerk sees only what they may.
    let index = c.get("/admin/").await;
    assert!(index.contains("Recent actions"));
    assert!(index.contains("Tea"));
    let mine = clerk.get("/admin/log/").await;
    assert_eq!(
        mine.count("data-testid=\"history-entry\""),
        2,
        "may view categories"
    );
}

#[actix_web::test]
async fn change_lists_export_as_filtered_csv() {
    let app = TestApp::spawn().await;
    app.seed(30, 3);
    let evil = app.product("=HYPERLINK(\"x\")", 1, 100);
    let c = app.boss(PW).await;
    let cat: i64 = site_core::schema::products_category::table
        .select(site_core::schema::products_category::id)
        .order(site_core::schema::products_category::id)
        .first(&mut *app.conn())
        .unwrap();
    let list = c.get(&format!("{LIST}?category={cat}")).await;
    assert!(crate::support::html::decode(&list.body)
        .contains(&format!("/admin/products/product/export/?category={cat}")));
    let csv = c
        .get(&format!("/admin/products/product/export/?category={cat}"))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment; filename=\"products-"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].starts_with("id,Name,Image,SKU,Category,Price,Stock"));
    assert_eq!(lines.len(), 1 + 10, "the filter applies: 10 of 31");
    let all = c.get("/admin/products/product/export/").await;
    assert_eq!(all.body.lines().count(), 1 + 31);
    let evil_line = all
        .body
        .lines()
        .find(|l| l.starts_with(&format!("{},", evil.id)))
        .unwrap();
    assert!(
        evil_line.contains("\"'=HYPERLINK(\"\"x\"\")\""),
        "{evil_line}"
    );
    assert_eq!(
        c.get_raw("/admin/products/product/export/?o=nope")
            .await
            .status,
        400
    );
}

#[actix_web::test]
async fn a_product_is_added_and_lands_in_the_shop() {
    let app = TestApp::spawn().await;
    app.product("Shelf", 1, 100);
    let cat: i64 = p::table
        .select(p::category_id)
        .first(&mut *app.conn())
        .unwrap();
    let c = app.boss(PW).await;
    let add = "/admin/products/product/add/";
    let form = c.get(add).await;
    assert!(form.body.contains("checked"), "new products start active");
    let cat_s = cat.to_string();
    let fields = [
        ("name", "Walnut Desk"),
        ("slug", "walnut-desk"),
        ("sku", "DESK-1"),
        ("category", cat_s.as_str()),
        ("description", "A *solid* desk."),
        ("price", "349.50"),
        ("stock", "4"),
        ("is_active", "on"),
        ("_addanother", "1"),
    ];
    let next = c.submit(&form, add, &fields).await;
    assert!(next.url.ends_with(add), "{}", next.url);
    assert!(
        next.contains("The product “Walnut Desk (DESK-1)” was added. You may add another below.")
    );
    let id: i64 = p::table
        .filter(p::sku.eq("DESK-1"))
        .select(p::id)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(price_and_stock(&app, id), (34950, 4));
    let shop = app.client().get(&format!("/products/{id}/")).await;
    assert!(shop.contains("Walnut Desk"));
    assert!(shop.contains("$349.50"));

    let dup = c.submit(&form, add, &fields).await;
    assert_eq!(dup.status, 422);
    assert!(dup.contains("Another product has this SKU."));
    let wrong_cat = c
        .submit(
            &form,
            add,
            &[
                ("name", "X"),
                ("slug", "x"),
                ("sku", "X-1"),
                ("category", "999999"),
                ("price", "1"),
                ("stock", "1"),
            ],
        )
        .await;
    assert_eq!(wrong_cat.status, 422);
    assert!(wrong_cat.contains("That choice is not available."));
    let page: Page = c
        .get(&format!("/admin/products/product/{id}/history/"))
        .await;
    assert!(page.contains("Added"));
    assert!(page.contains("Price: $349.50"));
}

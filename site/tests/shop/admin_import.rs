//! Importing products from CSV in the admin: a dry run that shows each
//! row's fate, then the import; uploads stream to disk, so files larger
//! than any request body limit work.

use diesel::prelude::*;
use site_core::schema::{admin_log as log, products_product as p};

use crate::support::TestApp;

const PW: &str = "correct horse battery staple";
const PAGE: &str = "/admin/products/product/import/";

fn stock(app: &TestApp, sku: &str) -> Option<i64> {
    p::table
        .filter(p::sku.eq(sku))
        .select(p::stock)
        .first(&mut *app.conn())
        .optional()
        .unwrap()
}

#[actix_web::test]
async fn a_dry_run_shows_every_row_then_the_import_writes_it() {
    let app = TestApp::spawn().await;
    app.product("Oak Lamp", 5, 2500);
    let slug: String = site_core::schema::products_category::table
        .select(site_core::schema::products_category::slug)
        .first(&mut *app.conn())
        .unwrap();
    let c = app.boss(PW).await;
    let list = c.get("/admin/products/product/").await;
    assert!(list.contains("Import CSV"));
    let form = c.get(PAGE).await;
    let csv = format!(
        "sku,name,category,price,stock,active\n\
         DESK-1,Walnut Desk,{slug},349.50,4,yes\n\
         SKU-oak-lamp,,,,12,\n\
         BAD-1,Bad Price,{slug},ten,1,yes\n"
    );
    let plan = c
        .follow(
            c.submit_multipart(
                &form,
                PAGE,
                &[],
                &[("file", "stock.csv", csv.clone().into_bytes())],
            )
            .await,
        )
        .await;
    assert_eq!(plan.status, 200, "{}", plan.text());
    assert_eq!(
        plan.testid_texts("import-summary"),
        vec!["1 to create, 1 to update, 0 unchanged, 1 with errors."]
    );
    assert!(plan.contains("stock 5 → 12"));
    assert!(plan.contains("price \"ten\""));
    assert_eq!(stock(&app, "DESK-1"), None, "a dry run writes nothing");
    assert_eq!(stock(&app, "SKU-oak-lamp"), Some(5));

    let done = c.submit_multipart(&plan, PAGE, &[], &[]).await;
    assert_eq!(done.status, 200);
    assert!(done.contains("Imported"));
    assert_eq!(stock(&app, "DESK-1"), Some(4));
    assert_eq!(stock(&app, "SKU-oak-lamp"), Some(12));
    let history: Vec<String> = log::table
        .filter(log::model.eq("product"))
        .select(log::action_name)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(history, vec!["Imported from CSV", "Imported from CSV"]);

    // The same file again: nothing left to do.
    let again = c
        .submit_multipart(&form, PAGE, &[], &[("file", "stock.csv", csv.into_bytes())])
        .await;
    assert_eq!(
        again.testid_texts("import-summary"),
        vec!["0 to create, 0 to update, 2 unchanged, 1 with errors."]
    );
    assert!(again.contains("Nothing to import"));
    // A confirmation whose file is gone says so.
    let stale = c.submit_multipart(&plan, PAGE, &[], &[]).await;
    assert_eq!(stale.status, 422);
    assert!(stale.contains("That upload is gone"));
}

#[actix_web::test]
async fn bad_files_are_refused_with_a_reason_and_large_ones_stream() {
    let app = TestApp::spawn().await;
    app.product("Oak Lamp", 5, 2500);
    let c = app.boss(PW).await;
    let form = c.get(PAGE).await;
    let header = c
        .submit_multipart(
            &form,
            PAGE,
            &[],
            &[("file", "x.csv", b"name,price\nA,1\n".to_vec())],
        )
        .await;
    assert_eq!(header.status, 422);
    assert!(header.contains("the header row has no \"sku\" column"));
    let none = c.submit_multipart(&form, PAGE, &[], &[]).await;
    assert!(none.contains("Choose a CSV file to upload."));

    // Twelve megabytes: more than any form body is allowed in memory.
    let padding = "x".repeat(18_000);
    let mut csv = String::from("sku,description\n");
    for i in 0..700 {
        csv.push_str(&format!("SKU-oak-lamp-{i},{padding}\n"));
    }
    csv.push_str(&format!("SKU-oak-lamp,{padding}\n"));
    assert!(csv.len() > 12 * 1024 * 1024);
    let big = c
        .submit_multipart(&form, PAGE, &[], &[("file", "big.csv", csv.into_bytes())])
        .await;
    assert_eq!(big.status, 200, "{}", big.text());
    assert_eq!(
        big.testid_texts("import-summary"),
        vec!["0 to create, 1 to update, 0 unchanged, 700 with errors."]
    );

    app.staff_member(
        "viewer@example.com",
        PW,
        &["products.view_product", "products.change_product"],
    );
    let viewer = app.client();
    viewer.login("viewer@example.com", PW).await;
    assert_eq!(
        viewer.get_raw(PAGE).await.status,
        403,
        "importing adds products"
    );
}

/// A sale while an import updates the same product: the import waits for
/// it and keeps the stock the sale left, rather than writing back the stock
/// it read before (which would sell the same lamp twice).
#[actix_web::test]
async fn an_import_never_writes_back_stock_it_read_before_a_sale() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let db = app.db.clone();
    let id = lamp.id;
    let sale = std::thread::spawn(move || {
        let mut conn = db.get().unwrap();
        site_core::db::write_transaction(&mut conn, |conn| -> QueryResult<()> {
            site_core::db::lock_row(conn, "products_product", id)?;
            locked_tx.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(400));
            diesel::update(p::table.find(id))
                .set(p::stock.eq(p::stock - 1))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    });
    locked_rx.recv().unwrap();
    let csv = format!("sku,price\n{},30.00\n", lamp.sku);
    let report = products::import::import(
        &mut app.conn(),
        csv.as_bytes(),
        site_core::money::Currency::Usd,
        false,
        &products::import::Importer {
            staff: None,
            label: "test import",
        },
        &mut |_| {},
    )
    .unwrap();
    sale.join().unwrap();
    assert_eq!(report.updated, 1);
    let (stock, price): (i64, i64) = p::table
        .find(lamp.id)
        .select((p::stock, p::price_minor))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(price, 3000, "the import's change");
    assert_eq!(stock, 4, "and the sale's");
}

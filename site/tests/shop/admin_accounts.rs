//! Users, groups, permissions and addresses in the admin: who can grant
//! what, passwords that are never shown, lock-outs, deactivation.

use diesel::prelude::*;
use site_core::schema::{accounts_address as a, accounts_user as u};

use crate::support::TestApp;

const PW: &str = "correct horse battery staple";

fn user_id(app: &TestApp, email: &str) -> i64 {
    u::table
        .filter(u::email.eq(email))
        .select(u::id)
        .first(&mut *app.conn())
        .unwrap()
}

fn perm_id(app: &TestApp, codename: &str) -> String {
    site_core::schema::accounts_permission::table
        .filter(site_core::schema::accounts_permission::codename.eq(codename))
        .select(site_core::schema::accounts_permission::id)
        .first::<i64>(&mut *app.conn())
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn staff_are_created_grouped_and_granted_from_the_admin() {
    let app = TestApp::spawn().await;
    app.product("Oak Lamp", 5, 2500);
    let c = app.boss(PW).await;

    let add = "/admin/accounts/group/add/";
    let form = c.get(add).await;
    let (view, change) = (
        perm_id(&app, "orders.view_order"),
        perm_id(&app, "orders.change_order"),
    );
    let made = c
        .submit_multi(
            &form,
            add,
            &[
                ("name", "Warehouse"),
                ("permissions", &view),
                ("permissions", &change),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.text());
    let group: i64 = site_core::schema::accounts_group::table
        .select(site_core::schema::accounts_group::id)
        .first(&mut *app.conn())
        .unwrap();

    let add = "/admin/accounts/user/add/";
    let form = c.get(add).await;
    assert!(form.body.contains("type=\"password\""));
    let weak = c
        .submit(
            &form,
            add,
            &[
                ("email", "pat@example.com"),
                ("password", "12345"),
                ("password2", "12345"),
                ("is_active", "on"),
                ("is_staff", "on"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.contains("This password is too short."));
    assert!(
        !weak.body.contains("12345"),
        "a password is never sent back"
    );
    let differ = c
        .submit(
            &form,
            add,
            &[
                ("email", "pat@example.com"),
                ("password", PW),
                ("password2", "something else entirely"),
                ("is_active", "on"),
            ],
        )
        .await;
    assert!(differ.contains("The two passwords differ."));
    let group_s = group.to_string();
    let created = c
        .submit_multi(
            &form,
            add,
            &[
                ("email", "Pat@Example.com"),
                ("first_name", "Pat"),
                ("password", PW),
                ("password2", PW),
                ("is_active", "on"),
                ("is_staff", "on"),
                ("email_verified", "on"),
                ("groups", &group_s),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.text());
    let pat = user_id(&app, "pat@example.com");
    let page = c.get(&format!("/admin/accounts/user/{pat}/change/")).await;
    assert!(!page.body.contains("argon2"), "the hash is never shown");
    assert!(page.contains("Set password"));
    let history = c.get(&format!("/admin/accounts/user/{pat}/history/")).await;
    assert!(history.contains("Groups: Warehouse"), "{}", history.text());
    let members = c.get(&format!("/admin/accounts/user/?group={group}")).await;
    assert_eq!(members.input_values("_selected"), vec![pat.to_string()]);

    // Pat now runs orders, and only orders.
    let pat_c = app.client();
    pat_c.login("pat@example.com", PW).await;
    let index = pat_c.get("/admin/").await;
    assert!(index.contains("Orders"));
    assert!(!index.contains("Products"));
    assert_eq!(pat_c.get_raw("/admin/orders/order/").await.status, 200);
    assert_eq!(pat_c.get_raw("/admin/products/product/").await.status, 403);

    let taken = c
        .submit(
            &form,
            add,
            &[
                ("email", "pat@example.com"),
                ("password", PW),
                ("password2", PW),
            ],
        )
        .await;
    assert!(taken.contains("Another user has this email address."));
}

#[actix_web::test]
async fn staff_cannot_grant_what_they_do_not_hold() {
    let app = TestApp::spawn().await;
    app.customer("cust@example.com", PW);
    app.staff_member(
        "hr@example.com",
        PW,
        &[
            "accounts.view_user",
            "accounts.change_user",
            "orders.view_order",
        ],
    );
    let cust = user_id(&app, "cust@example.com");
    let hr = user_id(&app, "hr@example.com");
    let c = app.client();
    c.login("hr@example.com", PW).await;
    let change = format!("/admin/accounts/user/{cust}/change/");
    let base = [
        ("email", "cust@example.com"),
        ("is_active", "on"),
        ("email_verified", "on"),
    ];
    let with = |extra: &[(&'static str, String)]| {
        let mut v: Vec<(&'static str, String)> =
            base.iter().map(|(k, v)| (*k, v.to_string())).collect();
        v.extend_from_slice(extra);
        v
    };
    let submit = |fields: Vec<(&'static str, String)>| {
        let c = c.clone();
        let change = change.clone();
        async move {
            let page = c.get(&change).await;
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.submit_multi(&page, &change, &pairs).await
        }
    };
    let superuser = submit(with(&[("is_superuser", "on".into())])).await;
    assert_eq!(superuser.status, 422);
    assert!(superuser.contains("Only a superuser can grant or take away superuser status."));
    let grant = submit(with(&[(
        "permissions",
        perm_id(&app, "products.delete_product"),
    )]))
    .await;
    assert_eq!(grant.status, 422);
    assert!(
        grant.contains("You cannot grant what you do not hold yourself: products.delete_product.")
    );
    let held = submit(with(&[("permissions", perm_id(&app, "orders.view_order"))])).await;
    assert_eq!(held.status, 303, "what they hold they may pass on");

    let mut conn = app.conn();
    let admins = accounts::permissions::group(&mut conn, "Admins").unwrap();
    accounts::permissions::grant_group(&mut conn, admins, "products.delete_product").unwrap();
    drop(conn);
    let via_group = submit(with(&[("groups", admins.to_string())])).await;
    assert_eq!(via_group.status, 422);
    assert!(via_group.contains("That group grants what you do not hold yourself"));

    // Nor lock themselves out.
    let mine = format!("/admin/accounts/user/{hr}/change/");
    let page = c.get(&mine).await;
    let me = c
        .submit_multi(
            &page,
            &mine,
            &[
                ("email", "hr@example.com"),
                ("is_active", "on"),
                ("email_verified", "on"),
            ],
        )
        .await;
    assert_eq!(me.status, 422);
    assert!(me.contains("You cannot take away your own staff access"));
}

#[actix_web::test]
async fn staff_cannot_take_over_an_account_that_holds_more_than_they_do() {
    let app = TestApp::spawn().await;
    app.user("boss@example.com", PW, true);
    app.staff_member("cashier@example.com", PW, &["payments.view_payment"]);
    app.customer("cust@example.com", PW);
    app.staff_member(
        "hr@example.com",
        PW,
        &[
            "accounts.view_user",
            "accounts.change_user",
            "accounts.delete_user",
        ],
    );
    let boss = user_id(&app, "boss@example.com");
    let cashier = user_id(&app, "cashier@example.com");
    let cust = user_id(&app, "cust@example.com");
    let c = app.client();
    c.login("hr@example.com", PW).await;

    // Setting a superuser's password would hand over the superuser.
    let set = format!("/admin/accounts/user/{boss}/password/");
    let refused = c.get_raw(&set).await;
    assert_eq!(refused.status, 403);
    assert!(refused.contains("Only a superuser can change"));
    let change = format!("/admin/accounts/user/{boss}/change/");
    let page = c.get(&change).await;
    let token = page
        .hidden_fields(&change)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1;
    let posted = c
        .post_raw(
            &set,
            &[
                ("csrf_token", &token),
                ("password", "mine now, all of it"),
                ("password2", "mine now, all of it"),
            ],
        )
        .await;
    assert_eq!(posted.status, 403);
    assert!(
        app.client()
            .login("boss@example.com", PW)
            .await
            .contains("boss@example.com"),
        "the superuser's password is unchanged"
    );

    // So would their email (then "forgot password").
    let moved = c
        .submit_multi(
            &page,
            &change,
            &[
                ("email", "hr+mine@example.com"),
                ("is_active", "on"),
                ("is_staff", "on"),
                ("is_superuser", "on"),
                ("email_verified", "on"),
            ],
        )
        .await;
    assert_eq!(moved.status, 422);
    assert!(moved.contains("Only a superuser can change"));
    assert_eq!(user_id(&app, "boss@example.com"), boss, "email unchanged");

    // Nor delete a superuser, or deactivate staff holding what they lack.
    let delete = format!("/admin/accounts/user/{boss}/delete/");
    assert!(c.get(&delete).await.contains("Only a superuser can change"));
    let gone = c
        .follow(c.post_raw(&delete, &[("csrf_token", &token)]).await)
        .await;
    assert!(gone.contains("Nothing was deleted"), "{}", gone.text());
    assert_eq!(user_id(&app, "boss@example.com"), boss);
    let list = c.get("/admin/accounts/user/").await;
    let deactivate = c
        .submit_multi(
            &list,
            "/admin/accounts/user/",
            &[
                ("action", "deactivate"),
                ("_selected", &cashier.to_string()),
            ],
        )
        .await;
    assert!(c
        .follow(deactivate)
        .await
        .contains("This user holds permissions you do not (payments.view_payment)"),);
    let active: bool = u::table
        .find(cashier)
        .select(u::is_active)
        .first(&mut *app.conn())
        .unwrap();
    assert!(active);

    // A customer holding nothing is theirs to look after.
    let set = format!("/admin/accounts/user/{cust}/password/");
    let form = c.get(&set).await;
    let new = "a brand new passphrase 42";
    let done = c
        .submit(&form, &set, &[("password", new), ("password2", new)])
        .await;
    assert!(done.contains("The password of cust@example.com was changed"));
}

#[actix_web::test]
async fn staff_set_a_password_and_clear_a_lock_out() {
    set_a_password_and_clear_a_lock_out(TestApp::spawn().await).await;
}

/// With Redis, failed logins are counted there (no database writes) and
/// the admin still shows and clears them.
#[actix_web::test]
async fn failed_logins_counted_in_redis_are_shown_and_cleared_by_staff() {
    let Some(url) = crate::support::redis_url() else {
        return;
    };
    let app = TestApp::spawn_with(crate::support::Options {
        redis: Some(url),
        ..Default::default()
    })
    .await;
    set_a_password_and_clear_a_lock_out(app).await;
}

/// The app's failed-login sets in Redis that hold something.
fn failure_sets_in_redis(app: &TestApp) -> usize {
    let Some(url) = &app.config.redis_url else {
        return 0;
    };
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}login-failures:*", app.config.redis_prefix))
        .query(&mut conn)
        .unwrap();
    keys.len()
}

async fn set_a_password_and_clear_a_lock_out(app: TestApp) {
    use site_core::schema::accounts_login_failure as f;
    let in_redis = app.config.redis_url.is_some();
    app.customer("cust@example.com", PW);
    let cust = user_id(&app, "cust@example.com");
    let elsewhere = app.client();
    elsewhere.login("cust@example.com", PW).await;
    for _ in 0..5 {
        app.client()
            .login("cust@example.com", "wrong password, sorry")
            .await;
    }
    let locked = app.client().login("cust@example.com", PW).await;
    assert!(locked.contains("Too many"), "{}", locked.text());
    let rows: i64 = f::table.count().get_result(&mut *app.conn()).unwrap();
    if in_redis {
        assert_eq!(rows, 0, "no failed login written to the database");
        assert_eq!(
            failure_sets_in_redis(&app),
            2,
            "the account's and the address's"
        );
    } else {
        assert_eq!(rows, 6);
    }

    let c = app.boss(PW).await;
    let list = c.get("/admin/accounts/user/?q=cust").await;
    assert!(list.contains("Locked out"));
    let page = c.get(&format!("/admin/accounts/user/{cust}/change/")).await;
    assert!(page.contains("Locked:"), "{}", page.text());
    assert!(page.contains("Clear login lock-out"));
    let list_url = "/admin/accounts/user/";
    let cleared = c
        .follow(
            c.submit_multi(
                &page,
                list_url,
                &[
                    ("action", "clear_lockout"),
                    ("_selected", &cust.to_string()),
                ],
            )
            .await,
        )
        .await;
    assert!(
        cleared.contains("1 user's failed logins were cleared"),
        "{}",
        cleared.text()
    );
    if in_redis {
        assert_eq!(failure_sets_in_redis(&app), 1, "only the address's is left");
    }
    assert!(app
        .client()
        .login("cust@example.com", PW)
        .await
        .contains("cust@example.com"));

    let set = format!("/admin/accounts/user/{cust}/password/");
    let form = c.get(&set).await;
    let weak = c
        .submit(
            &form,
            &set,
            &[
                ("password", "cust@example.com"),
                ("password2", "cust@example.com"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.contains("too similar"), "{}", weak.text());
    let new = "a brand new passphrase 42";
    let done = c
        .submit(&form, &set, &[("password", new), ("password2", new)])
        .await;
    assert!(done.contains("The password of cust@example.com was changed"));
    // Their session elsewhere is over; the new password works.
    let profile = elsewhere.get_raw("/accounts/profile/").await;
    assert_eq!(profile.status, 303, "signed out everywhere");
    assert!(app
        .client()
        .login("cust@example.com", new)
        .await
        .contains("cust@example.com"));
    let history = c
        .get(&format!("/admin/accounts/user/{cust}/history/"))
        .await;
    assert!(history.contains("Action: Set password"));
    assert!(
        history.contains("Login lock-out"),
        "the cleared lock-out is recorded"
    );

    app.staff_member("viewer@example.com", PW, &["accounts.view_user"]);
    let viewer = app.client();
    viewer.login("viewer@example.com", PW).await;
    assert_eq!(viewer.get_raw(&set).await.status, 403);
}

#[actix_web::test]
async fn customers_with_orders_are_deactivated_others_deleted() {
    let app = TestApp::spawn().await;
    let lamp = app.product("Oak Lamp", 5, 2500);
    app.customer("buyer@example.com", PW);
    app.customer("browser@example.com", PW);
    let buyer_c = app.client();
    buyer_c.login("buyer@example.com", PW).await;
    buyer_c.add_to_cart(lamp.id, 1).await;
    buyer_c.checkout("buyer@example.com").await;
    let (buyer, browser) = (
        user_id(&app, "buyer@example.com"),
        user_id(&app, "browser@example.com"),
    );
    diesel::insert_into(a::table)
        .values((
            a::user_id.eq(browser),
            a::first_name.eq("B"),
            a::last_name.eq("R"),
            a::address.eq("1 Road"),
            a::postal_code.eq("1"),
            a::city.eq("Town"),
            a::country.eq("Land"),
            a::is_default.eq(true),
            a::created_at.eq(site_core::now()),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let c = app.boss(PW).await;
    let list = c.get("/admin/accounts/user/").await;
    let confirm = c
        .submit_multi(
            &list,
            "/admin/accounts/user/",
            &[
                ("action", "delete_selected"),
                ("_selected", &buyer.to_string()),
                ("_selected", &browser.to_string()),
            ],
        )
        .await;
    assert!(confirm.contains("Deactivated, not deleted: 1 order refers to it"));
    assert!(confirm.contains("1 saved address"));
    let done = c
        .follow(c.submit_multi(&confirm, "/admin/accounts/user/", &[]).await)
        .await;
    assert!(
        done.contains("1 user deleted; 1 user deactivated instead"),
        "{}",
        done.text()
    );
    let active: bool = u::table
        .find(buyer)
        .select(u::is_active)
        .first(&mut *app.conn())
        .unwrap();
    assert!(!active);
    let left: i64 = a::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(left, 0, "the address went with its owner");
    let refused = app.client().login("buyer@example.com", PW).await;
    assert!(
        !refused.contains("buyer@example.com</a>"),
        "a deactivated user cannot log in"
    );
}

#[actix_web::test]
async fn addresses_find_their_owner_by_email() {
    let app = TestApp::spawn().await;
    app.customer("ann@example.com", PW);
    app.customer("anna@example.com", PW);
    app.customer("bob@example.com", PW);
    let c = app.boss(PW).await;
    let add = "/admin/accounts/address/add/";
    let form = c.get(add).await;
    let fields = |owner: &'static str| {
        vec![
            ("owner", owner),
            ("first_name", "Ann"),
            ("last_name", "Lee"),
            ("address", "2 Lane"),
            ("postal_code", "AB1 2CD"),
            ("city", "Leeds"),
            ("country", "United Kingdom"),
            ("is_default", "on"),
        ]
    };
    let ambiguous = c.submit(&form, add, &fields("ann")).await;
    assert_eq!(ambiguous.status, 422);
    assert!(ambiguous.contains("Several match"), "{}", ambiguous.text());
    assert!(ambiguous.contains("anna@example.com"));
    let nobody = c.submit(&form, add, &fields("zed")).await;
    assert!(nobody.contains("Nothing matches"));
    let saved = c.submit(&form, add, &fields("bob@")).await;
    assert!(saved.contains("was added"), "{}", saved.text());
    let bob = user_id(&app, "bob@example.com");
    let owner: i64 = a::table.select(a::user_id).first(&mut *app.conn()).unwrap();
    assert_eq!(owner, bob);
    let id: i64 = a::table.select(a::id).first(&mut *app.conn()).unwrap();
    let page = c
        .get(&format!("/admin/accounts/address/{id}/change/"))
        .await;
    assert!(page.contains("Now: bob@example.com"), "{}", page.text());
    let list = c.get("/admin/accounts/address/").await;
    assert!(list.contains("bob@example.com"));
    let history = c
        .get(&format!("/admin/accounts/address/{id}/history/"))
        .await;
    assert!(
        history.contains("Customer: bob@example.com"),
        "{}",
        history.text()
    );
}

#[actix_web::test]
async fn deactivating_users_signs_them_out_everywhere_but_never_yourself() {
    let app = TestApp::spawn().await;
    app.customer("cust@example.com", PW);
    let cust = user_id(&app, "cust@example.com");
    let theirs = app.client();
    theirs.login("cust@example.com", PW).await;
    assert_eq!(theirs.get_raw("/accounts/profile/").await.status, 200);
    let c = app.boss(PW).await;
    let me = user_id(&app, "boss@example.com");
    let list = c.get("/admin/accounts/user/").await;
    let refused = c
        .follow(
            c.submit_multi(
                &list,
                "/admin/accounts/user/",
                &[("action", "deactivate"), ("_selected", &me.to_string())],
            )
            .await,
        )
        .await;
    assert!(
        refused.contains("You cannot deactivate yourself"),
        "{}",
        refused.text()
    );
    let done = c
        .follow(
            c.submit_multi(
                &list,
                "/admin/accounts/user/",
                &[("action", "deactivate"), ("_selected", &cust.to_string())],
            )
            .await,
        )
        .await;
    assert!(
        done.contains("1 user was deactivated and signed out everywhere."),
        "{}",
        done.text()
    );
    assert_eq!(
        theirs.get_raw("/accounts/profile/").await.status,
        303,
        "signed out"
    );
    let again = app.client().login("cust@example.com", PW).await;
    assert!(
        !again.contains("Signed in as"),
        "an inactive user cannot log in"
    );
}

/// The permission rows follow the code: what no app declares (rows the
/// first migrations listed by hand, a model that left the admin) goes,
/// with its grants, each time `migrate` runs; renamed ones are renamed.
#[actix_web::test]
async fn migrating_makes_the_permissions_what_the_apps_declare() {
    use site_core::schema::{accounts_permission as p, accounts_user_permission as up};
    let app = TestApp::spawn().await;
    let codenames = |app: &TestApp| -> Vec<String> {
        p::table
            .select(p::codename)
            .load::<String>(&mut *app.conn())
            .unwrap()
    };
    let now = codenames(&app);
    assert!(now.contains(&"products.change_product".to_string()));
    assert!(now.contains(&"payments.view_payment".to_string()));
    for gone in [
        "orders.view_line",
        "core.view_session",
        "payments.delete_payment",
    ] {
        assert!(
            !now.contains(&gone.to_string()),
            "{gone} is declared nowhere"
        );
    }

    let clerk = app.staff_member("clerk@example.com", PW, &["products.view_product"]);
    diesel::insert_into(p::table)
        .values((
            p::codename.eq("products.fly_product"),
            p::name.eq("Can fly product"),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    accounts::permissions::grant_user(&mut app.conn(), clerk.id, "products.fly_product").unwrap();
    diesel::update(p::table.filter(p::codename.eq("products.view_product")))
        .set(p::name.eq("an old description"))
        .execute(&mut *app.conn())
        .unwrap();

    site::migrate(&app.db, &site::apps(&app.config)).unwrap();
    assert!(!codenames(&app).contains(&"products.fly_product".to_string()));
    let grants: i64 = up::table
        .filter(up::user_id.eq(clerk.id))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(grants, 1, "the stale grant went; the declared one stayed");
    let name: String = p::table
        .filter(p::codename.eq("products.view_product"))
        .select(p::name)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(name, "Can view product");
}

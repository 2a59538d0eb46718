//! The demo data, and demo mode (`SHOP_DEMO=1`) for a public demo: a
//! banner on every page, a shared staff login that may look at everything
//! in the admin and change nothing (shown on the login page, with the demo
//! customers' login), and the data reset to the seeded demo every
//! `SHOP_DEMO_RESET_HOURS`.
//!
//! A reset empties every table but the migrations, the permissions and
//! groups, and the staff accounts (with their permissions and recovery
//! codes), so the operator's own login survives it; then it seeds again.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use anyhow::Context as _;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use indicatif::ProgressBar;
use site_core::db::{Database, DbConn};
use site_core::forms::Email;
use site_core::schema::core_demo_reset as r;
use site_core::{AppError, Config};

/// The shared staff login of a public demo: every "view" permission, no
/// other.
pub const VIEWER_EMAIL: &str = "demo-staff@example.com";
pub const VIEWER_PASSWORD: &str = "look-but-do-not-touch";
/// The demo customers' password in demo mode (customer1@example.com …).
pub const CUSTOMER_PASSWORD: &str = "demo-customer";

/// How much demo data to seed.
pub struct Demo {
    pub products: usize,
    pub categories: usize,
    pub orders: usize,
    pub customers: usize,
}

impl Demo {
    /// What `cargo run` seeds into an empty shop (and a reset seeds again).
    pub const STANDARD: Demo = Demo {
        products: 200,
        categories: 12,
        orders: 300,
        customers: 20,
    };
}

/// Progress bars on a terminal; none in a job.
pub type Bar = dyn Fn(u64, &'static str, &str) -> ProgressBar;

/// What a seed made, to tell the operator.
#[derive(Debug, Default)]
pub struct Seeded {
    pub lines: Vec<String>,
}

/// Seeds an empty shop: catalogue, delivery, tax, the demo voucher and,
/// with `customers_password`, customers with a year of orders.
pub fn seed(
    db: &Database,
    config: &Config,
    demo: &Demo,
    customers_password: Option<&str>,
    bar: &Bar,
) -> anyhow::Result<Seeded> {
    let mut out = Seeded::default();
    let mut conn = db.get()?;
    let progress = bar(demo.products as u64, "Catalogue", "products");
    let opts = products::demo::SeedOptions {
        categories: demo.categories,
        products: demo.products,
        media_root: config.media_root.clone(),
        currency: config.currency,
    };
    let report = products::demo::seed(&mut conn, &opts, &|n| progress.set_position(n))?;
    progress.finish_and_clear();
    out.lines.push(format!(
        "Seeded {} categories and {} products ({} demo images in {}).",
        report.categories,
        report.products,
        report.images,
        config.media_root.display()
    ));
    let methods = orders::shipping::seed_demo(&mut conn, config.currency)?;
    if methods > 0 {
        out.lines.push(format!(
            "Seeded {methods} shipping methods (UK, Europe by weight, worldwide)."
        ));
    }
    let rates = orders::taxes::seed_demo(&mut conn)?;
    if rates > 0 {
        out.lines.push(format!(
            "Seeded {rates} tax rates (VAT where the demo ships in Europe)."
        ));
    }
    if orders::vouchers::seed_demo(&mut conn, config.currency)? {
        out.lines.push(format!(
            "Seeded the voucher {} (10% off, no limit).",
            orders::vouchers::DEMO_CODE
        ));
    }
    let customers = match customers_password {
        Some(pw) if demo.customers > 0 => {
            accounts::demo::seed_customers(&mut conn, demo.customers, pw)?
        }
        _ => Vec::new(),
    };
    if demo.orders > 0 {
        let progress = bar(demo.orders as u64, "Orders", "orders");
        let written = orders::demo::seed(
            &mut conn,
            demo.orders,
            365,
            site_core::now(),
            &customers,
            config.currency,
            &|n| progress.set_position(n),
        )?;
        progress.finish_and_clear();
        let progress = bar(written as u64, "Payments", "paid orders");
        let paid = payments::demo::seed(&mut conn, &|n| progress.set_position(n))?;
        progress.finish_and_clear();
        out.lines.push(format!(
            "Seeded {} customers and {written} orders over the past year ({paid} paid).",
            customers.len()
        ));
        let reviews = products::reviews::seed_demo(&mut conn)?;
        if reviews > 0 {
            out.lines.push(format!(
                "Seeded {reviews} reviews by the customers who bought the products."
            ));
        }
    }
    site_core::db::analyze(&mut conn)?;
    Ok(out)
}

/// No progress bars (jobs, tests).
pub fn hidden(_: u64, _: &'static str, _: &str) -> ProgressBar {
    ProgressBar::hidden()
}

/// Makes sure the shared view-only staff login exists, with its password
/// and every "view" permission (and nothing else).
pub fn prepare_viewer(conn: &mut DbConn) -> anyhow::Result<()> {
    use site_core::schema::accounts_user as u;
    let email = Email::parse(VIEWER_EMAIL).map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = match accounts::User::by_email(conn, &email).optional()? {
        Some(user) => user,
        None => accounts::User::create(
            conn,
            &accounts::NewUser {
                email: &email,
                password: VIEWER_PASSWORD,
                first_name: "Demo",
                last_name: "Staff",
                is_staff: true,
                is_superuser: false,
                email_verified: true,
            },
        )?,
    };
    let hash = accounts::password::hash(VIEWER_PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    diesel::update(u::table.find(user.id))
        .set((
            u::password_hash.eq(hash),
            u::is_staff.eq(true),
            u::is_superuser.eq(false),
            u::is_active.eq(true),
        ))
        .execute(conn)?;
    for p in accounts::permissions::all(conn)? {
        if p.codename.contains(".view_") {
            accounts::permissions::grant_user(conn, user.id, &p.codename)?;
        }
    }
    Ok(())
}

/// Tables a reset keeps whole.
const KEPT: &[&str] = &[
    "__diesel_schema_migrations",
    "accounts_permission",
    "accounts_group",
    "accounts_group_permission",
    "core_demo_reset",
    // Its recurring rows (this job's among them); queued jobs go below.
    "core_job",
];
/// Tables a reset keeps the staff's rows of.
const STAFF_ROWS: &[&str] = &[
    "accounts_user_group",
    "accounts_user_permission",
    "accounts_recovery_code",
];

/// The rows migrations put into emptied tables, put back, and the queued
/// jobs (about rows that are gone) dropped.
const MIGRATION_ROWS: &str = "INSERT INTO orders_invoice_counter (id, last_number) VALUES (1, 0); \
                              DELETE FROM core_job WHERE every_seconds IS NULL;";

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Empties the shop but for what `KEPT` and `STAFF_ROWS` name and the staff
/// accounts, in one transaction.
fn wipe(conn: &mut DbConn) -> anyhow::Result<()> {
    let sql = match conn {
        // Ordinary tables only: the full-text indexes (virtual tables and
        // their shadow tables) follow their tables through triggers.
        DbConn::Sqlite(_) => {
            "SELECT name FROM pragma_table_list \
             WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        DbConn::Postgres(_) => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
        }
    };
    let tables: Vec<String> = diesel::sql_query(sql)
        .load::<TableName>(conn)?
        .into_iter()
        .map(|t| t.name)
        .filter(|t| {
            !KEPT.contains(&t.as_str()) && !STAFF_ROWS.contains(&t.as_str()) && t != "accounts_user"
        })
        .collect();
    let customers = "SELECT id FROM accounts_user WHERE NOT is_staff";
    let staff_rows: String = STAFF_ROWS
        .iter()
        .map(|t| format!("DELETE FROM {t} WHERE user_id IN ({customers});"))
        .collect();
    match conn {
        DbConn::Sqlite(_) => {
            // Foreign keys off (outside the transaction, as SQLite needs):
            // the tables empty in any order.
            let deletes: String = tables.iter().map(|t| format!("DELETE FROM {t};")).collect();
            let sequences = tables
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(",");
            let wiped = conn.batch_execute(&format!(
                "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE; {deletes} {staff_rows} \
                 DELETE FROM accounts_user WHERE NOT is_staff; \
                 DELETE FROM sqlite_sequence WHERE name IN ({sequences}); {MIGRATION_ROWS} COMMIT;"
            ));
            if wiped.is_err() {
                let _ = conn.batch_execute("ROLLBACK;");
            }
            conn.batch_execute("PRAGMA foreign_keys = ON;")?;
            wiped?;
        }
        DbConn::Postgres(_) => {
            conn.batch_execute(&format!(
                "BEGIN; TRUNCATE {} RESTART IDENTITY CASCADE; {staff_rows} \
                 DELETE FROM accounts_user WHERE NOT is_staff; {MIGRATION_ROWS} COMMIT;",
                tables.join(", ")
            ))?;
        }
    }
    Ok(())
}

/// Resets the shop to the seeded demo (with `demo`'s amounts): empties it,
/// removes uploaded media, seeds again, and keeps the viewer login.
pub fn reset(db: &Database, config: &Config, demo: &Demo) -> anyhow::Result<()> {
    let mut conn = db.get()?;
    wipe(&mut conn).context("emptying the shop")?;
    drop(conn);
    match std::fs::remove_dir_all(&config.media_root) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("emptying {}", config.media_root.display()))
        }
        _ => {}
    }
    seed(db, config, demo, Some(CUSTOMER_PASSWORD), &hidden).context("seeding the demo")?;
    let mut conn = db.get()?;
    prepare_viewer(&mut conn)?;
    mark_reset(&mut conn)?;
    Ok(())
}

/// Records that the data was reset (or first seeded) now.
pub fn mark_reset(conn: &mut DbConn) -> QueryResult<()> {
    let now = site_core::now();
    diesel::delete(r::table).execute(conn)?;
    diesel::insert_into(r::table)
        .values((r::id.eq(1), r::reset_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Whether the data is older than `hours` (never reset: it is, once seeded
/// data exists to reset).
pub fn due(conn: &mut DbConn, hours: i64, now: chrono::NaiveDateTime) -> QueryResult<bool> {
    let last: Option<chrono::NaiveDateTime> =
        r::table.select(r::reset_at).first(conn).optional()?;
    Ok(last.is_none_or(|at| now - at >= chrono::TimeDelta::hours(hours)))
}

/// The reset, as a job: looks every few minutes, resets when due.
pub fn job() -> site_core::app::Job {
    site_core::app::Job::new(
        "site.demo_reset",
        std::time::Duration::from_secs(300),
        |env| {
            if !env.config.demo {
                return Ok(0);
            }
            let due = due(
                &mut *env.db.get()?,
                env.config.demo_reset_hours,
                site_core::now(),
            )?;
            if !due {
                return Ok(0);
            }
            reset(&env.db, &env.config, &Demo::STANDARD)?;
            tracing::info!("the demo data was reset");
            Ok(1)
        },
    )
}

/// In demo mode, the shared staff login's own account cannot be changed
/// (its password, email, two-factor or the account itself): everyone
/// uses it.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let demo = req.app_data::<web::Data<Config>>().is_some_and(|c| c.demo);
    let path = req.path();
    let changes_account = req.method() == actix_web::http::Method::POST
        && path.starts_with("/accounts/")
        && !matches!(path, "/accounts/login/" | "/accounts/logout/");
    if demo && changes_account {
        use actix_session::SessionExt;
        let viewer = site_core::http::auth::current_user(&req.get_session())
            .is_some_and(|u| u.email == VIEWER_EMAIL);
        if viewer {
            return Ok(req.error_response(AppError::Forbidden(
                "The demo staff login is shared by everyone trying the demo, so its account \
                 cannot be changed."
                    .into(),
            )));
        }
    }
    next.call(req).await.map(|r| r.map_into_boxed_body())
}

/// What every page may show in demo mode (`demo` in templates).
pub struct Banner;

impl site_core::templates::ContextProcessor for Banner {
    fn process(&self, req: &actix_web::HttpRequest, ctx: &mut site_core::tera::Context) {
        let Some(config) = req.app_data::<web::Data<Config>>() else {
            return;
        };
        if config.demo {
            ctx.insert(
                "demo",
                &serde_json::json!({
                    "reset_hours": config.demo_reset_hours,
                    "staff_email": VIEWER_EMAIL,
                    "staff_password": VIEWER_PASSWORD,
                    "customer_email": "customer1@example.com",
                    "customer_password": CUSTOMER_PASSWORD,
                    "card": "4242 4242 4242 4242",
                    "voucher": orders::vouchers::DEMO_CODE,
                }),
            );
        }
    }
}

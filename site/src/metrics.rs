//! `/metrics` for Prometheus. Not public: it exists only while
//! `SHOP_METRICS_TOKEN` is set, and answers only requests bearing it
//! (`Authorization: Bearer <token>`). Besides this process's request and
//! job counters it reports, at scrape time, the database pool's use, the
//! backlogs of jobs, webhooks and mail, and the paid orders and revenue.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::dsl::count_star;
use diesel::prelude::*;
use site_core::db::Database;
use site_core::metrics::METRICS;
use site_core::schema::{core_outbox as m, payments_webhook_event as w};
use site_core::{AppError, Config};
use subtle::ConstantTimeEq;

pub const ROUTES: &[site_core::urls::Route] = &[("site:metrics", "/metrics")];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(site_core::urls::resource(ROUTES, "site:metrics").route(web::get().to(metrics)));
}

#[derive(QueryableByName)]
struct Paid {
    #[diesel(sql_type = diesel::sql_types::Text)]
    currency: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    orders: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

/// Reads what the database says into the gauges.
fn refresh(db: &Database) -> anyhow::Result<()> {
    let state = db.pool.state();
    METRICS.pool_connections.set(i64::from(state.connections));
    METRICS.pool_idle.set(i64::from(state.idle_connections));
    let mut conn = db.get()?;
    let waiting: i64 = w::table
        .filter(w::processed_at.is_null())
        .select(count_star())
        .first(&mut conn)?;
    METRICS.webhooks_waiting.set(waiting);
    let mail = |status: site_core::mail::outbox::Status,
                conn: &mut site_core::DbConn|
     -> QueryResult<i64> {
        m::table
            .filter(m::status.eq(status))
            .select(count_star())
            .first(conn)
    };
    METRICS
        .mail_waiting
        .set(mail(site_core::mail::outbox::Status::Pending, &mut conn)?);
    METRICS
        .mail_failed
        .set(mail(site_core::mail::outbox::Status::Failed, &mut conn)?);
    let (jobs_waiting, jobs_failed) = site_core::jobs::backlog(&mut conn)?;
    METRICS.jobs_waiting.set(jobs_waiting);
    METRICS.jobs_failed.set(jobs_failed);
    // Raw SQL: the sum comes back as the same BIGINT on both backends.
    let paid = diesel::sql_query(
        "SELECT currency, COUNT(*) AS orders, CAST(COALESCE(SUM(total_minor), 0) AS BIGINT) AS total \
         FROM orders_order WHERE paid_at IS NOT NULL GROUP BY currency",
    );
    let paid: Vec<Paid> = match &mut *conn {
        site_core::DbConn::Sqlite(c) => paid.load(c)?,
        site_core::DbConn::Postgres(c) => paid.load(c)?,
    };
    METRICS.orders_paid.set(paid.iter().map(|p| p.orders).sum());
    for p in paid {
        METRICS
            .revenue_minor
            .with_label_values(&[&p.currency])
            .set(p.total);
    }
    Ok(())
}

async fn metrics(
    req: HttpRequest,
    config: web::Data<Config>,
    db: web::Data<Database>,
) -> Result<HttpResponse, AppError> {
    let Some(token) = config.metrics_token.as_deref() else {
        return Err(AppError::NotFound);
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .content_type("text/plain; charset=utf-8")
            .body("Send Authorization: Bearer <SHOP_METRICS_TOKEN>.\n"));
    }
    let db = db.into_inner();
    if let Err(e) = web::block(move || refresh(&db))
        .await
        .map_err(anyhow::Error::from)
        .and_then(|r| r)
    {
        // The process's own counters are still worth scraping.
        tracing::warn!(error = %e, "metrics: the database's figures could not be read");
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(site_core::metrics::render()))
}

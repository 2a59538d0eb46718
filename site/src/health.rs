//! Probes for load balancers and orchestrators: `/healthz` says the
//! process answers (nothing else is touched), `/readyz` whether it can
//! serve: the database answers and carries every migration this binary
//! expects. Both are plain JSON, never cached, and need no session.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use site_core::db::Database;

pub const ROUTES: &[site_core::urls::Route] =
    &[("site:healthz", "/healthz"), ("site:readyz", "/readyz")];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(site_core::urls::resource(ROUTES, "site:healthz").route(web::get().to(healthz)))
        .service(site_core::urls::resource(ROUTES, "site:readyz").route(web::get().to(readyz)));
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    database: String,
    migrations: String,
    /// Only when REDIS_URL is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<String>,
}

/// Whether Redis answers a PING within two seconds.
async fn ping_redis(mut conn: redis::aio::ConnectionManager) -> Result<(), String> {
    let cmd = redis::cmd("PING");
    let ping = cmd.query_async::<String>(&mut conn);
    match tokio::time::timeout(std::time::Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("unreachable: {e}")),
        Err(_) => Err("unreachable: no answer within 2 s".into()),
    }
}

fn json(status: actix_web::http::StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

async fn healthz() -> HttpResponse {
    json(
        actix_web::http::StatusCode::OK,
        &serde_json::json!({ "status": "ok" }),
    )
}

/// What the database says, in words for the probe's body.
fn check(db: &Database) -> (Result<(), String>, Result<(), String>) {
    // A probe answers quickly: a database that is down is "unavailable",
    // not a request waiting out the pool's 30 s.
    let mut conn = match db.pool.get_timeout(std::time::Duration::from_secs(2)) {
        Ok(c) => c,
        Err(e) => return (Err(format!("unreachable: {e}")), Err("unknown".into())),
    };
    let reachable = site_core::db::ping(&mut conn).map_err(|e| format!("unreachable: {e}"));
    if reachable.is_err() {
        return (reachable, Err("unknown".into()));
    }
    let migrated = match site_core::db::migrations_applied(&mut conn) {
        Ok(true) => Ok(()),
        Ok(false) => Err("pending: run `site migrate`".to_string()),
        Err(e) => Err(e.to_string()),
    };
    (reachable, migrated)
}

async fn readyz(
    db: web::Data<Database>,
    redis: web::Data<Option<redis::aio::ConnectionManager>>,
) -> HttpResponse {
    let redis = match redis.as_ref().clone() {
        Some(conn) => Some(ping_redis(conn).await),
        None => None,
    };
    let db = db.into_inner();
    let checked = web::block(move || check(&db)).await;
    let (database, migrations) = checked.unwrap_or_else(|e| {
        let e = format!("not checked: {e}");
        (Err(e.clone()), Err(e))
    });
    let ready = database.is_ok() && migrations.is_ok() && redis.as_ref().is_none_or(Result::is_ok);
    let words = |r: Result<(), String>| r.map_or_else(|e| e, |()| "ok".to_string());
    json(
        if ready {
            actix_web::http::StatusCode::OK
        } else {
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE
        },
        &Readiness {
            status: if ready { "ok" } else { "unavailable" },
            database: words(database),
            migrations: words(migrations),
            redis: redis.map(words),
        },
    )
}

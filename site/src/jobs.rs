//! Background work the server (or `site worker`) does on a timer, and the
//! CLI on demand: delivering queued email, cancelling unpaid orders so
//! their stock returns, deleting expired sessions and old login failures.

use std::time::Duration;

use actix_web::web;
use site_core::db::{write_transaction, Database};
use site_core::mail::{outbox, Mailer};

/// How often the worker looks for email to send.
pub const MAIL_POLL: Duration = Duration::from_secs(2);

/// Cancels orders unpaid for longer than `hold` and puts their stock back.
/// An order with a live payment (in flight, unconfirmed or succeeded) is
/// left alone: its payment decides. Returns how many were cancelled.
pub fn release_unpaid_orders(db: &Database, hold: chrono::TimeDelta) -> anyhow::Result<usize> {
    let cutoff = site_core::now() - hold;
    let mut conn = db.get()?;
    let mut released = 0;
    loop {
        let batch = orders::Order::unpaid_since(&mut conn, cutoff, 100)?;
        let mut progressed = false;
        for id in &batch {
            let cancelled = write_transaction(&mut conn, |conn| -> diesel::QueryResult<bool> {
                if payments::Payment::live(conn, *id)?.is_some() {
                    return Ok(false);
                }
                orders::Order::cancel_unpaid(conn, *id, cutoff)
            })?;
            if cancelled {
                released += 1;
                progressed = true;
                tracing::info!(order_id = id, "unpaid order cancelled; stock released");
            }
        }
        if batch.len() < 100 || !progressed {
            return Ok(released);
        }
    }
}

/// Runs `work` on the blocking pool every `every`, logging failures.
fn every(
    every: Duration,
    name: &'static str,
    work: impl Fn() -> anyhow::Result<usize> + Send + Sync + Clone + 'static,
) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        loop {
            tick.tick().await;
            let w = work.clone();
            match web::block(w).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(job = name, count = n, "done"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(job = name, error = %e, "failed"),
                Err(e) => tracing::warn!(job = name, error = %e, "failed"),
            }
        }
    });
}

/// Sends the email that is due (see `site_core::mail::outbox`).
pub fn deliver_mail(db: &Database, mailer: &Mailer) -> anyhow::Result<usize> {
    let report = outbox::deliver_due(db, mailer, site_core::now())?;
    if report.deferred + report.failed > 0 {
        tracing::warn!(
            sent = report.sent,
            deferred = report.deferred,
            failed = report.failed,
            "mail delivery round"
        );
    }
    Ok(report.sent)
}

/// Starts the timers; call from inside the server's (or worker's) runtime.
pub fn spawn(db: Database, mailer: Mailer, order_hold_minutes: i64) {
    let hold = chrono::TimeDelta::minutes(order_hold_minutes);
    let d = db.clone();
    every(MAIL_POLL, "deliver-mail", move || deliver_mail(&d, &mailer));
    let d = db.clone();
    every(
        Duration::from_secs(60),
        "release-unpaid-orders",
        move || release_unpaid_orders(&d, hold),
    );
    every(Duration::from_secs(3600), "clear-sessions", move || {
        let mut conn = db.get()?;
        let sessions = site_core::db::clear_expired_sessions(&mut conn)?;
        let failures = accounts::throttle::prune(&mut conn, site_core::now())?;
        Ok(sessions + failures)
    });
}

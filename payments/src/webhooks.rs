//! `/payments/webhooks/<provider>/`: what payment services tell the shop.
//!
//! A webhook is verified (a bad signature is answered 400 and nothing is
//! stored), then stored once per provider and event id in the request that
//! brought it, and answered 200: from then on it cannot be lost. Processing
//! is separate: right after the answer, and by a job for whatever a crash
//! or an error left behind. Each event is processed in the transaction that
//! marks it processed, and every change it makes is guarded by the state it
//! moves from, so an event delivered twice, or after a later one, changes
//! nothing the second time.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use site_core::db::{write_transaction, Database, DbConn};
use site_core::schema::payments_webhook_event as e;
use site_core::AppError;

use crate::domain::{ChargeOutcome, WebhookEvent};
use crate::models::{record_capture, record_outcome, record_void, OnPaid, Payment, PaymentStatus};

/// The largest webhook accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// How long a worker holds an event it is processing.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The job that processes one stored event (queued with it).
pub const PROCESS_WEBHOOK: &str = "payments.process_webhook";

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ProcessArgs {
    event: i64,
}

/// Stores `event` unless it was stored before; its row id when new.
pub fn store(
    conn: &mut DbConn,
    provider: &str,
    event: &WebhookEvent,
    payload: &str,
) -> QueryResult<Option<i64>> {
    use diesel::result::{DatabaseErrorKind, Error};
    let inserted = write_transaction(conn, |conn| {
        diesel::insert_into(e::table)
            .values((
                e::provider.eq(provider),
                e::event_id.eq(&event.id),
                e::kind.eq(&event.kind),
                e::payload.eq(payload),
                e::received_at.eq(site_core::now()),
            ))
            .execute(conn)?;
        let id = e::table
            .filter(e::provider.eq(provider))
            .filter(e::event_id.eq(&event.id))
            .select(e::id)
            .first(conn)?;
        // Processing waits in the jobs table from the same commit: a crash
        // right after the answer loses nothing.
        site_core::jobs::enqueue_at(
            conn,
            PROCESS_WEBHOOK,
            &ProcessArgs { event: id },
            site_core::now(),
            20,
        )?;
        Ok(id)
    });
    match inserted {
        Ok(id) => Ok(Some(id)),
        // The unique (provider, event id) index: delivered before.
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What processing an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    /// Processed now (its effects, if any, were applied).
    Done,
    /// Processed before.
    Skipped,
    /// Being processed by another worker right now.
    Busy,
}

/// Processes stored event `id` once: takes a lease on it, applies it and
/// marks it processed in one transaction. An error keeps it for a retry.
pub fn process(conn: &mut DbConn, id: i64, on_paid: &OnPaid<'_>) -> anyhow::Result<Processed> {
    let now = site_core::now();
    let leased = diesel::update(
        e::table
            .find(id)
            .filter(e::processed_at.is_null())
            .filter(e::locked_until.is_null().or(e::locked_until.lt(now))),
    )
    .set((
        e::locked_until.eq(now + LEASE),
        e::attempts.eq(e::attempts + 1),
    ))
    .execute(conn)?;
    if leased == 0 {
        let processed = e::table
            .find(id)
            .select(e::processed_at.is_not_null())
            .first::<bool>(conn)
            .optional()?;
        return Ok(match processed {
            Some(false) => Processed::Busy,
            _ => Processed::Skipped,
        });
    }
    let applied = write_transaction(conn, |conn| -> anyhow::Result<Processed> {
        let (payload, processed_at): (String, Option<NaiveDateTime>) = e::table
            .find(id)
            .select((e::payload, e::processed_at))
            .first(conn)?;
        if processed_at.is_some() {
            return Ok(Processed::Skipped);
        }
        let event: WebhookEvent = serde_json::from_str(&payload)?;
        let note = apply(conn, &event, on_paid)?;
        diesel::update(e::table.find(id))
            .set((
                e::processed_at.eq(site_core::now()),
                e::locked_until.eq(None::<NaiveDateTime>),
                e::last_error.eq(note.unwrap_or_default()),
            ))
            .execute(conn)?;
        Ok(Processed::Done)
    });
    if let Err(err) = &applied {
        // Kept for its job, which paces the retries.
        tracing::warn!(event = id, error = %err, "webhook event not processed; will retry");
        diesel::update(e::table.find(id))
            .set((
                e::last_error.eq(err.to_string()),
                e::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    applied
}

/// Applies one event. Returns a note for staff when the event was ignored
/// for a reason worth knowing.
fn apply(
    conn: &mut DbConn,
    event: &WebhookEvent,
    on_paid: &OnPaid<'_>,
) -> anyhow::Result<Option<String>> {
    let Some(payment) = Payment::by_key(conn, &event.reference).optional()? else {
        return Ok(Some(format!(
            "No payment has the reference {}; ignored.",
            event.reference
        )));
    };
    let money_moves = matches!(
        event.kind.as_str(),
        "charge.succeeded" | "charge.authorized" | "charge.captured"
    );
    if money_moves
        && (event.amount_minor != payment.amount_minor || event.currency != payment.currency)
    {
        tracing::error!(
            payment = payment.id,
            "a charge for another amount than the payment's was reported; not recorded"
        );
        return Ok(Some(format!(
            "The charge was for {} {} but the payment is for {} {}: check it with the payment service.",
            event.amount_minor, event.currency, payment.amount_minor, payment.currency
        )));
    }
    let approved = || ChargeOutcome::Approved {
        reference: event.charge.clone(),
        card_last4: event.card_last4.clone(),
    };
    match event.kind.as_str() {
        "charge.succeeded" => {
            record_outcome(conn, &payment, &approved(), Some(on_paid))?;
        }
        "charge.authorized" => {
            // Recorded only while the payment waits for an answer: after
            // its capture or void (events may overtake each other) it
            // changes nothing.
            record_outcome(
                conn,
                &payment,
                &ChargeOutcome::Authorized {
                    reference: event.charge.clone(),
                    card_last4: event.card_last4.clone(),
                },
                Some(on_paid),
            )?;
        }
        "charge.captured" => match payment.status() {
            PaymentStatus::Authorized => {
                record_capture(conn, &payment, &event.charge, orders::events::Actor::System)?;
            }
            // The capture overtook the authorization: it says both.
            PaymentStatus::Processing | PaymentStatus::Unconfirmed => {
                record_outcome(conn, &payment, &approved(), Some(on_paid))?;
            }
            _ => {}
        },
        "charge.voided" => {
            let was_authorized = payment.status() == PaymentStatus::Authorized;
            if record_void(conn, &payment, &event.charge, &event.reason)? && was_authorized {
                // Released by the service (it expired), or by staff, whose
                // page cancels the order next. Staff decide what becomes of
                // an order whose authorization expired.
                orders::events::record(
                    conn,
                    payment.order_id,
                    orders::events::EventKind::Note,
                    "The payment service released the card authorization before it was \
                     captured: nothing was charged.",
                    "",
                    orders::events::Actor::System,
                )?;
            }
        }
        "checkout.expired" => {
            record_outcome(
                conn,
                &payment,
                &ChargeOutcome::Declined {
                    reference: event.charge.clone(),
                    reason: event.reason.clone(),
                },
                None,
            )?;
        }
        "charge.failed" => {
            // The shopper may still pay with another card: the payment
            // stays open; the decline is kept for the payment's history.
            if matches!(
                payment.status(),
                PaymentStatus::Processing | PaymentStatus::Unconfirmed
            ) {
                crate::models::record_declined_attempt(conn, &payment, event)?;
            }
        }
        _ => {}
    }
    Ok(None)
}

/// The task that processes stored events: a crash, an error, or an event
/// another worker held when the request that stored it tried.
pub fn task() -> site_core::jobs::Task {
    site_core::jobs::Task::new(PROCESS_WEBHOOK, |env, job| {
        let ProcessArgs { event } = job.args()?;
        let on_paid = receipt(env.renderer.clone(), env.config.site_url.clone());
        match process(&mut *env.db.get()?, event, &on_paid)? {
            Processed::Done | Processed::Skipped => Ok(()),
            Processed::Busy => Err(site_core::jobs::JobError::Retry(
                "another worker is processing this event".into(),
            )),
        }
    })
    .first_retry(chrono::TimeDelta::seconds(5))
}

/// The receipt, queued in the transaction that marks an order paid (or
/// authorized: the receipt then says the card is charged at shipping).
pub fn receipt(
    renderer: std::sync::Arc<site_core::templates::Renderer>,
    site_url: String,
) -> impl Fn(&mut DbConn, i64) -> Result<(), String> + Send + Sync + 'static {
    move |conn, order_id| {
        let authorized = Payment::live(conn, order_id)
            .map_err(|e| e.to_string())?
            .is_some_and(|p| p.status() == PaymentStatus::Authorized);
        orders::emails::queue_receipt(conn, &renderer, &site_url, order_id, authorized)
    }
}

fn refuse(reason: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{reason}\n"))
}

/// `POST /payments/webhooks/<provider>/`.
pub async fn receive(
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let provider = crate::views::provider_of(&req)?;
    if name.as_str() != provider.name() {
        return Err(AppError::NotFound);
    }
    if body.len() > MAX_BODY {
        return Ok(refuse("the body is too large"));
    }
    let signature = req
        .headers()
        .get(crate::gateway::SIGNATURE_HEADER)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let event = match provider.verify_webhook(signature.as_deref(), &body) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(provider = provider.name(), error = %e, "webhook refused");
            return Ok(refuse(e));
        }
    };
    let Ok(payload) = String::from_utf8(body.to_vec()) else {
        return Ok(refuse("the body is not UTF-8"));
    };
    let db = req
        .app_data::<web::Data<Database>>()
        .cloned()
        .ok_or_else(|| AppError::internal("no database"))?;
    let renderer = req
        .app_data::<web::Data<site_core::templates::Renderer>>()
        .cloned()
        .ok_or_else(|| AppError::internal("no renderer"))?;
    let site_url = req
        .app_data::<web::Data<site_core::Config>>()
        .map(|c| c.site_url.clone())
        .unwrap_or_default();
    let name = provider.name();
    let stored = {
        let db = db.clone();
        web::block(move || -> anyhow::Result<Option<i64>> {
            Ok(store(&mut *db.get()?, name, &event, &payload)?)
        })
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
        // A database that cannot be reached answers 503: the service retries.
        .map_err(AppError::from)?
    };
    if let Some(id) = stored {
        site_core::failpoint("webhook-stored");
        // Process it now; if this fails or the process dies, the job will.
        let on_paid = receipt(renderer.into_inner(), site_url);
        let processed = web::block(move || -> anyhow::Result<Processed> {
            process(&mut *db.get()?, id, &on_paid)
        })
        .await;
        let failed = match processed {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(error) = failed {
            tracing::warn!(event = id, %error, "webhook stored; processing left to the job");
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok\n"))
}

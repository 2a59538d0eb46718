//! The payment page for an order.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use orders::Order;
use site_core::forms::FormState;
use site_core::http::{redirect, Level, RequestContext};
use site_core::tera::Context;
use site_core::AppError;

use crate::domain::{ChargeOutcome, ChargeRequest, PaymentProvider};
use crate::forms::{parse_card, parse_payment_key};
use crate::models::{claim, mark_unconfirmed, record_outcome, Claim, Payment, PaymentStatus};

pub(crate) fn provider(rq: &RequestContext) -> Result<web::Data<dyn PaymentProvider>, AppError> {
    rq.req
        .app_data::<web::Data<dyn PaymentProvider>>()
        .cloned()
        .ok_or_else(|| AppError::internal("no payment provider is configured"))
}

fn render_pay(
    rq: &RequestContext,
    order: &Order,
    form: &FormState,
    key: &str,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("order", &order.view(&[]));
    ctx.insert("reference", &orders::emails::short_ref(&order.public_id));
    ctx.insert("form", form);
    ctx.insert("payment_key", key);
    let body = rq.renderer.render_page(&rq.req, "payments/pay.html", ctx)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// Queues the receipt in the transaction that marks the order paid.
fn receipt(
    rq: &RequestContext,
) -> impl Fn(&mut site_core::DbConn, i64) -> Result<(), String> + Send + 'static {
    let renderer = rq.renderer.clone();
    let site_url = rq.config.site_url.clone();
    move |conn, order_id| orders::emails::queue_receipt(conn, &renderer, &site_url, order_id)
}

fn order_url(rq: &RequestContext, order: &Order) -> Result<String, AppError> {
    rq.url("orders:detail", &[("public_id", &order.public_id)])
}

pub async fn pay_form(
    rq: RequestContext,
    public_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let public_id = public_id.into_inner();
    Order::check_public_id(&public_id)?;
    let order = rq
        .db(move |conn| Ok(Order::by_public_id(conn, &public_id)?))
        .await?;
    if !order.status().awaits_payment() {
        rq.flash(Level::Info, "This order does not need paying any more.");
        return Ok(redirect(&order_url(&rq, &order)?));
    }
    let form = FormState::initial(&[(
        "holder",
        &format!("{} {}", order.first_name, order.last_name),
    )]);
    render_pay(
        &rq,
        &order,
        &form,
        &site_core::random_token(32),
        StatusCode::OK,
    )
}

pub async fn pay_submit(
    rq: RequestContext,
    public_id: web::Path<String>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let public_id = public_id.into_inner();
    Order::check_public_id(&public_id)?;
    let form = FormState::new(body.into_inner());
    let key = parse_payment_key(form.raw("payment_key")).ok_or_else(|| {
        AppError::BadRequest(
            "This payment form is incomplete or out of date. Open the order and pay again.".into(),
        )
    })?;
    let today = chrono::Utc::now().date_naive();
    let card = match parse_card(form, today) {
        Ok(card) => card,
        Err(form) => {
            let pid = public_id.clone();
            let order = rq
                .db(move |conn| Ok(Order::by_public_id(conn, &pid)?))
                .await?;
            return render_pay(&rq, &order, &form, &key, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };

    let provider = provider(&rq)?;
    let (pid, k, name, last4) = (
        public_id.clone(),
        key.clone(),
        provider.name(),
        card.number.last4().to_string(),
    );
    let claimed = rq
        .db(move |conn| Ok(claim(conn, &pid, &k, name, &last4)?))
        .await?;
    let (order, payment) = match claimed {
        Claim::Started(order, payment) => (order, payment),
        Claim::NotPayable(order) => {
            rq.flash(Level::Info, "This order does not need paying any more.");
            return Ok(redirect(&order_url(&rq, &order)?));
        }
        Claim::Busy(_) => {
            return Err(AppError::Conflict(
                "Another payment for this order just changed. Open the order again.".into(),
            ))
        }
        Claim::InProgress(order, live) => return settle_earlier(&rq, provider, order, live).await,
        Claim::Duplicate(order, existing) => {
            return answer_duplicate(&rq, provider, order, existing).await
        }
    };

    // Charge outside any transaction: a provider call can be slow, and the
    // claim already keeps a second payment for this order out.
    let amount = order.total();
    let k = key.clone();
    let p = provider.clone();
    let charged = web::block(move || {
        p.charge(&ChargeRequest {
            amount,
            card: &card,
            reference: &k,
        })
    })
    .await?;
    match charged {
        Ok(outcome) => {
            let (pay, o) = (payment.clone(), outcome.clone());
            let receipt = receipt(&rq);
            rq.db(move |conn| Ok(record_outcome(conn, &pay, &o, Some(&receipt))?))
                .await?;
            respond(
                &rq,
                &order,
                &outcome,
                "Payment received. Thank you for your order!",
            )
        }
        Err(e) => {
            // The card may or may not have been charged. Keep the payment
            // live and offer the same form (same key): submitting it asks
            // the provider what happened before anything else is tried.
            tracing::error!(order = %order.public_id, error = %e, "payment provider failed; payment left unconfirmed");
            rq.db(move |conn| Ok(mark_unconfirmed(conn, &payment)?))
                .await?;
            unconfirmed(&rq, &order, &key)
        }
    }
}

fn respond(
    rq: &RequestContext,
    order: &Order,
    outcome: &ChargeOutcome,
    success: &str,
) -> Result<HttpResponse, AppError> {
    match outcome {
        ChargeOutcome::Approved { .. } => {
            rq.flash(Level::Success, success);
            Ok(redirect(&order_url(rq, order)?))
        }
        ChargeOutcome::Declined { reason, .. } => declined(rq, order, reason),
    }
}

fn unconfirmed(rq: &RequestContext, order: &Order, key: &str) -> Result<HttpResponse, AppError> {
    let mut form = holder_form(order);
    form.add_non_field_error(
        "We could not confirm your payment with the payment service. Submit the form again in a moment: \
         we will check what happened first, and you will not be charged twice.",
    );
    render_pay(rq, order, &form, key, StatusCode::SERVICE_UNAVAILABLE)
}

fn holder_form(order: &Order) -> FormState {
    FormState::initial(&[(
        "holder",
        &format!("{} {}", order.first_name, order.last_name),
    )])
}

fn declined(rq: &RequestContext, order: &Order, reason: &str) -> Result<HttpResponse, AppError> {
    let mut form = holder_form(order);
    form.add_non_field_error(format!(
        "{reason} Your order is saved and has not been paid; you can try another card."
    ));
    // A fresh key: the next attempt is a new payment.
    render_pay(
        rq,
        order,
        &form,
        &site_core::random_token(32),
        StatusCode::PAYMENT_REQUIRED,
    )
}

/// The same payment form arrived again: answer as the first one was answered.
async fn answer_duplicate(
    rq: &RequestContext,
    provider: web::Data<dyn PaymentProvider>,
    order: Order,
    existing: Payment,
) -> Result<HttpResponse, AppError> {
    match existing.status() {
        PaymentStatus::Succeeded => {
            rq.flash(Level::Info, "This payment was already received.");
            Ok(redirect(&order_url(rq, &order)?))
        }
        PaymentStatus::Failed => {
            let p = existing.clone();
            let reason = rq
                .db(move |conn| Ok(p.failure_message(conn)?))
                .await?
                .unwrap_or_else(|| "Your card was declined.".into());
            declined(rq, &order, &reason)
        }
        _ => settle_earlier(rq, provider, order, existing).await,
    }
}

/// An earlier payment for the order is still live. If its answer was lost
/// (or its server died mid-charge), ask the provider what became of it and
/// record that; the order is charged at most once either way.
async fn settle_earlier(
    rq: &RequestContext,
    provider: web::Data<dyn PaymentProvider>,
    order: Order,
    earlier: Payment,
) -> Result<HttpResponse, AppError> {
    if !earlier.needs_lookup(site_core::now()) {
        return Err(AppError::Conflict(
            "A payment for this order is being processed right now. Wait a moment and open the order again.".into(),
        ));
    }
    let key = earlier.idempotency_key.clone();
    let found = web::block(move || provider.lookup(&key)).await?;
    let outcome = match found {
        Ok(Some(outcome)) => outcome,
        Ok(None) => ChargeOutcome::Declined {
            reference: String::new(),
            reason: "Your earlier payment attempt did not reach the payment service, so you were not charged.".into(),
        },
        Err(e) => {
            tracing::warn!(order = %order.public_id, error = %e, "payment lookup failed");
            return unconfirmed(rq, &order, &earlier.idempotency_key);
        }
    };
    let (p, o) = (earlier.clone(), outcome.clone());
    let receipt = receipt(rq);
    rq.db(move |conn| Ok(record_outcome(conn, &p, &o, Some(&receipt))?))
        .await?;
    respond(
        rq,
        &order,
        &outcome,
        "Your earlier payment went through: the order is paid. You were charged once.",
    )
}

/// Asks the payment service for a reserved refund, off the async workers
/// and outside any transaction; `Err` inside when it did not answer.
pub(crate) async fn ask_refund(
    rq: &RequestContext,
    res: &crate::refunds::Reservation,
) -> Result<Result<crate::domain::RefundOutcome, crate::domain::ProviderError>, AppError> {
    let provider = provider(rq)?;
    let (charge, amount, key) = (
        res.charge_reference.clone(),
        res.plan.amount,
        res.plan.key.clone(),
    );
    Ok(web::block(move || {
        provider.refund(&crate::domain::RefundRequest {
            charge_reference: &charge,
            amount,
            reference: &key,
        })
    })
    .await?)
}

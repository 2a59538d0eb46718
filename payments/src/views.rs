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
use crate::models::{claim, record_outcome, Claim, Payment};

fn valid_public_id(id: &str) -> Result<(), AppError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

fn provider(rq: &RequestContext) -> Result<web::Data<dyn PaymentProvider>, AppError> {
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

fn order_url(rq: &RequestContext, order: &Order) -> Result<String, AppError> {
    rq.url("orders:detail", &[("public_id", &order.public_id)])
}

pub async fn pay_form(
    rq: RequestContext,
    public_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let public_id = public_id.into_inner();
    valid_public_id(&public_id)?;
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
    valid_public_id(&public_id)?;
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
        Claim::InProgress(_) => {
            return Err(AppError::Conflict("A payment for this order is already being processed. Wait a moment and open the order again.".into()))
        }
        Claim::Duplicate(order, existing) => return answer_duplicate(&rq, order, existing, &key).await,
    };

    // Charge outside any transaction: a provider call can be slow, and the
    // claim already keeps a second payment for this order out.
    let amount = order.total();
    let k = key.clone();
    let outcome = web::block(move || {
        provider.charge(&ChargeRequest {
            amount,
            card: &card,
            reference: &k,
        })
    })
    .await?;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            // Unknown outcome: record it as failed so the shopper can retry.
            tracing::error!(order = %order.public_id, error = %e, "payment provider failed");
            ChargeOutcome::Declined { reference: String::new(), reason: "The payment service did not answer. You have not been charged; please try again.".into() }
        }
    };
    let (p, o) = (payment.clone(), outcome.clone());
    rq.db(move |conn| Ok(record_outcome(conn, &p, &o)?)).await?;

    match outcome {
        ChargeOutcome::Approved { .. } => {
            rq.flash(
                Level::Success,
                "Payment received. Thank you for your order!",
            );
            Ok(redirect(&order_url(&rq, &order)?))
        }
        ChargeOutcome::Declined { reason, .. } => declined(&rq, &order, &reason),
    }
}

fn declined(rq: &RequestContext, order: &Order, reason: &str) -> Result<HttpResponse, AppError> {
    let mut form = FormState::initial(&[(
        "holder",
        &format!("{} {}", order.first_name, order.last_name),
    )]);
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
    order: Order,
    existing: Payment,
    key: &str,
) -> Result<HttpResponse, AppError> {
    match existing.status.as_str() {
        "succeeded" => {
            rq.flash(Level::Info, "This payment was already received.");
            Ok(redirect(&order_url(rq, &order)?))
        }
        "failed" => {
            let p = existing.clone();
            let reason = rq
                .db(move |conn| Ok(p.failure_message(conn)?))
                .await?
                .unwrap_or_else(|| "Your card was declined.".into());
            declined(rq, &order, &reason)
        }
        _ => {
            tracing::info!(key, "duplicate submit while the payment is processing");
            Err(AppError::Conflict(
                "This payment is still being processed. Wait a moment and open the order again."
                    .into(),
            ))
        }
    }
}

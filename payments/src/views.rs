//! Paying for an order: the shop's side of a hosted payment page (send the
//! shopper there, take them back, record what happened).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use orders::Order;
use site_core::forms::FormState;
use site_core::http::{redirect, Level, RequestContext};
use site_core::tera::Context;
use site_core::AppError;

use crate::domain::{BeginRequest, ChargeOutcome, Lookup, PaymentProvider};
use crate::forms::parse_payment_key;
use crate::models::{claim, mark_unconfirmed, record_outcome, Claim, Payment, PaymentStatus};

pub(crate) fn provider(rq: &RequestContext) -> Result<web::Data<dyn PaymentProvider>, AppError> {
    provider_of(&rq.req)
}

/// The configured payment provider, for handlers without a context.
pub(crate) fn provider_of(
    req: &actix_web::HttpRequest,
) -> Result<web::Data<dyn PaymentProvider>, AppError> {
    req.app_data::<web::Data<dyn PaymentProvider>>()
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
    crate::webhooks::receipt(rq.renderer.clone().into_inner(), rq.config.site_url.clone())
}

fn order_url(rq: &RequestContext, order: &Order) -> Result<String, AppError> {
    rq.url("orders:detail", &[("public_id", &order.public_id)])
}

async fn load_order(rq: &RequestContext, public_id: &str) -> Result<Order, AppError> {
    let pid = public_id.to_string();
    rq.db(move |conn| Ok(Order::by_public_id(conn, &pid)?))
        .await
}

pub async fn pay_form(
    rq: RequestContext,
    public_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let public_id = public_id.into_inner();
    Order::check_public_id(&public_id)?;
    let order = load_order(&rq, &public_id).await?;
    if !order.status().awaits_payment() {
        rq.flash(Level::Info, "This order does not need paying any more.");
        return Ok(redirect(&order_url(&rq, &order)?));
    }
    render_pay(
        &rq,
        &order,
        &FormState::default(),
        &site_core::random_token(32),
        StatusCode::OK,
    )
}

/// Opens the payment service's page for this order's payment and sends
/// the shopper there. The same form sent twice opens the same page; an
/// earlier payment still open is continued rather than doubled.
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
    let provider = provider(&rq)?;
    let (pid, k, name) = (public_id.clone(), key.clone(), provider.name());
    let claimed = rq
        .db(move |conn| Ok(claim(conn, &pid, &k, name, "")?))
        .await?;
    match claimed {
        Claim::Started(order, payment) => begin(&rq, provider, &order, &payment).await,
        Claim::NotPayable(order) => {
            rq.flash(Level::Info, "This order does not need paying any more.");
            Ok(redirect(&order_url(&rq, &order)?))
        }
        Claim::Busy(_) => Err(AppError::Conflict(
            "Another payment for this order just changed. Open the order again.".into(),
        )),
        Claim::InProgress(order, live) | Claim::Duplicate(order, live) => {
            continue_payment(&rq, provider, order, live).await
        }
    }
}

/// Asks the provider for the payment page and redirects there. If it does
/// not answer, the payment stays live but unconfirmed: the next attempt
/// asks what became of it first.
async fn begin(
    rq: &RequestContext,
    provider: web::Data<dyn PaymentProvider>,
    order: &Order,
    payment: &Payment,
) -> Result<HttpResponse, AppError> {
    let return_url = format!(
        "{}{}",
        rq.config.site_url.trim_end_matches('/'),
        rq.url("payments:return", &[("public_id", &order.public_id)])?
    );
    let amount = order.total();
    let key = payment.idempotency_key.clone();
    let capture = rq.config.capture == site_core::config::Capture::AtCheckout;
    let opened = web::block(move || {
        provider.begin(&BeginRequest {
            amount,
            reference: &key,
            return_url: &return_url,
            merchant: "Demo Shop",
            capture,
        })
    })
    .await?;
    match opened {
        Ok(url) => Ok(redirect(&url)),
        Err(e) => {
            tracing::error!(order = %order.public_id, error = %e, "payment provider failed to open a payment page");
            let p = payment.clone();
            rq.db(move |conn| Ok(mark_unconfirmed(conn, &p)?)).await?;
            unconfirmed(rq, order, &payment.idempotency_key)
        }
    }
}

/// A payment for the order exists: answer with what became of it, asking
/// the provider when the shop does not know yet.
async fn continue_payment(
    rq: &RequestContext,
    provider: web::Data<dyn PaymentProvider>,
    order: Order,
    payment: Payment,
) -> Result<HttpResponse, AppError> {
    match payment.status() {
        PaymentStatus::Succeeded | PaymentStatus::Authorized => {
            rq.flash(Level::Info, "This payment was already received.");
            return Ok(redirect(&order_url(rq, &order)?));
        }
        PaymentStatus::Failed | PaymentStatus::Voided => {
            let p = payment.clone();
            let reason = rq
                .db(move |conn| Ok(p.failure_message(conn)?))
                .await?
                .unwrap_or_else(|| "Your payment did not go through.".into());
            return declined(rq, &order, &reason);
        }
        PaymentStatus::Processing | PaymentStatus::Unconfirmed => {}
    }
    let key = payment.idempotency_key.clone();
    let p = provider.clone();
    let found = web::block(move || p.lookup(&key)).await?;
    let outcome = match found {
        Ok(Lookup::Done(outcome)) => outcome,
        // The shopper left the page open (or came back): continue there.
        Ok(Lookup::Open) => return begin(rq, provider, &order, &payment).await,
        Ok(Lookup::Unknown) if payment.needs_lookup(site_core::now()) => {
            ChargeOutcome::Declined {
                reference: String::new(),
                reason: "Your earlier payment attempt did not reach the payment service, so you were not charged.".into(),
            }
        }
        // Claimed a moment ago; its page is being opened right now.
        Ok(Lookup::Unknown) => return begin(rq, provider, &order, &payment).await,
        Err(e) => {
            tracing::warn!(order = %order.public_id, error = %e, "payment lookup failed");
            return unconfirmed(rq, &order, &payment.idempotency_key);
        }
    };
    settle(rq, &order, &payment, outcome).await
}

/// Records a final outcome the provider gave and answers the shopper.
async fn settle(
    rq: &RequestContext,
    order: &Order,
    payment: &Payment,
    outcome: ChargeOutcome,
) -> Result<HttpResponse, AppError> {
    let (p, o) = (payment.clone(), outcome.clone());
    let receipt = receipt(rq);
    rq.db(move |conn| Ok(record_outcome(conn, &p, &o, Some(&receipt))?))
        .await?;
    match &outcome {
        ChargeOutcome::Approved { .. } => {
            rq.flash(
                Level::Success,
                "Payment received. Thank you for your order!",
            );
            Ok(redirect(&order_url(rq, order)?))
        }
        ChargeOutcome::Authorized { .. } => {
            rq.flash(Level::Success, AUTHORIZED);
            Ok(redirect(&order_url(rq, order)?))
        }
        ChargeOutcome::Declined { reason, .. } => declined(rq, order, reason),
    }
}

/// Where the payment service sends the shopper back, paid or not. The
/// webhook may not have arrived yet, so the shop asks the provider; both
/// record the same outcome once.
pub async fn payment_return(
    rq: RequestContext,
    public_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let public_id = public_id.into_inner();
    Order::check_public_id(&public_id)?;
    let pid = public_id.clone();
    let (order, payment) = rq
        .db(move |conn| {
            let order = Order::by_public_id(conn, &pid)?;
            let payment = Payment::for_order(conn, order.id)?.pop();
            Ok((order, payment))
        })
        .await?;
    let Some(payment) = payment else {
        return Ok(redirect(&order_url(&rq, &order)?));
    };
    match payment.status() {
        PaymentStatus::Succeeded => {
            rq.flash(
                Level::Success,
                "Payment received. Thank you for your order!",
            );
            return Ok(redirect(&order_url(&rq, &order)?));
        }
        PaymentStatus::Authorized => {
            rq.flash(Level::Success, AUTHORIZED);
            return Ok(redirect(&order_url(&rq, &order)?));
        }
        PaymentStatus::Failed | PaymentStatus::Voided => {
            return continue_payment(&rq, provider(&rq)?, order, payment).await
        }
        PaymentStatus::Processing | PaymentStatus::Unconfirmed => {}
    }
    let provider = provider(&rq)?;
    let key = payment.idempotency_key.clone();
    let found = web::block(move || provider.lookup(&key)).await?;
    match found {
        Ok(Lookup::Done(outcome)) => settle(&rq, &order, &payment, outcome).await,
        Ok(Lookup::Open) | Ok(Lookup::Unknown) => {
            let mut form = FormState::default();
            form.add_non_field_error(
                "You have not finished paying: your order is saved. Continue to the payment page when you are ready.",
            );
            render_pay(
                &rq,
                &order,
                &form,
                &site_core::random_token(32),
                StatusCode::OK,
            )
        }
        Err(e) => {
            tracing::warn!(order = %order.public_id, error = %e, "payment lookup on return failed");
            rq.flash(
                Level::Info,
                "We are waiting for the payment service to confirm your payment. This page will show it once it has: you will not be charged twice.",
            );
            Ok(redirect(&order_url(&rq, &order)?))
        }
    }
}

const AUTHORIZED: &str = "Payment authorized: the amount is held on your card and taken when your order ships. Thank you for your order!";

fn unconfirmed(rq: &RequestContext, order: &Order, key: &str) -> Result<HttpResponse, AppError> {
    let mut form = FormState::default();
    form.add_non_field_error(
        "We could not reach the payment service. Try again in a moment: \
         we will check what happened first, and you will not be charged twice.",
    );
    render_pay(rq, order, &form, key, StatusCode::SERVICE_UNAVAILABLE)
}

fn declined(rq: &RequestContext, order: &Order, reason: &str) -> Result<HttpResponse, AppError> {
    let mut form = FormState::default();
    form.add_non_field_error(format!(
        "{reason} Your order is saved and has not been paid; you can try again."
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

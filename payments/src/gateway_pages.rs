//! The demo gateway's hosted payment page, `/demo-pay/<token>/`: the only
//! place a card number is typed. It answers as the gateway, not the shop:
//! its own look, its own records, and a way back to the shop either way.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use site_core::forms::FormState;
use site_core::http::{redirect, RequestContext};
use site_core::tera::Context;
use site_core::AppError;

use crate::forms::parse_card;
use crate::gateway::{self, Attempt, Checkout, CheckoutStatus, DemoGateway};

fn checkout_token(raw: &str) -> Result<String, AppError> {
    if raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(raw.to_string())
    } else {
        Err(AppError::NotFound)
    }
}

fn render(
    rq: &RequestContext,
    checkout: &Checkout,
    form: &FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("checkout", &View::of(checkout));
    ctx.insert("form", form);
    let body = rq
        .renderer
        .render_page(&rq.req, "payments/gateway.html", ctx)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(body))
}

#[derive(serde::Serialize)]
struct View<'a> {
    token: &'a str,
    merchant: &'a str,
    amount: site_core::Money,
    return_url: &'a str,
    open: bool,
    authorize_only: bool,
    authorized: bool,
    paid: bool,
    voided: bool,
    card_last4: &'a str,
}

impl<'a> View<'a> {
    fn of(c: &'a Checkout) -> View<'a> {
        View {
            token: &c.token,
            merchant: &c.merchant_name,
            amount: c.amount(),
            return_url: &c.return_url,
            open: c.status == CheckoutStatus::Open,
            authorize_only: c.manual_capture,
            authorized: c.status == CheckoutStatus::Authorized,
            paid: c.status == CheckoutStatus::Succeeded,
            voided: c.status == CheckoutStatus::Voided,
            card_last4: &c.card_last4,
        }
    }
}

pub async fn page(rq: RequestContext, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = checkout_token(&token)?;
    let checkout = rq
        .db(move |conn| Ok(Checkout::by_token(conn, &token)?))
        .await?
        .ok_or(AppError::NotFound)?;
    render(&rq, &checkout, &FormState::default(), StatusCode::OK)
}

pub async fn submit(
    rq: RequestContext,
    token: web::Path<String>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let token = checkout_token(&token)?;
    let gateway = rq
        .req
        .app_data::<web::Data<DemoGateway>>()
        .cloned()
        .ok_or_else(|| AppError::internal("the demo gateway is not configured"))?
        .into_inner();
    let t = token.clone();
    let checkout = rq
        .db(move |conn| Ok(Checkout::by_token(conn, &t)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let card = match parse_card(FormState::new(body.into_inner()), site_core::now().date()) {
        Ok(card) => card,
        Err(form) => return render(&rq, &checkout, &form, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let attempt = rq
        .db(move |conn| Ok(gateway::pay(conn, &token, &card)?))
        .await?
        .ok_or(AppError::NotFound)?;
    // Tell the shop now; the delivery job retries whatever this misses.
    match attempt {
        Attempt::Approved(c, webhook) => {
            gateway.notify(webhook);
            Ok(redirect(&c.return_url))
        }
        Attempt::Closed(c) => Ok(redirect(&c.return_url)),
        Attempt::Declined(c, reason, webhook) => {
            gateway.notify(webhook);
            let mut form = FormState::default();
            form.add_non_field_error(format!(
                "{reason} Nothing was charged: try another card, or go back to the shop."
            ));
            render(&rq, &c, &form, StatusCode::PAYMENT_REQUIRED)
        }
    }
}

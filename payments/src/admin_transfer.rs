//! The admin's page for recording money the shop received itself: a bank
//! transfer for a pending order, or the cash a courier collected for an
//! order paid on delivery. The order becomes paid (invoice number, receipt
//! email), with a payment from the "bank-transfer" or "cash-on-delivery"
//! provider carrying the bank's or the courier's reference.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use orders::events::{self, Actor, EventKind};
use orders::{Order, OrderStatus};
use site_core::admin::Staff;
use site_core::db::write_transaction;
use site_core::forms::FormState;
use site_core::http::{redirect, AppError, Level, RequestContext};
use site_core::money::Money;
use site_core::schema::payments_payment as p;
use site_core::tera::Context;

use orders::payment_method::PaymentMethod;

use crate::domain::ChargeOutcome;
use crate::models::{record_outcome, Payment, PaymentStatus};

pub const ROUTES: &[site_core::urls::Route] =
    &[("admin:order_transfer", "/admin/orders/order/{id}/transfer/")];

/// The provider name payments recorded here carry.
pub const PROVIDER: &str = "bank-transfer";
/// ... and for cash collected on delivery.
pub const CASH_PROVIDER: &str = "cash-on-delivery";

/// Whether a payment's money came to the shop directly (so a refund of it
/// is money the shop sends back itself).
pub fn is_manual(provider: &str) -> bool {
    provider == PROVIDER || provider == CASH_PROVIDER
}

/// Whether `order` (paid by `method`) is waiting for money staff record.
fn awaits_money(order: &Order, method: PaymentMethod) -> bool {
    match method {
        PaymentMethod::CashOnDelivery => order.awaits_money(),
        _ => order.status() == OrderStatus::Pending,
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        site_core::admin::views::resource(ROUTES, "admin:order_transfer")
            .route(web::get().to(form))
            .route(web::post().to(submit)),
    );
}

/// Recording money received marks an order paid: its own permission.
pub const PERMISSION: &str = "payments.record_bank_transfer";

fn allowed(staff: &Staff) -> Result<(), AppError> {
    if staff.has(PERMISSION) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "You do not have permission to record bank transfers.".into(),
        ))
    }
}

fn page(
    rq: &RequestContext,
    (order, method): &(Order, PaymentMethod),
    form: &FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    let cash = method.pays_on_delivery();
    ctx.insert(
        "title",
        if cash {
            "Record cash received"
        } else {
            "Record a bank transfer"
        },
    );
    ctx.insert("cash", &cash);
    ctx.insert("awaits_money", &awaits_money(order, *method));
    ctx.insert("order", &order.view(&[]));
    ctx.insert("reference", &orders::emails::short_ref(&order.public_id));
    ctx.insert("form", form);
    rq.render_status("admin/payments/transfer.html", ctx, status)
}

async fn load(rq: &RequestContext, raw: &str) -> Result<(Order, PaymentMethod), AppError> {
    let id: i64 = raw.parse().map_err(|_| AppError::NotFound)?;
    rq.db(move |conn| {
        let order = Order::find(conn, id)?;
        let method = orders::payment_method::of(conn, id)?;
        Ok((order, method))
    })
    .await
}

pub async fn form(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    allowed(&staff)?;
    let loaded = load(&rq, &id).await?;
    // As the shop's locale writes it, so it reads back the same.
    let total = loaded.0.total().format(rq.config.locale);
    page(
        &rq,
        &loaded,
        &FormState::initial(&[("amount", &total)]),
        StatusCode::OK,
    )
}

pub async fn submit(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    allowed(&staff)?;
    let loaded = load(&rq, &id).await?;
    let (order, method) = (&loaded.0, loaded.1);
    let cash = method.pays_on_delivery();
    let mut form = FormState::new(body.into_inner());
    let amount = form.field("amount", |raw| {
        Money::parse_in(raw, order.currency(), rq.config.locale)
    });
    if let Some(a) = amount {
        if a != order.total() {
            form.add_error(
                "amount",
                format!(
                    "The {} must cover the order's total of {}: record it once all of it has arrived.",
                    if cash { "cash" } else { "transfer" },
                    order.total().format(rq.config.locale)
                ),
            );
        }
    }
    let bank_ref: String = form
        .raw("bank_reference")
        .trim()
        .chars()
        .take(100)
        .collect();
    if bank_ref.is_empty() {
        form.add_error(
            "bank_reference",
            if cash {
                "Enter the courier's reference for the cash collected (its receipt or delivery number)."
            } else {
                "Enter the reference of the payment on your bank statement."
            },
        );
    }
    if !form.is_valid() {
        return page(&rq, &loaded, &form, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let order_id = order.id;
    let renderer = rq.renderer.clone();
    let site_url = rq.config.site_url.clone();
    let (staff_id, staff_email) = (staff.id, staff.email.clone());
    let locale = rq.config.locale;
    let done = rq
        .db(move |conn| {
            Ok(write_transaction(
                conn,
                |conn| -> Result<Result<(), String>, diesel::result::Error> {
                    site_core::db::lock_row(conn, "orders_order", order_id)?;
                    let order = Order::find(conn, order_id)?;
                    if !awaits_money(&order, method) {
                        return Ok(Err(
                            "This order is not waiting for payment any more: nothing was recorded."
                                .into(),
                        ));
                    }
                    if Payment::live(conn, order_id)?.is_some() {
                        return Ok(Err(
                            "A card payment for this order is in progress: nothing was recorded."
                                .into(),
                        ));
                    }
                    events::record(
                        conn,
                        order_id,
                        EventKind::Note,
                        &format!(
                            "{} of {} received, {} reference {bank_ref}",
                            if cash {
                                "Cash on delivery"
                            } else {
                                "Bank transfer"
                            },
                            order.total().format(locale),
                            if cash { "courier" } else { "bank" },
                        ),
                        "",
                        Actor::Staff {
                            id: staff_id,
                            email: &staff_email,
                        },
                    )?;
                    let key = site_core::random_token(32);
                    let now = site_core::now();
                    diesel::insert_into(p::table)
                        .values((
                            p::order_id.eq(order_id),
                            p::provider.eq(if cash { CASH_PROVIDER } else { PROVIDER }),
                            p::status.eq(PaymentStatus::Processing),
                            p::amount_minor.eq(order.total_minor),
                            p::currency.eq(&order.currency),
                            p::card_last4.eq(""),
                            p::idempotency_key.eq(&key),
                            p::created_at.eq(now),
                            p::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    let payment = Payment::by_key(conn, &key)?;
                    let receipt =
                        crate::webhooks::receipt(renderer.clone().into_inner(), site_url.clone());
                    record_outcome(
                        conn,
                        &payment,
                        &ChargeOutcome::Approved {
                            reference: bank_ref.clone(),
                            card_last4: String::new(),
                        },
                        Some(&receipt),
                    )?;
                    Ok(Ok(()))
                },
            ))
        })
        .await?
        .map_err(AppError::from)?;
    match done {
        Ok(()) => rq.flash(
            Level::Success,
            if cash {
                "The cash is recorded: the order is paid and the customer has their receipt."
            } else {
                "The bank transfer is recorded: the order is paid and the customer has their receipt."
            },
        ),
        Err(message) => rq.flash(Level::Warning, message),
    }
    Ok(redirect(&crate::admin::order_change_url(&rq, order_id)?))
}

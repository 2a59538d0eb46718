//! The admin's refund page for a paid order: pick units of its lines (and
//! the delivery) or type an amount, choose whether the units go back on
//! sale, and refund. Refunds need the `payments.refund_payment` permission.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use orders::events::Actor;
use orders::refunds::{delivery_value, line_value, RefundLine};
use orders::{Order, OrderLine};
use serde::Serialize;
use site_core::admin::Staff;
use site_core::forms::FormState;
use site_core::http::{redirect, AppError, Level, RequestContext};
use site_core::money::Money;
use site_core::tera::Context;

use crate::models::Payment;
use crate::refunds::{self, Plan, RefundError, Reserved};

pub const ROUTES: &[site_core::urls::Route] =
    &[("admin:order_refund", "/admin/orders/order/{id}/refund/")];

/// The permission refunds need (superusers hold it).
pub const PERMISSION: &str = "payments.refund_payment";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        site_core::admin::views::resource(ROUTES, "admin:order_refund")
            .route(web::get().to(form))
            .route(web::post().to(submit)),
    );
}

fn allowed(staff: &Staff) -> Result<(), AppError> {
    if staff.has(PERMISSION) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "You do not have permission to refund payments.".into(),
        ))
    }
}

/// A line as the page shows it: what is left to refund and its worth.
#[derive(Serialize)]
struct LineRow {
    id: i64,
    name: String,
    sku: String,
    quantity: i64,
    refunded: i64,
    left: i64,
    unit_value: Money,
}

/// What the page needs about the order.
struct Loaded {
    order: Order,
    lines: Vec<OrderLine>,
    payment: Option<(Payment, Money)>,
    pending: Vec<crate::models::Transaction>,
    delivery_refunded: bool,
}

async fn load(rq: &RequestContext, id: i64) -> Result<Loaded, AppError> {
    rq.db(move |conn| {
        let order = Order::find(conn, id)?;
        let lines = order.lines(conn)?;
        let payment = refunds::refundable(conn, id)?;
        let pending = refunds::pending_for_order(conn, id)?;
        let delivery_refunded = refunds::delivery_refunded(conn, id)?;
        Ok(Loaded {
            order,
            lines,
            payment,
            pending,
            delivery_refunded,
        })
    })
    .await
}

fn page(
    rq: &RequestContext,
    loaded: &Loaded,
    form: &FormState,
    key: &str,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let currency = loaded.order.currency();
    let rows: Vec<LineRow> = loaded
        .lines
        .iter()
        .map(|l| LineRow {
            id: l.id,
            name: l.product_name.clone(),
            sku: l.sku.clone(),
            quantity: l.quantity,
            refunded: l.refunded_quantity,
            left: l.quantity - l.refunded_quantity,
            unit_value: Money::from_minor(line_value(l, loaded.order.tax_included, 1), currency),
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("title", "Refund");
    ctx.insert("order", &loaded.order.view(&[]));
    ctx.insert(
        "reference",
        &orders::emails::short_ref(&loaded.order.public_id),
    );
    ctx.insert("lines", &rows);
    ctx.insert(
        "delivery",
        &Money::from_minor(
            if loaded.delivery_refunded {
                0
            } else {
                delivery_value(&loaded.order, &loaded.lines)
            },
            currency,
        ),
    );
    ctx.insert("payment", &loaded.payment.as_ref().map(|(p, _)| p));
    ctx.insert(
        "paid",
        &loaded
            .payment
            .as_ref()
            .map(|(p, _)| Money::from_minor(p.amount_minor, currency)),
    );
    ctx.insert("refundable", &loaded.payment.as_ref().map(|(_, left)| left));
    ctx.insert("form", form);
    ctx.insert("refund_key", key);
    ctx.insert(
        "pending",
        &loaded
            .pending
            .iter()
            .map(|t| {
                serde_json::json!({
                    "key": t.idempotency_key,
                    "amount": Money::from_minor(t.amount_minor, currency),
                    "at": t.created_at,
                    "note": t.message,
                })
            })
            .collect::<Vec<_>>(),
    );
    ctx.insert(
        "manual",
        &loaded
            .payment
            .as_ref()
            .is_some_and(|(p, _)| crate::admin_transfer::is_manual(&p.provider)),
    );
    ctx.insert(
        "cancelled",
        &(loaded.order.status() == orders::OrderStatus::Cancelled),
    );
    rq.render_status("admin/payments/refund.html", ctx, status)
}

fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

pub async fn form(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    allowed(&staff)?;
    let loaded = load(&rq, parse_id(&id)?).await?;
    // A cancelled order's stock went back when it was cancelled.
    let restock = if loaded.order.status() == orders::OrderStatus::Cancelled {
        ""
    } else {
        "on"
    };
    let form = FormState::initial(&[("restock", restock)]);
    page(
        &rq,
        &loaded,
        &form,
        &site_core::random_token(32),
        StatusCode::OK,
    )
}

/// The plan the form asks for, or the form with its errors.
fn parse(
    loaded: &Loaded,
    mut form: FormState,
    locale: site_core::money::Locale,
) -> Result<Plan, FormState> {
    let currency = loaded.order.currency();
    let mut lines = Vec::new();
    let mut value = 0i64;
    for l in &loaded.lines {
        let name = format!("qty-{}", l.id);
        let raw = form.raw(&name).trim().to_string();
        if raw.is_empty() || raw == "0" {
            continue;
        }
        match raw.parse::<i64>() {
            Ok(n) if n > 0 && n <= l.quantity - l.refunded_quantity => {
                lines.push(RefundLine {
                    line_id: l.id,
                    quantity: n,
                });
                value += line_value(l, loaded.order.tax_included, n);
            }
            _ => form.add_error(
                &name,
                format!(
                    "Enter 0 to {} for “{}”.",
                    l.quantity - l.refunded_quantity,
                    l.product_name
                ),
            ),
        }
    }
    let delivery = form.raw("delivery") == "on";
    if delivery && loaded.delivery_refunded {
        form.add_non_field_error("The delivery was refunded already.");
    } else if delivery {
        value += delivery_value(&loaded.order, &loaded.lines);
    }
    let typed = form.raw("amount").trim().to_string();
    let amount = if typed.is_empty() {
        Money::from_minor(value, currency)
    } else {
        match Money::parse_in(&typed, currency, locale) {
            Ok(m) => m,
            Err(e) => {
                form.add_error("amount", e.to_string());
                Money::zero(currency)
            }
        }
    };
    if form.is_valid() && amount.is_zero() {
        form.add_non_field_error(
            "Choose what to refund: units of the lines, the delivery, or an amount.",
        );
    }
    if let Some((_, left)) = &loaded.payment {
        if amount.minor() > left.minor() {
            form.add_error(
                "amount",
                format!("At most {left} can be refunded: that is what is left of the payment."),
            );
        }
    }
    if !form.is_valid() {
        return Err(form);
    }
    Ok(Plan {
        amount,
        lines,
        delivery,
        restock: form.raw("restock") == "on",
        note: form.raw("note").trim().chars().take(500).collect(),
        key: String::new(),
        locale,
    })
}

/// What the payment service said to a refund.
enum Answer {
    Approved,
    Declined(String),
    /// No answer: the refund stays reserved, to be asked about again.
    Unreachable(String),
}

/// Asks the payment service for `res` (or, for money the shop sends back
/// itself, records it as sent when `sent`) and records the answer.
async fn ask_and_settle(
    rq: &RequestContext,
    staff: &Staff,
    res: refunds::Reservation,
    sent: bool,
) -> Result<Answer, AppError> {
    let outcome = if res.is_manual() {
        if !sent {
            return Ok(Answer::Unreachable(
                "Paid by bank transfer: send the money back yourself, then mark the refund as sent below."
                    .into(),
            ));
        }
        crate::domain::RefundOutcome::Approved {
            reference: "sent by bank transfer".into(),
        }
    } else {
        match crate::views::ask_refund(rq, &res).await? {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(order = res.payment.order_id, error = %e, "refund: no answer from the payment service");
                return Ok(Answer::Unreachable(format!(
                    "{e}. The refund is on hold: ask the payment service again below (it will not be made twice)."
                )));
            }
        }
    };
    let renderer = rq.renderer.clone();
    let site_url = rq.config.site_url.clone();
    let (staff_id, staff_email) = (staff.id, staff.email.clone());
    let answer = outcome.clone();
    rq.db(move |conn| {
        let email = |conn: &mut site_core::DbConn, order_id: i64, amount: Money| {
            let order = Order::find(conn, order_id).map_err(|e| e.to_string())?;
            let lines = order.lines(conn).map_err(|e| e.to_string())?;
            let mail = orders::emails::order_refunded(
                &renderer,
                &site_url,
                &order,
                &lines,
                amount,
                &res.payment.card_last4,
            )
            .map_err(|e| e.to_string())?;
            site_core::mail::outbox::enqueue(conn, &mail).map_err(|e| e.to_string())
        };
        let actor = Actor::Staff {
            id: staff_id,
            email: &staff_email,
        };
        Ok(refunds::settle(conn, &res, &answer, actor, Some(&email)))
    })
    .await?
    .map_err(AppError::internal)?;
    Ok(match outcome {
        crate::domain::RefundOutcome::Approved { .. } => Answer::Approved,
        crate::domain::RefundOutcome::Declined { reason } => Answer::Declined(reason),
    })
}

pub async fn submit(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    allowed(&staff)?;
    let id = parse_id(&id)?;
    let form = FormState::new(body.into_inner());
    let locale = rq.config.locale;
    // A refund on hold, asked about again (or marked as sent).
    let again = ["retry", "sent"]
        .into_iter()
        .find_map(|k| (!form.raw(k).is_empty()).then(|| (k, form.raw(k).to_string())));
    if let Some((what, key)) = again {
        let found = rq
            .db(move |conn| Ok(refunds::pending(conn, &key, locale)?))
            .await?;
        let Some(res) = found.filter(|r| r.payment.order_id == id) else {
            rq.flash(Level::Info, "That refund has been answered already.");
            return Ok(redirect(&crate::admin::order_change_url(&rq, id)?));
        };
        let answer = ask_and_settle(&rq, &staff, res, what == "sent").await?;
        return finish(&rq, id, answer).await;
    }
    let reservation = {
        let key = form.raw("refund_key").trim().to_string();
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AppError::BadRequest(
                "This refund form is incomplete or out of date. Open the order and refund again."
                    .into(),
            ));
        }
        let loaded = load(&rq, id).await?;
        let mut plan = match parse(&loaded, form.clone(), locale) {
            Ok(plan) => plan,
            Err(form) => {
                return page(&rq, &loaded, &form, &key, StatusCode::UNPROCESSABLE_ENTITY);
            }
        };
        plan.key = key.clone();
        let p = plan.clone();
        let reserved = rq
            .db(move |conn| Ok(refunds::reserve(conn, id, &p)))
            .await?;
        match reserved {
            Ok(Reserved::Ask(r)) => r,
            Ok(Reserved::Answered(_)) => {
                rq.flash(Level::Info, "This refund was already made.");
                return Ok(redirect(&crate::admin::order_change_url(&rq, id)?));
            }
            Err(RefundError::Db(e)) => return Err(e.into()),
            Err(e) => {
                let mut form = form;
                form.add_non_field_error(e.to_string());
                let loaded = load(&rq, id).await?;
                return page(&rq, &loaded, &form, &key, StatusCode::CONFLICT);
            }
        }
    };
    let answer = ask_and_settle(&rq, &staff, reservation, false).await?;
    finish(&rq, id, answer).await
}

/// The page after an answer: back to the order when refunded, the refund
/// page with the reason otherwise.
async fn finish(rq: &RequestContext, id: i64, answer: Answer) -> Result<HttpResponse, AppError> {
    let mut form = FormState::new(HashMap::new());
    let (status, key) = match answer {
        Answer::Approved => {
            rq.flash(
                Level::Success,
                "The refund is made; the customer was emailed.",
            );
            return Ok(redirect(&crate::admin::order_change_url(rq, id)?));
        }
        Answer::Declined(reason) => {
            form.add_non_field_error(format!("The payment service declined the refund: {reason}"));
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                site_core::random_token(32),
            )
        }
        Answer::Unreachable(message) => {
            form.add_non_field_error(message);
            (StatusCode::ACCEPTED, site_core::random_token(32))
        }
    };
    let loaded = load(rq, id).await?;
    page(rq, &loaded, &form, &key, status)
}

//! A customer cancels their own order before it ships: an unpaid one is
//! simply cancelled; a paid one is cancelled and refunded in full, or its
//! authorization released when the card was only authorized. The
//! order's link is the key, as for its page; an order placed while signed
//! in needs that account.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use orders::events::Actor;
use orders::models::{Move, MoveError};
use orders::refunds::RefundLine;
use orders::{Order, OrderStatus};
use site_core::db::write_transaction;
use site_core::http::auth::current_user;
use site_core::http::{redirect, AppError, Level, RequestContext};
use site_core::mail::outbox;
use site_core::tera::Context;

use crate::domain::RefundOutcome;
use crate::models::{Payment, PaymentStatus};
use crate::refunds::{self, Plan, Reserved};

/// The order, if the request may cancel it; else where to go.
async fn owned(
    rq: &RequestContext,
    public_id: String,
) -> Result<Result<Order, HttpResponse>, AppError> {
    Order::check_public_id(&public_id)?;
    let order = rq
        .db(move |conn| Ok(Order::by_public_id(conn, &public_id)?))
        .await?;
    if let Some(owner) = order.user_id {
        match current_user(&rq.session) {
            Some(me) if me.id == owner => {}
            Some(_) => return Err(AppError::NotFound),
            None => return Ok(Err(rq.login_redirect()?)),
        }
    }
    Ok(Ok(order))
}

fn order_url(rq: &RequestContext, order: &Order) -> Result<String, AppError> {
    rq.url("orders:detail", &[("public_id", &order.public_id)])
}

fn cancellable(order: &Order) -> bool {
    matches!(order.status(), OrderStatus::Pending | OrderStatus::Paid)
}

/// The confirmation page: what cancelling does to this order.
pub async fn confirm(
    rq: RequestContext,
    public_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let order = match owned(&rq, public_id.into_inner()).await? {
        Ok(order) => order,
        Err(go) => return Ok(go),
    };
    if !cancellable(&order) {
        rq.flash(Level::Info, "This order can no longer be cancelled.");
        return Ok(redirect(&order_url(&rq, &order)?));
    }
    let id = order.id;
    let authorized = rq
        .db(move |conn| Ok(Payment::live(conn, id)?))
        .await?
        .is_some_and(|p| p.status() == PaymentStatus::Authorized);
    let mut ctx = Context::new();
    ctx.insert("authorized", &authorized);
    ctx.insert("order", &order.view(&[]));
    ctx.insert("reference", &orders::emails::short_ref(&order.public_id));
    ctx.insert("cancel_key", &site_core::random_token(32));
    rq.render_status("payments/cancel.html", ctx, StatusCode::OK)
}

/// Cancels (and refunds a paid order). The order is cancelled first, by
/// the one conditional transition, so an order shipped meanwhile is never
/// refunded by this; the refund follows, keyed by the form.
pub async fn cancel(
    rq: RequestContext,
    public_id: web::Path<String>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let order = match owned(&rq, public_id.into_inner()).await? {
        Ok(order) => order,
        Err(go) => return Ok(go),
    };
    let key = body
        .get("cancel_key")
        .map(|k| k.trim().to_string())
        .unwrap_or_default();
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AppError::BadRequest(
            "This form is incomplete or out of date. Open your order and try again.".into(),
        ));
    }
    let user = current_user(&rq.session).map(|u| u.id);
    let id = order.id;
    let from = order.status();
    let outcome = rq
        .db(move |conn| {
            Ok(write_transaction(conn, |conn| -> Result<Result<Option<Payment>, String>, MoveError> {
                // The order's row first: a payment being claimed waits, or
                // is seen below.
                site_core::db::lock_row(conn, "orders_order", id)?;
                let live = Payment::live(conn, id)?;
                if let Some(live) = &live {
                    if !matches!(live.status(), PaymentStatus::Succeeded | PaymentStatus::Authorized) {
                        return Ok(Err("A payment for this order is being processed: wait for it to finish, then cancel.".into()));
                    }
                }
                if !Order::transition_by(conn, id, from, &Move::Cancel, Actor::Customer(user))? {
                    return Ok(Err("This order changed meanwhile and can no longer be cancelled.".into()));
                }
                Ok(Ok(live))
            }))
        })
        .await?;
    let live = match outcome {
        Ok(Ok(live)) => live,
        Ok(Err(message)) => {
            rq.flash(Level::Warning, message);
            return Ok(redirect(&order_url(&rq, &order)?));
        }
        Err(MoveError::NotAllowed(_)) => {
            rq.flash(Level::Info, "This order can no longer be cancelled.");
            return Ok(redirect(&order_url(&rq, &order)?));
        }
        Err(MoveError::Db(e)) => return Err(e.into()),
    };
    let held = live.filter(|p| p.status() == PaymentStatus::Authorized);
    // Only a payment taken is refunded; one only authorized is released.
    let was_paid = from == OrderStatus::Paid && held.is_none();
    let released = match held {
        Some(payment) => Some(release(&rq, payment).await?),
        None => None,
    };
    let refunded = if was_paid {
        refund_all(&rq, &order, &key).await?
    } else {
        false
    };
    let renderer = rq.renderer.clone();
    let site_url = rq.config.site_url.clone();
    rq.db(move |conn| {
        let after = Order::find(conn, id)?;
        let lines = after.lines(conn)?;
        let email = orders::emails::order_cancelled(&renderer, &site_url, &after, &lines, was_paid)
            .map_err(AppError::internal)?;
        outbox::enqueue(conn, &email)?;
        Ok(())
    })
    .await?;
    rq.flash(
        Level::Success,
        match (was_paid, refunded) {
            _ if released == Some(false) => {
                "Your order is cancelled and nothing was charged. The amount held on your card will be released shortly."
            }
            _ if released == Some(true) => {
                "Your order is cancelled and nothing was charged: the amount held on your card is released."
            }
            (false, _) => "Your order is cancelled. Nothing was charged.",
            (true, true) => "Your order is cancelled and your payment was refunded in full.",
            (true, false) => {
                "Your order is cancelled. Your refund could not be made at once: we will send it shortly and email you when it is done."
            }
        },
    );
    Ok(redirect(&order_url(&rq, &order)?))
}

/// Releases an authorized payment; whether the provider did. If it did
/// not answer, the payment stays authorized on the cancelled order, where
/// staff see it with its Void link.
async fn release(rq: &RequestContext, payment: Payment) -> Result<bool, AppError> {
    let p = payment.clone();
    let charge = rq
        .db(move |conn| Ok(crate::models::authorization_reference(conn, &p)?))
        .await?;
    let provider = crate::views::provider(rq)?;
    let answer = web::block(move || provider.void(&charge)).await?;
    let reference = match answer {
        Ok(crate::Answer::Approved { reference }) => reference,
        Ok(crate::Answer::Declined { reason }) => {
            tracing::error!(payment = payment.id, %reason, "customer cancel: the authorization was not released");
            return Ok(false);
        }
        Err(e) => {
            tracing::warn!(payment = payment.id, error = %e, "customer cancel: no answer to the void; staff can void it");
            return Ok(false);
        }
    };
    rq.db(move |conn| {
        Ok(crate::models::record_void(
            conn,
            &payment,
            &reference,
            "Cancelled by the customer",
        )?)
    })
    .await?;
    Ok(true)
}

/// Refunds everything left of the order's payment; whether it was made.
async fn refund_all(rq: &RequestContext, order: &Order, key: &str) -> Result<bool, AppError> {
    let id = order.id;
    let plan_key = key.to_string();
    let locale = rq.config.locale;
    let reserved = rq
        .db(move |conn| {
            let Some((_, left)) = refunds::refundable(conn, id)? else {
                return Ok(None);
            };
            let lines: Vec<RefundLine> = Order::find(conn, id)?
                .lines(conn)?
                .into_iter()
                .filter(|l| l.quantity > l.refunded_quantity)
                .map(|l| RefundLine {
                    line_id: l.id,
                    quantity: l.quantity - l.refunded_quantity,
                })
                .collect();
            let plan = Plan {
                amount: left,
                lines,
                delivery: true,
                // Cancelling already put the stock back.
                restock: false,
                note: "Cancelled by the customer".into(),
                key: plan_key,
                locale,
            };
            if left.is_zero() {
                return Ok(None);
            }
            Ok(Some((refunds::reserve(conn, id, &plan), plan)))
        })
        .await?;
    let Some((reserved, _plan)) = reserved else {
        return Ok(false);
    };
    let reservation = match reserved {
        Ok(Reserved::Ask(r)) => r,
        Ok(Reserved::Answered(tx)) => {
            return Ok(tx.status == crate::models::TransactionStatus::Approved)
        }
        Err(e) => {
            tracing::warn!(order = id, error = %e, "customer cancel: refund not reserved");
            return Ok(false);
        }
    };
    if reservation.is_manual() {
        // Paid by bank transfer: staff send it back (the refund waits on
        // the order's refund page).
        return Ok(false);
    }
    let outcome = match crate::views::ask_refund(rq, &reservation).await? {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(order = id, error = %e, "customer cancel: no answer to the refund; it stays on hold for staff");
            return Ok(false);
        }
    };
    let approved = matches!(outcome, RefundOutcome::Approved { .. });
    let user = current_user(&rq.session).map(|u| u.id);
    rq.db(move |conn| {
        refunds::settle(conn, &reservation, &outcome, Actor::Customer(user), None)
            .map_err(AppError::internal)
    })
    .await?;
    Ok(approved)
}

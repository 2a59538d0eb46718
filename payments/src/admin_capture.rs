//! The admin's pages for an authorized card payment (`SHOP_CAPTURE=shipping`):
//! capture it (the money is taken; the order may ship) or void it (the
//! money held on the card is released and the order cancelled). The
//! provider is asked first, outside any transaction; its answer is then
//! recorded once, whoever records it first: this page, a second click, or
//! the provider's webhook reporting the same capture.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use orders::events::Actor;
use orders::models::{Move, MoveError};
use orders::{Order, OrderStatus};
use site_core::admin::{Link, RelatedLink, Staff};
use site_core::db::write_transaction;
use site_core::http::{redirect, AppError, Level, RequestContext};
use site_core::mail::outbox;
use site_core::tera::Context;

use crate::domain::Answer;
use crate::models::{authorization_reference, record_capture, record_void, Payment, PaymentStatus};

pub const ROUTES: &[site_core::urls::Route] = &[
    ("admin:order_capture", "/admin/orders/order/{id}/capture/"),
    ("admin:order_void", "/admin/orders/order/{id}/void/"),
];

/// Capturing and voiding move customers' money: their own permission.
pub const PERMISSION: &str = "payments.capture_payment";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        site_core::admin::views::resource(ROUTES, "admin:order_capture")
            .route(web::get().to(capture_form))
            .route(web::post().to(capture)),
    )
    .service(
        site_core::admin::views::resource(ROUTES, "admin:order_void")
            .route(web::get().to(void_form))
            .route(web::post().to(void)),
    );
}

/// The links on the page of an order whose payment is authorized.
pub fn links(order_id: i64) -> Vec<RelatedLink> {
    let id = order_id.to_string();
    vec![
        RelatedLink {
            text: "Capture payment".into(),
            link: Link::route("admin:order_capture", &[("id", &id)]),
            permission: Some(PERMISSION),
        },
        RelatedLink {
            text: "Void payment".into(),
            link: Link::route("admin:order_void", &[("id", &id)]),
            permission: Some(PERMISSION),
        },
    ]
}

fn allowed(staff: &Staff) -> Result<(), AppError> {
    if staff.has(PERMISSION) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "You do not have permission to capture or void payments.".into(),
        ))
    }
}

/// An order and its authorized payment (with the provider's charge
/// reference), if it has one.
struct Held {
    order: Order,
    payment: Option<(Payment, String)>,
}

async fn load(rq: &RequestContext, raw: &str) -> Result<Held, AppError> {
    let id: i64 = raw.parse().map_err(|_| AppError::NotFound)?;
    rq.db(move |conn| {
        let order = Order::find(conn, id)?;
        let payment = match Payment::live(conn, id)? {
            Some(p) if p.status() == PaymentStatus::Authorized => {
                let charge = authorization_reference(conn, &p)?;
                Some((p, charge))
            }
            _ => None,
        };
        Ok(Held { order, payment })
    })
    .await
}

fn order_page(rq: &RequestContext, order_id: i64) -> Result<HttpResponse, AppError> {
    Ok(redirect(&crate::admin::order_change_url(rq, order_id)?))
}

fn page(rq: &RequestContext, held: &Held, voiding: bool) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert(
        "title",
        if voiding {
            "Void the payment"
        } else {
            "Capture the payment"
        },
    );
    ctx.insert("voiding", &voiding);
    ctx.insert("order", &held.order.view(&[]));
    ctx.insert(
        "reference",
        &orders::emails::short_ref(&held.order.public_id),
    );
    ctx.insert("held", &held.payment.is_some());
    ctx.insert(
        "card_last4",
        &held
            .payment
            .as_ref()
            .map(|(p, _)| p.card_last4.clone())
            .unwrap_or_default(),
    );
    rq.render_status("admin/payments/capture.html", ctx, StatusCode::OK)
}

pub async fn capture_form(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    allowed(&staff)?;
    page(&rq, &load(&rq, &id).await?, false)
}

pub async fn void_form(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    allowed(&staff)?;
    page(&rq, &load(&rq, &id).await?, true)
}

const NOT_HELD: &str = "This order has no authorized payment: nothing was done.";
const NO_ANSWER: &str = "The payment service did not answer, so nothing was recorded. \
                         Try again: the money is never taken or released twice.";

/// Asks the provider, off the async workers.
async fn ask(
    rq: &RequestContext,
    call: impl FnOnce(&dyn crate::PaymentProvider) -> Result<Answer, crate::ProviderError>
        + Send
        + 'static,
) -> Result<Option<Answer>, AppError> {
    let provider = crate::views::provider(rq)?;
    match web::block(move || call(&**provider)).await? {
        Ok(answer) => Ok(Some(answer)),
        Err(e) => {
            tracing::warn!(error = %e, "the payment provider did not answer a capture or void");
            Ok(None)
        }
    }
}

/// The order with its authorized payment and charge reference; without
/// one, the way back to the order's page, saying so.
async fn authorized(
    rq: &RequestContext,
    staff: &Staff,
    id: &str,
) -> Result<Result<(Order, Payment, String), HttpResponse>, AppError> {
    allowed(staff)?;
    let held = load(rq, id).await?;
    match held.payment {
        Some((payment, charge)) => Ok(Ok((held.order, payment, charge))),
        None => {
            rq.flash(Level::Info, NOT_HELD);
            Ok(Err(order_page(rq, held.order.id)?))
        }
    }
}

pub async fn capture(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (order, payment, charge) = match authorized(&rq, &staff, &id).await? {
        Ok(held) => held,
        Err(back) => return Ok(back),
    };
    let order_id = order.id;
    let amount = order.total();
    let answer = ask(&rq, move |p| p.capture(&charge, amount)).await?;
    match answer {
        None => rq.flash(Level::Warning, NO_ANSWER),
        Some(Answer::Declined { reason }) => rq.flash(
            Level::Warning,
            format!("The payment service refused the capture: {reason}"),
        ),
        Some(Answer::Approved { reference }) => {
            let (staff_id, email) = (staff.id, staff.email.clone());
            rq.db(move |conn| {
                Ok(record_capture(
                    conn,
                    &payment,
                    &reference,
                    Actor::Staff {
                        id: staff_id,
                        email: &email,
                    },
                )?)
            })
            .await?;
            rq.flash(
                Level::Success,
                format!(
                    "The payment of {} is captured: the order can ship.",
                    amount.format(rq.config.locale)
                ),
            );
        }
    }
    order_page(&rq, order_id)
}

pub async fn void(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (order, payment, charge) = match authorized(&rq, &staff, &id).await? {
        Ok(held) => held,
        Err(back) => return Ok(back),
    };
    let order_id = order.id;
    let answer = ask(&rq, move |p| p.void(&charge)).await?;
    let reference = match answer {
        None => {
            rq.flash(Level::Warning, NO_ANSWER);
            return order_page(&rq, order_id);
        }
        Some(Answer::Declined { reason }) => {
            rq.flash(
                Level::Warning,
                format!("The payment service refused to void it: {reason}"),
            );
            return order_page(&rq, order_id);
        }
        Some(Answer::Approved { reference }) => reference,
    };
    let renderer = rq.renderer.clone();
    let site_url = rq.config.site_url.clone();
    let (staff_id, email) = (staff.id, staff.email.clone());
    let cancelled = rq
        .db(move |conn| {
            let actor = Actor::Staff {
                id: staff_id,
                email: &email,
            };
            let moved = write_transaction(conn, |conn| -> Result<bool, MoveError> {
                site_core::db::lock_row(conn, "orders_order", order_id)?;
                record_void(conn, &payment, &reference, "Voided by staff")?;
                let order = Order::find(conn, order_id)?;
                if order.status() != OrderStatus::Paid {
                    return Ok(false);
                }
                if !Order::transition_by(conn, order_id, OrderStatus::Paid, &Move::Cancel, actor)? {
                    return Ok(false);
                }
                let after = Order::find(conn, order_id)?;
                let lines = after.lines(conn)?;
                // Nothing was charged: the customer is told so.
                let mail =
                    orders::emails::order_cancelled(&renderer, &site_url, &after, &lines, false)
                        .map_err(|e| {
                            MoveError::Db(diesel::result::Error::QueryBuilderError(e.into()))
                        })?;
                outbox::enqueue(conn, &mail)?;
                Ok(true)
            });
            match moved {
                Ok(done) => Ok(done),
                Err(MoveError::Db(e)) => Err(e.into()),
                Err(MoveError::NotAllowed(_)) => Ok(false),
            }
        })
        .await?;
    rq.flash(
        Level::Success,
        if cancelled {
            "The payment is voided and the order cancelled: nothing was charged, its stock is back on sale and the customer was told."
        } else {
            "The payment is voided: nothing was charged."
        },
    );
    order_page(&rq, order_id)
}

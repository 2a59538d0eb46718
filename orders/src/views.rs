//! Checkout and the order page.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use cart::Cart;
use site_core::forms::FormState;
use site_core::http::auth::current_user;
use site_core::http::{redirect, Level, RequestContext};
use site_core::mail::Mailer;
use site_core::tera::Context;
use site_core::AppError;

use crate::forms::{parse_checkout, parse_checkout_key};
use crate::models::{place_order, CheckoutRequest, Order, PlaceOrderError, Placed};

/// Renders the checkout page (form + summary) with `status`.
async fn checkout_page(
    rq: &RequestContext,
    form: FormState,
    key: &str,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let cart = Cart::load(&rq.session);
    let currency = rq.config.currency;
    let priced = rq.db(move |conn| cart.price(conn, currency)).await?;
    let mut ctx = Context::new();
    ctx.insert("form", &form);
    ctx.insert("checkout_key", key);
    ctx.insert("cart", &priced);
    let body = rq
        .renderer
        .render_page(&rq.req, "orders/checkout.html", ctx)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

pub async fn checkout_form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    if Cart::load(&rq.session).is_empty() {
        rq.flash(
            Level::Info,
            "Your cart is empty: add something before checking out.",
        );
        return Ok(redirect(&rq.url("cart:detail", &[])?));
    }
    let email = current_user(&rq.session)
        .map(|u| u.email)
        .unwrap_or_default();
    let form = FormState::initial(&[("email", &email)]);
    checkout_page(
        &rq,
        form,
        &site_core::random_token(32),
        actix_web::http::StatusCode::OK,
    )
    .await
}

pub async fn checkout_submit(
    rq: RequestContext,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let form = FormState::new(body.into_inner());
    let key = parse_checkout_key(form.raw("checkout_key")).ok_or_else(|| {
        AppError::BadRequest("This checkout form is incomplete or out of date. Go back to your cart and check out again.".into())
    })?;
    let details = match parse_checkout(form) {
        Ok(d) => d,
        Err(form) => {
            return checkout_page(
                &rq,
                form,
                &key,
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };

    let cart = Cart::load(&rq.session);
    let user_id = current_user(&rq.session).map(|u| u.id);
    let currency = rq.config.currency;
    let (c, d, k) = (cart.clone(), details.clone(), key.clone());
    let outcome = rq
        .db(move |conn| {
            let req = CheckoutRequest {
                cart: &c,
                details: &d,
                idempotency_key: &k,
                user_id,
                currency,
            };
            Ok(place_order(conn, &req))
        })
        .await?;
    match outcome {
        Ok(Placed::New(order)) => {
            Cart::clear(&rq.session);
            send_confirmation(&rq, order.clone()).await;
            rq.flash(
                Level::Success,
                "Thank you! Your order is placed. Pay now to complete it.",
            );
            Ok(redirect(&rq.url(
                "orders:detail",
                &[("public_id", &order.public_id)],
            )?))
        }
        Ok(Placed::Existing(order)) => {
            // A double click: this request loaded the session before the
            // first one emptied the cart, and would write the cart back.
            let o = order.clone();
            if rq.db(move |conn| Ok(o.bought(conn, &cart)?)).await? {
                Cart::clear(&rq.session);
            }
            rq.flash(Level::Info, "This order was already placed; here it is.");
            Ok(redirect(&rq.url(
                "orders:detail",
                &[("public_id", &order.public_id)],
            )?))
        }
        Err(PlaceOrderError::EmptyCart) => {
            rq.flash(
                Level::Info,
                "Your cart is empty: add something before checking out.",
            );
            Ok(redirect(&rq.url("cart:detail", &[])?))
        }
        Err(PlaceOrderError::OutOfStock(short)) => {
            let mut form = FormState::new(HashMap::new());
            form.values = details_values(&details);
            for line in &short {
                form.add_non_field_error(if line.available == 0 {
                    format!(
                        "“{}” is out of stock. Remove it from your cart to continue.",
                        line.name
                    )
                } else {
                    format!(
                        "“{}”: only {} left, you asked for {}. Lower the quantity in your cart.",
                        line.name, line.available, line.wanted
                    )
                });
            }
            checkout_page(&rq, form, &key, actix_web::http::StatusCode::CONFLICT).await
        }
        Err(PlaceOrderError::Unavailable(ids)) => {
            let mut cart = cart;
            for id in ids {
                cart.remove(id);
            }
            cart.save(&rq.session)?;
            rq.flash(Level::Warning, "Some products in your cart are no longer sold and were removed. Please check your cart.");
            Ok(redirect(&rq.url("cart:detail", &[])?))
        }
        Err(PlaceOrderError::Money(e)) => Err(AppError::internal(e)),
        Err(PlaceOrderError::Db(e)) => Err(e.into()),
    }
}

fn details_values(d: &crate::CheckoutDetails) -> std::collections::BTreeMap<String, String> {
    [
        ("email", d.email.as_str()),
        ("first_name", &d.first_name),
        ("last_name", &d.last_name),
        ("address", &d.address),
        ("postal_code", &d.postal_code),
        ("city", &d.city),
        ("country", &d.country),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Sends the confirmation after the order is committed. A failure is
/// logged and does not undo the order.
async fn send_confirmation(rq: &RequestContext, order: Order) {
    let Some(mailer) = rq.req.app_data::<web::Data<Mailer>>().cloned() else {
        tracing::warn!("no mailer configured; order confirmation not sent");
        return;
    };
    let renderer = rq.renderer.clone();
    let site_url = rq.config.site_url.clone();
    let db = rq.db.clone();
    let public_id = order.public_id.clone();
    let result = web::block(move || -> anyhow::Result<()> {
        // Release the connection before talking to the mail server, which
        // may take seconds.
        let lines = order.lines(&mut *db.get()?)?;
        let email = crate::emails::order_confirmation(&renderer, &site_url, &order, &lines)?;
        mailer.send(&email)?;
        Ok(())
    })
    .await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(order = %public_id, error = %e, "order confirmation email failed")
        }
        Err(e) => {
            tracing::error!(order = %public_id, error = %e, "order confirmation email failed")
        }
    }
}

pub async fn detail(
    rq: RequestContext,
    public_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let public_id = public_id.into_inner();
    if public_id.len() != 32 || !public_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AppError::NotFound);
    }
    let view = rq
        .db(move |conn| {
            let order = Order::by_public_id(conn, &public_id)?;
            let lines = order.lines(conn)?;
            Ok(order.view(&lines))
        })
        .await?;
    let mut ctx = Context::new();
    ctx.insert(
        "reference",
        &crate::emails::short_ref(&view.order.public_id),
    );
    ctx.insert("order", &view);
    rq.render("orders/detail.html", ctx)
}

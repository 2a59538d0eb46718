//! Checkout and the order page.

use std::collections::HashMap;

use accounts::Address;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use cart::{Cart, PricedCart};
use site_core::forms::FormState;
use site_core::http::auth::current_user;
use site_core::http::{redirect, Level, RequestContext};
use site_core::mail::outbox;
use site_core::tera::Context;
use site_core::AppError;

use crate::forms::{parse_checkout, parse_checkout_key};
use crate::models::{place_order, CheckoutRequest, Order, PlaceOrderError, Placed};

/// What the checkout page shows beside the form: the cart priced now and
/// the customer's saved addresses (one database round trip).
async fn checkout_data(
    rq: &RequestContext,
    cart: Cart,
) -> Result<(PricedCart, Vec<Address>), AppError> {
    let currency = rq.config.currency;
    let user = current_user(&rq.session).map(|u| u.id);
    rq.db(move |conn| {
        let priced = cart.price(conn, currency)?;
        let addresses = match user {
            Some(id) => Address::list_for(conn, id)?,
            None => Vec::new(),
        };
        Ok((priced, addresses))
    })
    .await
}

fn render_checkout(
    rq: &RequestContext,
    form: &FormState,
    key: &str,
    (priced, addresses): &(PricedCart, Vec<Address>),
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("form", form);
    ctx.insert("checkout_key", key);
    ctx.insert("cart", priced);
    ctx.insert("addresses", addresses);
    rq.render_status("orders/checkout.html", ctx, status)
}

/// The checkout page again, for a form that could not be placed.
async fn checkout_page(
    rq: &RequestContext,
    cart: Cart,
    form: FormState,
    key: &str,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let data = checkout_data(rq, cart).await?;
    render_checkout(rq, &form, key, &data, status)
}

#[derive(serde::Deserialize)]
pub struct CheckoutQuery {
    address: Option<String>,
}

/// The form as a customer first sees it: their email, and the address
/// they picked (`?address=ID`) or their default one.
pub async fn checkout_form(
    rq: RequestContext,
    q: web::Query<CheckoutQuery>,
) -> Result<HttpResponse, AppError> {
    let cart = Cart::current(&rq).await?;
    if cart.is_empty() {
        rq.flash(
            Level::Info,
            "Your cart is empty: add something before checking out.",
        );
        return Ok(redirect(&rq.url("cart:detail", &[])?));
    }
    let data = checkout_data(&rq, cart).await?;
    let email = current_user(&rq.session)
        .map(|u| u.email)
        .unwrap_or_default();
    let mut form = FormState::initial(&[("email", &email)]);
    let picked: Option<i64> = q.address.as_deref().and_then(|a| a.parse().ok());
    let address = data.1.iter().find(|a| match picked {
        Some(id) => a.id == id,
        None => a.is_default,
    });
    if let Some(a) = address {
        let f = a.fields();
        for (k, v) in [
            ("first_name", f.first_name),
            ("last_name", f.last_name),
            ("address", f.address),
            ("postal_code", f.postal_code),
            ("city", f.city),
            ("country", f.country),
        ] {
            form.values.insert(k.into(), v);
        }
        form.values.insert("address_id".into(), a.id.to_string());
    }
    render_checkout(
        &rq,
        &form,
        &site_core::random_token(32),
        &data,
        StatusCode::OK,
    )
}

pub async fn checkout_submit(
    rq: RequestContext,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let form = FormState::new(body.into_inner());
    let form_save_address = form.raw("save_address") == "on";
    let key = parse_checkout_key(form.raw("checkout_key")).ok_or_else(|| {
        AppError::BadRequest("This checkout form is incomplete or out of date. Go back to your cart and check out again.".into())
    })?;
    let cart = Cart::current(&rq).await?;
    let details = match parse_checkout(form) {
        Ok(d) => d,
        Err(form) => {
            return checkout_page(&rq, cart, form, &key, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    };

    let save_address = form_save_address;
    let user_id = current_user(&rq.session).map(|u| u.id);
    let currency = rq.config.currency;
    let (c, d, k) = (cart.clone(), details.clone(), key.clone());
    let renderer = rq.renderer.clone();
    let site_url = rq.config.site_url.clone();
    let outcome = rq
        .db(move |conn| {
            // In the order's transaction: the confirmation email, and the
            // address for the customer's book if they asked.
            let on_placed = |conn: &mut site_core::DbConn,
                             order: &Order,
                             lines: &[crate::OrderLine]|
             -> Result<(), String> {
                let email = crate::emails::order_confirmation(&renderer, &site_url, order, lines)
                    .map_err(|e| e.to_string())?;
                outbox::enqueue(conn, &email).map_err(|e| e.to_string())?;
                if let (Some(uid), true) = (user_id, save_address) {
                    let fields = accounts::AddressFields {
                        first_name: d.first_name.clone(),
                        last_name: d.last_name.clone(),
                        address: d.address.clone(),
                        postal_code: d.postal_code.clone(),
                        city: d.city.clone(),
                        country: d.country.clone(),
                    };
                    Address::save_if_new(conn, uid, &fields).map_err(|e| e.to_string())?;
                }
                Ok(())
            };
            let req = CheckoutRequest {
                cart: &c,
                details: &d,
                idempotency_key: &k,
                user_id,
                currency,
                on_placed: Some(&on_placed),
            };
            Ok(place_order(conn, &req))
        })
        .await?;
    match outcome {
        Ok(Placed::New(order)) => {
            Cart::clear_current(&rq).await?;
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
                Cart::clear_current(&rq).await?;
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
            checkout_page(&rq, cart, form, &key, StatusCode::CONFLICT).await
        }
        Err(PlaceOrderError::Unavailable(ids)) => {
            let mut cart = cart;
            for id in ids {
                cart.remove(id);
            }
            cart.store(&rq).await?;
            rq.flash(Level::Warning, "Some products in your cart are no longer sold and were removed. Please check your cart.");
            Ok(redirect(&rq.url("cart:detail", &[])?))
        }
        Err(PlaceOrderError::Money(e)) => Err(AppError::internal(e)),
        Err(PlaceOrderError::Confirmation(e)) => Err(AppError::internal(e)),
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

/// The signed-in customer's orders, newest first.
pub async fn history(
    rq: RequestContext,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let Some(me) = current_user(&rq.session) else {
        return rq.login_redirect();
    };
    let number = site_core::http::Paginator::parse_number(q.get("page").map(String::as_str))?;
    let paginator = site_core::http::Paginator::new(20);
    let (orders, page) = rq
        .db(move |conn| {
            let count = Order::count_for_user(conn, me.id)?;
            let page = paginator.page(number, count);
            let orders = Order::for_user(
                conn,
                me.id,
                page.per_page,
                (page.number - 1) * page.per_page,
            )?;
            Ok((orders, page))
        })
        .await?;
    let rows: Vec<_> = orders
        .iter()
        .map(|o| {
            serde_json::json!({
                "id": o.id,
                "reference": crate::emails::short_ref(&o.public_id),
                "created_at": o.created_at,
                "status": o.status,
                "status_label": o.status().label(),
                "total": o.total(),
            })
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("orders", &rows);
    ctx.insert("page", &page);
    ctx.insert("page_query", "");
    rq.render("orders/history.html", ctx)
}

/// One of the customer's orders; anyone else's id is a 404, the same as
/// an id that does not exist.
pub async fn history_detail(
    rq: RequestContext,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let Some(me) = current_user(&rq.session) else {
        return rq.login_redirect();
    };
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let view = rq
        .db(move |conn| {
            let order = Order::find_for_user(conn, me.id, id)?;
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

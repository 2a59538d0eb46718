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

use crate::checkout::{first_missing, CheckoutState, Quote, Step};
use crate::domain::CheckoutDetails;
use crate::forms::{parse_checkout, parse_checkout_key};
use crate::models::{place_order, CheckoutRequest, Order, PlaceOrderError, Placed};
use crate::payment_method::PaymentMethod;
use crate::taxes::TaxSettings;
use diesel::OptionalExtension;
use site_core::money::Money;

/// The value of a step's precondition, or its redirect as the answer.
macro_rules! or_go {
    ($e:expr) => {
        match $e? {
            Ok(v) => v,
            Err(go) => return Ok(go),
        }
    };
}

/// The cart, or a redirect to it when it is empty.
async fn cart_or_redirect(rq: &RequestContext) -> Result<Result<Cart, HttpResponse>, AppError> {
    let cart = Cart::current(rq).await?;
    if cart.is_empty() {
        rq.flash(
            Level::Info,
            "Your cart is empty: add something before checking out.",
        );
        return Ok(Err(redirect(&rq.url("cart:detail", &[])?)));
    }
    Ok(Ok(cart))
}

/// Where a shopper who skipped ahead is sent: the first step not done.
fn to_step(rq: &RequestContext, step: Step) -> Result<HttpResponse, AppError> {
    let name = match step {
        Step::Address => "orders:checkout",
        Step::Shipping => "orders:checkout_shipping",
        Step::Review => "orders:checkout_review",
    };
    Ok(redirect(&rq.url(name, &[])?))
}

fn step_context(step: Step) -> Context {
    let mut ctx = Context::new();
    ctx.insert("step", &step);
    ctx
}

/// The address step's page: the form, the customer's saved addresses, and
/// the cart beside it.
async fn address_page(
    rq: &RequestContext,
    cart: Cart,
    form: &FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (priced, addresses) = address_data(rq, cart).await?;
    let mut ctx = step_context(Step::Address);
    ctx.insert("form", form);
    ctx.insert("cart", &priced);
    ctx.insert("addresses", &addresses);
    rq.render_status("orders/checkout.html", ctx, status)
}

async fn address_data(
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

#[derive(serde::Deserialize)]
pub struct CheckoutQuery {
    address: Option<String>,
}

/// Step 1, the address. Filled from what the shopper entered before in
/// this checkout, else the saved address they picked (`?address=ID`) or
/// their default one, and their account's email.
pub async fn checkout_form(
    rq: RequestContext,
    q: web::Query<CheckoutQuery>,
) -> Result<HttpResponse, AppError> {
    let cart = or_go!(cart_or_redirect(&rq).await);
    let state = CheckoutState::load(&rq.session);
    let picked: Option<i64> = q.address.as_deref().and_then(|a| a.parse().ok());
    let (priced, addresses) = address_data(&rq, cart).await?;
    let email = current_user(&rq.session)
        .map(|u| u.email)
        .unwrap_or_default();
    let mut form = FormState::initial(&[("email", &email)]);
    let saved = addresses.iter().find(|a| match picked {
        Some(id) => a.id == id,
        None => a.is_default,
    });
    match (&state.details, saved) {
        (Some(d), _) if picked.is_none() => {
            form.values = d.values();
            if state.save_address {
                form.values.insert("save_address".into(), "on".into());
            }
        }
        (_, Some(a)) => {
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
            if let Some(d) = &state.details {
                form.values.insert("email".into(), d.email.clone());
            }
            form.values.insert("address_id".into(), a.id.to_string());
        }
        _ => {}
    }
    let mut ctx = step_context(Step::Address);
    ctx.insert("form", &form);
    ctx.insert("cart", &priced);
    ctx.insert("addresses", &addresses);
    rq.render("orders/checkout.html", ctx)
}

/// Step 1 sent: keep the address, go on to shipping.
pub async fn checkout_submit(
    rq: RequestContext,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let cart = or_go!(cart_or_redirect(&rq).await);
    let form = FormState::new(body.into_inner());
    let save_address = form.raw("save_address") == "on" && current_user(&rq.session).is_some();
    let details = match parse_checkout(form) {
        Ok(d) => d,
        Err(form) => return address_page(&rq, cart, &form, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let mut state = CheckoutState::load(&rq.session);
    state.set_details(&details, save_address);
    state.store(&rq.session)?;
    to_step(&rq, Step::Shipping)
}

/// The state with the steps before `step` done, or where to go instead.
fn state_for(
    rq: &RequestContext,
    step: Step,
) -> Result<Result<(CheckoutState, CheckoutDetails), HttpResponse>, AppError> {
    let state = CheckoutState::load(&rq.session);
    let missing = first_missing(&state);
    match (missing, state.parsed_details()) {
        (Some(m), _) if m < step => Ok(Err(to_step(rq, m)?)),
        (_, Some(details)) => Ok(Ok((state, details))),
        (_, None) => Ok(Err(to_step(rq, Step::Address)?)),
    }
}

async fn quote(
    rq: &RequestContext,
    cart: Cart,
    details: CheckoutDetails,
    chosen: Option<i64>,
    voucher: Option<String>,
) -> Result<Quote, AppError> {
    let currency = rq.config.currency;
    let taxes = TaxSettings::from_config(&rq.config);
    let user_id = current_user(&rq.session).map(|u| u.id);
    rq.db(move |conn| {
        let code = voucher
            .as_deref()
            .map(|code| crate::checkout::VoucherCode { code, user_id });
        Quote::new(conn, &cart, currency, &details, chosen, code, taxes)
    })
    .await
}

fn shipping_page(
    rq: &RequestContext,
    details: &CheckoutDetails,
    quote: &Quote,
    form: &FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = step_context(Step::Shipping);
    ctx.insert("details", details);
    ctx.insert("quote", quote);
    ctx.insert("cart", &quote.cart);
    ctx.insert("form", form);
    rq.render_status("orders/checkout_shipping.html", ctx, status)
}

/// Step 2: the methods that deliver this cart to this address.
pub async fn shipping_form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let cart = or_go!(cart_or_redirect(&rq).await);
    let (state, details) = or_go!(state_for(&rq, Step::Shipping));
    let quote = quote(&rq, cart, details.clone(), state.shipping_method_id, None).await?;
    let picked = quote
        .chosen
        .as_ref()
        .or(quote.methods.first())
        .map(|m| m.method_id.to_string())
        .unwrap_or_default();
    let form = FormState::initial(&[("shipping_method", &picked)]);
    shipping_page(&rq, &details, &quote, &form, StatusCode::OK)
}

/// Step 2 sent: the method must be one this cart and address can have.
pub async fn shipping_submit(
    rq: RequestContext,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let cart = or_go!(cart_or_redirect(&rq).await);
    let (mut state, details) = or_go!(state_for(&rq, Step::Shipping));
    let mut form = FormState::new(body.into_inner());
    let wanted: Option<i64> = form.raw("shipping_method").trim().parse().ok();
    let quote = quote(&rq, cart, details.clone(), wanted, None).await?;
    let Some(chosen) = &quote.chosen else {
        form.add_error(
            "shipping_method",
            if quote.methods.is_empty() {
                "We cannot deliver this order to this address. Change the address or your cart."
            } else {
                "Choose one of the delivery options."
            },
        );
        return shipping_page(
            &rq,
            &details,
            &quote,
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    state.shipping_method_id = Some(chosen.method_id);
    state.store(&rq.session)?;
    to_step(&rq, Step::Review)
}

fn review_page(
    rq: &RequestContext,
    details: &CheckoutDetails,
    quote: &Quote,
    form: &FormState,
    key: &str,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = step_context(Step::Review);
    ctx.insert("details", details);
    ctx.insert("quote", quote);
    ctx.insert("cart", &quote.cart);
    ctx.insert("form", form);
    ctx.insert("checkout_key", key);
    ctx.insert("bank_transfer", &!rq.config.bank_account.is_empty());
    ctx.insert("bank_transfer_days", &rq.config.bank_transfer_days);
    ctx.insert("cash_on_delivery", &rq.config.cash_on_delivery);
    rq.render_status("orders/checkout_review.html", ctx, status)
}

/// The review, or where to go when the chosen method no longer fits. A
/// voucher that can no longer be used is taken off, and the shopper told.
async fn reviewed(
    rq: &RequestContext,
    cart: Cart,
) -> Result<Result<(CheckoutState, CheckoutDetails, Quote), HttpResponse>, AppError> {
    let (mut state, details) = match state_for(rq, Step::Review)? {
        Ok(s) => s,
        Err(go) => return Ok(Err(go)),
    };
    let quote = quote(
        rq,
        cart,
        details.clone(),
        state.shipping_method_id,
        state.voucher_code.clone(),
    )
    .await?;
    if let (Some(code), Some(refusal)) = (&state.voucher_code, &quote.voucher_refusal) {
        rq.flash(
            Level::Warning,
            format!(
                "The voucher {code} was taken off: {}",
                refusal.message(rq.config.locale)
            ),
        );
        state.voucher_code = None;
        state.store(&rq.session)?;
    }
    if quote.chosen.is_none() {
        rq.flash(
            Level::Warning,
            "The delivery option you chose is no longer available for this order: choose another.",
        );
        return Ok(Err(to_step(rq, Step::Shipping)?));
    }
    Ok(Ok((state, details, quote)))
}

/// Step 3: everything the order will be, and the button that places it.
pub async fn review_form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let cart = or_go!(cart_or_redirect(&rq).await);
    let (_, details, quote) = or_go!(reviewed(&rq, cart).await);
    review_page(
        &rq,
        &details,
        &quote,
        &FormState::new(HashMap::new()),
        &site_core::random_token(32),
        StatusCode::OK,
    )
}

/// Step 3 sent: place the order (once per form, however often it comes).
pub async fn place(
    rq: RequestContext,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let form = FormState::new(body.into_inner());
    let key = parse_checkout_key(form.raw("checkout_key")).ok_or_else(|| {
        AppError::BadRequest("This checkout form is incomplete or out of date. Go back to your cart and check out again.".into())
    })?;
    let k = key.clone();
    // A resubmission after the first one finished (and cleared the
    // checkout): show the order it placed.
    if let Some(order) = rq
        .db(move |conn| Ok(Order::by_idempotency_key(conn, &k).optional()?))
        .await?
    {
        let cart = Cart::current(&rq).await?;
        return already_placed(&rq, order, cart).await;
    }
    let cart = or_go!(cart_or_redirect(&rq).await);
    let (state, details) = or_go!(state_for(&rq, Step::Review));
    let Some(method) = state.shipping_method_id else {
        return to_step(&rq, Step::Shipping);
    };
    let expected_total = Money::parse(form.raw("expected_total"), rq.config.currency).ok();
    let bank_account = rq.config.bank_account.clone();
    let payment_method = match form.raw("payment_method") {
        "bank_transfer" if !bank_account.is_empty() => PaymentMethod::BankTransfer,
        "cash_on_delivery" if rq.config.cash_on_delivery => PaymentMethod::CashOnDelivery,
        _ => PaymentMethod::Card,
    };
    let save_address = state.save_address;
    let voucher = state.voucher_code.clone();
    let user_id = current_user(&rq.session).map(|u| u.id);
    let currency = rq.config.currency;
    let taxes = TaxSettings::from_config(&rq.config);
    let (c, d, k) = (cart.clone(), details.clone(), key.clone());
    let renderer = rq.renderer.clone();
    let site_url = rq.config.site_url.clone();
    let outcome = rq
        .db(move |conn| {
            // In the order's transaction: the confirmation email, and the
            // address for the customer's book if they asked.
            let on_placed = |conn: &mut site_core::DbConn,
                             order: &Order,
                             lines: &[crate::OrderLine],
                             adjustments: &[crate::models::OrderAdjustment]|
             -> Result<(), String> {
                // Nothing to pay (a voucher covered it all): paid at once,
                // with its invoice number and receipt.
                let free = order.total_minor == 0;
                let paid;
                let order = if free {
                    Order::mark_paid(conn, order.id).map_err(|e| e.to_string())?;
                    paid = Order::find(conn, order.id).map_err(|e| e.to_string())?;
                    &paid
                } else {
                    order
                };
                let email = crate::emails::order_confirmation(
                    &renderer,
                    &site_url,
                    order,
                    lines,
                    adjustments,
                    match payment_method {
                        _ if free => crate::emails::PayBy::Card,
                        PaymentMethod::Card => crate::emails::PayBy::Card,
                        PaymentMethod::BankTransfer => {
                            crate::emails::PayBy::BankTransfer(&bank_account)
                        }
                        PaymentMethod::CashOnDelivery => crate::emails::PayBy::OnDelivery,
                    },
                )
                .map_err(|e| e.to_string())?;
                outbox::enqueue(conn, &email).map_err(|e| e.to_string())?;
                if free {
                    crate::emails::queue_receipt(conn, &renderer, &site_url, order.id, false)?;
                }
                if let (Some(uid), true) = (user_id, save_address) {
                    Address::save_if_new(conn, uid, &d.address).map_err(|e| e.to_string())?;
                }
                Ok(())
            };
            let req = CheckoutRequest {
                cart: &c,
                details: &d,
                idempotency_key: &k,
                user_id,
                currency,
                shipping_method_id: method,
                voucher_code: voucher.as_deref(),
                taxes,
                payment_method,
                expected_total,
                on_placed: Some(&on_placed),
            };
            Ok(place_order(conn, &req))
        })
        .await?;
    match outcome {
        Ok(Placed::New(order)) => {
            Cart::clear_current(&rq).await?;
            CheckoutState::clear(&rq.session);
            rq.flash(
                Level::Success,
                match payment_method {
                    _ if order.total_minor == 0 => {
                        "Thank you! Your order is placed, and there is nothing to pay."
                    }
                    PaymentMethod::Card => "Thank you! Your order is placed. Pay now to complete it.",
                    PaymentMethod::BankTransfer => {
                        "Thank you! Your order is placed. Transfer the total as shown below to complete it; we emailed you the details."
                    }
                    PaymentMethod::CashOnDelivery => {
                        "Thank you! Your order is placed. We will ship it soon: pay the courier in cash when it arrives."
                    }
                },
            );
            Ok(redirect(&rq.url(
                "orders:detail",
                &[("public_id", &order.public_id)],
            )?))
        }
        Ok(Placed::Existing(order)) => already_placed(&rq, order, cart).await,
        Err(PlaceOrderError::EmptyCart) => {
            rq.flash(
                Level::Info,
                "Your cart is empty: add something before checking out.",
            );
            Ok(redirect(&rq.url("cart:detail", &[])?))
        }
        Err(PlaceOrderError::OutOfStock(short)) => {
            let mut form = FormState::new(HashMap::new());
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
            let q = quote(
                &rq,
                cart,
                details.clone(),
                Some(method),
                state.voucher_code.clone(),
            )
            .await?;
            review_page(&rq, &details, &q, &form, &key, StatusCode::CONFLICT)
        }
        Err(PlaceOrderError::TotalChanged { .. }) => {
            let mut form = FormState::new(HashMap::new());
            form.add_non_field_error(
                "Prices changed while you were checking out. Here is your order at today's prices: check the total and place it again.",
            );
            let q = quote(
                &rq,
                cart,
                details.clone(),
                Some(method),
                state.voucher_code.clone(),
            )
            .await?;
            // A new key: the order shown differs from the one refused.
            review_page(
                &rq,
                &details,
                &q,
                &form,
                &site_core::random_token(32),
                StatusCode::CONFLICT,
            )
        }
        Err(PlaceOrderError::VoucherRefused(refusal)) => {
            let mut state = state;
            let code = state.voucher_code.take().unwrap_or_default();
            state.store(&rq.session)?;
            let mut form = FormState::new(HashMap::new());
            form.add_non_field_error(format!(
                "The voucher {code} could not be used: {} Here is your order without it: check the total and place it again.",
                refusal.message(rq.config.locale)
            ));
            let q = quote(&rq, cart, details.clone(), Some(method), None).await?;
            review_page(
                &rq,
                &details,
                &q,
                &form,
                &site_core::random_token(32),
                StatusCode::CONFLICT,
            )
        }
        Err(PlaceOrderError::ShippingUnavailable) => {
            rq.flash(
                Level::Warning,
                "The delivery option you chose is no longer available for this order: choose another.",
            );
            to_step(&rq, Step::Shipping)
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

/// The answer to a checkout form that had already placed `order`. A
/// double click's second request loaded the session before the first one
/// emptied the cart, and would write the bought cart back when it saves
/// the session (its flash message changes it): empty it here too.
async fn already_placed(
    rq: &RequestContext,
    order: Order,
    cart: Cart,
) -> Result<HttpResponse, AppError> {
    let o = order.clone();
    if rq.db(move |conn| Ok(o.bought(conn, &cart)?)).await? {
        Cart::clear_current(rq).await?;
        CheckoutState::clear(&rq.session);
    }
    rq.flash(Level::Info, "This order was already placed; here it is.");
    Ok(redirect(&rq.url(
        "orders:detail",
        &[("public_id", &order.public_id)],
    )?))
}

/// Applies a voucher code at the review; a code that cannot be used is a
/// field error with the reason, and changes nothing.
pub async fn voucher_apply(
    rq: RequestContext,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let cart = or_go!(cart_or_redirect(&rq).await);
    let (mut state, details) = or_go!(state_for(&rq, Step::Review));
    let mut form = FormState::new(body.into_inner());
    let code = crate::vouchers::normalise(form.raw("voucher"));
    if code.is_empty() || code.chars().count() > 50 {
        form.add_error("voucher", "Enter the code from your voucher.");
    }
    let quote = quote(
        &rq,
        cart,
        details.clone(),
        state.shipping_method_id,
        form.is_valid().then(|| code.clone()),
    )
    .await?;
    if quote.chosen.is_none() {
        rq.flash(
            Level::Warning,
            "The delivery option you chose is no longer available for this order: choose another.",
        );
        return to_step(&rq, Step::Shipping);
    }
    if let Some(refusal) = &quote.voucher_refusal {
        form.add_error("voucher", refusal.message(rq.config.locale));
    }
    if !form.is_valid() {
        return review_page(
            &rq,
            &details,
            &quote,
            &form,
            &site_core::random_token(32),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    state.voucher_code = Some(code.clone());
    state.store(&rq.session)?;
    rq.flash(Level::Success, format!("The voucher {code} is applied."));
    to_step(&rq, Step::Review)
}

/// Takes the voucher off.
pub async fn voucher_remove(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let mut state = CheckoutState::load(&rq.session);
    if let Some(code) = state.voucher_code.take() {
        state.store(&rq.session)?;
        rq.flash(Level::Info, format!("The voucher {code} was taken off."));
    }
    to_step(&rq, Step::Review)
}

pub async fn detail(
    rq: RequestContext,
    public_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let public_id = public_id.into_inner();
    Order::check_public_id(&public_id)?;
    let (view, events) = rq
        .db(move |conn| {
            let order = Order::by_public_id(conn, &public_id)?;
            let events = crate::events::for_customer(conn, order.id)?;
            let method = crate::payment_method::of(conn, order.id)?;
            Ok((order.full_view(conn)?, (events, method)))
        })
        .await?;
    order_page(&rq, &view, events)
}

/// The order page (by link or from the customer's history).
fn order_page(
    rq: &RequestContext,
    view: &crate::models::OrderView,
    (events, method): (Vec<crate::events::OrderEvent>, PaymentMethod),
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert(
        "reference",
        &crate::emails::short_ref(&view.order.public_id),
    );
    if method.pays_on_delivery() {
        let mut relabelled = view.clone();
        relabelled.status_label = view.status.label_paying_on_delivery();
        ctx.insert("order", &relabelled);
    } else {
        ctx.insert("order", view);
    }
    ctx.insert("events", &events);
    ctx.insert(
        "bank_transfer",
        &(method == PaymentMethod::BankTransfer && view.awaits_payment),
    );
    ctx.insert("bank_account", &rq.config.bank_account);
    ctx.insert("bank_transfer_days", &rq.config.bank_transfer_days);
    ctx.insert(
        "cash_on_delivery",
        &(method.pays_on_delivery() && view.order.awaits_money()),
    );
    rq.render("orders/detail.html", ctx)
}

/// Guests' order lookups per client: a burst of 5, then one a minute, so
/// references cannot be guessed against an email.
pub struct LookupLimit(site_core::http::ClientLimit);

impl Default for LookupLimit {
    fn default() -> Self {
        LookupLimit(site_core::http::ClientLimit::new(
            "order-lookup",
            5,
            std::time::Duration::from_secs(60),
        ))
    }
}

fn lookup_page(
    rq: &RequestContext,
    form: &FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("form", form);
    rq.render_status("orders/lookup.html", ctx, status)
}

/// "Find your order": for guests, who have no account to list them.
pub async fn lookup_form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    lookup_page(&rq, &FormState::new(HashMap::new()), StatusCode::OK)
}

/// The order with this reference and email, opened; the same answer
/// whether or not the email has orders, and a limit on tries.
pub async fn lookup(
    rq: RequestContext,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let mut form = FormState::new(body.into_inner());
    let allowed = match rq.req.app_data::<web::Data<LookupLimit>>() {
        Some(limit) => limit.0.allow(&rq).await,
        None => true,
    };
    if !allowed {
        form.add_non_field_error(
            "Too many tries from here in a short time. Wait a minute and try again.",
        );
        return lookup_page(&rq, &form, StatusCode::TOO_MANY_REQUESTS);
    }
    let reference: String = form
        .raw("reference")
        .trim()
        .trim_start_matches('#')
        .to_uppercase();
    if reference.len() != 8 || !reference.bytes().all(|b| b.is_ascii_alphanumeric()) {
        form.add_error(
            "reference",
            "Enter the 8-character order number from your confirmation email.",
        );
    }
    let email = form.field("email", site_core::forms::Email::parse);
    let Some(email) = email.filter(|_| form.is_valid()) else {
        return lookup_page(&rq, &form, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let found = rq
        .db(move |conn| Ok(Order::find_by_reference(conn, email.as_str(), &reference)?))
        .await?;
    match found {
        Some(order) => Ok(redirect(
            &rq.url("orders:detail", &[("public_id", &order.public_id)])?,
        )),
        None => {
            form.add_non_field_error(
                "We found no order with this number and email address. Check both against your confirmation email.",
            );
            lookup_page(&rq, &form, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// A paid order's invoice, to print or save as PDF from the browser. The
/// order's unguessable id is the key, as for the order page.
pub async fn invoice(
    rq: RequestContext,
    public_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let public_id = public_id.into_inner();
    Order::check_public_id(&public_id)?;
    let (view, invoice) = rq
        .db(move |conn| {
            let order = Order::by_public_id(conn, &public_id)?;
            let invoice = crate::invoices::Invoice::for_order(conn, order.id)?;
            let billing = order.billing_address(conn)?;
            Ok((order.full_view(conn)?, (invoice, billing)))
        })
        .await?;
    let (invoice, billing) = invoice;
    let Some(invoice) = invoice else {
        return Err(AppError::NotFound);
    };
    // One rate per order: the tax row and the net it was charged on.
    let net = view
        .total
        .checked_sub(view.tax)
        .map_err(AppError::internal)?;
    let mut ctx = Context::new();
    ctx.insert(
        "reference",
        &crate::emails::short_ref(&view.order.public_id),
    );
    ctx.insert("invoice", &invoice);
    ctx.insert("billing", &billing);
    ctx.insert("invoice_label", &invoice.label());
    ctx.insert("net", &net);
    ctx.insert("order", &view);
    rq.render("orders/invoice.html", ctx)
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
            let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
            let on_delivery = crate::payment_method::paying_on_delivery(conn, &ids)?;
            Ok((orders, (page, on_delivery)))
        })
        .await?;
    let (page, on_delivery) = page;
    let rows: Vec<_> = orders
        .iter()
        .map(|o| {
            serde_json::json!({
                "id": o.id,
                "reference": crate::emails::short_ref(&o.public_id),
                "created_at": o.created_at,
                "status": o.status,
                "status_label": if on_delivery.contains(&o.id) {
                    o.status().label_paying_on_delivery()
                } else {
                    o.status().label()
                },
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
    let (view, events) = rq
        .db(move |conn| {
            let order = Order::find_for_user(conn, me.id, id)?;
            let events = crate::events::for_customer(conn, order.id)?;
            let method = crate::payment_method::of(conn, order.id)?;
            Ok((order.full_view(conn)?, (events, method)))
        })
        .await?;
    order_page(&rq, &view, events)
}

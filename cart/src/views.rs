//! Cart pages: show it, add to it, change and remove lines.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use products::Product;
use site_core::forms::Quantity;
use site_core::http::{redirect, Level, RequestContext};
use site_core::AppError;

use crate::domain::{Cart, CartError};
use diesel::OptionalExtension;

fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

pub async fn detail(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let mut cart = Cart::current(&rq).await?;
    let currency = rq.config.currency;
    let c = cart.clone();
    let priced = rq.db(move |conn| c.price(conn, currency)).await?;
    if !priced.missing.is_empty() {
        for id in &priced.missing {
            cart.remove(*id);
        }
        cart.store(&rq).await?;
        rq.flash(
            Level::Warning,
            "Some products in your cart are no longer sold and were removed.",
        );
    }
    let mut ctx = site_core::tera::Context::new();
    ctx.insert("cart", &priced);
    ctx.insert("cart_count", &priced.item_count);
    rq.render("cart/detail.html", ctx)
}

/// Adds the posted quantity; if that is more than is in stock, nothing is
/// added and the shopper is told how many there are.
pub async fn add(
    rq: RequestContext,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id)?;
    // A product with variants is bought as the variant picked on its page.
    let picked = form
        .get("variant")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let (parent, product) = rq
        .db(move |conn| {
            let product = Product::find_active(conn, id)?.0;
            match picked {
                Some(variant) if product.has_variants => {
                    let chosen = Product::find_active(conn, variant)
                        .optional()?
                        .map(|(v, _)| v)
                        .filter(|v| v.parent_id == Some(product.id));
                    Ok((Some(product), chosen))
                }
                _ if product.has_variants => Ok((Some(product), None)),
                _ => Ok((None, Some(product))),
            }
        })
        .await?;
    let product = match (parent, product) {
        (_, Some(product)) => product,
        (Some(parent), None) => {
            let back = products::views::product_url(&rq, parent.id, &parent.slug)?;
            rq.flash(
                Level::Error,
                CartError::ChooseVariant(parent.name).to_string(),
            );
            return Ok(redirect(&back));
        }
        (None, None) => return Err(AppError::NotFound),
    };
    let back = products::views::product_url(&rq, product.id, &product.slug)?;
    let quantity = match Quantity::parse(form.get("quantity").map(String::as_str).unwrap_or("")) {
        Ok(q) => q,
        Err(e) => {
            rq.flash(Level::Error, format!("Quantity: {e}"));
            return Ok(redirect(&back));
        }
    };
    let mut cart = Cart::current(&rq).await?;
    match cart.add(&product, quantity) {
        Ok(()) => {
            cart.store(&rq).await?;
            rq.flash(
                Level::Success,
                format!(
                    "Added {} × “{}” to your cart.",
                    quantity.get(),
                    product.name
                ),
            );
            Ok(redirect(&rq.url("cart:detail", &[])?))
        }
        Err(e) => {
            rq.flash(Level::Error, e.to_string());
            Ok(redirect(&back))
        }
    }
}

/// Sets a line's quantity; 0 removes the line.
pub async fn update(
    rq: RequestContext,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id)?;
    let cart_url = rq.url("cart:detail", &[])?;
    let raw = form
        .get("quantity")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut cart = Cart::current(&rq).await?;
    if raw == "0" {
        cart.remove(id);
        cart.store(&rq).await?;
        rq.flash(Level::Info, "Removed from your cart.");
        return Ok(redirect(&cart_url));
    }
    let quantity = match Quantity::parse(&raw) {
        Ok(q) => q,
        Err(e) => {
            rq.flash(Level::Error, format!("Quantity: {e}"));
            return Ok(redirect(&cart_url));
        }
    };
    let product = rq
        .db(move |conn| Ok(Product::find_active(conn, id)?.0))
        .await?;
    match cart.set(&product, quantity) {
        Ok(()) => {
            cart.store(&rq).await?;
            rq.flash(Level::Success, format!("Updated “{}”.", product.name));
        }
        Err(e) => rq.flash(Level::Error, e.to_string()),
    }
    Ok(redirect(&cart_url))
}

pub async fn remove(rq: RequestContext, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = parse_id(&id)?;
    let mut cart = Cart::current(&rq).await?;
    if cart.remove(id) {
        cart.store(&rq).await?;
        rq.flash(Level::Info, "Removed from your cart.");
    }
    Ok(redirect(&rq.url("cart:detail", &[])?))
}

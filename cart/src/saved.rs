//! A customer's cart in the database, so it follows them across sessions
//! and devices. The session keeps a copy for the page badge; the cart and
//! checkout pages read the database. At login the guest's cart is merged
//! into the saved one.

use std::collections::BTreeSet;

use diesel::prelude::*;
use futures_util::future::LocalBoxFuture;
use products::Product;
use site_core::db::{write_transaction, DbConn};
use site_core::forms::Quantity;
use site_core::hooks::AccountHook;
use site_core::http::auth::current_user;
use site_core::http::{Level, RequestContext};
use site_core::schema::cart_line as l;
use site_core::AppError;

use crate::domain::Cart;

pub fn load(conn: &mut DbConn, user_id: i64) -> QueryResult<Cart> {
    let rows: Vec<(i64, i64)> = l::table
        .filter(l::user_id.eq(user_id))
        .select((l::product_id, l::quantity))
        .load(conn)?;
    Ok(Cart::from_lines(rows))
}

/// Replaces the customer's saved cart with `cart`.
pub fn save(conn: &mut DbConn, user_id: i64, cart: &Cart) -> QueryResult<()> {
    write_transaction(conn, |conn| {
        diesel::delete(l::table.filter(l::user_id.eq(user_id))).execute(conn)?;
        let now = site_core::now();
        // One INSERT per line: a batch INSERT does not build for diesel's
        // MultiConnection (its backend has no shared DEFAULT keyword).
        for (product_id, quantity) in cart.lines() {
            diesel::insert_into(l::table)
                .values((
                    l::user_id.eq(user_id),
                    l::product_id.eq(product_id),
                    l::quantity.eq(quantity),
                    l::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// The guest's lines added to the saved ones, each capped by the stock
/// (and the per-line maximum). Returns the cart and a sentence for each
/// line that was capped. Products no longer sold are dropped.
pub fn merge(saved: &Cart, guest: &Cart, products: &[Product]) -> (Cart, Vec<String>) {
    let mut merged = Cart::default();
    let mut notes = Vec::new();
    let ids: BTreeSet<i64> = saved
        .product_ids()
        .into_iter()
        .chain(guest.product_ids())
        .collect();
    for id in ids {
        let Some(p) = products.iter().find(|p| p.id == id) else {
            continue;
        };
        let wanted = saved.quantity(id) + guest.quantity(id);
        let cap = p.stock.min(Quantity::MAX);
        let kept = wanted.min(cap);
        if kept < wanted {
            notes.push(if kept == 0 {
                format!("“{}” is out of stock and was left out of your cart.", p.name)
            } else {
                format!(
                    "Only {kept} of “{}” are available, so your cart has {kept} (you had {wanted} across your carts).",
                    p.name
                )
            });
        }
        if kept > 0 {
            merged.insert_unchecked(id, kept);
        }
    }
    (merged, notes)
}

impl Cart {
    /// The cart of whoever is shopping: a customer's from the database
    /// (refreshing the session's copy), a guest's from the session.
    pub async fn current(rq: &RequestContext) -> Result<Cart, AppError> {
        match current_user(&rq.session) {
            Some(u) => {
                let cart = rq.db(move |conn| Ok(load(conn, u.id)?)).await?;
                // Only when another device changed it: an unchanged session
                // is not written back.
                if Cart::load(&rq.session) != cart {
                    cart.save(&rq.session)?;
                }
                Ok(cart)
            }
            None => Ok(Cart::load(&rq.session)),
        }
    }

    /// Keeps the cart: in the session, and for a customer in the database.
    pub async fn store(&self, rq: &RequestContext) -> Result<(), AppError> {
        self.save(&rq.session)?;
        if let Some(u) = current_user(&rq.session) {
            let cart = self.clone();
            rq.db(move |conn| Ok(save(conn, u.id, &cart)?)).await?;
        }
        Ok(())
    }

    /// Empties the cart (after an order).
    pub async fn clear_current(rq: &RequestContext) -> Result<(), AppError> {
        Cart::default().store(rq).await
    }
}

/// The hook `site` registers: merge at login, export, nothing to forget
/// (the saved lines go with the account).
pub struct CartFollowsCustomer;

impl AccountHook for CartFollowsCustomer {
    fn logged_in<'a>(
        &'a self,
        rq: &'a RequestContext,
        user_id: i64,
    ) -> LocalBoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let guest = Cart::load(&rq.session);
            let (cart, notes) = rq
                .db(move |conn| {
                    let saved = load(conn, user_id)?;
                    if guest.is_empty() {
                        return Ok((saved, Vec::new()));
                    }
                    let ids: Vec<i64> = saved
                        .product_ids()
                        .into_iter()
                        .chain(guest.product_ids())
                        .collect();
                    let products = Product::active_by_ids(conn, &ids)?;
                    let (merged, notes) = merge(&saved, &guest, &products);
                    save(conn, user_id, &merged)?;
                    Ok((merged, notes))
                })
                .await?;
            cart.save(&rq.session)?;
            for n in notes {
                rq.flash(Level::Warning, n);
            }
            Ok(())
        })
    }

    fn export(
        &self,
        conn: &mut DbConn,
        user_id: i64,
    ) -> QueryResult<Option<(&'static str, serde_json::Value)>> {
        let lines: Vec<serde_json::Value> = load(conn, user_id)?
            .lines()
            .map(|(product_id, quantity)| serde_json::json!({"product_id": product_id, "quantity": quantity}))
            .collect();
        Ok(Some(("cart", serde_json::Value::Array(lines))))
    }
}

/// Tells the admin's delete page which customers' carts hold a product
/// (those lines go with it).
pub struct CartsHoldProducts;

impl site_core::admin::Related for CartsHoldProducts {
    fn delete_plan(
        &self,
        conn: &mut DbConn,
        app: &str,
        model: &str,
        id: i64,
    ) -> QueryResult<site_core::admin::DeletePlan> {
        let mut plan = site_core::admin::DeletePlan::default();
        if (app, model) == ("products", "product") {
            let carts: i64 = l::table
                .filter(l::product_id.eq(id))
                .count()
                .get_result(conn)?;
            if carts > 0 {
                plan.cascades.push(format!(
                    "its line in {carts} {}",
                    if carts == 1 {
                        "customer's cart"
                    } else {
                        "customers' carts"
                    }
                ));
            }
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: i64, stock: i64) -> Product {
        crate::domain::tests::product(id, stock, 100)
    }

    #[test]
    fn merging_adds_quantities_capped_by_stock() {
        let saved = Cart::from_lines([(1, 2), (2, 1)]);
        let guest = Cart::from_lines([(1, 3), (3, 4)]);
        let (merged, notes) = merge(
            &saved,
            &guest,
            &[product(1, 4), product(2, 9), product(3, 9)],
        );
        assert_eq!(merged.quantity(1), 4, "2 + 3 capped at the 4 in stock");
        assert_eq!(merged.quantity(2), 1);
        assert_eq!(merged.quantity(3), 4);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("Only 4"));
    }

    #[test]
    fn sold_out_and_withdrawn_products_are_left_out() {
        let (merged, notes) = merge(
            &Cart::default(),
            &Cart::from_lines([(1, 1), (2, 1)]),
            &[product(1, 0)],
        );
        assert!(merged.is_empty());
        assert!(notes[0].contains("out of stock"));
    }
}

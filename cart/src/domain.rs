//! Cart rules: what may be added, and what a cart costs right now.

use std::collections::BTreeMap;

use actix_session::Session;
use products::Product;
use serde::{Deserialize, Serialize};
use site_core::db::DbConn;
use site_core::forms::Quantity;
use site_core::money::{Currency, Money, MoneyError};

const SESSION_KEY: &str = "cart";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CartError {
    #[error("Sorry, only {available} of “{name}” in stock{}.", if *.in_cart > 0 { format!(" and you already have {} in your cart", .in_cart) } else { String::new() })]
    NotEnoughStock {
        name: String,
        available: i64,
        in_cart: i64,
    },
    #[error("You can have at most {} of one product in your cart.", Quantity::MAX)]
    TooMany,
    #[error("Choose which “{0}” you would like first.")]
    ChooseVariant(String),
}

/// Product id -> quantity. Ordered, so lines show in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    lines: BTreeMap<i64, i64>,
}

impl Cart {
    /// The session's cart; an unreadable one is treated as empty.
    pub fn load(session: &Session) -> Cart {
        session
            .get::<Cart>(SESSION_KEY)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub fn save(&self, session: &Session) -> Result<(), site_core::AppError> {
        if self.lines.is_empty() {
            session.remove(SESSION_KEY);
            return Ok(());
        }
        session
            .insert(SESSION_KEY, self)
            .map_err(site_core::AppError::internal)
    }

    pub fn from_lines(lines: impl IntoIterator<Item = (i64, i64)>) -> Cart {
        Cart {
            lines: lines.into_iter().filter(|(_, q)| *q > 0).collect(),
        }
    }

    /// Sets a line without a stock check (the caller checked).
    pub(crate) fn insert_unchecked(&mut self, product_id: i64, quantity: i64) {
        self.lines.insert(product_id, quantity);
    }

    pub fn clear(session: &Session) {
        session.remove(SESSION_KEY);
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn quantity(&self, product_id: i64) -> i64 {
        self.lines.get(&product_id).copied().unwrap_or(0)
    }

    pub fn item_count(&self) -> i64 {
        self.lines.values().sum()
    }

    pub fn product_ids(&self) -> Vec<i64> {
        self.lines.keys().copied().collect()
    }

    pub fn lines(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.lines.iter().map(|(k, v)| (*k, *v))
    }

    /// Adds to what is already in the cart, never beyond the stock.
    pub fn add(&mut self, product: &Product, quantity: Quantity) -> Result<(), CartError> {
        let in_cart = self.quantity(product.id);
        self.set_checked(product, in_cart + quantity.get(), in_cart)
    }

    /// Sets the quantity of a line, never beyond the stock.
    pub fn set(&mut self, product: &Product, quantity: Quantity) -> Result<(), CartError> {
        self.set_checked(product, quantity.get(), 0)
    }

    fn set_checked(
        &mut self,
        product: &Product,
        wanted: i64,
        in_cart: i64,
    ) -> Result<(), CartError> {
        if product.has_variants {
            return Err(CartError::ChooseVariant(product.name.clone()));
        }
        if wanted > Quantity::MAX {
            return Err(CartError::TooMany);
        }
        if wanted > product.stock {
            return Err(CartError::NotEnoughStock {
                name: product.name.clone(),
                available: product.stock,
                in_cart,
            });
        }
        self.lines.insert(product.id, wanted);
        Ok(())
    }

    pub fn remove(&mut self, product_id: i64) -> bool {
        self.lines.remove(&product_id).is_some()
    }

    /// Prices the cart against the catalogue in one query. Lines whose
    /// product is gone or inactive are reported in `missing`.
    pub fn price(
        &self,
        conn: &mut DbConn,
        currency: Currency,
    ) -> Result<PricedCart, site_core::AppError> {
        let products = Product::active_by_ids(conn, &self.product_ids())?;
        PricedCart::new(self, products, currency).map_err(site_core::AppError::internal)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PricedLine {
    pub product_id: i64,
    pub name: String,
    /// For the product page's URL.
    pub slug: String,
    pub sku: String,
    pub image_url: Option<String>,
    pub unit_price: Money,
    pub quantity: i64,
    pub line_total: Money,
    pub stock: i64,
    /// More in the cart than is now in stock.
    pub short: bool,
    /// The line's shipping weight.
    pub weight_grams: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    pub total: Money,
    pub item_count: i64,
    /// What the lines weigh together, for weight-band shipping.
    pub weight_grams: i64,
    /// Names are gone with the product; only ids are known.
    pub missing: Vec<i64>,
}

impl PricedCart {
    pub fn new(
        cart: &Cart,
        products: Vec<Product>,
        currency: Currency,
    ) -> Result<PricedCart, MoneyError> {
        let mut lines = Vec::new();
        let mut missing = Vec::new();
        for (id, quantity) in cart.lines() {
            let Some(p) = products.iter().find(|p| p.id == id) else {
                missing.push(id);
                continue;
            };
            let unit_price = p.price();
            lines.push(PricedLine {
                product_id: id,
                name: p.name.clone(),
                slug: p.slug.clone(),
                sku: p.sku.clone(),
                image_url: p.image_url(),
                unit_price,
                quantity,
                line_total: unit_price.checked_mul(quantity)?,
                stock: p.stock,
                short: quantity > p.stock,
                weight_grams: p.weight_grams.saturating_mul(quantity),
            });
        }
        let total = Money::sum(lines.iter().map(|l| l.line_total), currency)?;
        let item_count = lines.iter().map(|l| l.quantity).sum();
        let weight_grams = lines
            .iter()
            .fold(0i64, |w, l| w.saturating_add(l.weight_grams));
        Ok(PricedCart {
            lines,
            total,
            item_count,
            weight_grams,
            missing,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn product(id: i64, stock: i64, price_minor: i64) -> Product {
        Product {
            id,
            category_id: 1,
            name: format!("P{id}"),
            slug: "p".into(),
            sku: format!("S{id}"),
            description: String::new(),
            price_minor,
            currency: "USD".into(),
            stock,
            is_active: true,
            image: String::new(),
            created_at: Default::default(),
            updated_at: Default::default(),
            weight_grams: 0,
            rating_count: 0,
            rating_sum: 0,
            parent_id: None,
            product_type_id: None,
            has_variants: false,
        }
    }

    fn q(n: i64) -> Quantity {
        Quantity::new(n).unwrap()
    }

    #[test]
    fn a_product_with_variants_is_never_a_line_itself() {
        let mut parent = product(1, 9, 100);
        parent.has_variants = true;
        let mut cart = Cart::default();
        assert_eq!(
            cart.add(&parent, q(1)),
            Err(CartError::ChooseVariant("P1".into()))
        );
        assert!(cart.is_empty());
    }

    #[test]
    fn adding_never_exceeds_stock_and_adds_nothing_on_failure() {
        let p = product(1, 3, 100);
        let mut cart = Cart::default();
        cart.add(&p, q(2)).unwrap();
        let err = cart.add(&p, q(2)).unwrap_err();
        assert_eq!(
            err,
            CartError::NotEnoughStock {
                name: "P1".into(),
                available: 3,
                in_cart: 2
            }
        );
        assert!(err.to_string().contains("only 3"));
        assert_eq!(cart.quantity(1), 2, "a refused add changes nothing");
        cart.add(&p, q(1)).unwrap();
        assert_eq!(cart.item_count(), 3);
    }

    #[test]
    fn setting_a_quantity_is_checked_too() {
        let p = product(1, 5, 100);
        let mut cart = Cart::default();
        assert!(cart.set(&p, q(6)).is_err());
        cart.set(&p, q(5)).unwrap();
        assert_eq!(cart.quantity(1), 5);
        assert!(cart.remove(1));
        assert!(cart.is_empty());
    }

    #[test]
    fn pricing_sums_lines_and_reports_missing_products() {
        let mut cart = Cart::default();
        cart.add(&product(1, 10, 250), q(2)).unwrap();
        cart.add(&product(2, 10, 1000), q(1)).unwrap();
        cart.add(&product(3, 10, 1), q(1)).unwrap();
        let priced = PricedCart::new(
            &cart,
            vec![product(1, 1, 250), product(2, 10, 1000)],
            Currency::Usd,
        )
        .unwrap();
        assert_eq!(priced.total.minor(), 1500);
        assert_eq!(priced.item_count, 3);
        assert_eq!(priced.missing, vec![3]);
        assert!(
            priced.lines[0].short,
            "stock fell to 1 while 2 are in the cart"
        );
    }
}

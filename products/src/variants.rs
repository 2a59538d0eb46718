//! Product types, their attributes, and variants.
//!
//! A product with variants is a parent: shown, found and reviewed, never
//! put in a cart. Each variant is a child product (`parent_id`) with its
//! own SKU, price, stock, pictures and active flag, and one value for each
//! attribute of the parent's type ("Size" 42, "Colour" Black). Carts,
//! orders, stock reservation and refunds deal in variants exactly as in
//! single products, so "never oversold" holds per variant with the same
//! conditional UPDATE. The parent keeps the sum of its variants' stock and
//! their lowest price for lists (`models::refresh_parents`).

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;
use site_core::db::DbConn;
use site_core::money::{Currency, Money};
use site_core::schema::{
    products_attribute as a, products_attribute_value as av, products_product as p,
    products_product_type as t,
};

use crate::models::{lock_families, refresh_parents, Product};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = a)]
pub struct Attribute {
    pub id: i64,
    pub product_type_id: i64,
    pub name: String,
    pub position: i32,
}

/// A type's attributes in their order.
pub fn attributes(conn: &mut DbConn, product_type: i64) -> QueryResult<Vec<Attribute>> {
    a::table
        .filter(a::product_type_id.eq(product_type))
        .order((a::position.asc(), a::id.asc()))
        .select(Attribute::as_select())
        .load(conn)
}

/// Creates a product type with attributes in this order (the demo, tests).
pub fn create_type(conn: &mut DbConn, name: &str, attributes: &[&str]) -> QueryResult<i64> {
    diesel::insert_into(t::table)
        .values((t::name.eq(name), t::created_at.eq(site_core::now())))
        .execute(conn)?;
    let id = t::table
        .filter(t::name.eq(name))
        .select(t::id)
        .first(conn)?;
    for (n, attribute) in attributes.iter().enumerate() {
        diesel::insert_into(a::table)
            .values((
                a::product_type_id.eq(id),
                a::name.eq(*attribute),
                a::position.eq(n as i32),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

/// A variant as the product page and the admin show it.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub id: i64,
    pub sku: String,
    pub price: Money,
    pub stock: i64,
    pub in_stock: bool,
    pub is_active: bool,
    /// (attribute, value) in the type's order.
    pub options: Vec<(String, String)>,
    /// The values alone: "42 / Black".
    pub label: String,
    pub image: String,
}

impl Variant {
    /// "Size: 42, Colour: Black": what an order line keeps.
    pub fn described(&self) -> String {
        describe(&self.options)
    }
}

fn describe(options: &[(String, String)]) -> String {
    options
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each of `ids`' attribute values, in their type's order.
fn options_by_product(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<(String, String)>>> {
    let rows: Vec<(i64, String, String)> = av::table
        .inner_join(a::table)
        .filter(av::product_id.eq_any(ids))
        .order((av::product_id, a::position, a::id))
        .select((av::product_id, a::name, av::value))
        .load(conn)?;
    let mut out: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (id, name, value) in rows {
        out.entry(id).or_default().push((name, value));
    }
    Ok(out)
}

/// "Size: 42, Colour: Black" for each of `ids` that is a variant (order
/// lines keep it).
pub fn described(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    Ok(options_by_product(conn, ids)?
        .into_iter()
        .map(|(id, options)| (id, describe(&options)))
        .collect())
}

/// A parent's variants in SKU order; only the active ones unless `all`.
/// Two queries.
pub fn of_product(conn: &mut DbConn, parent: i64, all: bool) -> QueryResult<Vec<Variant>> {
    let mut query = p::table
        .filter(p::parent_id.eq(parent))
        .order((p::sku.asc(), p::id.asc()))
        .select(Product::as_select())
        .into_boxed();
    if !all {
        query = query.filter(p::is_active.eq(true));
    }
    let children: Vec<Product> = query.load(conn)?;
    let ids: Vec<i64> = children.iter().map(|c| c.id).collect();
    let mut options = options_by_product(conn, &ids)?;
    let mut out: Vec<Variant> = children
        .into_iter()
        .map(|c| {
            let options = options.remove(&c.id).unwrap_or_default();
            let label = options
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(" / ");
            Variant {
                id: c.id,
                price: Money::from_minor(
                    c.price_minor,
                    Currency::parse(&c.currency).unwrap_or(Currency::Usd),
                ),
                in_stock: c.stock > 0 && c.is_active,
                stock: c.stock,
                is_active: c.is_active,
                sku: c.sku,
                options,
                label,
                image: c.image,
            }
        })
        .collect();
    // By each value, numbers as numbers ("9" before "10").
    out.sort_by(|x, y| {
        let key = |v: &Variant| {
            v.options
                .iter()
                .map(|(_, value)| crate::facets::natural(value))
                .collect::<Vec<_>>()
        };
        key(x)
            .partial_cmp(&key(y))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(out)
}

/// Reads "42 / Black" as one value per attribute, in order.
pub fn parse_options(text: &str, attributes: &[Attribute]) -> Result<Vec<String>, String> {
    if attributes.is_empty() {
        return Err(
            "Choose a product type with attributes (Size, Colour…) for this product first.".into(),
        );
    }
    let values: Vec<String> = text
        .split('/')
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let names = attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(" / ");
    if values.len() != attributes.len() || values.iter().any(String::is_empty) {
        return Err(format!(
            "Give one value for each of {names}, separated by “/” (like {}).",
            example(attributes.len())
        ));
    }
    if let Some(long) = values.iter().find(|v| v.chars().count() > 100) {
        return Err(format!("“{long}” is longer than 100 characters."));
    }
    Ok(values)
}

fn example(n: usize) -> &'static str {
    match n {
        1 => "42",
        2 => "42 / Black",
        _ => "42 / Black / Leather",
    }
}

/// What a new variant is made of.
pub struct NewVariant<'a> {
    pub sku: &'a str,
    pub price_minor: i64,
    pub stock: i64,
    pub is_active: bool,
    /// One per attribute of the parent's type, in order.
    pub values: &'a [String],
}

/// Why a variant could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum VariantError {
    #[error("A variant cannot have variants of its own.")]
    NestedVariant,
    #[error("Another variant of this product is already {0}.")]
    Duplicate(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Adds a variant to `parent`, named after it and its values, in its
/// category, with its picture until it gets its own. The caller refreshes
/// the parent ([`settle`]).
pub fn create(
    conn: &mut DbConn,
    parent: &Product,
    attributes: &[Attribute],
    new: &NewVariant<'_>,
) -> Result<i64, VariantError> {
    if parent.parent_id.is_some() {
        return Err(VariantError::NestedVariant);
    }
    refuse_duplicate(conn, parent.id, None, new.values)?;
    let now = site_core::now();
    diesel::insert_into(p::table)
        .values((
            p::category_id.eq(parent.category_id),
            p::name.eq(variant_name(&parent.name, new.values)),
            p::slug.eq(&parent.slug),
            p::sku.eq(new.sku),
            p::description.eq(""),
            p::price_minor.eq(new.price_minor),
            p::currency.eq(&parent.currency),
            p::stock.eq(new.stock),
            p::is_active.eq(new.is_active),
            p::image.eq(&parent.image),
            p::created_at.eq(now),
            p::updated_at.eq(now),
            p::weight_grams.eq(parent.weight_grams),
            p::parent_id.eq(parent.id),
            p::product_type_id.eq(parent.product_type_id),
        ))
        .execute(conn)?;
    let id = p::table
        .filter(p::sku.eq(new.sku))
        .select(p::id)
        .first(conn)?;
    set_values(conn, id, attributes, new.values)?;
    Ok(id)
}

/// Changes a variant's values (and so its name).
pub fn update_values(
    conn: &mut DbConn,
    parent: &Product,
    id: i64,
    attributes: &[Attribute],
    values: &[String],
) -> Result<(), VariantError> {
    refuse_duplicate(conn, parent.id, Some(id), values)?;
    diesel::update(p::table.find(id).filter(p::parent_id.eq(parent.id)))
        .set(p::name.eq(variant_name(&parent.name, values)))
        .execute(conn)?;
    diesel::delete(av::table.filter(av::product_id.eq(id))).execute(conn)?;
    set_values(conn, id, attributes, values)?;
    Ok(())
}

fn set_values(
    conn: &mut DbConn,
    id: i64,
    attributes: &[Attribute],
    values: &[String],
) -> QueryResult<()> {
    for (attribute, value) in attributes.iter().zip(values) {
        diesel::insert_into(av::table)
            .values((
                av::product_id.eq(id),
                av::attribute_id.eq(attribute.id),
                av::value.eq(value),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Two variants of one product with the same values could not be told
/// apart on its page.
fn refuse_duplicate(
    conn: &mut DbConn,
    parent: i64,
    except: Option<i64>,
    values: &[String],
) -> Result<(), VariantError> {
    let siblings: Vec<i64> = p::table
        .filter(p::parent_id.eq(parent))
        .filter(p::id.ne(except.unwrap_or(0)))
        .select(p::id)
        .load(conn)?;
    let wanted: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
    for (_, options) in options_by_product(conn, &siblings)? {
        let theirs: Vec<String> = options.iter().map(|(_, v)| v.to_lowercase()).collect();
        if theirs == wanted {
            return Err(VariantError::Duplicate(values.join(" / ")));
        }
    }
    Ok(())
}

/// "Trail Runner (42, Black)": what carts, orders and emails call it.
pub fn variant_name(parent: &str, values: &[String]) -> String {
    format!("{parent} ({})", values.join(", "))
}

/// Renames a parent's variants after the parent was renamed.
pub fn rename(conn: &mut DbConn, parent: i64, name: &str) -> QueryResult<()> {
    let children: Vec<i64> = p::table
        .filter(p::parent_id.eq(parent))
        .select(p::id)
        .load(conn)?;
    let mut options = options_by_product(conn, &children)?;
    for id in children {
        let values: Vec<String> = options
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        diesel::update(p::table.find(id))
            .set(p::name.eq(variant_name(name, &values)))
            .execute(conn)?;
    }
    Ok(())
}

/// Locks the parents of `ids` (variants, or parents themselves) and
/// refreshes their totals: for writes that change variants outside a
/// checkout (the admin, imports). Call before the writes, run `then`, and
/// the totals are recomputed after.
pub fn settle<T, E: From<diesel::result::Error>>(
    conn: &mut DbConn,
    ids: &[i64],
    then: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E> {
    let parents = lock_families(conn, ids)?;
    let out = then(conn)?;
    refresh_parents(conn, &parents)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(names: &[&str]) -> Vec<Attribute> {
        names
            .iter()
            .enumerate()
            .map(|(n, name)| Attribute {
                id: n as i64 + 1,
                product_type_id: 1,
                name: name.to_string(),
                position: n as i32,
            })
            .collect()
    }

    #[test]
    fn options_are_one_value_per_attribute_in_order() {
        let a = attrs(&["Size", "Colour"]);
        assert_eq!(
            parse_options(" 42 /  Dark   blue ", &a).unwrap(),
            vec!["42".to_string(), "Dark blue".to_string()]
        );
        let err = parse_options("42", &a).unwrap_err();
        assert!(err.contains("Size / Colour"), "{err}");
        assert!(parse_options("42 / ", &a).is_err());
        assert!(parse_options("42", &[])
            .unwrap_err()
            .contains("product type"));
    }

    #[test]
    fn a_variant_is_named_after_its_product_and_values() {
        assert_eq!(
            variant_name("Trail Runner", &["42".into(), "Black".into()]),
            "Trail Runner (42, Black)"
        );
    }
}

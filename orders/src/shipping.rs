//! Shipping methods: which ones fit an address and a cart, and what they
//! cost. Staff manage them in the admin (`admin::ShippingMethodAdmin`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use site_core::country::Country;
use site_core::db::DbConn;
use site_core::money::{Currency, Money};
use site_core::schema::{orders_shipping_band as b, orders_shipping_method as m};

site_core::text_enum! {
    /// How a method's price is found.
    pub enum ShippingKind {
        /// One price for any cart.
        Flat = "flat",
        /// The price of the lightest band the cart's weight fits in.
        Weight = "weight",
    }
}

impl ShippingKind {
    pub fn label(self) -> &'static str {
        match self {
            ShippingKind::Flat => "Flat rate",
            ShippingKind::Weight => "By weight band",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = m)]
pub struct ShippingMethod {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub kind: ShippingKind,
    pub price_minor: i64,
    pub free_over_minor: Option<i64>,
    pub countries: String,
    pub is_active: bool,
    pub position: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One weight band of a method: carts up to `max_weight_grams` cost
/// `price_minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Serialize)]
pub struct Band {
    pub method_id: i64,
    pub max_weight_grams: i64,
    pub price_minor: i64,
}

/// A method offered for one cart and address, with its price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShippingQuote {
    pub method_id: i64,
    pub name: String,
    pub description: String,
    pub price: Money,
    /// Free because the cart passed the method's threshold.
    pub free_over: Option<Money>,
}

/// What a cart weighs and costs, as shipping sees it.
#[derive(Debug, Clone, Copy)]
pub struct Parcel<'a> {
    pub country: &'a str,
    /// The goods after any voucher's discount on them (what a free
    /// delivery threshold compares).
    pub subtotal: Money,
    pub weight_grams: i64,
}

/// Parses the countries a method serves: ISO codes or names separated by
/// spaces or commas; empty means everywhere. Returns the codes, or the
/// entries that are not countries.
pub fn parse_countries(raw: &str) -> Result<Vec<&'static str>, Vec<String>> {
    let mut codes = Vec::new();
    let mut bad = Vec::new();
    for token in raw
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        match Country::from_code(token) {
            Some(c) => {
                if !codes.contains(&c.code) {
                    codes.push(c.code);
                }
            }
            None => bad.push(token.to_string()),
        }
    }
    if bad.is_empty() {
        Ok(codes)
    } else {
        Err(bad)
    }
}

impl ShippingMethod {
    /// Whether the method delivers to `country` (an ISO code).
    pub fn serves(&self, country: &str) -> bool {
        let country = country.trim();
        let mut listed = self.countries.split_whitespace().peekable();
        listed.peek().is_none() || listed.any(|c| c.eq_ignore_ascii_case(country))
    }

    /// The price for `parcel`, or `None` when the method does not take it
    /// (another country, or heavier than its heaviest band). `bands` are
    /// this method's.
    pub fn quote(&self, bands: &[Band], parcel: &Parcel<'_>) -> Option<ShippingQuote> {
        if !self.is_active || !self.serves(parcel.country) {
            return None;
        }
        let currency = parcel.subtotal.currency();
        let price_minor = match self.kind {
            ShippingKind::Flat => self.price_minor,
            ShippingKind::Weight => {
                bands
                    .iter()
                    .filter(|b| b.method_id == self.id)
                    .filter(|b| b.max_weight_grams >= parcel.weight_grams)
                    .min_by_key(|b| b.max_weight_grams)?
                    .price_minor
            }
        };
        let free_over = self
            .free_over_minor
            .map(|minor| Money::from_minor(minor, currency));
        let free = free_over.is_some_and(|t| parcel.subtotal.minor() >= t.minor());
        Some(ShippingQuote {
            method_id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            price: Money::from_minor(if free { 0 } else { price_minor }, currency),
            free_over,
        })
    }

    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ShippingMethod>> {
        m::table
            .find(id)
            .select(ShippingMethod::as_select())
            .first(conn)
            .optional()
    }
}

fn bands_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Band>> {
    b::table
        .filter(b::method_id.eq_any(ids))
        .select((b::method_id, b::max_weight_grams, b::price_minor))
        .load(conn)
}

/// Every method that takes `parcel`, in the order staff set (two queries).
pub fn available(conn: &mut DbConn, parcel: &Parcel<'_>) -> QueryResult<Vec<ShippingQuote>> {
    let methods: Vec<ShippingMethod> = m::table
        .filter(m::is_active.eq(true))
        .order((m::position.asc(), m::id.asc()))
        .select(ShippingMethod::as_select())
        .load(conn)?;
    let ids: Vec<i64> = methods
        .iter()
        .filter(|m| m.kind == ShippingKind::Weight)
        .map(|m| m.id)
        .collect();
    let bands = if ids.is_empty() {
        Vec::new()
    } else {
        bands_of(conn, &ids)?
    };
    Ok(methods
        .iter()
        .filter_map(|m| m.quote(&bands, parcel))
        .collect())
}

/// Method `id`'s price for `parcel`; `None` if it does not take it (or is
/// gone or inactive).
pub fn quote(
    conn: &mut DbConn,
    id: i64,
    parcel: &Parcel<'_>,
) -> QueryResult<Option<ShippingQuote>> {
    let Some(method) = ShippingMethod::find(conn, id)? else {
        return Ok(None);
    };
    let bands = match method.kind {
        ShippingKind::Weight => bands_of(conn, &[id])?,
        ShippingKind::Flat => Vec::new(),
    };
    Ok(method.quote(&bands, parcel))
}

/// Adds a method (demo data, tests); returns its id.
pub fn create(conn: &mut DbConn, new: &NewMethod<'_>, bands: &[(i64, i64)]) -> QueryResult<i64> {
    site_core::db::write_transaction(conn, |conn| {
        let now = site_core::now();
        diesel::insert_into(m::table)
            .values((
                m::name.eq(new.name),
                m::description.eq(new.description),
                m::kind.eq(new.kind),
                m::price_minor.eq(new.price.minor()),
                m::free_over_minor.eq(new.free_over.map(|f| f.minor())),
                m::countries.eq(new.countries),
                m::is_active.eq(true),
                m::position.eq(new.position),
                m::created_at.eq(now),
                m::updated_at.eq(now),
            ))
            .execute(conn)?;
        let id: i64 = m::table.order(m::id.desc()).select(m::id).first(conn)?;
        for (max, price) in bands {
            diesel::insert_into(b::table)
                .values((
                    b::method_id.eq(id),
                    b::max_weight_grams.eq(max),
                    b::price_minor.eq(price),
                ))
                .execute(conn)?;
        }
        Ok(id)
    })
}

/// A method as `create` takes it.
pub struct NewMethod<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub kind: ShippingKind,
    pub price: Money,
    pub free_over: Option<Money>,
    pub countries: &'a str,
    pub position: i32,
}

/// The demo shop's methods: the UK, the EU and the rest of the world, one
/// of each kind. Skipped when any method exists.
pub fn seed_demo(conn: &mut DbConn, currency: Currency) -> QueryResult<usize> {
    let existing: i64 = m::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(0);
    }
    let money = |major: i64| Money::from_minor(major * 10i64.pow(currency.exponent()), currency);
    let eu = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE";
    let methods = [
        (
            NewMethod {
                name: "UK standard",
                description: "2–3 working days.",
                kind: ShippingKind::Flat,
                price: money(4),
                free_over: Some(money(50)),
                countries: "GB",
                position: 0,
            },
            Vec::new(),
        ),
        (
            NewMethod {
                name: "UK next day",
                description: "Order by 3 pm on a working day.",
                kind: ShippingKind::Flat,
                price: money(9),
                free_over: None,
                countries: "GB",
                position: 1,
            },
            Vec::new(),
        ),
        (
            NewMethod {
                name: "Europe tracked",
                description: "3–6 working days, priced by weight.",
                kind: ShippingKind::Weight,
                price: money(0),
                free_over: Some(money(150)),
                countries: eu,
                position: 2,
            },
            vec![
                (1_000, money(8).minor()),
                (5_000, money(15).minor()),
                (20_000, money(29).minor()),
                (100_000, money(59).minor()),
            ],
        ),
        (
            NewMethod {
                name: "Worldwide",
                description: "5–12 working days, priced by weight.",
                kind: ShippingKind::Weight,
                price: money(0),
                free_over: None,
                countries: "",
                position: 3,
            },
            vec![
                (1_000, money(15).minor()),
                (5_000, money(29).minor()),
                (20_000, money(59).minor()),
                (100_000, money(119).minor()),
            ],
        ),
    ];
    for (method, bands) in &methods {
        create(conn, method, bands)?;
    }
    Ok(methods.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(
        kind: ShippingKind,
        price: i64,
        free_over: Option<i64>,
        countries: &str,
    ) -> ShippingMethod {
        ShippingMethod {
            id: 7,
            name: "Post".into(),
            description: String::new(),
            kind,
            price_minor: price,
            free_over_minor: free_over,
            countries: countries.into(),
            is_active: true,
            position: 0,
            created_at: Default::default(),
            updated_at: Default::default(),
        }
    }

    fn parcel(country: &str, subtotal: i64, grams: i64) -> Parcel<'_> {
        Parcel {
            country,
            subtotal: Money::from_minor(subtotal, Currency::Usd),
            weight_grams: grams,
        }
    }

    #[test]
    fn a_flat_rate_serves_its_countries_and_is_free_over_its_threshold() {
        let m = method(ShippingKind::Flat, 450, Some(5000), "GB IE");
        assert_eq!(
            m.quote(&[], &parcel("GB", 4999, 0)).unwrap().price.minor(),
            450
        );
        assert_eq!(
            m.quote(&[], &parcel("IE", 5000, 0)).unwrap().price.minor(),
            0
        );
        assert!(m.quote(&[], &parcel("FR", 100, 0)).is_none());
        let everywhere = method(ShippingKind::Flat, 100, None, "");
        assert!(everywhere.quote(&[], &parcel("JP", 1, 0)).is_some());
        let mut off = everywhere.clone();
        off.is_active = false;
        assert!(off.quote(&[], &parcel("JP", 1, 0)).is_none());
    }

    #[test]
    fn a_weight_method_charges_the_lightest_band_that_fits() {
        let m = method(ShippingKind::Weight, 0, None, "");
        let bands = [
            Band {
                method_id: 7,
                max_weight_grams: 5000,
                price_minor: 1500,
            },
            Band {
                method_id: 7,
                max_weight_grams: 1000,
                price_minor: 800,
            },
            Band {
                method_id: 8,
                max_weight_grams: 2000,
                price_minor: 1,
            },
        ];
        let price = |g| {
            m.quote(&bands, &parcel("DE", 100, g))
                .map(|q| q.price.minor())
        };
        assert_eq!(price(0), Some(800));
        assert_eq!(price(1000), Some(800));
        assert_eq!(price(1001), Some(1500), "another method's band is not used");
        assert_eq!(price(5001), None, "heavier than every band");
    }

    #[test]
    fn countries_are_validated_codes() {
        assert_eq!(parse_countries("gb, IE  fr"), Ok(vec!["GB", "IE", "FR"]));
        assert_eq!(parse_countries(""), Ok(vec![]));
        assert_eq!(
            parse_countries("GB XX Narnia"),
            Err(vec!["XX".into(), "Narnia".into()])
        );
    }
}

//! What a listing asks for, parsed from the query string once.

use serde::Serialize;
use site_core::AppError;

/// How a listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    #[default]
    Newest,
    PriceLow,
    PriceHigh,
    Name,
    /// A search's best matches first (the default for searches).
    Relevance,
}

impl SortOrder {
    pub const ALL: [(SortOrder, &'static str, &'static str); 5] = [
        (SortOrder::Relevance, "relevance", "Best match"),
        (SortOrder::Newest, "newest", "Newest first"),
        (SortOrder::PriceLow, "price", "Price: low to high"),
        (SortOrder::PriceHigh, "-price", "Price: high to low"),
        (SortOrder::Name, "name", "Name"),
    ];

    pub fn parse(raw: Option<&str>) -> Result<SortOrder, AppError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(SortOrder::Newest),
            Some(s) => SortOrder::ALL
                .iter()
                .find(|(_, key, _)| *key == s)
                .map(|(o, _, _)| *o)
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "Unknown sort order {s:?}: use relevance, newest, price, -price or name."
                    ))
                }),
        }
    }

    pub fn key(self) -> &'static str {
        SortOrder::ALL
            .iter()
            .find(|(o, _, _)| *o == self)
            .map(|(_, k, _)| *k)
            .unwrap_or("newest")
    }
}

/// Search text: trimmed, at most 100 characters, none for blank.
pub fn parse_query(raw: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(q) = raw.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if q.chars().count() > 100 {
        return Err(AppError::BadRequest(
            "Search for at most 100 characters.".into(),
        ));
    }
    Ok(Some(q.to_string()))
}

/// `in_stock=1` (or on/true) shows only what can be bought now.
pub fn parse_flag(name: &str, raw: Option<&str>) -> Result<bool, AppError> {
    match raw.map(str::trim) {
        None | Some("") | Some("0") | Some("false") | Some("off") => Ok(false),
        Some("1") | Some("true") | Some("on") => Ok(true),
        Some(other) => Err(AppError::BadRequest(format!(
            "{name}={other:?} is not valid: use 1 or 0."
        ))),
    }
}

/// A price bound from the query string (`min_price=25`, `max_price=49.99`)
/// in minor units of `currency`; empty is no bound.
pub fn parse_price(
    name: &str,
    raw: Option<&str>,
    currency: site_core::money::Currency,
) -> Result<Option<i64>, AppError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    // `Money::parse` refuses negative, too precise and too large amounts.
    let money =
        site_core::money::Money::parse(raw.trim_start_matches('$'), currency).map_err(|_| {
            AppError::BadRequest(format!(
                "{name}={raw:?} is not a price: use an amount such as 25 or 19.99."
            ))
        })?;
    Ok(Some(money.minor()))
}

/// Counts and searches stop at this many rows: a search with fewer
/// matches pages through them; an unfiltered catalogue larger than this
/// shows an estimate ("about 1,000,000 products").
pub const COUNT_CAP: i64 = 10_000;

impl Listing {
    /// No category, stock filter or search: the whole catalogue.
    pub fn is_everything(&self) -> bool {
        self.category_id.is_none() && !self.in_stock_only && self.query.is_none() && !self.priced()
    }

    /// What names this listing's parts in the catalogue cache:
    /// everything that chooses its products and their order.
    pub fn cache_key(&self) -> String {
        format!(
            "{:?}|{:?}|{}|{}|{:?}|{:?}|{}|{:?}",
            self.query,
            self.category_id,
            self.in_stock_only,
            self.with_variants,
            self.min_price,
            self.max_price,
            self.sort.key(),
            self.options,
        )
    }

    /// Narrowed by price or attribute values (counted afresh, not
    /// cached).
    pub fn priced(&self) -> bool {
        self.min_price.is_some() || self.max_price.is_some() || !self.options.is_empty()
    }
}

/// A listing request: what to show, in which order.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub query: Option<String>,
    /// Search words match as word beginnings too (when whole words found
    /// nothing).
    pub prefix: bool,
    /// The search's matches, already found: page through these rather
    /// than searching again.
    pub only: Option<std::sync::Arc<Vec<i64>>>,
    /// The category shown (the cache's key for its count).
    pub category_id: Option<i64>,
    /// That category and every one below it: whose products it lists.
    pub within: Vec<i64>,
    pub in_stock_only: bool,
    /// Price bounds, inclusive, in minor units.
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub sort: SortOrder,
    /// Attribute values asked for (`colour=black&size=42&size=43`): the
    /// attribute's name as stored, and its wanted values, lowercase. A
    /// product matches when an active variant has one of each attribute's
    /// values.
    pub options: Vec<(String, Vec<String>)>,
    /// Only products with variants (what attribute values can match):
    /// the base a narrowed list's facets are counted from.
    pub with_variants: bool,
    /// More than the count cap match its price bounds or its search: its
    /// page is found faster along its sort's index, testing each row,
    /// than by reading every match (through the price index, or the
    /// search's) and sorting them. SQLite, whose plans do not weigh bound
    /// values, is told so.
    pub dense: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_orders_parse_or_say_why_not() {
        assert_eq!(SortOrder::parse(None).unwrap(), SortOrder::Newest);
        assert_eq!(
            SortOrder::parse(Some("-price")).unwrap(),
            SortOrder::PriceHigh
        );
        assert!(matches!(
            SortOrder::parse(Some("drop table")),
            Err(AppError::BadRequest(_))
        ));
        for (o, k, _) in SortOrder::ALL {
            assert_eq!(o.key(), k);
        }
    }

    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(parse_query(Some("   ")).unwrap(), None);
        assert!(parse_query(Some(&"x".repeat(101))).is_err());
    }

    #[test]
    fn flags() {
        assert!(parse_flag("in_stock", Some("1")).unwrap());
        assert!(!parse_flag("in_stock", None).unwrap());
        assert!(parse_flag("in_stock", Some("yes please")).is_err());
    }
}

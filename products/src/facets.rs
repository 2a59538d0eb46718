//! Facets: what a listing can be narrowed by (category, price band, stock,
//! attribute values), and how many of its products each choice leaves.
//!
//! Counted from the listing's ids, so only for listings of at most
//! `COUNT_CAP` products (a search, a category, a narrowed list); a bigger
//! one shows its choices without counts rather than count a million rows
//! per page. An attribute's (and the price's) own choices are counted
//! without that attribute's (price's) filter, so choosing a second size
//! shows how many it adds, not how many have both.

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;
use site_core::db::search::Dialect;
use site_core::db::{param, DbConn, IdList};
use site_core::schema::{products_attribute as a, products_attribute_value as av};
use site_core::Currency;

use crate::domain::{Listing, COUNT_CAP};

/// Price bands, in steps of [`band_unit`]: [low, high).
pub const BANDS: [(i64, Option<i64>); 5] = [
    (0, Some(25)),
    (25, Some(50)),
    (50, Some(100)),
    (100, Some(200)),
    (200, None),
];

/// Minor units in one step of [`BANDS`]: a whole unit of most currencies
/// ($25, €50, …), a hundred yen (¥2,500, ¥5,000, …), so the bands fit
/// what things cost in the shop's currency rather than its smallest coin.
pub fn band_unit(currency: Currency) -> i64 {
    let whole = 10_i64.pow(currency.exponent());
    match currency {
        Currency::Jpy => whole * 100,
        Currency::Usd | Currency::Eur | Currency::Gbp | Currency::Chf => whole,
    }
}

/// A band's bounds as `min_price`/`max_price` would hold them (minor
/// units, inclusive): $25 to $49.99.
pub fn band_bounds(band: (i64, Option<i64>), unit: i64) -> (Option<i64>, Option<i64>) {
    let (low, high) = band;
    ((low > 0).then_some(low * unit), high.map(|h| h * unit - 1))
}

/// What the listing's products are, counted.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Category id -> products.
    pub categories: BTreeMap<i64, i64>,
    /// Products per band of [`BANDS`].
    pub bands: [i64; BANDS.len()],
    pub in_stock: i64,
}

/// Counts a listing's products (id, category, price, stock) by
/// category, price band and stock.
pub fn count(rows: &[(i64, i64, i64, i64)], unit: i64) -> Counts {
    let mut counts = Counts::default();
    for &(_, category, price, stock) in rows {
        *counts.categories.entry(category).or_default() += 1;
        if let Some(band) = BANDS.iter().position(|b| {
            let (low, high) = band_bounds(*b, unit);
            low.is_none_or(|l| price >= l) && high.is_none_or(|h| price <= h)
        }) {
            counts.bands[band] += 1;
        }
        if stock > 0 {
            counts.in_stock += 1;
        }
    }
    counts
}

/// Attribute name -> [(value, how many products have it, when counted)].
pub type Values = BTreeMap<String, Vec<(String, Option<i64>)>>;

/// Attribute values among the active variants of `parents`, with how many
/// of those products have each: attribute name -> [(value, products)], in
/// the order shoppers expect (numbers as numbers). `only`: just these
/// attributes.
pub fn options(conn: &mut DbConn, parents: &[i64], only: Option<&str>) -> QueryResult<Values> {
    // Raw SQL: diesel's GROUP BY over two joined tables and a DISTINCT
    // count do not type-check.
    let dialect = Dialect::of(conn);
    let ids = IdList::new(dialect, 1, parents);
    let named = match only {
        Some(_) => format!(" AND a.name = {}", param(dialect, 2)),
        None => String::new(),
    };
    let query = diesel::sql_query(format!(
        "SELECT a.name AS name, v.value AS value, \
         COUNT(DISTINCT c.parent_id) AS n FROM products_product c \
         JOIN products_attribute_value v ON v.product_id = c.id \
         JOIN products_attribute a ON a.id = v.attribute_id \
         WHERE c.is_active AND c.parent_id {}{named} GROUP BY a.name, v.value",
        ids.sql
    ))
    .bind::<diesel::sql_types::Text, _>(ids.bound);
    let rows: Vec<OptionCount> = match only {
        Some(name) => query.bind::<diesel::sql_types::Text, _>(name).load(conn)?,
        None => query.load(conn)?,
    };
    Ok(gather(
        rows.into_iter().map(|r| (r.name, r.value, Some(r.n))),
    ))
}

/// Attribute -> [(value, count)]: values differing only in case are one
/// choice (their counts added), in the order shoppers expect.
fn gather(rows: impl Iterator<Item = (String, String, Option<i64>)>) -> Values {
    let mut out = Values::new();
    for (name, value, n) in rows {
        let values = out.entry(name).or_default();
        match values
            .iter_mut()
            .find(|(v, _)| v.to_lowercase() == value.to_lowercase())
        {
            Some((_, m)) => *m = m.zip(n).map(|(a, b)| a + b),
            None => values.push((value, n)),
        }
    }
    for values in out.values_mut() {
        values.sort_by(|(x, _), (y, _)| {
            natural(x)
                .partial_cmp(&natural(y))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    out
}

/// What a listing's facets show, counted where the listing is small
/// enough (see `facets`).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Found {
    pub counts: Option<Counts>,
    /// Price bands counted without the price filter.
    pub bands: Option<[i64; BANDS.len()]>,
    /// Attribute -> values, with counts when counted.
    pub options: Values,
    pub counted: bool,
}

pub fn found(
    conn: &mut DbConn,
    listing: &Listing,
    n: i64,
    uncounted: bool,
    unit: i64,
) -> QueryResult<Found> {
    if n == 0 {
        return Ok(Found::default());
    }
    if uncounted || n > COUNT_CAP {
        return Ok(Found {
            options: all_options(conn)?,
            ..Found::default()
        });
    }
    use crate::models::Product;
    let cap = COUNT_CAP;
    if !listing.options.is_empty() {
        if let Some(found) = narrowed(conn, listing, unit)? {
            return Ok(found);
        }
    }
    // One query for the counts and the ids (a search's are known: its
    // listing filters by them).
    let rows = Product::listing_facts(conn, listing, cap)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut counts = count(&rows, unit);
    if !listing.options.is_empty() && !listing.in_stock_only {
        // "In stock only" with attribute values asks that a variant with
        // those values be in stock, not the product as a whole (a shoe in
        // stock in 40 is not in stock in 42): counted as it filters.
        let mut stocked = listing.clone();
        // Matched again: the listing's ids say nothing of variants' stock.
        (stocked.in_stock_only, stocked.only) = (true, None);
        counts.in_stock = Product::listing_ids(conn, &stocked, cap)?.len() as i64;
    }
    // The price's own choices, counted without it (unless that listing
    // is too big to count: no counts rather than a part's).
    let bands = if listing.min_price.is_some() || listing.max_price.is_some() {
        let mut wide = listing.clone();
        (wide.min_price, wide.max_price, wide.only) = (None, None, None);
        let rows = Product::listing_facts(conn, &wide, cap + 1)?;
        (rows.len() as i64 <= cap).then(|| count(&rows, unit).bands)
    } else {
        Some(counts.bands)
    };
    let mut values = options(conn, &ids, None)?;
    // Every value there is, read once if a chosen attribute needs them.
    let mut everything: Option<Values> = None;
    // A chosen attribute's values, counted without it.
    for (name, _) in &listing.options {
        let mut wide = listing.clone();
        wide.options.retain(|(n, _)| n != name);
        wide.only = None;
        let ids = Product::listing_ids(conn, &wide, cap + 1)?;
        if ids.len() as i64 > cap {
            // Too many to count: the values without counts.
            let all = match &mut everything {
                Some(all) => all,
                None => everything.insert(all_options(conn)?),
            };
            values.insert(name.clone(), all.get(name).cloned().unwrap_or_default());
            continue;
        }
        let mine = options(conn, &ids, Some(name))?;
        values.insert(name.clone(), mine.get(name).cloned().unwrap_or_default());
    }
    Ok(Found {
        counts: Some(counts),
        bands,
        options: values,
        counted: true,
    })
}

/// The facets of a listing narrowed by attribute values, worked out from
/// one read of its base's variants (the base: the products of the same
/// listing that have variants, without those values and without its
/// price bounds; only they can match). From that read come which
/// products match, which of them have a chosen variant in stock, each
/// chosen attribute's values counted without it, and the price bands
/// counted without the price: two queries (beside the listing's own
/// count) however many attributes are chosen, where matching the values
/// again in the database cost two queries per chosen attribute and one
/// more each for the stock and the price. `None`: the base has more products than the cap, or they have
/// more variant values than [`VARIANT_VALUES`], so the database matches
/// (and a chosen attribute's values may go uncounted).
fn narrowed(conn: &mut DbConn, listing: &Listing, unit: i64) -> QueryResult<Option<Found>> {
    use crate::models::Product;
    let mut base = listing.clone();
    (base.options, base.only) = (Vec::new(), None);
    (base.min_price, base.max_price) = (None, None);
    base.with_variants = true;
    let rows = Product::listing_facts(conn, &base, COUNT_CAP + 1)?;
    if rows.len() as i64 > COUNT_CAP {
        return Ok(None);
    }
    let parents: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let Some(variants) = variants_of(conn, &parents, false)? else {
        return Ok(None);
    };
    let wanted = folded(Dialect::of(conn), &listing.options);
    // The products with a variant that has a wanted value of every asked
    // attribute but `skip`, and at least `stock` of it.
    let having = |skip: Option<usize>, stock: i64| -> HashSet<i64> {
        variants
            .iter()
            .filter(|v| v.stock >= stock && v.fits(&wanted, skip))
            .map(|v| v.parent)
            .collect()
    };
    let within = |price: i64| {
        listing.min_price.is_none_or(|m| price >= m) && listing.max_price.is_none_or(|m| price <= m)
    };
    let stock = i64::from(listing.in_stock_only);
    let matched = having(None, stock);
    let any_price: Vec<_> = rows
        .iter()
        .filter(|r| matched.contains(&r.0))
        .copied()
        .collect();
    let mine: Vec<_> = any_price.iter().filter(|r| within(r.2)).copied().collect();
    let mut counts = count(&mine, unit);
    if !listing.in_stock_only {
        // "In stock only" counts what ticking it would list: a chosen
        // variant in stock (a shoe in stock in 40 is not in stock in 42).
        let stocked = having(None, 1);
        counts.in_stock = mine
            .iter()
            .filter(|r| r.3 > 0 && stocked.contains(&r.0))
            .count() as i64;
    }
    let bands = count(&any_price, unit).bands;
    let listed: HashSet<i64> = mine.iter().map(|r| r.0).collect();
    let mut values = tally(&variants, &listed, None);
    let in_price: HashSet<i64> = rows.iter().filter(|r| within(r.2)).map(|r| r.0).collect();
    for (i, (name, _)) in listing.options.iter().enumerate() {
        // A chosen attribute's values, counted without it.
        let wide: HashSet<i64> = having(Some(i), stock)
            .intersection(&in_price)
            .copied()
            .collect();
        let theirs = tally(&variants, &wide, Some(name));
        values.insert(name.clone(), theirs.get(name).cloned().unwrap_or_default());
    }
    Ok(Some(Found {
        counts: Some(counts),
        bands: Some(bands),
        options: values,
        counted: true,
    }))
}

/// How many attribute values [`narrowed`] reads at most: 2,500 of the
/// demo's shoes (12 variants of two values each), 1,000 shoes in 15
/// sizes and 2 colours. Past it the database matches per facet, as for a
/// base over the count cap, after this many rows were read for nothing.
pub const VARIANT_VALUES: i64 = 60_000;

/// An active variant: whose it is, its stock, its (attribute, value)
/// pairs, as stored and lowercased, and its own main picture's card.
struct Variant {
    parent: i64,
    stock: i64,
    values: Vec<(String, String)>,
    folded: Vec<(String, String)>,
    picture: Option<String>,
}

impl Variant {
    /// Has a wanted value of every attribute asked but `skip` (`wanted`
    /// as [`folded`] gives it).
    fn fits(&self, wanted: &[(String, Vec<String>)], skip: Option<usize>) -> bool {
        wanted.iter().enumerate().all(|(i, (name, values))| {
            Some(i) == skip
                || self
                    .folded
                    .iter()
                    .any(|(n, value)| n == name && values.contains(value))
        })
    }
}

/// Asked attribute values lowercased, to match as the database does:
/// names and values whatever their case.
fn folded(dialect: Dialect, options: &[(String, Vec<String>)]) -> Vec<(String, Vec<String>)> {
    options
        .iter()
        .map(|(name, values)| {
            let values = values.iter().map(|v| fold(dialect, v)).collect();
            (fold(dialect, name), values)
        })
        .collect()
}

/// Lowercase as the database's `lower()` (which the filter compares
/// with): SQLite's knows only ASCII letters ("É" stays), PostgreSQL's
/// (in a UTF-8 database) every letter.
fn fold(dialect: Dialect, text: &str) -> String {
    match dialect {
        Dialect::Sqlite => text.to_ascii_lowercase(),
        Dialect::Postgres => text.to_lowercase(),
    }
}

/// The picture a card of a list narrowed by attribute values shows, by
/// product: the black shoe's when black is asked for. It is the main
/// picture of the product's first matching variant that has pictures of
/// its own, one in stock before one sold out. A product whose matching
/// variants have none keeps its own picture (not in the map).
pub fn chosen_pictures(
    conn: &mut DbConn,
    parents: &[i64],
    options: &[(String, Vec<String>)],
) -> QueryResult<HashMap<i64, String>> {
    let mut out = HashMap::new();
    if options.is_empty() || parents.is_empty() {
        return Ok(out);
    }
    let wanted = folded(Dialect::of(conn), options);
    let variants = variants_of(conn, parents, true)?.unwrap_or_default();
    let mut fitting: Vec<&Variant> = variants
        .iter()
        .filter(|v| v.picture.is_some() && v.fits(&wanted, None))
        .collect();
    // Read in id order; in stock first, keeping that order otherwise.
    fitting.sort_by_key(|v| v.stock <= 0);
    for v in fitting {
        if let Some(picture) = &v.picture {
            out.entry(v.parent).or_insert_with(|| picture.clone());
        }
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct VariantValue {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    parent: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    stock: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    picture: Option<String>,
}

/// The active variants of `parents` with their values, in one query
/// (with `pictures`, only those with a main picture of their own, and
/// that picture's card); `None` past [`VARIANT_VALUES`] values.
fn variants_of(
    conn: &mut DbConn,
    parents: &[i64],
    pictures: bool,
) -> QueryResult<Option<Vec<Variant>>> {
    let (picture, join) = if pictures {
        (
            "i.card_path",
            " JOIN products_image i ON i.product_id = c.id AND i.is_main",
        )
    } else {
        ("CAST(NULL AS TEXT)", "")
    };
    let select = format!(
        "SELECT c.id AS id, c.parent_id AS parent, c.stock AS stock, \
         a.name AS name, v.value AS value, {picture} AS picture FROM products_product c{join} \
         JOIN products_attribute_value v ON v.product_id = c.id \
         JOIN products_attribute a ON a.id = v.attribute_id WHERE c.is_active AND "
    );
    let dialect = Dialect::of(conn);
    let ids = IdList::new(dialect, 1, parents);
    let rows: Vec<VariantValue> = diesel::sql_query(format!(
        "{select}c.parent_id {} ORDER BY c.id LIMIT {}",
        ids.sql,
        param(dialect, 2)
    ))
    .bind::<diesel::sql_types::Text, _>(ids.bound)
    .bind::<diesel::sql_types::BigInt, _>(VARIANT_VALUES + 1)
    .load(conn)?;
    if rows.len() as i64 > VARIANT_VALUES {
        return Ok(None);
    }
    let mut variants: Vec<Variant> = Vec::new();
    let mut last = None;
    for r in rows {
        if last != Some(r.id) {
            last = Some(r.id);
            variants.push(Variant {
                parent: r.parent,
                stock: r.stock,
                values: Vec::new(),
                folded: Vec::new(),
                picture: r.picture.clone(),
            });
        }
        if let Some(v) = variants.last_mut() {
            v.folded
                .push((fold(dialect, &r.name), fold(dialect, &r.value)));
            v.values.push((r.name, r.value));
        }
    }
    Ok(Some(variants))
}

/// Attribute values among the variants of `parents`, with how many of
/// those products have each (as [`options`] counts them); `only`: just
/// that attribute.
fn tally(variants: &[Variant], parents: &HashSet<i64>, only: Option<&str>) -> Values {
    let mut having: BTreeMap<(&str, &str), HashSet<i64>> = BTreeMap::new();
    for v in variants.iter().filter(|v| parents.contains(&v.parent)) {
        for (name, value) in &v.values {
            if only.is_none_or(|o| o == name) {
                having.entry((name, value)).or_default().insert(v.parent);
            }
        }
    }
    gather(
        having.into_iter().map(|((name, value), ids)| {
            (name.to_string(), value.to_string(), Some(ids.len() as i64))
        }),
    )
}

#[derive(QueryableByName)]
struct OptionCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Every attribute name and value there is, without counts (for a listing
/// too big to count), from the value index.
pub fn all_options(conn: &mut DbConn) -> QueryResult<Values> {
    let rows: Vec<(String, String)> = av::table
        .inner_join(a::table)
        .select((a::name, av::value))
        .distinct()
        .load(conn)?;
    Ok(gather(
        rows.into_iter().map(|(name, value)| (name, value, None)),
    ))
}

/// Numbers before words, numbers by value ("9" before "10").
pub fn natural(value: &str) -> (u8, f64, String) {
    value
        .parse::<f64>()
        .map_or((1, 0.0, value.to_lowercase()), |n| (0, n, String::new()))
}

/// An attribute's name as it appears in URLs: "Strap colour" is
/// `strap-colour`.
pub fn slug(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// The attribute names there are (to recognise them among a URL's
/// parameters).
pub fn attribute_names(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    a::table.select(a::name).distinct().load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_fit_the_currency() {
        // $25 is 2,500 cents; in yen the first band ends at ¥2,500, not ¥25.
        assert_eq!(
            band_bounds(BANDS[0], band_unit(Currency::Usd)),
            (None, Some(2499))
        );
        assert_eq!(
            band_bounds(BANDS[0], band_unit(Currency::Jpy)),
            (None, Some(2499))
        );
        assert_eq!(
            band_bounds(BANDS[4], band_unit(Currency::Jpy)),
            (Some(20_000), None)
        );
        assert_eq!(band_unit(Currency::Eur), 100);
    }

    #[test]
    fn bands_are_inclusive_bounds_in_minor_units() {
        assert_eq!(band_bounds(BANDS[0], 100), (None, Some(2499)));
        assert_eq!(band_bounds(BANDS[1], 100), (Some(2500), Some(4999)));
        assert_eq!(band_bounds(BANDS[4], 100), (Some(20000), None));
    }

    #[test]
    fn sizes_sort_as_numbers_and_names_as_words() {
        let mut v = vec!["10", "9", "Black", "42.5", "amber"];
        v.sort_by(|x, y| natural(x).partial_cmp(&natural(y)).unwrap());
        assert_eq!(v, vec!["9", "10", "42.5", "amber", "Black"]);
        assert_eq!(slug("Strap  Colour"), "strap-colour");
    }
}

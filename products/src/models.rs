//! Categories and products: the plain values, and the queries that use them.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;
use site_core::db::search::Dialect;
use site_core::db::{param, DbConn, IdList, MultiBackend};
use site_core::money::{Currency, Money};
use site_core::schema::{products_category as c, products_product as p};

use crate::domain::{Listing, SortOrder, COUNT_CAP};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, serde::Deserialize)]
#[diesel(table_name = c)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub parent_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = p)]
pub struct Product {
    pub id: i64,
    pub category_id: i64,
    pub name: String,
    pub slug: String,
    pub sku: String,
    pub description: String,
    pub price_minor: i64,
    pub currency: String,
    pub stock: i64,
    pub is_active: bool,
    pub image: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Shipping weight; 0 when not known.
    pub weight_grams: i64,
    /// Shown reviews: how many, and the sum of their stars.
    pub rating_count: i64,
    pub rating_sum: i64,
    /// The product this is a variant of.
    pub parent_id: Option<i64>,
    pub product_type_id: Option<i64>,
    /// A parent: chosen among its variants, never put in a cart itself.
    pub has_variants: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = c)]
pub struct NewCategory<'a> {
    pub name: &'a str,
    pub slug: &'a str,
    pub description: &'a str,
    pub parent_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = p)]
pub struct NewProduct<'a> {
    pub category_id: i64,
    pub name: &'a str,
    pub slug: &'a str,
    pub sku: &'a str,
    pub description: &'a str,
    pub price_minor: i64,
    pub currency: &'a str,
    pub stock: i64,
    pub is_active: bool,
    pub image: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub weight_grams: i64,
    /// More words to find it by (see `search`): `Product::insert` fills
    /// them in itself.
    pub search_terms: &'a str,
}

/// Applies a listing's filters (all on product columns) to a boxed query;
/// a search goes through the full-text index (`site_core::db::search`).
macro_rules! filter_listing {
    ($query:expr, $listing:expr, $dialect:expr) => {{
        let l: &Listing = $listing;
        // Variants are chosen on their parent's page, never listed.
        let mut q = $query
            .filter(p::is_active.eq(true))
            .filter(p::parent_id.is_null());
        match (l.within.as_slice(), l.category_id) {
            ([], Some(cat)) | (&[cat], _) => q = q.filter(p::category_id.eq(cat)),
            ([], None) => {}
            (all, _) => q = q.filter(p::category_id.eq_any(all.to_vec())),
        }
        if l.in_stock_only {
            q = q.filter(p::stock.gt(0));
        }
        if l.with_variants {
            // As its partial index names it, not a bound value (which
            // neither database matches to that index).
            q = q.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "products_product.has_variants",
            ));
        }
        // `+price_minor` keeps SQLite off the price index (see `dense`).
        let hinted = l.dense
            && $dialect == Dialect::Sqlite
            && !matches!(l.sort, SortOrder::PriceLow | SortOrder::PriceHigh);
        for (bound, at_least) in [(l.min_price, true), (l.max_price, false)] {
            let Some(bound) = bound else { continue };
            q = match (hinted, at_least) {
                (false, true) => q.filter(p::price_minor.ge(bound)),
                (false, false) => q.filter(p::price_minor.le(bound)),
                (true, _) => q.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(if at_least {
                        "+products_product.price_minor >= "
                    } else {
                        "+products_product.price_minor <= "
                    })
                    .bind::<diesel::sql_types::BigInt, _>(bound),
                ),
            };
        }
        // Found once already (`Listing::only` holds what matched them).
        if !l.options.is_empty() && l.only.is_none() {
            // One variant must have a wanted value of every attribute asked
            // (size 42 *and* black, not a 42 in white and a 40 in black),
            // and be in stock when only what is in stock is listed. The
            // wanted (attribute, value) pairs travel as one JSON array of
            // {"n", "v"}; both sides are lowercased by the database, alike,
            // and each pair is looked up in the (attribute, lower(value))
            // index rather than tested against every value there is.
            let pairs: Vec<serde_json::Value> = l
                .options
                .iter()
                .flat_map(|(name, values)| {
                    values
                        .iter()
                        .map(move |v| serde_json::json!({ "n": name, "v": v }))
                })
                .collect();
            // The values are matched to variants first (their ids grouped
            // straight from the value index, each variant having one
            // value per attribute), and only the variants with all of
            // them are read, not every variant with any (half the time on
            // both databases). SQLite is told the join order (its CROSS
            // JOIN): left to choose, it walked every variant.
            let (wanted, close, join) = match $dialect {
                Dialect::Sqlite => (
                    "(SELECT DISTINCT lower(json_extract(value, '$.n')) AS n, \
                     lower(json_extract(value, '$.v')) AS v FROM json_each(",
                    ")) w",
                    " CROSS JOIN ",
                ),
                Dialect::Postgres => (
                    "(SELECT DISTINCT lower(x.n) AS n, lower(x.v) AS v \
                     FROM jsonb_to_recordset(CAST(",
                    " AS jsonb)) AS x(n text, v text)) w",
                    " JOIN ",
                ),
            };
            q = q.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "products_product.id IN (SELECT c.parent_id FROM (SELECT v.product_id FROM ",
                )
                .sql(wanted)
                .bind::<diesel::sql_types::Text, _>(
                    serde_json::to_string(&pairs).unwrap_or_default(),
                )
                .sql(close)
                .sql(join)
                .sql("products_attribute a ON lower(a.name) = w.n")
                .sql(join)
                .sql(
                    "products_attribute_value v ON v.attribute_id = a.id \
                     AND lower(v.value) = w.v",
                )
                // A variant has them all when its matches cover every
                // attribute asked.
                .sql(" GROUP BY v.product_id HAVING COUNT(DISTINCT w.n) = ")
                .bind::<diesel::sql_types::BigInt, _>(l.options.len() as i64)
                .sql(") m")
                .sql(join)
                .sql(
                    "products_product c ON c.id = m.product_id \
                     WHERE c.parent_id IS NOT NULL AND c.is_active AND c.stock >= ",
                )
                .bind::<diesel::sql_types::BigInt, _>(i64::from(l.in_stock_only))
                .sql(")"),
            );
        }
        if let Some(ids) = &l.only {
            q = q.filter(p::id.eq_any(ids.to_vec()));
        } else if let Some(text) = &l.query {
            let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
            let terms = site_core::db::search::terms(&words);
            q = site_core::text_search!(
                q,
                $dialect,
                &site_core::db::search::PRODUCTS,
                &terms,
                l.prefix,
                // Thousands of matches: along the sort's index (`dense`).
                l.dense
            );
        }
        q
    }};
}

/// What a product card shows: only the columns it needs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = p)]
pub struct CardRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub price_minor: i64,
    pub currency: String,
    pub stock: i64,
    pub image: String,
    pub rating_count: i64,
    pub rating_sum: i64,
    pub has_variants: bool,
}

impl CardRow {
    pub fn price(&self) -> Money {
        Money::from_minor(
            self.price_minor,
            Currency::parse(&self.currency).unwrap_or(Currency::Usd),
        )
    }
}

/// Orders a boxed listing query; `reversed`, from its last row back.
macro_rules! order_listing {
    ($query:expr, $sort:expr) => {
        order_listing!($query, $sort, false)
    };
    ($query:expr, $sort:expr, $reversed:expr) => {
        // Every order ends with the id, so reversed is exactly backwards.
        match ($sort, $reversed) {
            // Relevance orders a search's matches (`Listing::only`, in
            // rank order) in `listing_cards`; anything else, newest first.
            (SortOrder::Newest | SortOrder::Relevance, false) => {
                $query.order((p::created_at.desc(), p::id.desc()))
            }
            (SortOrder::Newest | SortOrder::Relevance, true) => {
                $query.order((p::created_at.asc(), p::id.asc()))
            }
            (SortOrder::PriceLow, false) | (SortOrder::PriceHigh, true) => {
                $query.order((p::price_minor.asc(), p::id.asc()))
            }
            (SortOrder::PriceHigh, false) | (SortOrder::PriceLow, true) => {
                $query.order((p::price_minor.desc(), p::id.desc()))
            }
            (SortOrder::Name, false) => $query.order((p::name.asc(), p::id.asc())),
            (SortOrder::Name, true) => $query.order((p::name.desc(), p::id.desc())),
        }
    };
}

/// Where a page's ids are read from: `(offset, reversed)`. Past the middle
/// of a listing of `total` rows, from its end backwards, so the last
/// page skips a few rows of the index rather than nearly all of them
/// (OFFSET walks every row it skips). `total` must be the listing's true
/// length (or its estimate, for the whole catalogue: its last page is
/// then its true last products); `None` when it is not known.
pub fn read_from(offset: i64, limit: i64, total: Option<i64>) -> (i64, bool) {
    match total {
        Some(total) if offset + limit <= total && total - offset - limit < offset => {
            (total - offset - limit, true)
        }
        _ => (offset, false),
    }
}

/// One page of a listing as cards, with each card's category name, in one
/// query. A deferred join: the page's ids come from the covering index
/// (skipping OFFSET rows there, not in the table), then only those rows are
/// read. MultiConnection cannot embed a boxed subquery, so the query is
/// built for the concrete backend of the connection.
///
/// `total` is the listing's length when known (see [`read_from`]).
pub fn listing_cards(
    conn: &mut DbConn,
    l: &Listing,
    offset: i64,
    limit: i64,
    total: Option<i64>,
) -> QueryResult<Vec<(CardRow, String)>> {
    let (skip, reversed) = read_from(offset, limit, total);
    macro_rules! cards_on {
        ($conn:expr, $backend:ty, $dialect:expr) => {{
            let ids = order_listing!(
                filter_listing!(p::table.into_boxed::<$backend>(), l, $dialect),
                l.sort,
                reversed
            )
            .select(p::id)
            .offset(skip)
            .limit(limit);
            cards_of!($conn, $backend, ids)
        }};
    }
    // The cards of a page's ids (a subquery, or a list), in its order.
    macro_rules! cards_of {
        ($conn:expr, $backend:ty, $ids:expr) => {{
            let rows = p::table
                .inner_join(c::table)
                .into_boxed::<$backend>()
                .filter(p::id.eq_any($ids));
            order_listing!(rows, l.sort)
                .select((CardRow::as_select(), c::name))
                .load($conn)
        }};
    }
    if let (SortOrder::Relevance, Some(ranked), Some(_)) = (l.sort, &l.only, &l.query) {
        // The page's ids are a slice of the ranked matches, in their order.
        let ids: Vec<i64> = ranked
            .iter()
            .skip(offset.max(0) as usize)
            .take(limit.max(0) as usize)
            .copied()
            .collect();
        let rows: Vec<(CardRow, String)> = p::table
            .inner_join(c::table)
            .filter(p::id.eq_any(&ids))
            .select((CardRow::as_select(), c::name))
            .load(conn)?;
        return Ok(site_core::admin::in_order_of(&ids, rows, |(r, _)| r.id));
    }
    match conn {
        DbConn::Sqlite(inner) => cards_on!(inner, diesel::sqlite::Sqlite, Dialect::Sqlite),
        DbConn::Postgres(inner) if dense_search_by_price(l) => {
            // Walk the price index that holds each product's words (only
            // it answers without reading the table: 9-20 ms for "lamp" at
            // a million products). Left to itself the planner takes the
            // plain price index, smaller but reading a table row for each
            // product walked (80 ms warm, 140 cold), counting those reads
            // as cheap because it takes the whole table to be in memory
            // (`effective_cache_size`). Told for this one query that
            // almost nothing is, it prices those reads as disk reads and
            // takes the covering index. (Turning plain index scans off
            // would not do: that turns off index-only scans too.) Plain
            // SET, not LOCAL: inside a transaction a failure rolls it back
            // with everything else; outside one it is reset right after.
            let ids = order_listing!(
                filter_listing!(
                    p::table.into_boxed::<diesel::pg::Pg>(),
                    l,
                    Dialect::Postgres
                ),
                l.sort,
                reversed
            )
            .select(p::id)
            .offset(skip)
            .limit(limit);
            inner.batch_execute("SET effective_cache_size = '1MB'")?;
            let ids: QueryResult<Vec<i64>> = ids.load(inner);
            // The query's own error first: in a failed transaction the
            // reset fails too (and the rollback undoes the SET anyway).
            let reset = inner.batch_execute("RESET effective_cache_size");
            let ids = ids?;
            reset?;
            cards_of!(inner, diesel::pg::Pg, ids)
        }
        DbConn::Postgres(inner) => cards_on!(inner, diesel::pg::Pg, Dialect::Postgres),
    }
}

/// A search of the whole catalogue with more matches than the cap, sorted
/// by price, narrowed by nothing but price bounds: its page is found by
/// walking the price order and testing each product's words, all in the
/// index that holds them. (A category or stock filter needs the table's
/// rows, which that index cannot give.)
fn dense_search_by_price(l: &Listing) -> bool {
    l.dense
        && l.query.is_some()
        && l.only.is_none()
        && l.category_id.is_none()
        && l.within.is_empty()
        && !l.in_stock_only
        && !l.with_variants
        && l.options.is_empty()
        && matches!(l.sort, SortOrder::PriceLow | SortOrder::PriceHigh)
}

/// The newest `n` active products as cards.
pub fn newest_cards(conn: &mut DbConn, n: i64) -> QueryResult<Vec<(CardRow, String)>> {
    listing_cards(conn, &Listing::default(), 0, n, None)
}

/// Stock at or below this shows "only N left".
pub const LOW_STOCK: i64 = 5;

impl Product {
    pub fn price(&self) -> Money {
        let currency = Currency::parse(&self.currency).unwrap_or(Currency::Usd);
        Money::from_minor(self.price_minor, currency)
    }

    pub fn in_stock(&self) -> bool {
        self.stock > 0
    }

    pub fn image_url(&self) -> Option<String> {
        (!self.image.is_empty()).then(|| format!("/media/{}", self.image))
    }

    /// What templates see of a product.
    pub fn view(&self, category: &Category) -> ProductView {
        ProductView {
            id: self.id,
            name: self.name.clone(),
            slug: self.slug.clone(),
            sku: self.sku.clone(),
            description: self.description.clone(),
            price: self.price(),
            stock: self.stock,
            in_stock: self.in_stock(),
            low_stock: self.in_stock() && self.stock <= LOW_STOCK,
            image_url: self.image_url(),
            category_name: category.name.clone(),
            category_slug: category.slug.clone(),
            rating: crate::reviews::Rating::of(self.rating_count, self.rating_sum),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProductView {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub sku: String,
    pub description: String,
    pub price: Money,
    pub stock: i64,
    pub in_stock: bool,
    pub low_stock: bool,
    pub image_url: Option<String>,
    pub category_name: String,
    pub category_slug: String,
    pub rating: Option<crate::reviews::Rating>,
}

impl Category {
    pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Category>> {
        c::table
            .order((c::name.asc(), c::id.asc()))
            .select(Category::as_select())
            .load(conn)
    }

    pub fn by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Category> {
        c::table
            .filter(c::slug.eq(slug))
            .select(Category::as_select())
            .first(conn)
    }

    pub fn insert(conn: &mut DbConn, new: &NewCategory<'_>) -> QueryResult<Category> {
        diesel::insert_into(c::table).values(new).execute(conn)?;
        Category::by_slug(conn, new.slug)
    }

    pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
        c::table.count().get_result(conn)
    }
}

impl Product {
    /// Counts without the join: every filter is on the product itself, so
    /// the count is an index scan of one table.
    pub fn listing_count(conn: &mut DbConn, l: &Listing) -> QueryResult<i64> {
        let dialect = Dialect::of(conn);
        filter_listing!(p::table.into_boxed::<MultiBackend>(), l, dialect)
            .count()
            .get_result(conn)
    }

    /// The ids of up to `cap` products of a listing, in any order.
    pub fn listing_ids(conn: &mut DbConn, l: &Listing, cap: i64) -> QueryResult<Vec<i64>> {
        let dialect = Dialect::of(conn);
        filter_listing!(p::table.into_boxed::<MultiBackend>(), l, dialect)
            .select(p::id)
            .limit(cap)
            .load(conn)
    }

    /// Up to `cap` products of a listing as (id, category, price, stock):
    /// what its facets count.
    pub fn listing_facts(
        conn: &mut DbConn,
        l: &Listing,
        cap: i64,
    ) -> QueryResult<Vec<(i64, i64, i64, i64)>> {
        let dialect = Dialect::of(conn);
        filter_listing!(p::table.into_boxed::<MultiBackend>(), l, dialect)
            .select((p::id, p::category_id, p::price_minor, p::stock))
            .limit(cap)
            .load(conn)
    }

    /// How many products a listing has, counting no further than the
    /// cap: past it, `over` (a filter no index answers alone, such as
    /// stock, would otherwise read every matching row). Within it, a
    /// listing narrowed by attribute values keeps its ids in
    /// `Listing::only`, so the page's cards and facets read those rather
    /// than match the values again (each match groups the variants with
    /// the asked values).
    pub fn capped_count(conn: &mut DbConn, l: &mut Listing) -> QueryResult<crate::cache::Count> {
        let ids = Product::listing_ids(conn, l, COUNT_CAP + 1)?;
        let n = ids.len() as i64;
        if n > COUNT_CAP {
            return Ok(crate::cache::Count::over_cap());
        }
        if !l.options.is_empty() && l.only.is_none() {
            l.only = Some(std::sync::Arc::new(ids));
        }
        Ok(crate::cache::Count::exact(n))
    }

    /// How many products the whole catalogue lists, and whether that is an
    /// estimate: counted up to the cap, estimated past it (counting a
    /// million rows on every page is what makes big shops slow).
    pub fn everything_count(conn: &mut DbConn, l: &Listing) -> QueryResult<(i64, bool)> {
        // One past the cap tells "exactly the cap" from "more".
        let n = Product::listing_ids(conn, l, COUNT_CAP + 1)?.len() as i64;
        if n <= COUNT_CAP {
            return Ok((n, false));
        }
        // The table's estimate counts variants too, which lists leave out
        // (counted from their own small index).
        let estimate = site_core::db::estimate_rows(conn, "products_product")?;
        let variants: i64 = p::table
            .filter(p::parent_id.is_not_null())
            .count()
            .get_result(conn)?;
        let listed = estimate.map(|e| e - variants);
        Ok((listed.unwrap_or(n).max(n), true))
    }

    /// Finds a search's matches once (whole words, else word beginnings);
    /// with fewer than the cap, the listing pages through them and their
    /// number is the count. `None`: too many to keep; count as usual.
    pub fn search_once(conn: &mut DbConn, l: &mut Listing) -> QueryResult<Option<i64>> {
        let mut ids = Product::listing_ids(conn, l, COUNT_CAP)?;
        if ids.is_empty() {
            l.prefix = true;
            ids = Product::listing_ids(conn, l, COUNT_CAP)?;
        }
        let n = ids.len() as i64;
        if n < COUNT_CAP {
            if l.sort == SortOrder::Relevance {
                let words: Vec<String> = l
                    .query
                    .as_deref()
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                let terms = site_core::db::search::terms(&words);
                ids = crate::search::rank(conn, &ids, &terms, l.prefix)?;
            }
            l.only = Some(std::sync::Arc::new(ids));
            Ok(Some(n))
        } else {
            Ok(None)
        }
    }

    /// An active product and its category; inactive ones are not found,
    /// nor the variants of an inactive product.
    ///
    /// Two plain queries rather than one with a correlated subquery: the
    /// raw SQL such a subquery needs cannot be a cached prepared statement,
    /// and re-preparing it was the product page's largest cost. The second
    /// query runs only for a variant.
    pub fn find_active(conn: &mut DbConn, id: i64) -> QueryResult<(Product, Category)> {
        let found: (Product, Category) = p::table
            .inner_join(c::table)
            .filter(p::id.eq(id))
            .filter(p::is_active.eq(true))
            .select((Product::as_select(), Category::as_select()))
            .first(conn)?;
        if let Some(parent) = found.0.parent_id {
            let on_sale: bool = p::table
                .filter(p::id.eq(parent))
                .select(p::is_active)
                .first(conn)?;
            if !on_sale {
                return Err(diesel::result::Error::NotFound);
            }
        }
        Ok(found)
    }

    /// Up to `n` other active products of the same category, newest first.
    pub fn related(conn: &mut DbConn, product: &Product, n: i64) -> QueryResult<Vec<CardRow>> {
        p::table
            .filter(p::category_id.eq(product.category_id))
            .filter(p::is_active.eq(true))
            .filter(p::parent_id.is_null())
            .filter(p::id.ne(product.id))
            .order((p::created_at.desc(), p::id.desc()))
            .limit(n)
            .select(CardRow::as_select())
            .load(conn)
    }

    /// The active products among `ids` (for a cart), in one query. A
    /// product that has gained variants since is not sold as itself.
    pub fn active_by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Product>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        p::table
            .filter(p::id.eq_any(ids))
            .filter(p::is_active.eq(true))
            .filter(p::has_variants.eq(false))
            .filter(parent_on_sale())
            .select(Product::as_select())
            .load(conn)
    }

    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Product> {
        p::table.find(id).select(Product::as_select()).first(conn)
    }

    pub fn by_sku(conn: &mut DbConn, sku: &str) -> QueryResult<Product> {
        p::table
            .filter(p::sku.eq(sku))
            .select(Product::as_select())
            .first(conn)
    }

    pub fn insert(conn: &mut DbConn, new: &NewProduct<'_>) -> QueryResult<Product> {
        diesel::insert_into(p::table).values(new).execute(conn)?;
        let product = Product::by_sku(conn, new.sku)?;
        crate::search::refresh_terms(conn, crate::search::Scope::Products(&[product.id]))?;
        Ok(product)
    }

    pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
        p::table.count().get_result(conn)
    }

    /// The currencies the catalogue is priced in.
    pub fn currencies(conn: &mut DbConn) -> QueryResult<Vec<String>> {
        p::table
            .select(p::currency)
            .distinct()
            .order(p::currency)
            .load(conn)
    }

    pub fn set_stock(conn: &mut DbConn, id: i64, stock: i64) -> QueryResult<usize> {
        diesel::update(p::table.find(id))
            .set((p::stock.eq(stock), p::updated_at.eq(site_core::now())))
            .execute(conn)
    }

    pub fn set_active(conn: &mut DbConn, id: i64, active: bool) -> QueryResult<usize> {
        diesel::update(p::table.find(id))
            .set((p::is_active.eq(active), p::updated_at.eq(site_core::now())))
            .execute(conn)
    }
}

/// Not a variant, or a variant of a product still on sale: taking a
/// product off sale takes its variants with it (from carts too).
fn parent_on_sale() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql(
        "(products_product.parent_id IS NULL OR EXISTS (SELECT 1 FROM products_product pp \
         WHERE pp.id = products_product.parent_id AND pp.is_active))",
    )
}

/// Takes `quantity` of a product out of stock, only if that much is there:
/// one conditional UPDATE, so concurrent buyers can never oversell (and the
/// CHECK constraint would refuse a negative stock anyway). Returns whether
/// the stock was taken. A parent (`has_variants`) is never taken from: its
/// stock is its variants'. Callers taking variants lock their parents
/// first and refresh them after ([`lock_parents`], [`refresh_parents`]).
pub fn reserve_stock(conn: &mut DbConn, product_id: i64, quantity: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        p::table
            .filter(p::id.eq(product_id))
            .filter(p::is_active.eq(true))
            .filter(p::has_variants.eq(false))
            .filter(p::stock.ge(quantity)),
    )
    .set((
        p::stock.eq(p::stock - quantity),
        p::updated_at.eq(site_core::now()),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Puts `quantity` back into stock (an unpaid order was cancelled).
pub fn release_stock(conn: &mut DbConn, product_id: i64, quantity: i64) -> QueryResult<()> {
    diesel::update(p::table.filter(p::id.eq(product_id)))
        .set((
            p::stock.eq(p::stock + quantity),
            p::updated_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Puts several products' units back (a cancelled order, a refund),
/// keeping their parents' totals: parents locked first, refreshed after.
pub fn release_many(conn: &mut DbConn, moves: &[(i64, i64)]) -> QueryResult<()> {
    let ids: Vec<i64> = moves.iter().map(|(id, _)| *id).collect();
    let parents = lock_parents(conn, &ids)?;
    for &(id, quantity) in moves {
        release_stock(conn, id, quantity)?;
    }
    refresh_parents(conn, &parents)
}

/// Locks the parents of `ids` (those that are variants), in id order, and
/// returns them. Whoever changes a variant's stock holds its parent's lock
/// first: the parent's totals are then read while no other transaction can
/// be changing its variants, and two checkouts taking variants of the same
/// products lock them in one order (no deadlock). SQLite's write
/// transaction holds the whole database already.
pub fn lock_parents(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<i64>> {
    let parents = parents_of(conn, ids)?;
    site_core::db::lock_rows(conn, "products_product", &parents)?;
    Ok(parents)
}

/// The parents touched by writing `ids` (theirs, for variants; themselves,
/// for parents), locked in id order: for writes outside checkout (the
/// admin, imports) that change variants or parents directly. Refresh them
/// after ([`refresh_parents`]).
pub fn lock_families(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<i64>> {
    let mut parents = parents_of(conn, ids)?;
    parents.extend(
        p::table
            .filter(p::id.eq_any(ids))
            .filter(p::has_variants.eq(true))
            .select(p::id)
            .load::<i64>(conn)?,
    );
    parents.sort_unstable();
    parents.dedup();
    site_core::db::lock_rows(conn, "products_product", &parents)?;
    Ok(parents)
}

/// The parents of those of `ids` that are variants, in id order.
pub fn parents_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut parents: Vec<i64> = p::table
        .filter(p::id.eq_any(ids))
        .filter(p::parent_id.is_not_null())
        .select(p::parent_id.assume_not_null())
        .distinct()
        .load(conn)?;
    parents.sort_unstable();
    Ok(parents)
}

/// Recomputes what parents keep of their variants: stock (the active
/// variants' sum), price (their lowest; unchanged when none is active) and
/// whether they have variants at all. Call with the parents locked.
pub fn refresh_parents(conn: &mut DbConn, parents: &[i64]) -> QueryResult<()> {
    const SET: &str = "UPDATE products_product SET \
         stock = COALESCE((SELECT SUM(c.stock) FROM products_product c \
             WHERE c.parent_id = products_product.id AND c.is_active), 0), \
         price_minor = COALESCE((SELECT MIN(c.price_minor) FROM products_product c \
             WHERE c.parent_id = products_product.id AND c.is_active), price_minor), \
         has_variants = EXISTS (SELECT 1 FROM products_product c \
             WHERE c.parent_id = products_product.id)";
    if parents.is_empty() {
        return Ok(());
    }
    // One statement for every parent; the ids travel as one parameter.
    let dialect = Dialect::of(conn);
    let ids = IdList::new(dialect, 2, parents);
    let query = format!(
        "{SET}, updated_at = {} WHERE id {}",
        param(dialect, 1),
        ids.sql
    );
    diesel::sql_query(query)
        .bind::<diesel::sql_types::Timestamp, _>(site_core::now())
        .bind::<diesel::sql_types::Text, _>(ids.bound)
        .execute(conn)?;
    Ok(())
}

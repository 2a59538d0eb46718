//! Search beyond a product's own text, in the best order, forgiving typos.
//!
//! - `search_terms`: what else a product is found by: the names of its
//!   category and every category above it, and its variants' attribute
//!   values and SKUs, kept by
//!   [`refresh_terms`] wherever those change (the full-text index follows
//!   by trigger). The description is indexed too.
//! - [`rank`]: a search's matches in relevance order (name and SKU weigh
//!   most, then the terms, then the description): BM25 on SQLite,
//!   `ts_rank` on PostgreSQL.
//! - [`suggest`]: when nothing matches, each unknown word is replaced by
//!   the closest indexed word starting with the same letter (one edit for
//!   short words, two for longer), from a word table the database's
//!   triggers keep (`products_search_word`: the words of every name and
//!   search terms; FTS5's vocabulary table was too slow at a million
//!   products, see migration 000034).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use site_core::db::search::{matches, Dialect, PRODUCTS};
use site_core::db::{DbConn, IdList};

/// Which products' terms to recompute.
pub enum Scope<'a> {
    Products(&'a [i64]),
    /// Products in these categories.
    Categories(&'a [i64]),
    All,
}

/// Recomputes `search_terms` for `scope`: one statement.
pub fn refresh_terms(conn: &mut DbConn, scope: Scope<'_>) -> QueryResult<usize> {
    let (names, values, skus) = match conn {
        DbConn::Sqlite(_) => (
            "group_concat(name, ' ')",
            "group_concat(DISTINCT v.value)",
            "group_concat(ch.sku, ' ')",
        ),
        DbConn::Postgres(_) => (
            "string_agg(name, ' ')",
            "string_agg(DISTINCT v.value, ' ')",
            "string_agg(ch.sku, ' ')",
        ),
    };
    // `up`: each category with the names of it and all its ancestors,
    // computed once for the statement (categories are few; the depth
    // bound only guards against a cycle written outside the admin).
    let set = format!(
        "WITH RECURSIVE up(category, parent, name, depth) AS MATERIALIZED (\
             SELECT id, parent_id, name, 0 FROM products_category \
             UNION ALL SELECT up.category, c.parent_id, c.name, up.depth + 1 \
             FROM products_category c JOIN up ON c.id = up.parent WHERE up.depth < 32) \
         UPDATE products_product SET search_terms = TRIM(COALESCE((\
             SELECT {names} FROM up WHERE up.category = products_product.category_id), '') \
             || ' ' || COALESCE((\
             SELECT {values} FROM products_product ch \
             JOIN products_attribute_value v ON v.product_id = ch.id \
             WHERE ch.parent_id = products_product.id AND ch.is_active), '') \
             || ' ' || COALESCE((\
             SELECT {skus} FROM products_product ch \
             WHERE ch.parent_id = products_product.id AND ch.is_active), ''))"
    );
    let (column, ids) = match scope {
        Scope::All => return diesel::sql_query(set).execute(conn),
        Scope::Products([]) | Scope::Categories([]) => return Ok(0),
        Scope::Products(ids) => ("id", ids),
        Scope::Categories(ids) => ("category_id", ids),
    };
    let ids = IdList::new(Dialect::of(conn), 1, ids);
    diesel::sql_query(format!("{set} WHERE {column} {}", ids.sql))
        .bind::<Text, _>(ids.bound)
        .execute(conn)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// `ids` (a search's matches) in relevance order for `terms`.
pub fn rank(
    conn: &mut DbConn,
    ids: &[i64],
    terms: &[String],
    prefix: bool,
) -> QueryResult<Vec<i64>> {
    if ids.len() < 2 {
        return Ok(ids.to_vec());
    }
    let dialect = Dialect::of(conn);
    let m = matches(dialect, &PRODUCTS, terms, prefix);
    let list = IdList::new(dialect, 2, ids);
    let sql = match dialect {
        Dialect::Sqlite => format!(
            "SELECT rowid AS id FROM products_product_search \
             WHERE products_product_search MATCH ?1 AND rowid {} \
             ORDER BY bm25(products_product_search, 10.0, 8.0, 4.0, 1.0), rowid DESC",
            list.sql
        ),
        Dialect::Postgres => format!(
            "SELECT id FROM products_product \
             WHERE id {} ORDER BY ts_rank({}, to_tsquery('simple', $1)) DESC, id DESC",
            list.sql, PRODUCTS.pg_document
        ),
    };
    let ranked: Vec<Id> = diesel::sql_query(sql)
        .bind::<Text, _>(&m.bound)
        .bind::<Text, _>(&list.bound)
        .load(conn)?;
    let mut out: Vec<i64> = ranked.into_iter().map(|r| r.id).collect();
    // Anything the ranking missed keeps its place at the end.
    let seen: std::collections::HashSet<i64> = out.iter().copied().collect();
    out.extend(ids.iter().filter(|id| !seen.contains(id)));
    Ok(out)
}

/// The string just after every string starting with `prefix`: the end of
/// a range scan for it.
fn after(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    match chars.pop().and_then(|c| char::from_u32(c as u32 + 1)) {
        Some(next) => {
            chars.push(next);
            chars.into_iter().collect()
        }
        None => format!("{prefix}\u{10FFFF}"),
    }
}

diesel::define_sql_function! {
    /// A text's length in characters, alike on both databases.
    fn length(x: Text) -> Integer;
}

/// Up to `limit` indexed words starting with `prefix` whose length is
/// within `low..=high`, in alphabetical order.
fn words(
    conn: &mut DbConn,
    prefix: &str,
    (low, high): (usize, usize),
    limit: i64,
) -> QueryResult<Vec<String>> {
    use site_core::schema::products_search_word as w;
    w::table
        .select(w::word)
        .filter(w::word.ge(prefix))
        .filter(w::word.lt(after(prefix)))
        .filter(length(w::word).between(low as i32, high as i32))
        .order(w::word)
        .limit(limit)
        .load(conn)
}

/// Whether some indexed word is `term` or starts with it.
fn known(conn: &mut DbConn, term: &str) -> QueryResult<bool> {
    Ok(!words(conn, term, (0, 1000), 1)?.is_empty())
}

/// What was probably meant by the words of a search that found nothing:
/// the closest known word for each unknown one. `None` when every word
/// is known or none is close to anything.
pub fn suggest(conn: &mut DbConn, query: &str) -> QueryResult<Option<String>> {
    let typed: Vec<String> = query.split_whitespace().map(str::to_string).collect();
    let terms = site_core::db::search::terms(&typed);
    let mut changed = false;
    let mut out = Vec::with_capacity(terms.len());
    for term in terms {
        let n = term.chars().count();
        let first = term.chars().next();
        // Too short to guess at.
        let (Some(first), true) = (first, n >= 3) else {
            out.push(term);
            continue;
        };
        if known(conn, &term)? {
            out.push(term);
            continue;
        }
        let allowed = if n <= 4 { 1 } else { 2 };
        let near = (n.saturating_sub(allowed), n + allowed);
        let best = words(conn, &first.to_string(), near, 5000)?
            .into_iter()
            .map(|w| (strsim::damerau_levenshtein(&term, &w), w))
            .filter(|(d, _)| *d <= allowed)
            // Closest first; among equals, the first alphabetically.
            .min_by_key(|(d, _)| *d);
        match best {
            Some((_, w)) => {
                changed = true;
                out.push(w);
            }
            None => out.push(term),
        }
    }
    Ok(changed.then(|| out.join(" ")))
}

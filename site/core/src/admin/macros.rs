//! Helpers for the typed queries each model's admin writes.

/// Orders a boxed list query by the change list's sort: `key => column`
/// pairs, each followed by the id so the order is total; unknown keys
/// (and "id") order by id.
///
/// `admin_order!(query, q, p::id, { "name" => p::name, "price" => p::price_minor })`
#[macro_export]
macro_rules! admin_order {
    ($query:expr, $q:expr, $id:expr, { $($key:literal => $col:expr),* $(,)? }) => {{
        let q: &$crate::admin::ListQuery = $q;
        match (q.sort.as_str(), q.descending) {
            $(
                ($key, false) => $query.order(($col.asc(), $id.asc())),
                ($key, true) => $query.order(($col.desc(), $id.desc())),
            )*
            (_, true) => $query.order($id.desc()),
            (_, false) => $query.order($id.asc()),
        }
    }};
}

/// Filters a boxed query so that every search word appears in at least
/// one of the text columns (case-insensitive, as a substring). For small
/// tables; large ones search an index (see `site_core::db::search`).
///
/// `admin_search_like!(query, q, u::table, [u::email, u::first_name])`
#[macro_export]
macro_rules! admin_search_like {
    ($query:expr, $q:expr, $table:ty, [$($col:expr),+ $(,)?]) => {{
        let q: &$crate::admin::ListQuery = $q;
        let mut query = $query;
        for word in &q.words {
            let pattern = $crate::db::sql::like_pattern(word);
            let mut any: Option<
                Box<dyn diesel::BoxableExpression<
                    $table,
                    $crate::db::MultiBackend,
                    SqlType = diesel::sql_types::Bool,
                >>,
            > = None;
            $(
                let one = $crate::db::sql::lower($col).like(pattern.clone()).escape('\\');
                any = Some(match any {
                    None => Box::new(one),
                    Some(prev) => Box::new(prev.or(one)),
                });
            )+
            if let Some(cond) = any {
                query = query.filter(cond);
            }
        }
        query
    }};
}

/// Filters a boxed query by the list's search through a full-text index
/// (`site_core::db::search`), or by the matches already found.
///
/// `admin_text_search!(query, q, dialect, &search::PRODUCTS, p::id)`
#[macro_export]
macro_rules! admin_text_search {
    ($query:expr, $q:expr, $dialect:expr, $index:expr, $id:expr) => {{
        let q: &$crate::admin::ListQuery = $q;
        let mut query = $query;
        if let Some(ids) = &q.only {
            query = query.filter($id.eq_any(ids.clone()));
        } else if !q.words.is_empty() {
            let terms = $crate::db::search::terms(&q.words);
            query = $crate::text_search!(query, $dialect, $index, &terms, q.prefix);
        }
        query
    }};
}

/// Reorders rows fetched by id into the order of `ids` (a page's ids come
/// from one query, its rows from a second).
pub fn in_order_of<T>(ids: &[i64], mut rows: Vec<T>, id_of: impl Fn(&T) -> i64) -> Vec<T> {
    let position: std::collections::HashMap<i64, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|r| position.get(&id_of(r)).copied().unwrap_or(usize::MAX));
    rows
}

/// The `date_bounds` of a model whose date hierarchy runs on `$date`:
/// the dates of the first and last rows in `$order` (an indexed column
/// that grows with the date: the date itself, or the id when rows are
/// stamped as they are inserted).
///
/// `admin_date_bounds!(conn, o::table, o::created_at, o::id)`
#[macro_export]
macro_rules! admin_date_bounds {
    ($conn:expr, $table:expr, $date:expr, $order:expr) => {{
        use diesel::prelude::*;
        let conn: &mut $crate::db::DbConn = $conn;
        let first = $table
            .select($date)
            .order($order.asc())
            .first::<chrono::NaiveDateTime>(conn)
            .optional()?;
        let last = $table
            .select($date)
            .order($order.desc())
            .first::<chrono::NaiveDateTime>(conn)
            .optional()?;
        Ok(first.zip(last))
    }};
}

/// Keeps the rows of a boxed query whose `$col` lies in `$range`, a
/// `(from, until)` pair of optional bounds (from inclusive, until
/// exclusive): a date-range filter (`q.date_range("created")`) or the date
/// hierarchy's drill-down (`q.drill_range().unzip()`).
///
/// `query = admin_between!(query, o::created_at, q.date_range("created"));`
#[macro_export]
macro_rules! admin_between {
    ($query:expr, $col:expr, $range:expr) => {{
        let (from, until): (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>) = $range;
        let mut query = $query;
        if let Some(from) = from {
            query = query.filter($col.ge(from));
        }
        if let Some(until) = until {
            query = query.filter($col.lt(until));
        }
        query
    }};
}

/// The body of the "activate" / "deactivate" actions of a model with
/// `is_active` and `updated_at` columns: sets the flag on the rows of
/// `$ids` that differ and says how many changed.
///
/// `admin_set_active!(conn, action, ids, v, "voucher", "vouchers")`
#[macro_export]
macro_rules! admin_set_active {
    ($conn:expr, $action:expr, $ids:expr, $t:ident, $singular:expr, $plural:expr) => {{
        let active = $crate::admin::activation($action)?;
        let n = diesel::update(
            $t::table
                .filter($t::id.eq_any($ids))
                .filter($t::is_active.eq(!active)),
        )
        .set(($t::is_active.eq(active), $t::updated_at.eq($crate::now())))
        .execute($conn)?;
        Ok($crate::admin::activation_message(
            n, $singular, $plural, active,
        ))
    }};
}

//! Full-text search through an index on both backends: an FTS5 table
//! (kept in step by triggers) on SQLite, a GIN index over a `tsvector`
//! expression on PostgreSQL (see the `search` migrations). Every word
//! typed must start a word of the row's document; words split on anything
//! but letters and digits, the same way on both.

use super::DbConn;

/// Which SQL a query must speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of(conn: &DbConn) -> Dialect {
        match conn {
            DbConn::Sqlite(_) => Dialect::Sqlite,
            DbConn::Postgres(_) => Dialect::Postgres,
        }
    }
}

/// A table's search index, as the migrations made it.
#[derive(Debug, Clone, Copy)]
pub struct TextIndex {
    /// The FTS5 table whose rowids are the table's ids.
    pub sqlite_table: &'static str,
    /// The expression (or stored column) the GIN index is on, exactly.
    pub pg_document: &'static str,
}

/// The products' name and SKU, their search terms (category, variants'
/// values) and description, weighted in that order for ranking.
pub const PRODUCTS: TextIndex = TextIndex {
    sqlite_table: "products_product_search",
    // A stored generated column (migration 000032): setweight A for the
    // name and SKU, B for the search terms, D for the description.
    pg_document: "search_document",
};

/// The orders' reference, email and names.
pub const ORDERS: TextIndex = TextIndex {
    sqlite_table: "orders_order_search",
    pg_document: "to_tsvector('simple', regexp_replace(public_id || ' ' || email || ' ' || first_name || ' ' || last_name, '[^[:alnum:]]+', ' ', 'g'))",
};

/// The terms of what was typed: runs of letters and digits, lower-cased,
/// at most eight.
pub fn terms(words: &[String]) -> Vec<String> {
    words
        .iter()
        .flat_map(|w| {
            w.split(|c: char| !c.is_alphanumeric())
                .filter(|t| !t.is_empty())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .take(8)
        .collect()
}

/// A condition on the indexed table (its `id` column), as SQL around one
/// bound value: every term starts a word of the row. Terms are letters and
/// digits only, so they cannot change the query's syntax, and they are
/// bound, never spliced. Apply it with [`crate::text_search!`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    pub before: String,
    pub bound: String,
    pub after: &'static str,
}

impl TextMatch {
    /// For thousands of matches: SQLite is to walk the query's own order
    /// (its sort's index) testing each row against the matches, rather
    /// than start from every match and sort them all, which its plans
    /// cannot tell apart (they do not weigh bound values); `+id` keeps it
    /// from starting at the matches. PostgreSQL's planner weighs that
    /// itself.
    pub fn tested_in_order(mut self, dialect: Dialect) -> Self {
        if dialect == Dialect::Sqlite && self.before.starts_with("id IN") {
            self.before.insert(0, '+');
        }
        self
    }
}

/// With `prefix`, a term also matches the words it begins (slower on
/// PostgreSQL, whose index then gathers every such word's rows).
pub fn matches(dialect: Dialect, index: &TextIndex, terms: &[String], prefix: bool) -> TextMatch {
    if terms.is_empty() {
        // Nothing searchable was typed: nothing matches.
        return TextMatch {
            before: "1 = 0 AND ".into(),
            bound: String::new(),
            after: " = ''",
        };
    }
    match dialect {
        Dialect::Sqlite => {
            let table = index.sqlite_table;
            TextMatch {
                before: format!("id IN (SELECT rowid FROM {table} WHERE {table} MATCH "),
                bound: terms
                    .iter()
                    .map(|t| format!("\"{t}\"{}", if prefix { "*" } else { "" }))
                    .collect::<Vec<_>>()
                    .join(" AND "),
                after: ")",
            }
        }
        Dialect::Postgres => TextMatch {
            before: format!("{} @@ to_tsquery('simple', ", index.pg_document),
            bound: terms
                .iter()
                .map(|t| format!("{t}{}", if prefix { ":*" } else { "" }))
                .collect::<Vec<_>>()
                .join(" & "),
            after: ")",
        },
    }
}

/// Filters a boxed query of the indexed table by a [`TextMatch`]:
/// `text_search!(query, dialect, &search::PRODUCTS, &terms, prefix)`, and
/// with `, many` (thousands of matches, see
/// [`TextMatch::tested_in_order`]).
#[macro_export]
macro_rules! text_search {
    ($query:expr, $dialect:expr, $index:expr, $terms:expr, $prefix:expr) => {
        $crate::text_search!($query, $dialect, $index, $terms, $prefix, false)
    };
    ($query:expr, $dialect:expr, $index:expr, $terms:expr, $prefix:expr, $many:expr) => {{
        let mut m = $crate::db::search::matches($dialect, $index, $terms, $prefix);
        if $many {
            m = m.tested_in_order($dialect);
        }
        $query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(&m.before)
                .bind::<diesel::sql_types::Text, _>(m.bound)
                .sql(m.after),
        )
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_matches_are_tested_in_order_on_sqlite_only() {
        let terms = vec!["oak".to_string()];
        let sqlite = matches(Dialect::Sqlite, &PRODUCTS, &terms, false);
        assert!(sqlite
            .clone()
            .tested_in_order(Dialect::Sqlite)
            .before
            .starts_with("+id IN ("));
        let pg = matches(Dialect::Postgres, &PRODUCTS, &terms, false);
        assert_eq!(pg.clone().tested_in_order(Dialect::Postgres), pg);
        // Nothing searchable matches nothing, either way.
        let none = matches(Dialect::Sqlite, &PRODUCTS, &[], false);
        assert_eq!(none.clone().tested_in_order(Dialect::Sqlite), none);
    }

    #[test]
    fn terms_are_letters_and_digits_only() {
        let words = vec![
            "Ada@Example.com".to_string(),
            "demo-00042".into(),
            "\"*)".into(),
        ];
        assert_eq!(terms(&words), ["ada", "example", "com", "demo", "00042"]);
        assert!(terms(&["%%".to_string()]).is_empty());
        assert_eq!(terms(&["Crème".to_string()]), ["crème"]);
    }

    #[test]
    fn each_backend_gets_its_own_query() {
        let t = vec!["oak".to_string(), "42".to_string()];
        let lite = matches(Dialect::Sqlite, &PRODUCTS, &t, true);
        assert_eq!(lite.bound, "\"oak\"* AND \"42\"*");
        assert!(lite.before.contains("products_product_search MATCH"));
        assert_eq!(
            matches(Dialect::Sqlite, &PRODUCTS, &t, false).bound,
            "\"oak\" AND \"42\""
        );
        let pg = matches(Dialect::Postgres, &PRODUCTS, &t, true);
        assert_eq!(pg.bound, "oak:* & 42:*");
        assert_eq!(
            matches(Dialect::Postgres, &PRODUCTS, &t, false).bound,
            "oak & 42"
        );
        assert!(pg.before.starts_with(PRODUCTS.pg_document));
        assert_eq!(
            matches(Dialect::Sqlite, &PRODUCTS, &[], true).before,
            "1 = 0 AND "
        );
    }
}

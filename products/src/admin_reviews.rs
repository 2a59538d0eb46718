//! Reviews in the admin: every review with its product, stars and author,
//! filtered by stars or by shown/hidden, searched by words; staff hide a
//! review from the shop or show it again (the product's average follows
//! in the same transaction), or delete it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use site_core::admin::{
    ActionSpec, AdminEnv, Cell, Column, DateHierarchy, DeletePlan, Deleted, Field, Filter, Link,
    ListQuery, ModelAdmin, ModelMeta, Object, Perm, Row, SaveError, Submission, Value, Values,
};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::{products_product as p, products_review as r};

use crate::reviews::{self, Review};

pub struct ReviewAdmin {
    meta: ModelMeta,
}

const STARS: [(&str, &str); 5] = [
    ("5", "5 stars"),
    ("4", "4 stars"),
    ("3", "3 stars"),
    ("2", "2 stars"),
    ("1", "1 star"),
];

impl Default for ReviewAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("products", "review", "review", "reviews");
        meta.columns = vec![
            Column::new("product", "Product"),
            Column::new("rating", "Stars").numeric().sortable(),
            Column::new("title", "Title"),
            Column::new("author", "Author"),
            Column::new("shown", "Shown"),
            Column::new("created", "Written (UTC)").sortable(),
        ];
        meta.filters = vec![
            Filter::boolean("shown", "Shown in the shop"),
            Filter::choices("rating", "Stars", STARS.to_vec()),
        ];
        meta.search = Some("title, text or author");
        meta.date_hierarchy = Some(DateHierarchy {
            field: "created",
            label: "Written",
        });
        meta.default_sort = "-created";
        meta.fields = vec![
            Field::text("product", "Product", 200).readonly(),
            Field::int("rating", "Stars", 1, 5).readonly(),
            Field::text("title", "Title", reviews::MAX_TITLE).readonly(),
            Field::long_text("body", "Review", reviews::MAX_BODY).readonly(),
            Field::text("author", "Shown as", 200).readonly(),
            Field::bool("is_visible", "Shown in the shop").readonly(),
            Field::datetime("created_at", "Written"),
            Field::datetime("moderated_at", "Last shown or hidden"),
        ];
        meta.actions = vec![
            ActionSpec::new("hide", "Hide from the shop", Perm::Change),
            ActionSpec::new("show", "Show in the shop", Perm::Change),
        ];
        meta.addable = false;
        meta.editable = false;
        ReviewAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> r::BoxedQuery<'static, MultiBackend> {
    let mut query = r::table.into_boxed::<MultiBackend>();
    if let Some(shown) = q.flag("shown") {
        query = query.filter(r::is_visible.eq(shown));
    }
    if let Some(stars) = q.choice("rating").and_then(|s| s.parse::<i32>().ok()) {
        query = query.filter(r::rating.eq(stars));
    }
    query = site_core::admin_between!(query, r::created_at, q.drill_range().unzip());
    if let Some(after) = q.after_id {
        query = query.filter(r::id.gt(after));
    }
    site_core::admin_search_like!(query, q, r::table, [r::title, r::body, r::author])
}

fn product_names(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    p::table
        .filter(p::id.eq_any(ids))
        .select((p::id, p::name))
        .load(conn)
}

fn repr(rv: &Review, product: &str) -> String {
    format!("{} stars for {product} by {}", rv.rating, rv.author)
}

impl ModelAdmin for ReviewAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let found: Vec<Review> = site_core::admin_order!(filtered(q), q, r::id, {
            "rating" => r::rating,
            "created" => r::created_at,
        })
        .offset(q.offset)
        .limit(q.limit)
        .select(Review::as_select())
        .load(conn)?;
        let ids: Vec<i64> = found.iter().map(|rv| rv.product_id).collect();
        let names = product_names(conn, &ids)?;
        Ok(found
            .into_iter()
            .map(|rv| {
                let name = names
                    .iter()
                    .find(|(id, _)| *id == rv.product_id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default();
                Row {
                    id: rv.id,
                    repr: repr(&rv, &name),
                    cells: vec![
                        Cell::Link(name, Link::change("products", "product", rv.product_id)),
                        Cell::Int(i64::from(rv.rating)),
                        Cell::Text(rv.title),
                        Cell::Text(rv.author),
                        Cell::Bool(rv.is_visible),
                        Cell::DateTime(Some(rv.created_at)),
                    ],
                    editable: Values::new(),
                }
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(r::id).limit(cap).load::<i64>(conn)
    }

    fn date_bounds(
        &self,
        conn: &mut DbConn,
    ) -> QueryResult<Option<(NaiveDateTime, NaiveDateTime)>> {
        site_core::admin_date_bounds!(conn, r::table, r::created_at, r::id)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some((rv, moderated)) = r::table
            .find(id)
            .select((Review::as_select(), r::moderated_at))
            .first::<(Review, Option<NaiveDateTime>)>(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let name = product_names(conn, &[rv.product_id])?
            .pop()
            .map(|(_, n)| n)
            .unwrap_or_default();
        Ok(Some(Object {
            id,
            repr: repr(&rv, &name),
            values: Values::new()
                .with("product", Value::Text(name))
                .with("rating", Value::Int(i64::from(rv.rating)))
                .with("title", Value::Text(rv.title))
                .with("body", Value::Text(rv.body))
                .with("author", Value::Text(rv.author))
                .with("is_visible", Value::Bool(rv.is_visible))
                .with("created_at", Value::DateTime(rv.created_at))
                .with(
                    "moderated_at",
                    moderated.map(Value::DateTime).unwrap_or(Value::Null),
                ),
        }))
    }

    fn delete(&self, conn: &mut DbConn, id: i64, _: &DeletePlan) -> Result<Deleted, SaveError> {
        reviews::delete(conn, id)?;
        Ok(Deleted::Removed)
    }

    fn run_action(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        action: &str,
        ids: &[i64],
        _input: &Submission,
    ) -> Result<String, SaveError> {
        let visible = match action {
            "show" => true,
            "hide" => false,
            other => return Err(SaveError::Other(format!("no action {other:?}"))),
        };
        let mut changed = 0;
        for id in ids {
            if reviews::set_visible(conn, *id, visible)? {
                changed += 1;
            }
        }
        let (verb, already) = if visible {
            ("shown in the shop", "shown")
        } else {
            ("hidden from the shop", "hidden")
        };
        Ok(match changed {
            0 => format!("Those reviews were already {already}."),
            1 => format!("1 review was {verb}."),
            n => format!("{n} reviews were {verb}."),
        })
    }

    fn object_actions(&self, obj: &Object) -> Vec<&'static str> {
        match obj.values.get("is_visible") {
            Some(Value::Bool(true)) => vec!["hide"],
            Some(Value::Bool(false)) => vec!["show"],
            _ => Vec::new(),
        }
    }
}

//! Product types in the staff admin: a name and the attributes its
//! variants differ by (Size, Colour), edited as rows of the form.

use diesel::prelude::*;
use site_core::admin::audit::FieldChange;
use site_core::admin::{
    AdminEnv, Cell, Column, DeletePlan, Deleted, Field, FormsetChanges, FormsetRow, FormsetSpec,
    ListQuery, ModelAdmin, ModelMeta, Object, Row, SaveError, Submission, Value, Values,
};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::{
    products_attribute as a, products_attribute_value as av, products_product as p,
    products_product_type as t,
};

pub struct ProductTypeAdmin {
    meta: ModelMeta,
}

impl Default for ProductTypeAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("products", "producttype", "product type", "product types");
        meta.columns = vec![
            Column::new("name", "Name").sortable(),
            Column::new("attributes", "Variants differ by"),
            Column::new("products", "Products").numeric(),
        ];
        meta.search = Some("name");
        meta.default_sort = "name";
        meta.fields = vec![
            Field::text("name", "Name", 100).help("A kind of product: Shoes, Bags, T-shirts."),
            Field::datetime("created_at", "Created"),
        ];
        meta.formsets = vec![FormsetSpec {
            key: "attributes",
            title: "Attributes",
            fields: vec![
                Field::text("name", "Name", 50),
                Field::int("position", "Position", 0, 99).optional(),
            ],
            upload: None,
            extra: 3,
            pick_one: None,
            description: "What this type's variants differ by (Size, Colour, Material), in the \
                          order the shop shows them. A variant gives one value for each.",
        }];
        ProductTypeAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> t::BoxedQuery<'static, MultiBackend> {
    let mut query = t::table.into_boxed::<MultiBackend>();
    if let Some(after) = q.after_id {
        query = query.filter(t::id.gt(after));
    }
    site_core::admin_search_like!(query, q, t::table, [t::name])
}

/// Attribute names must be told apart on the product page.
const TAKEN: &str = "This type has an attribute of that name already.";

impl ModelAdmin for ProductTypeAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let types: Vec<(i64, String)> = site_core::admin_order!(filtered(q), q, t::id, {
            "name" => t::name,
        })
        .offset(q.offset)
        .limit(q.limit)
        .select((t::id, t::name))
        .load(conn)?;
        let ids: Vec<i64> = types.iter().map(|(id, _)| *id).collect();
        let attributes: Vec<(i64, String)> = a::table
            .filter(a::product_type_id.eq_any(&ids))
            .order((a::product_type_id, a::position, a::id))
            .select((a::product_type_id, a::name))
            .load(conn)?;
        let counts: Vec<(Option<i64>, i64)> = p::table
            .filter(p::product_type_id.eq_any(ids.clone()))
            .filter(p::parent_id.is_null())
            .group_by(p::product_type_id)
            .select((p::product_type_id, diesel::dsl::count_star()))
            .load(conn)?;
        Ok(types
            .into_iter()
            .map(|(id, name)| {
                let names: Vec<&str> = attributes
                    .iter()
                    .filter(|(t, _)| *t == id)
                    .map(|(_, n)| n.as_str())
                    .collect();
                let products = counts
                    .iter()
                    .find(|(t, _)| *t == Some(id))
                    .map_or(0, |(_, n)| *n);
                Row {
                    id,
                    repr: name.clone(),
                    cells: vec![
                        Cell::Text(name),
                        Cell::Text(names.join(", ")),
                        Cell::Int(products),
                    ],
                    editable: Values::new(),
                }
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(t::id).limit(cap).load(conn)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some((name, created)) = t::table
            .find(id)
            .select((t::name, t::created_at))
            .first::<(String, chrono::NaiveDateTime)>(conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(Some(Object {
            id,
            repr: name.clone(),
            values: Values::new()
                .with("name", Value::Text(name))
                .with("created_at", Value::DateTime(created)),
        }))
    }

    fn create(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        v: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        diesel::insert_into(t::table)
            .values((
                t::name.eq(v.text("name")?.trim()),
                t::created_at.eq(site_core::now()),
            ))
            .returning(t::id)
            .get_result(conn)
            .map_err(|e| SaveError::unique(e, "name", "Another product type has this name."))
    }

    fn update(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        v: &Values,
        _files: &Submission,
    ) -> Result<(), SaveError> {
        diesel::update(t::table.find(id))
            .set(t::name.eq(v.text("name")?.trim()))
            .execute(conn)
            .map_err(|e| SaveError::unique(e, "name", "Another product type has this name."))?;
        Ok(())
    }

    fn formset_rows(
        &self,
        conn: &mut DbConn,
        key: &str,
        parent: i64,
    ) -> QueryResult<Vec<FormsetRow>> {
        if key != "attributes" {
            return Ok(Vec::new());
        }
        Ok(crate::variants::attributes(conn, parent)?
            .into_iter()
            .map(|at| FormsetRow {
                id: at.id,
                label: at.name.clone(),
                preview: None,
                values: Values::new()
                    .with("name", Value::Text(at.name))
                    .with("position", Value::Int(i64::from(at.position))),
                picked: false,
            })
            .collect())
    }

    fn save_formset(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        key: &str,
        parent: i64,
        changes: &FormsetChanges,
        _values: &Values,
    ) -> Result<Vec<FieldChange>, SaveError> {
        if key != "attributes" {
            return Ok(Vec::new());
        }
        let mut history = Vec::new();
        let change = |after: String| FieldChange::row_note("attributes", "Attributes", after);
        for id in &changes.deleted {
            let used: i64 = av::table
                .filter(av::attribute_id.eq(id))
                .count()
                .get_result(conn)?;
            if used > 0 {
                return Err(SaveError::field(
                    &format!("attributes-{id}-name"),
                    format!(
                        "{used} {} give a value for it: remove them first.",
                        if used == 1 { "variant" } else { "variants" }
                    ),
                ));
            }
            diesel::delete(
                a::table
                    .filter(a::id.eq(id))
                    .filter(a::product_type_id.eq(parent)),
            )
            .execute(conn)?;
            history.push(change(format!("removed attribute {id}")));
        }
        let next: i32 = a::table
            .filter(a::product_type_id.eq(parent))
            .select(diesel::dsl::max(a::position))
            .first::<Option<i32>>(conn)?
            .map_or(0, |m| m + 1);
        for (id, v) in &changes.kept {
            let name = v.text("name")?.trim();
            let position = v.opt_int("position").map(|n| n as i32);
            diesel::update(
                a::table
                    .filter(a::id.eq(id))
                    .filter(a::product_type_id.eq(parent)),
            )
            .set((a::name.eq(name), a::position.eq(position.unwrap_or(0))))
            .execute(conn)
            .map_err(|e| SaveError::unique(e, &format!("attributes-{id}-name"), TAKEN))?;
        }
        for (offset, (n, v)) in changes.added.iter().enumerate() {
            let name = v.text("name")?.trim();
            let position = v
                .opt_int("position")
                .map_or(next + offset as i32, |n| n as i32);
            diesel::insert_into(a::table)
                .values((
                    a::product_type_id.eq(parent),
                    a::name.eq(name),
                    a::position.eq(position),
                ))
                .execute(conn)
                .map_err(|e| SaveError::unique(e, &format!("attributes-new{n}-name"), TAKEN))?;
            history.push(change(format!("added attribute “{name}”")));
        }
        Ok(history)
    }

    fn delete_plan(
        &self,
        _staff: &site_core::admin::Staff,
        conn: &mut DbConn,
        id: i64,
    ) -> QueryResult<DeletePlan> {
        let products: i64 = p::table
            .filter(p::product_type_id.eq(id))
            .filter(p::parent_id.is_null())
            .count()
            .get_result(conn)?;
        let mut plan = DeletePlan::default();
        crate::admin::protected_by_products(
            &mut plan,
            products,
            "of this type",
            "give {them} another type first",
        );
        Ok(plan)
    }

    fn delete(&self, conn: &mut DbConn, id: i64, _plan: &DeletePlan) -> Result<Deleted, SaveError> {
        diesel::delete(t::table.find(id)).execute(conn)?;
        Ok(Deleted::Removed)
    }
}

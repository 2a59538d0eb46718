//! The catalogue in the staff admin: categories (with their products
//! inline) and products (price and stock editable right in the list,
//! activate / deactivate actions, deactivated rather than deleted once
//! ordered).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use site_core::admin::audit::FieldChange;
use site_core::admin::{
    in_order_of, ActionSpec, AdminEnv, Cell, Column, DateHierarchy, DeletePlan, Deleted, Field,
    Fieldset, Filter, FormsetChanges, FormsetRow, FormsetSpec, InlineTable, Link, ListQuery,
    ModelAdmin, ModelMeta, Object, Perm, Pick, Row, SaveError, Submission, Value, Values,
};
use site_core::db::search::{self, Dialect};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::{products_category as c, products_product as p};

use crate::models::{Category, Product};
use crate::search::{refresh_terms, Scope};

/// Largest stock a form accepts.
const MAX_STOCK: i64 = 1_000_000_000;

pub struct ProductAdmin {
    meta: ModelMeta,
}

impl Default for ProductAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("products", "product", "product", "products");
        meta.columns = vec![
            Column::new("name", "Name").sortable(),
            Column::new("image", "Image"),
            Column::new("sku", "SKU").sortable(),
            Column::new("category", "Category"),
            Column::new("price", "Price").sortable().numeric(),
            Column::new("stock", "Stock").sortable().numeric(),
            Column::new("in_stock", "In stock"),
            Column::new("active", "Active"),
            Column::new("created", "Created (UTC)").sortable(),
        ];
        meta.filters = vec![
            Filter::related("category", "Category"),
            Filter::boolean("active", "Active"),
            Filter::boolean("in_stock", "In stock"),
            Filter::date_range("created", "Created"),
        ];
        meta.search = Some("name or SKU");
        meta.date_hierarchy = Some(DateHierarchy {
            field: "created",
            label: "Created",
        });
        meta.default_sort = "-created";
        meta.fields = vec![
            Field::text("name", "Name", 200),
            Field::slug("slug", "Slug", "name")
                .help("The product's address on the site: lowercase letters, digits and hyphens."),
            Field::text("sku", "SKU", 64).help("Unique: the code on the shelf and in imports."),
            Field::reference("category", "Category"),
            Field::reference("product_type", "Product type")
                .optional()
                .help("What its variants differ by (Size, Colour): needed to add variants."),
            Field::markdown("description", "Description", 20_000)
                .optional()
                .help("Markdown: **bold**, *italic*, lists and links."),
            Field::money("price", "Price")
                .help("With variants: the lowest of theirs, set by them."),
            Field::int("stock", "Stock", 0, MAX_STOCK)
                .help("With variants: the sum of theirs, set by them."),
            Field::int("weight_grams", "Weight (grams)", 0, MAX_STOCK)
                .optional()
                .help("Packed, for shipping priced by weight. Empty: 0."),
            Field::bool("is_active", "Active").help("Only active products are shown and sold."),
            Field::datetime("created_at", "Created"),
            Field::datetime("updated_at", "Last changed"),
        ];
        meta.fieldsets = vec![
            Fieldset::new(None, &["name", "slug", "sku", "category", "product_type"]),
            Fieldset::new(
                Some("Price and stock"),
                &["price", "stock", "weight_grams", "is_active"],
            ),
            Fieldset::new(Some("Description"), &["description"]),
            Fieldset::new(Some("Dates"), &["created_at", "updated_at"]),
        ];
        meta.list_editable = vec!["price", "stock"];
        meta.formsets = vec![
            FormsetSpec {
            key: "variants",
            title: "Variants",
            fields: vec![
                Field::text("options", "Options", 200)
                    .help("One value per attribute of the product type, separated by “/”: 42 / Black."),
                Field::text("sku", "SKU", 64),
                Field::money("price", "Price"),
                Field::int("stock", "Stock", 0, MAX_STOCK),
                Field::bool("off_sale", "Off sale"),
            ],
            upload: None,
            extra: 3,
            pick_one: None,
            description: "Sizes, colours…: each variant has its own SKU, price and stock, and is \
                          what shoppers put in their cart. A product with variants is sold only \
                          as one of them. A variant's own pictures are added on its page \
                          (find its SKU under Products).",
        },
        FormsetSpec {
            key: "images",
            title: "Images",
            fields: vec![
                Field::text("alt", "Alt text", 200)
                    .optional()
                    .help("What the picture shows, for people who cannot see it."),
                Field::int("position", "Position", 0, 999).optional(),
            ],
            upload: Some((
                "Add a picture",
                "JPEG, PNG, GIF or WebP, at most 8 MB and 6000 pixels a side. Resized for the shop; \
                 lower positions come first.",
            )),
            extra: 3,
            pick_one: Some(("Main", "The main picture is shown first and on product cards.")),
            description: "",
        }];
        meta.actions = vec![
            ActionSpec::new("activate", "Activate", Perm::Change),
            ActionSpec::new("deactivate", "Deactivate", Perm::Change),
        ];
        ProductAdmin { meta }
    }
}

fn filtered(q: &ListQuery, dialect: Dialect) -> p::BoxedQuery<'static, MultiBackend> {
    let mut query = p::table.into_boxed::<MultiBackend>();
    if let Some(cat) = q.related("category") {
        query = query.filter(p::category_id.eq(cat));
    }
    if let Some(active) = q.flag("active") {
        query = query.filter(p::is_active.eq(active));
    }
    match q.flag("in_stock") {
        Some(true) => query = query.filter(p::stock.gt(0)),
        Some(false) => query = query.filter(p::stock.eq(0)),
        None => {}
    }
    query = site_core::admin_between!(query, p::created_at, q.date_range("created"));
    query = site_core::admin_between!(query, p::created_at, q.drill_range().unzip());
    if let Some(after) = q.after_id {
        query = query.filter(p::id.gt(after));
    }
    site_core::admin_text_search!(query, q, dialect, &search::PRODUCTS, p::id)
}

/// What a row of the product list shows.
#[derive(Queryable, Selectable)]
#[diesel(table_name = p)]
struct ProductRow {
    id: i64,
    name: String,
    sku: String,
    price_minor: i64,
    stock: i64,
    is_active: bool,
    image: String,
    created_at: NaiveDateTime,
}

fn repr(name: &str, sku: &str) -> String {
    format!("{name} ({sku})")
}

fn image_url(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("/media/{path}")
    }
}

impl ModelAdmin for ProductAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// Two queries: the page's ids from an index (skipping OFFSET rows
    /// there, not in the table), then those rows with their category.
    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let ids: Vec<i64> = site_core::admin_order!(filtered(q, Dialect::of(conn)), q, p::id, {
            "name" => p::name,
            "sku" => p::sku,
            "price" => p::price_minor,
            "stock" => p::stock,
            "created" => p::created_at,
        })
        .select(p::id)
        .offset(q.offset)
        .limit(q.limit)
        .load(conn)?;
        let rows: Vec<(ProductRow, String)> = p::table
            .inner_join(c::table)
            .filter(p::id.eq_any(&ids))
            .select((ProductRow::as_select(), c::name))
            .load(conn)?;
        Ok(in_order_of(&ids, rows, |(r, _)| r.id)
            .into_iter()
            .map(|(r, category)| Row {
                id: r.id,
                repr: repr(&r.name, &r.sku),
                editable: Values::new()
                    .with("price", Value::Money(r.price_minor))
                    .with("stock", Value::Int(r.stock)),
                cells: vec![
                    Cell::Text(r.name),
                    Cell::Image(image_url(&r.image)),
                    Cell::Text(r.sku),
                    Cell::Text(category),
                    Cell::Money(r.price_minor),
                    Cell::Int(r.stock),
                    Cell::Bool(r.stock > 0),
                    Cell::Bool(r.is_active),
                    Cell::DateTime(Some(r.created_at)),
                ],
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q, Dialect::of(conn))
            .select(p::id)
            .limit(cap)
            .load::<i64>(conn)
    }

    fn estimate(&self, conn: &mut DbConn) -> QueryResult<Option<i64>> {
        site_core::db::estimate_rows(conn, "products_product")
    }

    fn choices(&self, conn: &mut DbConn, key: &str) -> QueryResult<Vec<(i64, String)>> {
        match key {
            "category" => category_choices(conn),
            "product_type" => {
                use site_core::schema::products_product_type as t;
                t::table
                    .order((t::name.asc(), t::id.asc()))
                    .select((t::id, t::name))
                    .load(conn)
            }
            _ => Ok(Vec::new()),
        }
    }

    fn date_bounds(
        &self,
        conn: &mut DbConn,
    ) -> QueryResult<Option<(NaiveDateTime, NaiveDateTime)>> {
        site_core::admin_date_bounds!(conn, p::table, p::created_at, p::created_at)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(pr) = p::table
            .find(id)
            .select(Product::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(Some(Object {
            id,
            repr: repr(&pr.name, &pr.sku),
            values: Values::new()
                .with("name", Value::Text(pr.name))
                .with("slug", Value::Text(pr.slug))
                .with("sku", Value::Text(pr.sku))
                .with("category", Value::Ref(pr.category_id))
                .with(
                    "product_type",
                    pr.product_type_id.map_or(Value::Null, Value::Ref),
                )
                .with("description", Value::Text(pr.description))
                .with("price", Value::Money(pr.price_minor))
                .with("stock", Value::Int(pr.stock))
                .with("weight_grams", Value::Int(pr.weight_grams))
                .with("is_active", Value::Bool(pr.is_active))
                .with("created_at", Value::DateTime(pr.created_at))
                .with("updated_at", Value::DateTime(pr.updated_at)),
        }))
    }

    fn create(
        &self,
        env: &AdminEnv<'_>,
        conn: &mut DbConn,
        v: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        let now = site_core::now();
        let sku = v.text("sku")?;
        diesel::insert_into(p::table)
            .values((
                p::name.eq(v.text("name")?),
                p::slug.eq(v.text("slug")?),
                p::sku.eq(sku),
                p::category_id.eq(v.int("category")?),
                p::product_type_id.eq(v.opt_ref("product_type")?),
                p::description.eq(v.text("description")?),
                p::price_minor.eq(v.int("price")?),
                p::currency.eq(env.config.currency.code()),
                p::stock.eq(v.int("stock")?),
                p::weight_grams.eq(v.opt_int("weight_grams").unwrap_or(0)),
                p::is_active.eq(v.bool("is_active")?),
                p::image.eq(""),
                p::created_at.eq(now),
                p::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| SaveError::unique(e, "sku", "Another product has this SKU."))?;
        let id = p::table.filter(p::sku.eq(sku)).select(p::id).first(conn)?;
        refresh_terms(conn, Scope::Products(&[id]))?;
        Ok(id)
    }

    fn update(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        v: &Values,
        _files: &Submission,
    ) -> Result<(), SaveError> {
        crate::variants::settle(conn, &[id], |conn| {
            let before = Product::find(conn, id)?;
            refuse_totals_of_parent(&before, v)?;
            diesel::update(p::table.find(id))
                .set((
                    p::name.eq(v.text("name")?),
                    p::slug.eq(v.text("slug")?),
                    p::sku.eq(v.text("sku")?),
                    p::category_id.eq(v.int("category")?),
                    p::product_type_id.eq(v.opt_ref("product_type")?),
                    p::description.eq(v.text("description")?),
                    p::price_minor.eq(v.int("price")?),
                    p::stock.eq(v.int("stock")?),
                    p::weight_grams.eq(v.opt_int("weight_grams").unwrap_or(0)),
                    p::is_active.eq(v.bool("is_active")?),
                    p::updated_at.eq(site_core::now()),
                ))
                .execute(conn)
                .map_err(|e| SaveError::unique(e, "sku", "Another product has this SKU."))?;
            let name = v.text("name")?;
            if before.has_variants && before.name != name {
                crate::variants::rename(conn, id, name)?;
            }
            if before.category_id != v.int("category")? {
                refresh_terms(conn, Scope::Products(&[id]))?;
            }
            Ok(())
        })
    }

    /// Resizes new pictures before the transaction (never while holding
    /// the database).
    fn prepare(
        &self,
        config: &site_core::Config,
        v: &mut Values,
        files: &Submission,
        _adding: bool,
    ) -> Result<(), SaveError> {
        for n in 0..3 {
            let field = format!("images-new{n}-file");
            let Some(upload) = files.file(&field) else {
                continue;
            };
            let stored = crate::images::store(&config.media_root, &upload.filename, upload.bytes())
                .map_err(|e| match e {
                    crate::images::StoreError::Upload(e) => SaveError::field(&field, e.to_string()),
                    other => SaveError::Other(other.to_string()),
                })?;
            v.set(
                &format!("images-new{n}-stored"),
                Value::Text(serde_json::to_string(&stored).unwrap_or_default()),
            );
        }
        Ok(())
    }

    fn formset_rows(
        &self,
        conn: &mut DbConn,
        key: &str,
        parent: i64,
    ) -> QueryResult<Vec<FormsetRow>> {
        if key == "variants" {
            return Ok(crate::variants::of_product(conn, parent, true)?
                .into_iter()
                .map(|v| FormsetRow {
                    id: v.id,
                    label: v.sku.clone(),
                    preview: None,
                    values: Values::new()
                        .with("options", Value::Text(v.label))
                        .with("sku", Value::Text(v.sku))
                        .with("price", Value::Money(v.price.minor()))
                        .with("stock", Value::Int(v.stock))
                        .with("off_sale", Value::Bool(!v.is_active)),
                    picked: false,
                })
                .collect());
        }
        if key != "images" {
            return Ok(Vec::new());
        }
        Ok(crate::images::ProductImage::for_product(conn, parent)?
            .into_iter()
            .map(|img| FormsetRow {
                id: img.id,
                label: format!("Picture {}", img.id),
                preview: Some(format!("/media/{}", img.thumb_path)),
                values: Values::new()
                    .with("alt", Value::Text(img.alt))
                    .with("position", Value::Int(i64::from(img.position))),
                picked: img.is_main,
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
        values: &Values,
    ) -> Result<Vec<FieldChange>, SaveError> {
        use site_core::schema::products_image as i;
        if key == "variants" {
            return save_variants(conn, parent, changes);
        }
        if key != "images" {
            return Ok(Vec::new());
        }
        let mut history = Vec::new();
        let change = |after: String| FieldChange::row_note("images", "Images", after);
        for id in &changes.deleted {
            diesel::delete(
                i::table
                    .filter(i::id.eq(id))
                    .filter(i::product_id.eq(parent)),
            )
            .execute(conn)?;
            history.push(change(format!("deleted picture {id}")));
        }
        for (id, v) in &changes.kept {
            let (old_alt, old_pos): (String, i32) = i::table
                .find(id)
                .select((i::alt, i::position))
                .first(conn)?;
            let alt = v.text("alt")?.to_string();
            let pos = match v.get("position") {
                Some(Value::Int(n)) => *n as i32,
                _ => old_pos,
            };
            if alt != old_alt || pos != old_pos {
                diesel::update(i::table.find(id))
                    .set((i::alt.eq(&alt), i::position.eq(pos)))
                    .execute(conn)?;
                history.push(change(format!(
                    "picture {id}: alt text “{alt}”, position {pos}"
                )));
            }
        }
        let mut new_ids = Vec::new();
        for (n, v) in &changes.added {
            let stored: crate::images::Stored = match values.get(&format!("images-new{n}-stored")) {
                Some(Value::Text(json)) => serde_json::from_str(json)
                    .map_err(|e| SaveError::Other(format!("a stored picture: {e}")))?,
                _ => {
                    return Err(SaveError::field(
                        &format!("images-new{n}-file"),
                        "Choose a picture to upload.",
                    ))
                }
            };
            let position = match v.get("position") {
                Some(Value::Int(p)) => Some(*p as i32),
                _ => None,
            };
            let id = crate::images::insert(conn, parent, &stored, v.text("alt")?, position)?;
            history.push(change(format!("added {} as picture {id}", stored.name)));
            new_ids.push((*n, id));
        }
        let main = match changes.pick {
            Some(Pick::Saved(id)) => Some(id),
            Some(Pick::New(n)) => new_ids.iter().find(|(k, _)| *k == n).map(|(_, id)| *id),
            None => None,
        };
        let main_before: Option<i64> = i::table
            .filter(i::product_id.eq(parent))
            .filter(i::is_main.eq(true))
            .select(i::id)
            .first(conn)
            .optional()?;
        crate::images::settle_main(conn, parent, main)?;
        let main_after: Option<i64> = i::table
            .filter(i::product_id.eq(parent))
            .filter(i::is_main.eq(true))
            .select(i::id)
            .first(conn)
            .optional()?;
        if main_after != main_before {
            if let Some(m) = main_after {
                history.push(change(format!("picture {m} is the main one")));
            }
        }
        Ok(history)
    }

    fn update_row(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        v: &Values,
    ) -> Result<(), SaveError> {
        crate::variants::settle(conn, &[id], |conn| {
            refuse_totals_of_parent(&Product::find(conn, id)?, v)?;
            diesel::update(p::table.find(id))
                .set((
                    p::price_minor.eq(v.int("price")?),
                    p::stock.eq(v.int("stock")?),
                    p::updated_at.eq(site_core::now()),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// Variants' and parents' families first (as checkout locks them),
    /// then the rows.
    fn lock(&self, conn: &mut DbConn, ids: &[i64]) -> QueryResult<()> {
        crate::models::lock_families(conn, ids)?;
        site_core::db::lock_rows(conn, "products_product", ids)
    }

    /// A deleted or deactivated variant leaves its product's totals.
    fn delete(&self, conn: &mut DbConn, id: i64, plan: &DeletePlan) -> Result<Deleted, SaveError> {
        crate::variants::settle(conn, &[id], |conn| {
            if plan.deactivates_instead.is_some() {
                Product::set_active(conn, id, false)?;
                return Ok(Deleted::Deactivated);
            }
            diesel::delete(p::table.find(id)).execute(conn)?;
            Ok(Deleted::Removed)
        })
    }

    fn run_action(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        action: &str,
        ids: &[i64],
        _input: &Submission,
    ) -> Result<String, SaveError> {
        // A variant switched on or off changes its parent's totals.
        crate::variants::settle(conn, ids, |conn| {
            site_core::admin_set_active!(conn, action, ids, p, "product", "products")
        })
    }

    fn object_actions(&self, obj: &Object) -> Vec<&'static str> {
        match obj.values.get("is_active") {
            Some(Value::Bool(true)) => vec!["deactivate"],
            _ => vec!["activate"],
        }
    }

    fn list_links(&self) -> Vec<(String, Link)> {
        vec![(
            "Import CSV".into(),
            Link::route("admin:product_import", &[]),
        )]
    }

    fn object_links(&self, obj: &Object) -> Vec<(String, Link)> {
        match obj.values.get("is_active") {
            Some(Value::Bool(true)) => vec![(
                "View on site".into(),
                Link::route("products:detail_by_id", &[("id", &obj.id.to_string())]),
            )],
            _ => Vec::new(),
        }
    }

    fn initial(&self) -> Values {
        Values::new()
            .with("is_active", Value::Bool(true))
            .with("stock", Value::Int(0))
    }
}

/// Applies the variants formset: values, SKU, price, stock and active flag
/// of each row; new rows become variants; a removed variant that was
/// ordered is deactivated instead (its orders keep pointing at it). The
/// parent's totals follow, under its lock.
fn save_variants(
    conn: &mut DbConn,
    parent: i64,
    changes: &FormsetChanges,
) -> Result<Vec<FieldChange>, SaveError> {
    use crate::variants::{self, NewVariant, VariantError};
    use site_core::schema::orders_line as l;
    if changes.kept.is_empty() && changes.deleted.is_empty() && changes.added.is_empty() {
        return Ok(Vec::new());
    }
    site_core::db::lock_row(conn, "products_product", parent)?;
    let product = Product::find(conn, parent)?;
    let attributes = match product.product_type_id {
        Some(t) => variants::attributes(conn, t)?,
        None => Vec::new(),
    };
    let mut history = Vec::new();
    let change = |after: String| FieldChange::row_note("variants", "Variants", after);
    let field_error = |name: String, e: VariantError| match e {
        VariantError::Db(e) => SaveError::from(e),
        other => SaveError::field(&name, other.to_string()),
    };
    let sku_taken = |e, name: &str| SaveError::unique(e, name, "Another product has this SKU.");
    for id in &changes.deleted {
        let ordered: bool =
            diesel::select(diesel::dsl::exists(l::table.filter(l::product_id.eq(id))))
                .get_result(conn)?;
        let mine = p::table
            .filter(p::id.eq(id))
            .filter(p::parent_id.eq(parent));
        if ordered {
            diesel::update(mine)
                .set(p::is_active.eq(false))
                .execute(conn)?;
            history.push(change(format!("variant {id} deactivated (it has orders)")));
        } else {
            diesel::delete(mine).execute(conn)?;
            history.push(change(format!("deleted variant {id}")));
        }
    }
    for (id, v) in &changes.kept {
        let options = format!("variants-{id}-options");
        let values = variants::parse_options(v.text("options")?, &attributes)
            .map_err(|e| SaveError::field(&options, e))?;
        variants::update_values(conn, &product, *id, &attributes, &values)
            .map_err(|e| field_error(options, e))?;
        let sku_field = format!("variants-{id}-sku");
        diesel::update(
            p::table
                .filter(p::id.eq(id))
                .filter(p::parent_id.eq(parent)),
        )
        .set((
            p::sku.eq(v.text("sku")?.trim()),
            p::price_minor.eq(v.int("price")?),
            p::stock.eq(v.int("stock")?),
            p::is_active.eq(!v.bool("off_sale")?),
            p::updated_at.eq(site_core::now()),
        ))
        .execute(conn)
        .map_err(|e| sku_taken(e, &sku_field))?;
    }
    for (n, v) in &changes.added {
        let options = format!("variants-new{n}-options");
        let values = variants::parse_options(v.text("options")?, &attributes)
            .map_err(|e| SaveError::field(&options, e))?;
        let sku = v.text("sku")?.trim();
        if sku.is_empty() {
            return Err(SaveError::field(
                &format!("variants-new{n}-sku"),
                "Give the variant its own SKU.",
            ));
        }
        let new = NewVariant {
            sku,
            price_minor: v.int("price")?,
            stock: v.int("stock")?,
            is_active: !v.bool("off_sale")?,
            values: &values,
        };
        let id = variants::create(conn, &product, &attributes, &new).map_err(|e| match e {
            VariantError::Db(e) => sku_taken(e, &format!("variants-new{n}-sku")),
            other => field_error(options.clone(), other),
        })?;
        history.push(change(format!(
            "added variant {} ({sku}) as {id}",
            values.join(" / ")
        )));
    }
    crate::models::refresh_parents(conn, &[parent])?;
    refresh_terms(conn, Scope::Products(&[parent]))?;
    Ok(history)
}

/// "3 products are in this category: move them to another category
/// first": why a row that products point at cannot be deleted.
pub(crate) fn protected_by_products(plan: &mut DeletePlan, n: i64, place: &str, fix: &str) {
    if n > 0 {
        let (are, them) = if n == 1 {
            ("product is", "it")
        } else {
            ("products are", "them")
        };
        plan.protected_by.push(format!(
            "{n} {are} {place}: {}",
            fix.replace("{them}", them)
        ));
    }
}

/// A parent's stock and price are its variants': typing others over them
/// would be silently undone, so it is refused with where to change them.
fn refuse_totals_of_parent(before: &Product, v: &Values) -> Result<(), SaveError> {
    if !before.has_variants {
        return Ok(());
    }
    if v.int("stock")? != before.stock {
        return Err(SaveError::field(
            "stock",
            "This product's stock is the sum of its variants': change it on the variants.",
        ));
    }
    if v.int("price")? != before.price_minor {
        return Err(SaveError::field(
            "price",
            "This product's price is the lowest of its variants': change it on the variants.",
        ));
    }
    Ok(())
}

fn category_choices(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    c::table
        .order((c::name.asc(), c::id.asc()))
        .select((c::id, c::name))
        .load(conn)
}

pub struct CategoryAdmin {
    meta: ModelMeta,
}

impl Default for CategoryAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("products", "category", "category", "categories");
        meta.columns = vec![
            Column::new("name", "Name").sortable(),
            Column::new("slug", "Slug").sortable(),
            Column::new("parent", "Parent"),
            Column::new("products", "Products").numeric(),
        ];
        meta.filters = vec![Filter::related("parent", "Parent")];
        meta.search = Some("name or slug");
        meta.default_sort = "name";
        meta.fields = vec![
            Field::text("name", "Name", 100),
            Field::slug("slug", "Slug", "name")
                .help("The category's address on the site: lowercase letters, digits and hyphens."),
            Field::reference("parent", "Parent category").optional(),
            Field::markdown("description", "Description", 5_000).optional(),
            Field::datetime("created_at", "Created"),
        ];
        CategoryAdmin { meta }
    }
}

fn categories_filtered(q: &ListQuery) -> c::BoxedQuery<'static, MultiBackend> {
    let mut query = c::table.into_boxed::<MultiBackend>();
    if let Some(parent) = q.related("parent") {
        query = query.filter(c::parent_id.eq(parent));
    }
    if let Some(after) = q.after_id {
        query = query.filter(c::id.gt(after));
    }
    site_core::admin_search_like!(query, q, c::table, [c::name, c::slug])
}

/// Says which of `parent`'s ancestors would make it its own ancestor.
fn creates_cycle(conn: &mut DbConn, id: i64, parent: Option<i64>) -> QueryResult<bool> {
    let mut next = parent;
    let mut hops = 0;
    while let Some(at) = next {
        if at == id {
            return Ok(true);
        }
        hops += 1;
        if hops > 100 {
            return Ok(true);
        }
        next = c::table
            .find(at)
            .select(c::parent_id)
            .first::<Option<i64>>(conn)
            .optional()?
            .flatten();
    }
    Ok(false)
}

impl ModelAdmin for CategoryAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let cats: Vec<Category> = site_core::admin_order!(categories_filtered(q), q, c::id, {
            "name" => c::name,
            "slug" => c::slug,
        })
        .offset(q.offset)
        .limit(q.limit)
        .select(Category::as_select())
        .load(conn)?;
        let ids: Vec<i64> = cats.iter().map(|c| c.id).collect();
        let parents: Vec<i64> = cats.iter().filter_map(|c| c.parent_id).collect();
        let counts: Vec<(i64, i64)> = p::table
            .filter(p::category_id.eq_any(&ids))
            .group_by(p::category_id)
            .select((p::category_id, diesel::dsl::count_star()))
            .load(conn)?;
        let parent_names: Vec<(i64, String)> = c::table
            .filter(c::id.eq_any(&parents))
            .select((c::id, c::name))
            .load(conn)?;
        Ok(cats
            .into_iter()
            .map(|cat| {
                let n = counts
                    .iter()
                    .find(|(id, _)| *id == cat.id)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                let parent = cat
                    .parent_id
                    .and_then(|pid| parent_names.iter().find(|(id, _)| *id == pid))
                    .map(|(_, name)| name.clone())
                    .unwrap_or_else(|| "—".into());
                Row {
                    id: cat.id,
                    repr: cat.name.clone(),
                    cells: vec![
                        Cell::Text(cat.name),
                        Cell::Text(cat.slug),
                        Cell::Text(parent),
                        Cell::Int(n),
                    ],
                    editable: Values::new(),
                }
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        categories_filtered(q)
            .select(c::id)
            .limit(cap)
            .load::<i64>(conn)
    }

    fn choices(&self, conn: &mut DbConn, key: &str) -> QueryResult<Vec<(i64, String)>> {
        match key {
            "parent" => category_choices(conn),
            _ => Ok(Vec::new()),
        }
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(cat) = c::table
            .find(id)
            .select(Category::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(Some(Object {
            id,
            repr: cat.name.clone(),
            values: Values::new()
                .with("name", Value::Text(cat.name))
                .with("slug", Value::Text(cat.slug))
                .with(
                    "parent",
                    cat.parent_id.map(Value::Ref).unwrap_or(Value::Null),
                )
                .with("description", Value::Text(cat.description))
                .with("created_at", Value::DateTime(cat.created_at)),
        }))
    }

    fn create(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        v: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        let slug = v.text("slug")?;
        diesel::insert_into(c::table)
            .values((
                c::name.eq(v.text("name")?),
                c::slug.eq(slug),
                c::description.eq(v.text("description")?),
                c::parent_id.eq(v.opt_ref("parent")?),
                c::created_at.eq(site_core::now()),
            ))
            .execute(conn)
            .map_err(|e| SaveError::unique(e, "slug", "Another category has this slug."))?;
        Ok(c::table
            .filter(c::slug.eq(slug))
            .select(c::id)
            .first(conn)?)
    }

    fn update(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        v: &Values,
        _files: &Submission,
    ) -> Result<(), SaveError> {
        let parent = v.opt_ref("parent")?;
        if creates_cycle(conn, id, parent)? {
            return Err(SaveError::field(
                "parent",
                "A category cannot sit inside itself or one of its own subcategories.",
            ));
        }
        diesel::update(c::table.find(id))
            .set((
                c::name.eq(v.text("name")?),
                c::slug.eq(v.text("slug")?),
                c::description.eq(v.text("description")?),
                c::parent_id.eq(parent),
            ))
            .execute(conn)
            .map_err(|e| SaveError::unique(e, "slug", "Another category has this slug."))?;
        // Its products are found by its name, and so are those of every
        // category below it, at any depth.
        let categories = Category::all(conn)?;
        let affected = crate::tree::Tree::new(&categories).descendants(id);
        refresh_terms(conn, Scope::Categories(&affected))?;
        Ok(())
    }

    fn delete_plan(
        &self,
        _staff: &site_core::admin::Staff,
        conn: &mut DbConn,
        id: i64,
    ) -> QueryResult<DeletePlan> {
        let products: i64 = p::table
            .filter(p::category_id.eq(id))
            .count()
            .get_result(conn)?;
        let children: i64 = c::table
            .filter(c::parent_id.eq(id))
            .count()
            .get_result(conn)?;
        let mut plan = DeletePlan::default();
        protected_by_products(
            &mut plan,
            products,
            "in this category",
            "move {them} to another category first",
        );
        if children > 0 {
            plan.cascades.push(format!(
                "{children} {} become top-level",
                if children == 1 {
                    "subcategory"
                } else {
                    "subcategories"
                }
            ));
        }
        Ok(plan)
    }

    fn delete(&self, conn: &mut DbConn, id: i64, _: &DeletePlan) -> Result<Deleted, SaveError> {
        // Its name leaves the search terms of every product below it.
        let categories = Category::all(conn)?;
        let below: Vec<i64> = crate::tree::Tree::new(&categories)
            .descendants(id)
            .into_iter()
            .filter(|c| *c != id)
            .collect();
        diesel::update(c::table.filter(c::parent_id.eq(id)))
            .set(c::parent_id.eq(None::<i64>))
            .execute(conn)?;
        diesel::delete(c::table.find(id)).execute(conn)?;
        refresh_terms(conn, Scope::Categories(&below))?;
        Ok(Deleted::Removed)
    }

    fn inlines(&self, conn: &mut DbConn, obj: &Object) -> QueryResult<Vec<InlineTable>> {
        const SHOWN: i64 = 20;
        let total: i64 = p::table
            .filter(p::category_id.eq(obj.id))
            .count()
            .get_result(conn)?;
        let rows: Vec<(i64, String, String, i64, i64, bool)> = p::table
            .filter(p::category_id.eq(obj.id))
            .order((p::created_at.desc(), p::id.desc()))
            .limit(SHOWN)
            .select((
                p::id,
                p::name,
                p::sku,
                p::price_minor,
                p::stock,
                p::is_active,
            ))
            .load(conn)?;
        Ok(vec![InlineTable {
            title: format!("Products in this category ({total})"),
            columns: vec![
                Column::new("name", "Name"),
                Column::new("sku", "SKU"),
                Column::new("price", "Price").numeric(),
                Column::new("stock", "Stock").numeric(),
                Column::new("active", "Active"),
            ],
            rows: rows
                .into_iter()
                .map(|(id, name, sku, price, stock, active)| {
                    (
                        Some(Link::change("products", "product", id)),
                        vec![
                            Cell::Text(name),
                            Cell::Text(sku),
                            Cell::Money(price),
                            Cell::Int(stock),
                            Cell::Bool(active),
                        ],
                    )
                })
                .collect(),
            more: (total > SHOWN).then(|| {
                (
                    format!("All {total} products in this category"),
                    Link::List {
                        app: "products",
                        model: "product",
                        query: format!("category={}", obj.id),
                    },
                )
            }),
            lists: Some(("products", "product")),
        }])
    }

    fn object_links(&self, obj: &Object) -> Vec<(String, Link)> {
        match obj.values.get("slug") {
            Some(Value::Text(slug)) => vec![(
                "View on site".into(),
                Link::route("products:category", &[("slug", slug)]),
            )],
            _ => Vec::new(),
        }
    }
}

/// Active products about to sell out, fewest first.
pub struct LowStock;

impl site_core::admin::dashboard::Widget for LowStock {
    fn permission(&self) -> String {
        "products.view_product".into()
    }

    fn load(
        &self,
        conn: &mut DbConn,
        env: &site_core::admin::dashboard::WidgetEnv,
    ) -> QueryResult<site_core::admin::dashboard::Panel> {
        let rows: Vec<(i64, String, String, i64)> = p::table
            .filter(p::is_active.eq(true))
            .filter(p::stock.le(crate::models::LOW_STOCK))
            .order((p::stock.asc(), p::id.asc()))
            .limit(8)
            .select((p::id, p::name, p::sku, p::stock))
            .load(conn)?;
        let list = env.url(
            "admin:changelist",
            &[("app", "products"), ("model", "product")],
        );
        Ok(site_core::admin::dashboard::Panel::Table {
            title: format!("Low stock ({} or fewer left)", crate::models::LOW_STOCK),
            columns: vec!["Product".into(), "SKU".into(), "Stock".into()],
            rows: rows
                .into_iter()
                .map(|(id, name, sku, stock)| {
                    vec![
                        (
                            name,
                            Some(env.url(
                                "admin:change",
                                &[
                                    ("app", "products"),
                                    ("model", "product"),
                                    ("id", &id.to_string()),
                                ],
                            )),
                        ),
                        (sku, None),
                        (
                            if stock == 0 {
                                "sold out".into()
                            } else {
                                stock.to_string()
                            },
                            None,
                        ),
                    ]
                })
                .collect(),
            empty: "Every active product has more than a few left.".into(),
            more: Some((
                "Products by stock, fewest first".into(),
                format!("{list}?o=stock&active=yes"),
            )),
        })
    }
}

//! Shipping methods in the staff admin: name, price rule, the countries
//! they deliver to, and their weight bands as a formset.

use diesel::prelude::*;
use site_core::admin::audit::FieldChange;
use site_core::admin::{
    ActionSpec, AdminEnv, Cell, Column, DeletePlan, Deleted, Field, Fieldset, Filter,
    FormsetChanges, FormsetRow, FormsetSpec, ListQuery, ModelAdmin, ModelMeta, Object, Perm, Row,
    SaveError, Submission, Value, Values,
};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::{
    orders_order as o, orders_shipping_band as b, orders_shipping_method as m,
};

use crate::shipping::{parse_countries, ShippingKind, ShippingMethod};

/// Heaviest band a form accepts: 1,000 kg.
const MAX_GRAMS: i64 = 1_000_000_000;

pub struct ShippingMethodAdmin {
    meta: ModelMeta,
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    ShippingKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}

impl Default for ShippingMethodAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new(
            "orders",
            "shippingmethod",
            "shipping method",
            "shipping methods",
        );
        meta.columns = vec![
            Column::new("name", "Name").sortable(),
            Column::new("kind", "Price rule"),
            Column::new("price", "Price").numeric(),
            Column::new("free_over", "Free from").numeric(),
            Column::new("countries", "Countries"),
            Column::new("active", "Active"),
            Column::new("position", "Position").sortable().numeric(),
        ];
        meta.filters = vec![
            Filter::choices("kind", "Price rule", kinds()),
            Filter::boolean("active", "Active"),
        ];
        meta.search = Some("name");
        meta.default_sort = "position";
        meta.fields = vec![
            Field::text("name", "Name", 100).help("What shoppers choose at checkout."),
            Field::text("description", "Description", 200)
                .optional()
                .help("Shown under the name: how long delivery takes, for instance."),
            Field::choice("kind", "Price rule", kinds()).help(
                "Flat rate: the price below for any order. By weight band: the price of the \
                 lightest band the order fits in (orders heavier than every band cannot use it).",
            ),
            Field::money("price", "Flat price").optional().help(
                "For flat-rate methods; weight-band methods take their prices from the bands.",
            ),
            Field::money("free_over", "Free from")
                .optional()
                .help("Orders whose subtotal reaches this amount ship free. Empty: never free."),
            Field::long_text("countries", "Countries", 2_000)
                .optional()
                .help("ISO country codes separated by spaces (GB IE FR). Empty: every country."),
            Field::bool("is_active", "Active").help("Only active methods are offered."),
            Field::int("position", "Position", 0, 9_999)
                .help("Checkout lists methods by position, lowest first."),
            Field::datetime("created_at", "Created"),
            Field::datetime("updated_at", "Last changed"),
        ];
        meta.fieldsets = vec![
            Fieldset::new(None, &["name", "description", "is_active", "position"]),
            Fieldset::new(Some("Price"), &["kind", "price", "free_over"]),
            Fieldset::new(Some("Where it delivers"), &["countries"]),
            Fieldset::new(Some("Dates"), &["created_at", "updated_at"]),
        ];
        meta.formsets = vec![FormsetSpec {
            key: "bands",
            title: "Weight bands",
            fields: vec![
                Field::int("max_weight_grams", "Up to (grams)", 1, MAX_GRAMS),
                Field::money("price", "Price"),
            ],
            upload: None,
            extra: 3,
            pick_one: None,
            description: "For weight-band methods: an order costs the price of the lightest band \
                          it fits in.",
        }];
        meta.actions = vec![
            ActionSpec::new("activate", "Activate", Perm::Change),
            ActionSpec::new("deactivate", "Deactivate", Perm::Change),
        ];
        ShippingMethodAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> m::BoxedQuery<'static, MultiBackend> {
    let mut query = m::table.into_boxed::<MultiBackend>();
    if let Some(kind) = q.choice("kind").and_then(ShippingKind::parse) {
        query = query.filter(m::kind.eq(kind));
    }
    if let Some(active) = q.flag("active") {
        query = query.filter(m::is_active.eq(active));
    }
    if let Some(after) = q.after_id {
        query = query.filter(m::id.gt(after));
    }
    site_core::admin_search_like!(query, q, m::table, [m::name])
}

fn money_or_null(minor: Option<i64>) -> Value {
    minor.map(Value::Money).unwrap_or(Value::Null)
}

/// The validated columns of a method from its form.
fn checked(v: &Values) -> Result<(ShippingKind, i64, String), SaveError> {
    let kind = ShippingKind::parse(v.text("kind")?)
        .ok_or_else(|| SaveError::field("kind", "Choose a price rule."))?;
    let price = v.opt_int("price");
    if kind == ShippingKind::Flat && price.is_none() {
        return Err(SaveError::field(
            "price",
            "A flat-rate method needs its price (0 for free delivery).",
        ));
    }
    let countries = parse_countries(v.text("countries")?).map_err(|bad| {
        SaveError::field(
            "countries",
            format!(
                "Not ISO country codes: {}. Use two-letter codes such as GB, IE, FR.",
                bad.join(", ")
            ),
        )
    })?;
    Ok((kind, price.unwrap_or(0), countries.join(" ")))
}

impl ModelAdmin for ShippingMethodAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let methods: Vec<ShippingMethod> = site_core::admin_order!(filtered(q), q, m::id, {
            "name" => m::name,
            "position" => m::position,
        })
        .offset(q.offset)
        .limit(q.limit)
        .select(ShippingMethod::as_select())
        .load(conn)?;
        Ok(methods
            .into_iter()
            .map(|method| Row {
                id: method.id,
                repr: method.name.clone(),
                cells: vec![
                    Cell::Text(method.name),
                    Cell::Text(method.kind.label().into()),
                    match method.kind {
                        ShippingKind::Flat => Cell::Money(method.price_minor),
                        ShippingKind::Weight => Cell::Text("by band".into()),
                    },
                    match method.free_over_minor {
                        Some(f) => Cell::Money(f),
                        None => Cell::Text("—".into()),
                    },
                    Cell::Text(if method.countries.is_empty() {
                        "Everywhere".into()
                    } else {
                        method.countries
                    }),
                    Cell::Bool(method.is_active),
                    Cell::Int(i64::from(method.position)),
                ],
                editable: Values::new(),
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(m::id).limit(cap).load(conn)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(method) = ShippingMethod::find(conn, id)? else {
            return Ok(None);
        };
        Ok(Some(Object {
            id,
            repr: method.name.clone(),
            values: Values::new()
                .with("name", Value::Text(method.name))
                .with("description", Value::Text(method.description))
                .with("kind", Value::Text(method.kind.as_str().into()))
                .with(
                    "price",
                    match method.kind {
                        ShippingKind::Flat => Value::Money(method.price_minor),
                        ShippingKind::Weight => {
                            money_or_null(Some(method.price_minor).filter(|p| *p > 0))
                        }
                    },
                )
                .with("free_over", money_or_null(method.free_over_minor))
                .with("countries", Value::Text(method.countries))
                .with("is_active", Value::Bool(method.is_active))
                .with("position", Value::Int(i64::from(method.position)))
                .with("created_at", Value::DateTime(method.created_at))
                .with("updated_at", Value::DateTime(method.updated_at)),
        }))
    }

    fn initial(&self) -> Values {
        Values::new()
            .with("kind", Value::Text(ShippingKind::Flat.as_str().into()))
            .with("is_active", Value::Bool(true))
            .with("position", Value::Int(0))
    }

    fn create(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        v: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        let (kind, price, countries) = checked(v)?;
        let now = site_core::now();
        let id: i64 = diesel::insert_into(m::table)
            .values((
                m::name.eq(v.text("name")?),
                m::description.eq(v.text("description")?),
                m::kind.eq(kind),
                m::price_minor.eq(price),
                m::free_over_minor.eq(v.opt_int("free_over")),
                m::countries.eq(countries),
                m::is_active.eq(v.bool("is_active")?),
                m::position.eq(v.int("position")? as i32),
                m::created_at.eq(now),
                m::updated_at.eq(now),
            ))
            .returning(m::id)
            .get_result(conn)?;
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
        let (kind, price, countries) = checked(v)?;
        diesel::update(m::table.find(id))
            .set((
                m::name.eq(v.text("name")?),
                m::description.eq(v.text("description")?),
                m::kind.eq(kind),
                m::price_minor.eq(price),
                m::free_over_minor.eq(v.opt_int("free_over")),
                m::countries.eq(countries),
                m::is_active.eq(v.bool("is_active")?),
                m::position.eq(v.int("position")? as i32),
                m::updated_at.eq(site_core::now()),
            ))
            .execute(conn)?;
        Ok(())
    }

    fn formset_rows(
        &self,
        conn: &mut DbConn,
        key: &str,
        parent: i64,
    ) -> QueryResult<Vec<FormsetRow>> {
        if key != "bands" {
            return Ok(Vec::new());
        }
        let bands: Vec<(i64, i64, i64)> = b::table
            .filter(b::method_id.eq(parent))
            .order(b::max_weight_grams.asc())
            .select((b::id, b::max_weight_grams, b::price_minor))
            .load(conn)?;
        Ok(bands
            .into_iter()
            .map(|(id, max, price)| FormsetRow {
                id,
                label: format!("Up to {max} g"),
                preview: None,
                values: Values::new()
                    .with("max_weight_grams", Value::Int(max))
                    .with("price", Value::Money(price)),
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
        values: &Values,
    ) -> Result<Vec<FieldChange>, SaveError> {
        if key != "bands" {
            return Ok(Vec::new());
        }
        let change = |after: String| FieldChange::row_note("bands", "Weight bands", after);
        let mut history = Vec::new();
        for id in &changes.deleted {
            diesel::delete(
                b::table
                    .filter(b::id.eq(id))
                    .filter(b::method_id.eq(parent)),
            )
            .execute(conn)?;
            history.push(change(format!("deleted band {id}")));
        }
        let band = |v: &Values| -> Result<(i64, i64), SaveError> {
            let price = v
                .opt_int("price")
                .ok_or_else(|| SaveError::form("Each weight band needs a price."))?;
            Ok((v.int("max_weight_grams")?, price))
        };
        for (id, v) in &changes.kept {
            let (max, price) = band(v)?;
            let n = diesel::update(
                b::table
                    .filter(b::id.eq(id))
                    .filter(b::method_id.eq(parent)),
            )
            .set((b::max_weight_grams.eq(max), b::price_minor.eq(price)))
            .execute(conn)
            .map_err(|e| {
                SaveError::unique(e, "__all__", "Two weight bands cannot have the same limit.")
            })?;
            if n == 1 {
                history.push(change(format!("band {id}: up to {max} g")));
            }
        }
        for (_, v) in &changes.added {
            let (max, price) = band(v)?;
            diesel::insert_into(b::table)
                .values((
                    b::method_id.eq(parent),
                    b::max_weight_grams.eq(max),
                    b::price_minor.eq(price),
                ))
                .execute(conn)
                .map_err(|e| {
                    SaveError::unique(e, "__all__", "Two weight bands cannot have the same limit.")
                })?;
            history.push(change(format!("added a band up to {max} g")));
        }
        let weight = matches!(values.get("kind"), Some(Value::Text(k)) if k == ShippingKind::Weight.as_str());
        let bands: i64 = b::table
            .filter(b::method_id.eq(parent))
            .count()
            .get_result(conn)?;
        if weight && bands == 0 {
            return Err(SaveError::form(
                "A weight-band method needs at least one band: add one below.",
            ));
        }
        Ok(history)
    }

    fn delete_plan(
        &self,
        _staff: &site_core::admin::Staff,
        conn: &mut DbConn,
        id: i64,
    ) -> QueryResult<DeletePlan> {
        let orders: i64 = o::table
            .filter(o::shipping_method_id.eq(id))
            .count()
            .get_result(conn)?;
        let mut plan = DeletePlan::default();
        if orders > 0 {
            plan.cascades.push(format!(
                "{orders} {} keep the method's name and charge but lose the link to it \
                 (deactivate it instead to keep the link)",
                if orders == 1 { "order" } else { "orders" }
            ));
        }
        Ok(plan)
    }

    fn delete(&self, conn: &mut DbConn, id: i64, _: &DeletePlan) -> Result<Deleted, SaveError> {
        diesel::update(o::table.filter(o::shipping_method_id.eq(id)))
            .set(o::shipping_method_id.eq(None::<i64>))
            .execute(conn)?;
        diesel::delete(b::table.filter(b::method_id.eq(id))).execute(conn)?;
        diesel::delete(m::table.find(id)).execute(conn)?;
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
        site_core::admin_set_active!(conn, action, ids, m, "shipping method", "shipping methods")
    }
}

//! Tax rates in the staff admin: one per country, and a default for every
//! other country. Orders keep the rate they were placed with.

use diesel::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use site_core::admin::{
    ActionSpec, AdminEnv, Cell, Column, Field, Fieldset, Filter, ListQuery, ModelAdmin, ModelMeta,
    Object, Perm, Row, SaveError, Submission, Value, Values,
};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::orders_tax_rate as t;

use crate::taxes::TaxRate;

/// The choice that stands for "every country without its own rate"
/// (stored as '').
const DEFAULT: (&str, &str) = ("*", "Every other country (default)");

/// The stored country for a form's choice.
fn stored_country(values: &Values) -> Result<&str, SaveError> {
    let c = values.text("country")?;
    Ok(if c == DEFAULT.0 { "" } else { c })
}

pub struct TaxRateAdmin {
    meta: ModelMeta,
}

fn countries() -> Vec<(&'static str, &'static str)> {
    let mut c = vec![DEFAULT];
    c.extend(site_core::country::choices());
    c
}

impl Default for TaxRateAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("orders", "taxrate", "tax rate", "tax rates");
        meta.columns = vec![
            Column::new("country", "Country").sortable(),
            Column::new("name", "Name"),
            Column::new("rate", "Rate").sortable().numeric(),
            Column::new("active", "Active"),
        ];
        meta.filters = vec![Filter::boolean("active", "Active")];
        meta.search = Some("name or country code");
        meta.default_sort = "country";
        meta.fields = vec![
            Field::choice("country", "Country", countries())
                .help("The delivery country it applies to; the default covers the rest."),
            Field::text("name", "Name", 50)
                .help("How the tax is called on orders: VAT, GST, sales tax."),
            Field::text("rate", "Rate (%)", 6).help("20 or 7.25: at most two decimals."),
            Field::bool("is_active", "Active").help("Inactive rates are not charged."),
            Field::datetime("created_at", "Created"),
            Field::datetime("updated_at", "Last changed"),
        ];
        meta.fieldsets = vec![
            Fieldset::new(None, &["country", "name", "rate", "is_active"]),
            Fieldset::new(Some("Dates"), &["created_at", "updated_at"]),
        ];
        meta.actions = vec![
            ActionSpec::new("activate", "Activate", Perm::Change),
            ActionSpec::new("deactivate", "Deactivate", Perm::Change),
        ];
        TaxRateAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> t::BoxedQuery<'static, MultiBackend> {
    let mut query = t::table.into_boxed::<MultiBackend>();
    if let Some(active) = q.flag("active") {
        query = query.filter(t::is_active.eq(active));
    }
    if let Some(after) = q.after_id {
        query = query.filter(t::id.gt(after));
    }
    site_core::admin_search_like!(query, q, t::table, [t::name, t::country])
}

fn basis_points(values: &Values) -> Result<i32, SaveError> {
    let raw = values.text("rate")?.trim().trim_end_matches('%').trim();
    let rate: Decimal = raw.parse().map_err(|_| {
        SaveError::field(
            "rate",
            "Enter the rate as a percentage, such as 20 or 7.25.",
        )
    })?;
    if rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED || rate.normalize().scale() > 2 {
        return Err(SaveError::field(
            "rate",
            "Enter a rate from 0 to 100 with at most two decimals.",
        ));
    }
    (rate * Decimal::ONE_HUNDRED)
        .trunc()
        .to_i32()
        .ok_or_else(|| SaveError::field("rate", "Enter a smaller rate."))
}

fn country_name(code: &str) -> String {
    if code.is_empty() {
        DEFAULT.1.to_string()
    } else {
        format!("{} ({code})", site_core::country::name_of(code))
    }
}

const TAKEN: &str = "This country has a rate already: change that one.";

impl ModelAdmin for TaxRateAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let rates: Vec<TaxRate> = site_core::admin_order!(filtered(q), q, t::id, {
            "country" => t::country,
            "rate" => t::rate_basis_points,
        })
        .offset(q.offset)
        .limit(q.limit)
        .select(TaxRate::as_select())
        .load(conn)?;
        Ok(rates
            .into_iter()
            .map(|rate| Row {
                id: rate.id,
                repr: format!("{} {}", rate.name, country_name(&rate.country)),
                cells: vec![
                    Cell::Text(country_name(&rate.country)),
                    Cell::Text(rate.name.clone()),
                    Cell::Text(format!("{}%", rate.percent().normalize())),
                    Cell::Bool(rate.is_active),
                ],
                editable: Values::new(),
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(t::id).limit(cap).load(conn)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(rate) = t::table
            .find(id)
            .select(TaxRate::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(Some(Object {
            id,
            repr: format!("{} {}", rate.name, country_name(&rate.country)),
            values: Values::new()
                .with(
                    "country",
                    Value::Text(if rate.country.is_empty() {
                        DEFAULT.0.to_string()
                    } else {
                        rate.country.clone()
                    }),
                )
                .with("name", Value::Text(rate.name.clone()))
                .with("rate", Value::Text(rate.percent().normalize().to_string()))
                .with("is_active", Value::Bool(rate.is_active))
                .with("created_at", Value::DateTime(rate.created_at))
                .with("updated_at", Value::DateTime(rate.updated_at)),
        }))
    }

    fn initial(&self) -> Values {
        Values::new()
            .with("name", Value::Text("VAT".into()))
            .with("is_active", Value::Bool(true))
    }

    fn create(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        values: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        let bp = basis_points(values)?;
        let now = site_core::now();
        diesel::insert_into(t::table)
            .values((
                t::country.eq(stored_country(values)?),
                t::name.eq(values.text("name")?),
                t::rate_basis_points.eq(bp),
                t::is_active.eq(values.bool("is_active")?),
                t::created_at.eq(now),
                t::updated_at.eq(now),
            ))
            .returning(t::id)
            .get_result(conn)
            .map_err(|e| SaveError::unique(e, "country", TAKEN))
    }

    fn update(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        values: &Values,
        _files: &Submission,
    ) -> Result<(), SaveError> {
        let bp = basis_points(values)?;
        diesel::update(t::table.find(id))
            .set((
                t::country.eq(stored_country(values)?),
                t::name.eq(values.text("name")?),
                t::rate_basis_points.eq(bp),
                t::is_active.eq(values.bool("is_active")?),
                t::updated_at.eq(site_core::now()),
            ))
            .execute(conn)
            .map_err(|e| SaveError::unique(e, "country", TAKEN))?;
        Ok(())
    }

    fn delete(
        &self,
        conn: &mut DbConn,
        id: i64,
        _plan: &site_core::admin::DeletePlan,
    ) -> Result<site_core::admin::Deleted, SaveError> {
        // Orders keep their own copy of the rate: nothing depends on the row.
        diesel::delete(t::table.find(id)).execute(conn)?;
        Ok(site_core::admin::Deleted::Removed)
    }

    fn run_action(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        action: &str,
        ids: &[i64],
        _input: &Submission,
    ) -> Result<String, SaveError> {
        site_core::admin_set_active!(conn, action, ids, t, "tax rate", "tax rates")
    }
}

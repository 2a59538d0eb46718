//! Vouchers in the staff admin: the code, what it takes off, when and how
//! often it may be used, how often it has been, and the orders that did.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use site_core::admin::{
    ActionSpec, AdminEnv, Cell, Column, DeletePlan, Deleted, Field, Fieldset, Filter, InlineTable,
    Link, ListQuery, ModelAdmin, ModelMeta, Object, Perm, Row, SaveError, Submission, Value,
    Values,
};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::{orders_order as o, orders_voucher as v, orders_voucher_use as vu};

use crate::vouchers::{normalise, Voucher, VoucherKind};

pub struct VoucherAdmin {
    meta: ModelMeta,
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    VoucherKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}

impl Default for VoucherAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("orders", "voucher", "voucher", "vouchers");
        meta.columns = vec![
            Column::new("code", "Code").sortable(),
            Column::new("kind", "Takes off"),
            Column::new("value", "Value").numeric(),
            Column::new("used", "Used").sortable().numeric(),
            Column::new("valid_until", "Valid until (UTC)").sortable(),
            Column::new("active", "Active"),
        ];
        meta.filters = vec![
            Filter::choices("kind", "Takes off", kinds()),
            Filter::boolean("active", "Active"),
        ];
        meta.search = Some("code");
        meta.default_sort = "code";
        meta.fields = vec![
            Field::text("code", "Code", 50)
                .help("What shoppers type; letters and digits, stored in capitals."),
            Field::text("description", "Description", 200)
                .optional()
                .help("Shown to the shopper once the code is applied."),
            Field::choice("kind", "Takes off", kinds()),
            Field::text("percent", "Percent off", 6)
                .optional()
                .help("For a percentage: 10 or 12.5 (at most two decimals)."),
            Field::money("amount", "Amount off")
                .optional()
                .help("For an amount off: never more than the basket."),
            Field::money("min_basket", "Minimum basket")
                .optional()
                .help("The subtotal an order needs for the code to apply. Empty: any."),
            Field::text("valid_from", "Valid from", 10)
                .optional()
                .help("YYYY-MM-DD, from the start of that day (UTC). Empty: now."),
            Field::text("valid_until", "Valid until", 10)
                .optional()
                .help("YYYY-MM-DD, to the end of that day (UTC). Empty: no end."),
            Field::int("usage_limit", "Uses in all", 1, 1_000_000_000)
                .optional()
                .help("Empty: no limit. However many shoppers race for the last use, one gets it."),
            Field::int("per_customer_limit", "Uses per customer", 1, 1_000_000)
                .optional()
                .help("Counted by email address. Empty: no limit."),
            Field::int("times_used", "Used", 0, i64::MAX).readonly(),
            Field::bool("is_active", "Active").help("Inactive codes are refused."),
            Field::datetime("created_at", "Created"),
            Field::datetime("updated_at", "Last changed"),
        ];
        meta.fieldsets = vec![
            Fieldset::new(None, &["code", "description", "is_active"]),
            Fieldset::new(
                Some("Discount"),
                &["kind", "percent", "amount", "min_basket"],
            ),
            Fieldset::new(
                Some("When and how often"),
                &[
                    "valid_from",
                    "valid_until",
                    "usage_limit",
                    "per_customer_limit",
                    "times_used",
                ],
            ),
            Fieldset::new(Some("Dates"), &["created_at", "updated_at"]),
        ];
        meta.actions = vec![
            ActionSpec::new("activate", "Activate", Perm::Change),
            ActionSpec::new("deactivate", "Deactivate", Perm::Change),
        ];
        VoucherAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> v::BoxedQuery<'static, MultiBackend> {
    let mut query = v::table.into_boxed::<MultiBackend>();
    if let Some(kind) = q.choice("kind").and_then(VoucherKind::parse) {
        query = query.filter(v::kind.eq(kind));
    }
    if let Some(active) = q.flag("active") {
        query = query.filter(v::is_active.eq(active));
    }
    if let Some(after) = q.after_id {
        query = query.filter(v::id.gt(after));
    }
    site_core::admin_search_like!(query, q, v::table, [v::code])
}

fn date(values: &Values, name: &str) -> Result<Option<NaiveDate>, SaveError> {
    let raw = values.text(name)?.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| SaveError::field(name, "Enter a date as YYYY-MM-DD, such as 2026-12-31."))
}

fn day_start(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).unwrap_or_default()
}

/// The columns a form sets, checked together.
struct Checked {
    code: String,
    kind: VoucherKind,
    basis_points: i32,
    amount: i64,
    valid_from: Option<NaiveDateTime>,
    /// Exclusive: the start of the day after the last valid one.
    valid_until: Option<NaiveDateTime>,
}

fn checked(values: &Values) -> Result<Checked, SaveError> {
    let code = normalise(values.text("code")?);
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(SaveError::field(
            "code",
            "Use letters, digits and hyphens only.",
        ));
    }
    let kind = VoucherKind::parse(values.text("kind")?)
        .ok_or_else(|| SaveError::field("kind", "Choose what the voucher takes off."))?;
    let percent_raw = values.text("percent")?.trim().trim_end_matches('%').trim();
    let mut basis_points = 0;
    if kind == VoucherKind::Percent {
        let pct: Decimal = percent_raw.parse().map_err(|_| {
            SaveError::field("percent", "Enter the percentage, such as 10 or 12.5.")
        })?;
        if pct <= Decimal::ZERO || pct > Decimal::ONE_HUNDRED || pct.normalize().scale() > 2 {
            return Err(SaveError::field(
                "percent",
                "Enter a percentage above 0 and at most 100, with at most two decimals.",
            ));
        }
        basis_points = (pct * Decimal::ONE_HUNDRED)
            .trunc()
            .to_i32()
            .ok_or_else(|| SaveError::field("percent", "Enter a smaller percentage."))?;
    }
    let amount = values.opt_int("amount");
    if kind == VoucherKind::Fixed && amount.is_none_or(|a| a <= 0) {
        return Err(SaveError::field(
            "amount",
            "Enter the amount the voucher takes off.",
        ));
    }
    let from = date(values, "valid_from")?;
    let until = date(values, "valid_until")?;
    if let (Some(f), Some(u)) = (from, until) {
        if u < f {
            return Err(SaveError::field(
                "valid_until",
                "The last day cannot come before the first.",
            ));
        }
    }
    Ok(Checked {
        code,
        kind,
        basis_points,
        amount: amount.unwrap_or(0),
        valid_from: from.map(day_start),
        valid_until: until.and_then(|u| u.succ_opt()).map(day_start),
    })
}

fn value_cell(voucher: &Voucher) -> Cell {
    match voucher.kind {
        VoucherKind::Percent => Cell::Text(format!("{}%", voucher.percent().normalize())),
        VoucherKind::Fixed => Cell::Money(voucher.amount_minor),
        VoucherKind::FreeShipping => Cell::Text("delivery".into()),
    }
}

/// The last valid day, from the exclusive end stored.
fn last_day(until: Option<NaiveDateTime>) -> Option<NaiveDate> {
    until.and_then(|u| u.date().pred_opt())
}

impl ModelAdmin for VoucherAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let vouchers: Vec<Voucher> = site_core::admin_order!(filtered(q), q, v::id, {
            "code" => v::code,
            "used" => v::times_used,
            "valid_until" => v::valid_until,
        })
        .offset(q.offset)
        .limit(q.limit)
        .select(Voucher::as_select())
        .load(conn)?;
        Ok(vouchers
            .into_iter()
            .map(|voucher| Row {
                id: voucher.id,
                repr: voucher.code.clone(),
                cells: vec![
                    Cell::Text(voucher.code.clone()),
                    Cell::Text(voucher.kind.label().into()),
                    value_cell(&voucher),
                    Cell::Text(match voucher.usage_limit {
                        Some(limit) => format!("{} of {limit}", voucher.times_used),
                        None => voucher.times_used.to_string(),
                    }),
                    Cell::Text(
                        last_day(voucher.valid_until)
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "—".into()),
                    ),
                    Cell::Bool(voucher.is_active),
                ],
                editable: Values::new(),
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(v::id).limit(cap).load(conn)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(voucher) = v::table
            .find(id)
            .select(Voucher::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let text_date =
            |d: Option<NaiveDate>| Value::Text(d.map(|d| d.to_string()).unwrap_or_default());
        let money = |m: Option<i64>| m.map(Value::Money).unwrap_or(Value::Null);
        Ok(Some(Object {
            id,
            repr: voucher.code.clone(),
            values: Values::new()
                .with("code", Value::Text(voucher.code.clone()))
                .with("description", Value::Text(voucher.description.clone()))
                .with("kind", Value::Text(voucher.kind.as_str().into()))
                .with(
                    "percent",
                    Value::Text(if voucher.kind == VoucherKind::Percent {
                        voucher.percent().normalize().to_string()
                    } else {
                        String::new()
                    }),
                )
                .with(
                    "amount",
                    money(Some(voucher.amount_minor).filter(|a| *a > 0)),
                )
                .with("min_basket", money(voucher.min_basket_minor))
                .with(
                    "valid_from",
                    text_date(voucher.valid_from.map(|f| f.date())),
                )
                .with("valid_until", text_date(last_day(voucher.valid_until)))
                .with(
                    "usage_limit",
                    voucher.usage_limit.map(Value::Int).unwrap_or(Value::Null),
                )
                .with(
                    "per_customer_limit",
                    voucher
                        .per_customer_limit
                        .map(Value::Int)
                        .unwrap_or(Value::Null),
                )
                .with("times_used", Value::Int(voucher.times_used))
                .with("is_active", Value::Bool(voucher.is_active))
                .with("created_at", Value::DateTime(voucher.created_at))
                .with("updated_at", Value::DateTime(voucher.updated_at)),
        }))
    }

    fn initial(&self) -> Values {
        Values::new()
            .with("kind", Value::Text(VoucherKind::Percent.as_str().into()))
            .with("is_active", Value::Bool(true))
    }

    fn create(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        values: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        let c = checked(values)?;
        let now = site_core::now();
        diesel::insert_into(v::table)
            .values((
                v::code.eq(&c.code),
                v::description.eq(values.text("description")?),
                v::kind.eq(c.kind),
                v::percent_basis_points.eq(c.basis_points),
                v::amount_minor.eq(c.amount),
                v::min_basket_minor.eq(values.opt_int("min_basket")),
                v::valid_from.eq(c.valid_from),
                v::valid_until.eq(c.valid_until),
                v::usage_limit.eq(values.opt_int("usage_limit")),
                v::per_customer_limit.eq(values.opt_int("per_customer_limit")),
                v::times_used.eq(0),
                v::is_active.eq(values.bool("is_active")?),
                v::created_at.eq(now),
                v::updated_at.eq(now),
            ))
            .returning(v::id)
            .get_result(conn)
            .map_err(|e| SaveError::unique(e, "code", "Another voucher has this code."))
    }

    fn update(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        values: &Values,
        _files: &Submission,
    ) -> Result<(), SaveError> {
        let c = checked(values)?;
        let limit = values.opt_int("usage_limit");
        let used: i64 = v::table.find(id).select(v::times_used).first(conn)?;
        if limit.is_some_and(|l| l < used) {
            return Err(SaveError::field(
                "usage_limit",
                format!("It has been used {used} times already: the limit cannot be lower."),
            ));
        }
        diesel::update(v::table.find(id))
            .set((
                v::code.eq(&c.code),
                v::description.eq(values.text("description")?),
                v::kind.eq(c.kind),
                v::percent_basis_points.eq(c.basis_points),
                v::amount_minor.eq(c.amount),
                v::min_basket_minor.eq(values.opt_int("min_basket")),
                v::valid_from.eq(c.valid_from),
                v::valid_until.eq(c.valid_until),
                v::usage_limit.eq(limit),
                v::per_customer_limit.eq(values.opt_int("per_customer_limit")),
                v::is_active.eq(values.bool("is_active")?),
                v::updated_at.eq(site_core::now()),
            ))
            .execute(conn)
            .map_err(|e| SaveError::unique(e, "code", "Another voucher has this code."))?;
        Ok(())
    }

    fn delete_plan(
        &self,
        _staff: &site_core::admin::Staff,
        conn: &mut DbConn,
        id: i64,
    ) -> QueryResult<DeletePlan> {
        let used: i64 = vu::table
            .filter(vu::voucher_id.eq(id))
            .count()
            .get_result(conn)?;
        let mut plan = DeletePlan::default();
        if used > 0 {
            plan.deactivates_instead = Some(format!(
                "{used} {} used it: it is deactivated instead, so their records stay",
                if used == 1 { "order" } else { "orders" }
            ));
        }
        Ok(plan)
    }

    fn delete(&self, conn: &mut DbConn, id: i64, plan: &DeletePlan) -> Result<Deleted, SaveError> {
        if plan.deactivates_instead.is_some() {
            diesel::update(v::table.find(id))
                .set((v::is_active.eq(false), v::updated_at.eq(site_core::now())))
                .execute(conn)?;
            return Ok(Deleted::Deactivated);
        }
        diesel::delete(v::table.find(id)).execute(conn)?;
        Ok(Deleted::Removed)
    }

    fn inlines(&self, conn: &mut DbConn, obj: &Object) -> QueryResult<Vec<InlineTable>> {
        const SHOWN: i64 = 20;
        let rows: Vec<(i64, String, String, i64, NaiveDateTime)> = vu::table
            .inner_join(o::table)
            .filter(vu::voucher_id.eq(obj.id))
            .order(vu::id.desc())
            .limit(SHOWN)
            .select((
                o::id,
                o::public_id,
                vu::email,
                vu::discount_minor,
                vu::created_at,
            ))
            .load(conn)?;
        Ok(vec![InlineTable {
            title: format!("Latest orders that used it (at most {SHOWN})"),
            columns: vec![
                Column::new("order", "Order"),
                Column::new("email", "Customer"),
                Column::new("discount", "Discount").numeric(),
                Column::new("at", "Placed (UTC)"),
            ],
            rows: rows
                .into_iter()
                .map(|(id, public_id, email, discount, at)| {
                    (
                        Some(Link::change("orders", "order", id)),
                        vec![
                            Cell::Text(crate::emails::short_ref(&public_id)),
                            Cell::Text(email),
                            Cell::Money(discount),
                            Cell::DateTime(Some(at)),
                        ],
                    )
                })
                .collect(),
            more: None,
            lists: Some(("orders", "order")),
        }])
    }

    fn run_action(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        action: &str,
        ids: &[i64],
        _input: &Submission,
    ) -> Result<String, SaveError> {
        site_core::admin_set_active!(conn, action, ids, v, "voucher", "vouchers")
    }
}

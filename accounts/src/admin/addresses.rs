//! Customers' saved addresses in the admin. The owner is typed (an email
//! or id), not picked from a list: there may be many customers.

use diesel::prelude::*;
use site_core::admin::{
    in_order_of, AdminEnv, Cell, Column, DeletePlan, Deleted, Field, Filter, Link, ListQuery,
    ModelAdmin, ModelMeta, Object, Row, SaveError, Submission, Value, Values,
};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::{accounts_address as a, accounts_user as u};

use crate::address::Address;

pub struct AddressAdmin {
    meta: ModelMeta,
}

impl Default for AddressAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("accounts", "address", "saved address", "saved addresses");
        meta.columns = vec![
            Column::new("name", "Name").sortable(),
            Column::new("address", "Address"),
            Column::new("city", "City").sortable(),
            Column::new("country", "Country"),
            Column::new("owner", "Customer"),
            Column::new("default", "Default"),
        ];
        meta.filters = vec![Filter::boolean("default", "Default")];
        meta.search = Some("name, city or postal code");
        meta.fields = vec![
            Field::search_reference("owner", "Customer"),
            Field::text("first_name", "First name", 100),
            Field::text("last_name", "Last name", 100),
            Field::text("address", "Address", 250),
            Field::text("postal_code", "Postal code", 20),
            Field::text("city", "City", 100),
            Field::text("country", "Country", 100),
            Field::bool("is_default", "Default address").help(
                "Checkout fills it in. Making this the default unsets the customer's other one.",
            ),
        ];
        AddressAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> a::BoxedQuery<'static, MultiBackend> {
    let mut query = a::table.into_boxed::<MultiBackend>();
    if let Some(default) = q.flag("default") {
        query = query.filter(a::is_default.eq(default));
    }
    if let Some(after) = q.after_id {
        query = query.filter(a::id.gt(after));
    }
    site_core::admin_search_like!(
        query,
        q,
        a::table,
        [a::first_name, a::last_name, a::city, a::postal_code]
    )
}

fn repr(addr: &Address) -> String {
    format!(
        "{} {}, {}, {} {}",
        addr.first_name, addr.last_name, addr.address, addr.postal_code, addr.city
    )
}

/// Makes `id` the user's only default address.
fn make_default(conn: &mut DbConn, user_id: i64, id: i64, default: bool) -> QueryResult<()> {
    if default {
        diesel::update(
            a::table
                .filter(a::user_id.eq(user_id))
                .filter(a::id.ne(id))
                .filter(a::is_default.eq(true)),
        )
        .set(a::is_default.eq(false))
        .execute(conn)?;
    }
    diesel::update(a::table.find(id))
        .set(a::is_default.eq(default))
        .execute(conn)?;
    Ok(())
}

impl ModelAdmin for AddressAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let ids: Vec<i64> = site_core::admin_order!(filtered(q), q, a::id, {
            "name" => a::last_name,
            "city" => a::city,
        })
        .select(a::id)
        .offset(q.offset)
        .limit(q.limit)
        .load(conn)?;
        let rows: Vec<(Address, String)> = a::table
            .inner_join(u::table)
            .filter(a::id.eq_any(&ids))
            .select((Address::as_select(), u::email))
            .load(conn)?;
        Ok(in_order_of(&ids, rows, |(addr, _)| addr.id)
            .into_iter()
            .map(|(addr, email)| Row {
                id: addr.id,
                repr: repr(&addr),
                cells: vec![
                    Cell::Text(format!("{} {}", addr.first_name, addr.last_name)),
                    Cell::Text(format!("{}, {}", addr.address, addr.postal_code)),
                    Cell::Text(addr.city.clone()),
                    Cell::Text(addr.country.clone()),
                    Cell::Link(email, Link::change("accounts", "user", addr.user_id)),
                    Cell::Bool(addr.is_default),
                ],
                editable: Values::new(),
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(a::id).limit(cap).load::<i64>(conn)
    }

    /// A customer by id ("42" or "#42") or by words of their email.
    fn lookup(
        &self,
        conn: &mut DbConn,
        field: &str,
        words: &str,
    ) -> QueryResult<Vec<(i64, String)>> {
        if field != "owner" {
            return Ok(Vec::new());
        }
        if let Ok(id) = words.trim_start_matches('#').parse::<i64>() {
            return u::table.find(id).select((u::id, u::email)).load(conn);
        }
        let pattern = site_core::db::sql::like_pattern(words.trim());
        u::table
            .filter(
                site_core::db::sql::lower(u::email)
                    .like(pattern)
                    .escape('\\'),
            )
            .order(u::email)
            .limit(6)
            .select((u::id, u::email))
            .load(conn)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(addr) = a::table
            .find(id)
            .select(Address::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(Some(Object {
            id,
            repr: repr(&addr),
            values: Values::new()
                .with("owner", Value::Ref(addr.user_id))
                .with("first_name", Value::Text(addr.first_name))
                .with("last_name", Value::Text(addr.last_name))
                .with("address", Value::Text(addr.address))
                .with("postal_code", Value::Text(addr.postal_code))
                .with("city", Value::Text(addr.city))
                .with("country", Value::Text(addr.country))
                .with("is_default", Value::Bool(addr.is_default)),
        }))
    }

    fn create(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        v: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        let owner = v.int("owner")?;
        let now = site_core::now();
        diesel::insert_into(a::table)
            .values((
                a::user_id.eq(owner),
                a::first_name.eq(v.text("first_name")?),
                a::last_name.eq(v.text("last_name")?),
                a::address.eq(v.text("address")?),
                a::postal_code.eq(v.text("postal_code")?),
                a::city.eq(v.text("city")?),
                a::country.eq(v.text("country")?),
                a::is_default.eq(false),
                a::created_at.eq(now),
            ))
            .execute(conn)?;
        let id: i64 = a::table
            .filter(a::user_id.eq(owner))
            .order(a::id.desc())
            .select(a::id)
            .first(conn)?;
        make_default(conn, owner, id, v.bool("is_default")?)?;
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
        let owner = v.int("owner")?;
        diesel::update(a::table.find(id))
            .set((
                a::user_id.eq(owner),
                a::first_name.eq(v.text("first_name")?),
                a::last_name.eq(v.text("last_name")?),
                a::address.eq(v.text("address")?),
                a::postal_code.eq(v.text("postal_code")?),
                a::city.eq(v.text("city")?),
                a::country.eq(v.text("country")?),
                a::is_default.eq(false),
            ))
            .execute(conn)?;
        make_default(conn, owner, id, v.bool("is_default")?)?;
        Ok(())
    }

    fn delete(&self, conn: &mut DbConn, id: i64, _: &DeletePlan) -> Result<Deleted, SaveError> {
        diesel::delete(a::table.find(id)).execute(conn)?;
        Ok(Deleted::Removed)
    }
}

//! Groups (named sets of permissions) and the permissions themselves,
//! which code declares and `migrate` creates: read-only here.

use diesel::prelude::*;
use site_core::admin::{
    AdminEnv, Cell, Column, DeletePlan, Deleted, Field, ListQuery, ModelAdmin, ModelMeta, Object,
    Row, SaveError, Submission, Value, Values,
};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::{
    accounts_group as g, accounts_group_permission as gp, accounts_permission as p,
    accounts_user_group as ug,
};

use super::permission_choices;

pub struct GroupAdmin {
    meta: ModelMeta,
}

impl Default for GroupAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("accounts", "group", "group", "groups");
        meta.columns = vec![
            Column::new("name", "Name").sortable(),
            Column::new("members", "Members").numeric(),
            Column::new("permissions", "Permissions").numeric(),
        ];
        meta.search = Some("name");
        meta.default_sort = "name";
        meta.fields = vec![
            Field::text("name", "Name", 150),
            Field::references("permissions", "Permissions")
                .help("Everyone in the group holds these."),
        ];
        GroupAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> g::BoxedQuery<'static, MultiBackend> {
    let mut query = g::table.into_boxed::<MultiBackend>();
    if let Some(after) = q.after_id {
        query = query.filter(g::id.gt(after));
    }
    site_core::admin_search_like!(query, q, g::table, [g::name])
}

/// Refuses a group that grants what a non-superuser does not hold.
fn check_grants(
    env: &AdminEnv<'_>,
    conn: &mut DbConn,
    before: &[i64],
    now: &[i64],
) -> Result<(), SaveError> {
    match super::cannot_grant(env.staff, conn, before, now)? {
        None => Ok(()),
        Some(why) => Err(SaveError::field("permissions", why)),
    }
}

fn save_permissions(conn: &mut DbConn, id: i64, ids: &[i64]) -> QueryResult<()> {
    diesel::delete(gp::table.filter(gp::group_id.eq(id))).execute(conn)?;
    for perm in ids {
        diesel::insert_into(gp::table)
            .values((gp::group_id.eq(id), gp::permission_id.eq(*perm)))
            .execute(conn)?;
    }
    Ok(())
}

const NAME_TAKEN: &str = "Another group has this name.";

impl ModelAdmin for GroupAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let groups: Vec<(i64, String)> = site_core::admin_order!(filtered(q), q, g::id, {
            "name" => g::name,
        })
        .offset(q.offset)
        .limit(q.limit)
        .select((g::id, g::name))
        .load(conn)?;
        let ids: Vec<i64> = groups.iter().map(|(id, _)| *id).collect();
        let members: Vec<(i64, i64)> = ug::table
            .filter(ug::group_id.eq_any(&ids))
            .group_by(ug::group_id)
            .select((ug::group_id, diesel::dsl::count_star()))
            .load(conn)?;
        let perms: Vec<(i64, i64)> = gp::table
            .filter(gp::group_id.eq_any(&ids))
            .group_by(gp::group_id)
            .select((gp::group_id, diesel::dsl::count_star()))
            .load(conn)?;
        let of = |counts: &[(i64, i64)], id: i64| {
            counts
                .iter()
                .find(|(g, _)| *g == id)
                .map(|(_, n)| *n)
                .unwrap_or(0)
        };
        Ok(groups
            .into_iter()
            .map(|(id, name)| Row {
                id,
                repr: name.clone(),
                cells: vec![
                    Cell::Text(name),
                    Cell::Int(of(&members, id)),
                    Cell::Int(of(&perms, id)),
                ],
                editable: Values::new(),
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(g::id).limit(cap).load::<i64>(conn)
    }

    fn choices(&self, conn: &mut DbConn, key: &str) -> QueryResult<Vec<(i64, String)>> {
        match key {
            "permissions" => permission_choices(conn),
            _ => Ok(Vec::new()),
        }
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(name) = g::table
            .find(id)
            .select(g::name)
            .first::<String>(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let mut perms: Vec<i64> = gp::table
            .filter(gp::group_id.eq(id))
            .select(gp::permission_id)
            .load(conn)?;
        perms.sort_unstable();
        Ok(Some(Object {
            id,
            repr: name.clone(),
            values: Values::new()
                .with("name", Value::Text(name))
                .with("permissions", Value::Refs(perms)),
        }))
    }

    fn create(
        &self,
        env: &AdminEnv<'_>,
        conn: &mut DbConn,
        v: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        check_grants(env, conn, &[], v.refs("permissions")?)?;
        let name = v.text("name")?;
        diesel::insert_into(g::table)
            .values(g::name.eq(name))
            .execute(conn)
            .map_err(|e| SaveError::unique(e, "name", NAME_TAKEN))?;
        let id: i64 = g::table
            .filter(g::name.eq(name))
            .select(g::id)
            .first(conn)?;
        save_permissions(conn, id, v.refs("permissions")?)?;
        Ok(id)
    }

    fn update(
        &self,
        env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        v: &Values,
        _files: &Submission,
    ) -> Result<(), SaveError> {
        let current: Vec<i64> = gp::table
            .filter(gp::group_id.eq(id))
            .select(gp::permission_id)
            .load(conn)?;
        check_grants(env, conn, &current, v.refs("permissions")?)?;
        diesel::update(g::table.find(id))
            .set(g::name.eq(v.text("name")?))
            .execute(conn)
            .map_err(|e| SaveError::unique(e, "name", NAME_TAKEN))?;
        save_permissions(conn, id, v.refs("permissions")?)?;
        Ok(())
    }

    fn delete_plan(
        &self,
        _staff: &site_core::admin::Staff,
        conn: &mut DbConn,
        id: i64,
    ) -> QueryResult<DeletePlan> {
        let members: i64 = ug::table
            .filter(ug::group_id.eq(id))
            .count()
            .get_result(conn)?;
        let mut plan = DeletePlan::default();
        if members > 0 {
            plan.cascades.push(format!(
                "the membership of {members} {} (who lose its permissions)",
                if members == 1 { "user" } else { "users" }
            ));
        }
        Ok(plan)
    }

    fn delete(&self, conn: &mut DbConn, id: i64, _: &DeletePlan) -> Result<Deleted, SaveError> {
        diesel::delete(g::table.find(id)).execute(conn)?;
        Ok(Deleted::Removed)
    }
}

pub struct PermissionAdmin {
    meta: ModelMeta,
}

impl Default for PermissionAdmin {
    fn default() -> Self {
        let mut meta =
            ModelMeta::new("accounts", "permission", "permission", "permissions").read_only();
        meta.columns = vec![
            Column::new("codename", "Code").sortable(),
            Column::new("name", "Name"),
        ];
        meta.search = Some("code or name");
        meta.default_sort = "codename";
        meta.fields = vec![
            Field::text("codename", "Code", 100).readonly(),
            Field::text("name", "Name", 255).readonly(),
        ];
        PermissionAdmin { meta }
    }
}

fn permissions_filtered(q: &ListQuery) -> p::BoxedQuery<'static, MultiBackend> {
    let mut query = p::table.into_boxed::<MultiBackend>();
    if let Some(after) = q.after_id {
        query = query.filter(p::id.gt(after));
    }
    site_core::admin_search_like!(query, q, p::table, [p::codename, p::name])
}

impl ModelAdmin for PermissionAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let rows: Vec<(i64, String, String)> =
            site_core::admin_order!(permissions_filtered(q), q, p::id, {
                "codename" => p::codename,
            })
            .offset(q.offset)
            .limit(q.limit)
            .select((p::id, p::codename, p::name))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, codename, name)| Row {
                id,
                repr: codename.clone(),
                cells: vec![Cell::Text(codename), Cell::Text(name)],
                editable: Values::new(),
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        permissions_filtered(q)
            .select(p::id)
            .limit(cap)
            .load::<i64>(conn)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        Ok(p::table
            .find(id)
            .select((p::codename, p::name))
            .first::<(String, String)>(conn)
            .optional()?
            .map(|(codename, name)| Object {
                id,
                repr: codename.clone(),
                values: Values::new()
                    .with("codename", Value::Text(codename))
                    .with("name", Value::Text(name)),
            }))
    }
}

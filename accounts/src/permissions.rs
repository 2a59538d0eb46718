//! Groups and per-model permissions, as Django's auth has them. The rows
//! of `accounts_permission` (`app.action_model`) are created by the
//! migrations; checks go through `site_core::http::auth::has_perm`.

use diesel::prelude::*;
use site_core::db::DbConn;
use site_core::schema::{
    accounts_group as g, accounts_group_permission as gp, accounts_permission as p,
    accounts_user_group as ug, accounts_user_permission as up,
};

pub use site_core::http::auth::has_perm;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = p)]
pub struct Permission {
    pub id: i64,
    pub codename: String,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    #[error("there is no permission {0:?}")]
    Unknown(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Permission>> {
    p::table
        .order(p::codename)
        .select(Permission::as_select())
        .load(conn)
}

fn permission_id(conn: &mut DbConn, codename: &str) -> Result<i64, PermissionError> {
    p::table
        .filter(p::codename.eq(codename))
        .select(p::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| PermissionError::Unknown(codename.into()))
}

/// The group named `name`, created if needed.
pub fn group(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    if let Some(id) = g::table
        .filter(g::name.eq(name))
        .select(g::id)
        .first(conn)
        .optional()?
    {
        return Ok(id);
    }
    diesel::insert_into(g::table)
        .values(g::name.eq(name))
        .execute(conn)?;
    g::table.filter(g::name.eq(name)).select(g::id).first(conn)
}

pub fn grant_group(
    conn: &mut DbConn,
    group_id: i64,
    codename: &str,
) -> Result<(), PermissionError> {
    let pid = permission_id(conn, codename)?;
    let exists: i64 = gp::table
        .filter(gp::group_id.eq(group_id))
        .filter(gp::permission_id.eq(pid))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(gp::table)
            .values((gp::group_id.eq(group_id), gp::permission_id.eq(pid)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn grant_user(conn: &mut DbConn, user_id: i64, codename: &str) -> Result<(), PermissionError> {
    let pid = permission_id(conn, codename)?;
    let exists: i64 = up::table
        .filter(up::user_id.eq(user_id))
        .filter(up::permission_id.eq(pid))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(up::table)
            .values((up::user_id.eq(user_id), up::permission_id.eq(pid)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn add_to_group(conn: &mut DbConn, user_id: i64, group_id: i64) -> QueryResult<()> {
    let exists: i64 = ug::table
        .filter(ug::user_id.eq(user_id))
        .filter(ug::group_id.eq(group_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(ug::table)
            .values((ug::user_id.eq(user_id), ug::group_id.eq(group_id)))
            .execute(conn)?;
    }
    Ok(())
}

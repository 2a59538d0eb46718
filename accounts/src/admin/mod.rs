//! Accounts in the staff admin: users (with their groups, permissions and
//! login lock-out, and a separate form to set a password), groups,
//! permissions and saved addresses.

mod addresses;
mod groups;
mod password;
mod users;

use std::sync::Arc;

use actix_web::web;
use diesel::prelude::*;
use site_core::admin::{ModelAdmin, Staff};
use site_core::db::DbConn;
use site_core::schema::{accounts_group as g, accounts_permission as p};
use site_core::urls::Route;

pub use addresses::AddressAdmin;
pub use groups::{GroupAdmin, PermissionAdmin};
pub use users::UserAdmin;

/// The app's own admin pages (beyond the generic ones).
pub const ROUTES: &[Route] = &[("admin:user_password", "/admin/accounts/user/{id}/password/")];

pub fn models(failures: crate::throttle::Failures) -> Vec<Arc<dyn ModelAdmin>> {
    vec![
        Arc::new(UserAdmin::with_failures(failures)),
        Arc::new(GroupAdmin::default()),
        Arc::new(PermissionAdmin::default()),
        Arc::new(AddressAdmin::default()),
    ]
}

/// Registers the set-password form inside the guarded `/admin` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        site_core::admin::views::resource(ROUTES, "admin:user_password")
            .route(web::get().to(password::form))
            .route(web::post().to(password::submit)),
    );
}

pub(crate) fn group_choices(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    g::table.order(g::name).select((g::id, g::name)).load(conn)
}

/// Every permission, as "products: Can change product", grouped by app.
pub(crate) fn permission_choices(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    let rows: Vec<(i64, String, String)> = p::table
        .order(p::codename)
        .select((p::id, p::codename, p::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, codename, name)| {
            let app = codename.split('.').next().unwrap_or("");
            (id, format!("{app}: {name}"))
        })
        .collect())
}

/// Why a staff member who is not a superuser may not give the permissions
/// in `now` that were not in `before`: those of them they do not hold
/// themselves. `None` when they may.
pub(crate) fn cannot_grant(
    staff: &Staff,
    conn: &mut DbConn,
    before: &[i64],
    now: &[i64],
) -> QueryResult<Option<String>> {
    if staff.is_superuser {
        return Ok(None);
    }
    let added: Vec<i64> = now
        .iter()
        .copied()
        .filter(|id| !before.contains(id))
        .collect();
    if added.is_empty() {
        return Ok(None);
    }
    let missing: Vec<String> = p::table
        .filter(p::id.eq_any(&added))
        .select(p::codename)
        .load::<String>(conn)?
        .into_iter()
        .filter(|c| !staff.has(c))
        .collect();
    Ok((!missing.is_empty()).then(|| {
        format!(
            "You cannot grant what you do not hold yourself: {}.",
            missing.join(", ")
        )
    }))
}

/// Why `staff` may not change, deactivate, delete or set the password of
/// user `id`: their account holds more than the staff member does
/// (superuser status, or permissions they lack). Whoever could set its
/// password or email could log in as it and hold all of that. `None` when
/// they may.
pub(crate) fn out_of_reach(
    staff: &Staff,
    conn: &mut DbConn,
    id: i64,
) -> QueryResult<Option<String>> {
    use site_core::schema::accounts_user as u;
    if staff.is_superuser || staff.id == id {
        return Ok(None);
    }
    let superuser: bool = u::table
        .find(id)
        .select(u::is_superuser)
        .first(conn)
        .optional()?
        .unwrap_or(false);
    if superuser {
        return Ok(Some(
            "Only a superuser can change, deactivate or delete a superuser's account.".into(),
        ));
    }
    let mut missing: Vec<String> = Staff::held(conn, id)?
        .into_iter()
        .filter(|c| !staff.has(c))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    missing.sort();
    Ok(Some(format!(
        "This user holds permissions you do not ({}): only someone who holds them can \
         change, deactivate or delete their account.",
        missing.join(", ")
    )))
}

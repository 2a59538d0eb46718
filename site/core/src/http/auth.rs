//! Who is signed in, as the session records it, and what they may do.
//! accounts writes the session key at login; every app reads it here, and
//! checks permissions through [`has_perm`], without depending on accounts.

use actix_session::Session;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConn;

pub const SESSION_KEY: &str = "_auth_user";

/// The signed-in user as the session remembers them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub is_staff: bool,
    /// Whether the email address is confirmed (unverified customers can
    /// shop, and are reminded).
    #[serde(default = "yes")]
    pub email_verified: bool,
    /// The user's `auth_version` at sign-in: the session counts only while
    /// it is still theirs (see [`end_sessions`]).
    #[serde(default)]
    pub auth_version: i64,
}

fn yes() -> bool {
    true
}

pub fn current_user(session: &Session) -> Option<SessionUser> {
    session.get::<SessionUser>(SESSION_KEY).ok().flatten()
}

pub fn set_current_user(
    session: &Session,
    user: &SessionUser,
) -> Result<(), actix_session::SessionInsertError> {
    session.insert(SESSION_KEY, user)
}

/// The user id in a stored session's state (what the session store keeps
/// beside it, so [`end_sessions`] can find a user's sessions).
pub fn user_id_in_state(state: &std::collections::HashMap<String, String>) -> Option<i64> {
    let raw = state.get(SESSION_KEY)?;
    serde_json::from_str::<SessionUser>(raw).ok().map(|u| u.id)
}

/// Ends every session of `user_id` (after a password change or a reset;
/// the caller signs its own session in again with the user as they are
/// now). Whatever store keeps them: the user's `auth_version` moves on, so
/// sessions signed in before stop counting ([`still_signed_in`]); the
/// database store's rows also go.
pub fn end_sessions(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    use crate::schema::{accounts_user as u, core_session as s};
    diesel::update(u::table.find(user_id))
        .set(u::auth_version.eq(u::auth_version + 1))
        .execute(conn)?;
    diesel::delete(s::table.filter(s::user_id.eq(user_id))).execute(conn)
}

/// Whether the session's user still exists, is active, and signed in
/// under their current `auth_version`.
pub fn still_signed_in(conn: &mut DbConn, user: &SessionUser) -> QueryResult<bool> {
    use crate::schema::accounts_user as u;
    let now: Option<(bool, i64)> = u::table
        .find(user.id)
        .select((u::is_active, u::auth_version))
        .first(conn)
        .optional()?;
    Ok(now == Some((true, user.auth_version)))
}

/// Signs out a session whose user was logged out everywhere (or removed,
/// or deactivated) since it signed in. Static files are left alone.
pub async fn verify_middleware(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_session::SessionExt;
    let path = req.path();
    let assets = path.starts_with("/static/") || path.starts_with("/media/");
    if !assets {
        let session = req.get_session();
        if let Some(user) = current_user(&session) {
            let db = req
                .app_data::<actix_web::web::Data<crate::db::Database>>()
                .cloned();
            if let Some(db) = db {
                let valid = actix_web::web::block(move || -> anyhow::Result<bool> {
                    Ok(still_signed_in(&mut *db.get()?, &user)?)
                })
                .await
                .map_err(actix_web::error::ErrorServiceUnavailable)?
                .map_err(actix_web::error::ErrorServiceUnavailable)?;
                if !valid {
                    session.purge();
                }
            }
        }
    }
    next.call(req).await.map(|r| r.map_into_boxed_body())
}

/// Whether the user may do `codename` (`app.action_model`, e.g.
/// `products.change_product`). Superusers may do everything; inactive users
/// nothing; everyone else what their own and their groups' permissions
/// allow. The one permission check every app uses.
pub fn has_perm(conn: &mut DbConn, user_id: i64, codename: &str) -> QueryResult<bool> {
    use crate::schema::{
        accounts_group_permission as gp, accounts_permission as p, accounts_user as u,
        accounts_user_group as ug, accounts_user_permission as up,
    };
    let Some((active, superuser)) = u::table
        .find(user_id)
        .select((u::is_active, u::is_superuser))
        .first::<(bool, bool)>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    if !active {
        return Ok(false);
    }
    if superuser {
        return Ok(true);
    }
    let direct = up::table
        .inner_join(p::table)
        .filter(up::user_id.eq(user_id))
        .filter(p::codename.eq(codename))
        .count()
        .get_result::<i64>(conn)?;
    if direct > 0 {
        return Ok(true);
    }
    let via_group = ug::table
        .inner_join(gp::table.on(gp::group_id.eq(ug::group_id)))
        .inner_join(p::table.on(p::id.eq(gp::permission_id)))
        .filter(ug::user_id.eq(user_id))
        .filter(p::codename.eq(codename))
        .count()
        .get_result::<i64>(conn)?;
    Ok(via_group > 0)
}

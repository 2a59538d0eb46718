//! The one check in front of every admin page: signed in (else the login
//! page), active staff (else 403), with two-factor authentication when
//! `SHOP_STAFF_2FA` asks for it. The user's permissions are loaded here,
//! once per request, and handed to handlers as [`Staff`].

use std::collections::HashSet;
use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use diesel::prelude::*;
use futures_util::future::{ready, Ready};

use super::{ModelMeta, Perm};
use crate::config::Config;
use crate::db::{Database, DbConn};
use crate::http::auth::current_user;
use crate::http::{flash, redirect, AppError, Level};
use crate::templates::Renderer;

/// The staff member behind an admin request, with what they may do.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub email: String,
    pub is_superuser: bool,
    perms: Arc<HashSet<String>>,
}

impl Staff {
    pub fn has(&self, codename: &str) -> bool {
        self.is_superuser || self.perms.contains(codename)
    }

    pub fn can(&self, meta: &ModelMeta, perm: Perm) -> bool {
        self.has(&meta.codename(perm))
    }

    /// Django's rule: who may change may also look.
    pub fn can_view(&self, meta: &ModelMeta) -> bool {
        self.may_view(meta.app, meta.model)
    }

    /// `can_view` by the model's app and name.
    pub fn may_view(&self, app: &str, model: &str) -> bool {
        self.has(&format!("{app}.{}_{model}", Perm::View.as_str()))
            || self.has(&format!("{app}.{}_{model}", Perm::Change.as_str()))
    }

    /// Refuses unless the staff member holds `perm` on the model.
    pub fn require(&self, meta: &ModelMeta, perm: Perm) -> Result<(), AppError> {
        let allowed = match perm {
            Perm::View => self.can_view(meta),
            other => self.can(meta, other),
        };
        if allowed {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "You do not have permission to {} {}.",
                perm.as_str(),
                meta.verbose_name_plural
            )))
        }
    }

    /// The codenames a user holds, directly and through their groups
    /// (whatever their staff or superuser status).
    pub fn held(conn: &mut DbConn, user_id: i64) -> QueryResult<HashSet<String>> {
        use crate::schema::{
            accounts_group_permission as gp, accounts_permission as p, accounts_user_group as ug,
            accounts_user_permission as up,
        };
        let mut perms: HashSet<String> = up::table
            .inner_join(p::table)
            .filter(up::user_id.eq(user_id))
            .select(p::codename)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        perms.extend(
            ug::table
                .inner_join(gp::table.on(gp::group_id.eq(ug::group_id)))
                .inner_join(p::table.on(p::id.eq(gp::permission_id)))
                .filter(ug::user_id.eq(user_id))
                .select(p::codename)
                .distinct()
                .load::<String>(conn)?,
        );
        Ok(perms)
    }

    /// Loads the user's staff status and permissions (three queries);
    /// `None` for a missing, inactive or non-staff user.
    pub fn load(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<(Staff, bool)>> {
        use crate::schema::accounts_user as u;
        let Some((email, active, staff, superuser, totp)) = u::table
            .find(user_id)
            .select((
                u::email,
                u::is_active,
                u::is_staff,
                u::is_superuser,
                u::totp_secret.is_not_null(),
            ))
            .first::<(String, bool, bool, bool, bool)>(conn)
            .optional()?
        else {
            return Ok(None);
        };
        if !active || !staff {
            return Ok(None);
        }
        let perms = if superuser {
            HashSet::new()
        } else {
            Self::held(conn, user_id)?
        };
        Ok(Some((
            Staff {
                id: user_id,
                email,
                is_superuser: superuser,
                perms: Arc::new(perms),
            },
            totp,
        )))
    }
}

impl FromRequest for Staff {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Staff>().cloned().ok_or_else(|| {
            AppError::internal("an admin page is served outside the guarded /admin scope").into()
        }))
    }
}

/// The middleware on the `/admin` scope.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let session = req.get_session();
    let reverse = |name: &str| -> Result<String, AppError> {
        req.app_data::<web::Data<Renderer>>()
            .ok_or_else(|| AppError::internal("no renderer"))?
            .urls()
            .reverse(name, &|_| None)
            .map_err(AppError::internal)
    };
    let Some(me) = current_user(&session) else {
        let here = match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{q}", req.path()),
        };
        let login = reverse("accounts:login")?;
        let next_param: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
        return Ok(req.into_response(redirect(&format!("{login}?next={next_param}"))));
    };
    let db = req
        .app_data::<web::Data<Database>>()
        .cloned()
        .ok_or_else(|| AppError::internal("no database"))?;
    let need_2fa = req
        .app_data::<web::Data<Config>>()
        .is_some_and(|c| c.staff_2fa);
    let loaded = web::block(move || -> Result<_, AppError> {
        let mut conn = db.get()?;
        Ok(Staff::load(&mut conn, me.id)?)
    })
    .await
    .map_err(AppError::from)??;
    let Some((staff, has_2fa)) = loaded else {
        let refusal = AppError::Forbidden(
            "The admin is for staff. Log in with a staff account to use it.".into(),
        );
        return Ok(req.error_response(refusal));
    };
    if need_2fa && !has_2fa {
        flash::push(
            &session,
            Level::Warning,
            "Staff accounts must use two-factor authentication. Set it up to reach the admin."
                .into(),
        );
        let setup = reverse("accounts:two_factor")?;
        return Ok(req.into_response(redirect(&setup)));
    }
    req.extensions_mut().insert(staff);
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
    let res = next.call(req).await?;
    // A staff write that went through: what the shop cached before it is
    // not shown again (on this server; others within their TTL).
    if writes && !res.status().is_client_error() && !res.status().is_server_error() {
        if let Some(changes) = res.request().app_data::<web::Data<crate::cache::Changes>>() {
            changes.note();
        }
    }
    Ok(res.map_into_boxed_body())
}

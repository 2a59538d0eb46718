//! Setting a user's password from the admin: a separate form (the hash is
//! never shown), checked against the password rules, hashed without a
//! connection held, and recorded in the user's history. The user is signed
//! out everywhere and their login lock-out cleared.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use site_core::admin::audit::{self, LogAction};
use site_core::admin::{ModelAdmin, Perm, Staff};
use site_core::db::write_transaction;
use site_core::forms::FormState;
use site_core::http::{redirect, AppError, Level, RequestContext};
use site_core::tera::Context;

use super::users::UserAdmin;
use crate::models::User;
use crate::validators::validate;

async fn target(
    rq: &RequestContext,
    staff: &Staff,
    id: &str,
) -> Result<(UserAdmin, User), AppError> {
    let admin = UserAdmin::default();
    staff.require(admin.meta(), Perm::Change)?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let who = staff.clone();
    let user = rq
        .db(move |conn| {
            let user = User::find(conn, id)?;
            match super::out_of_reach(&who, conn, id)? {
                Some(why) => Err(AppError::Forbidden(why)),
                None => Ok(user),
            }
        })
        .await?;
    Ok((admin, user))
}

fn page(
    rq: &RequestContext,
    user: &User,
    form: &FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("title", &format!("Set the password of {}", user.email));
    ctx.insert("user", &user.email);
    ctx.insert("user_id", &user.id);
    ctx.insert("form", form);
    let mut res = rq.render_status("admin/accounts/set_password.html", ctx, status)?;
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

pub async fn form(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, user) = target(&rq, &staff, &id).await?;
    page(&rq, &user, &FormState::default(), StatusCode::OK)
}

pub async fn submit(
    rq: RequestContext,
    staff: Staff,
    id: web::Path<String>,
    fields: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (admin, user) = target(&rq, &staff, &id).await?;
    let mut form = FormState::new(fields.into_inner());
    let password = form.raw("password").to_string();
    let again = form.raw("password2").to_string();
    // Never sent back to the page.
    form.values.remove("password");
    form.values.remove("password2");
    if password.is_empty() {
        form.add_error("password", "This field is required.");
    } else if password != again {
        form.add_error("password2", "The two passwords differ.");
    }
    if form.is_valid() {
        for problem in validate(&password, &user.attributes()) {
            form.add_error("password", problem);
        }
    }
    if !form.is_valid() {
        return page(&rq, &user, &form, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let hash = web::block(move || crate::password::hash(&password))
        .await?
        .map_err(AppError::internal)?;
    let (uid, email, who) = (user.id, user.email.clone(), staff.clone());
    rq.db(move |conn| {
        write_transaction(conn, |conn| -> diesel::QueryResult<()> {
            User::set_password_hash(conn, uid, &hash)?;
            crate::throttle::clear_account(conn, &email)?;
            audit::write(
                conn,
                &who,
                admin.meta(),
                &audit::Record {
                    object_id: uid,
                    repr: &email,
                    action: LogAction::Action,
                    action_name: "Set password",
                    changes: Vec::new(),
                },
            )
        })?;
        Ok(())
    })
    .await?;
    crate::throttle::forget(&rq, &user.email).await;
    rq.flash(
        Level::Success,
        format!(
            "The password of {} was changed; they were signed out everywhere.",
            user.email
        ),
    );
    Ok(redirect(&rq.url(
        "admin:change",
        &[
            ("app", "accounts"),
            ("model", "user"),
            ("id", &user.id.to_string()),
        ],
    )?))
}

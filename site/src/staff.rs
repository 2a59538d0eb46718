//! Staff pages. For now: outgoing email, so failures are never silent.
//! Every page checks a permission through `has_perm`; staff must have
//! two-factor authentication on when SHOP_STAFF_2FA is set.

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use site_core::http::auth::{current_user, has_perm};
use site_core::http::{redirect, Level, RequestContext};
use site_core::mail::outbox::{self, Status};
use site_core::schema::accounts_user as u;
use site_core::tera::Context;
use site_core::AppError;

pub const ROUTES: &[site_core::urls::Route] = &[
    ("staff:mail", "/staff/mail/"),
    ("staff:mail_retry", "/staff/mail/{id}/retry/"),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(site_core::urls::resource(ROUTES, "staff:mail").route(web::get().to(mail)))
        .service(
            site_core::urls::resource(ROUTES, "staff:mail_retry").route(web::post().to(retry)),
        );
}

/// The signed-in staff member if they hold `perm`; otherwise the answer to
/// give (the login page, the two-factor setup, or 403).
async fn staff_with(
    rq: &RequestContext,
    perm: &'static str,
) -> Result<Result<i64, HttpResponse>, AppError> {
    let Some(me) = current_user(&rq.session) else {
        let login = rq.url("accounts:login", &[])?;
        return Ok(Err(redirect(&format!(
            "{login}?next={}",
            rq.req.uri().path()
        ))));
    };
    let need_2fa = rq.config.staff_2fa;
    let (is_staff, has_2fa, allowed) = rq
        .db(move |conn| {
            let (is_staff, secret) = u::table
                .find(me.id)
                .select((u::is_staff, u::totp_secret))
                .first::<(bool, Option<String>)>(conn)?;
            Ok((is_staff, secret.is_some(), has_perm(conn, me.id, perm)?))
        })
        .await?;
    if !is_staff || !allowed {
        return Err(AppError::Forbidden(
            "This page is for staff with permission to see it.".into(),
        ));
    }
    if need_2fa && !has_2fa {
        rq.flash(
            Level::Warning,
            "Staff accounts must use two-factor authentication. Set it up to reach the staff pages.",
        );
        return Ok(Err(redirect(&rq.url("accounts:two_factor", &[])?)));
    }
    Ok(Ok(me.id))
}

async fn mail(rq: RequestContext) -> Result<HttpResponse, AppError> {
    if let Err(answer) = staff_with(&rq, "core.view_outbox").await? {
        return Ok(answer);
    }
    let (counts, failed, waiting) = rq
        .db(|conn| {
            Ok((
                outbox::counts(conn)?,
                outbox::list(conn, Status::Failed, 100)?,
                outbox::list(conn, Status::Pending, 100)?,
            ))
        })
        .await?;
    let mut ctx = Context::new();
    ctx.insert("counts", &counts);
    ctx.insert("failed", &failed);
    ctx.insert(
        "retrying",
        &waiting
            .into_iter()
            .filter(|m| m.attempts > 0)
            .collect::<Vec<_>>(),
    );
    rq.render("site/staff_mail.html", ctx)
}

async fn retry(rq: RequestContext, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    if let Err(answer) = staff_with(&rq, "core.change_outbox").await? {
        return Ok(answer);
    }
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    if rq.db(move |conn| Ok(outbox::retry(conn, id)?)).await? {
        rq.flash(Level::Success, "The message is queued again.");
    } else {
        rq.flash(Level::Info, "That message is not waiting for a retry.");
    }
    Ok(redirect(&rq.url("staff:mail", &[])?))
}

//! Password change (knowing the current one) and password reset (by an
//! emailed link). Either ends every other session of the user and sends a
//! notice to the account's address.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use diesel::OptionalExtension;
use site_core::db::write_transaction;
use site_core::forms::{Email, FormState};
use site_core::http::{redirect, Level, MailSendLimit, RequestContext, MAIL_LIMITED};
use site_core::signing::TokenError;
use site_core::tera::Context;
use site_core::AppError;

use super::{
    confirm_password, form_page, new_password, page, queue_email, sign_in_session, signer,
    EmailParts, Fields, PasswordCheck,
};
use crate::models::User;
use crate::{throttle, tokens};

fn queue_changed_notice(
    conn: &mut site_core::DbConn,
    parts: &EmailParts,
    user: &User,
) -> Result<(), AppError> {
    let mut ctx = parts.context();
    ctx.insert("name", &user.display_name());
    ctx.insert(
        "reset_link",
        &format!("{}/accounts/password-reset/", parts.site_url),
    );
    queue_email(
        conn,
        parts,
        "accounts/email/password_changed",
        &user.email,
        "Your password was changed",
        &ctx,
    )
}

pub async fn change_form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    crate::login_required!(rq);
    form_page(
        &rq,
        "accounts/password_change.html",
        &FormState::default(),
        StatusCode::OK,
    )
}

pub async fn change_submit(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let mut form = FormState::new(body.into_inner());
    let (user, check) = confirm_password(
        &rq,
        me.id,
        &mut form,
        "current_password",
        "Your current password is not right.",
    )
    .await?;
    let id = user.id;
    let attrs = (
        user.email.clone(),
        user.first_name.clone(),
        user.last_name.clone(),
    );
    if check == PasswordCheck::Throttled {
        return form_page(
            &rq,
            "accounts/password_change.html",
            &form,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let hash = new_password(&mut form, attrs).await?;
    let Some(hash) = hash.filter(|_| form.is_valid()) else {
        return form_page(
            &rq,
            "accounts/password_change.html",
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let parts = EmailParts::of(&rq);
    let user = rq
        .db(move |conn| {
            write_transaction(conn, |conn| {
                User::set_password_hash(conn, id, &hash)?;
                let user = User::find(conn, id)?;
                queue_changed_notice(conn, &parts, &user)?;
                Ok(user)
            })
        })
        .await?;
    // Every session of the user was ended; this one goes on under a new id.
    rq.session.renew();
    sign_in_session(&rq, &user)?;
    rq.flash(
        Level::Success,
        "Your password was changed. You were logged out everywhere else.",
    );
    Ok(redirect(&rq.url("accounts:profile", &[])?))
}

pub async fn reset_form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    form_page(
        &rq,
        "accounts/password_reset.html",
        &FormState::default(),
        StatusCode::OK,
    )
}

/// Answers the same whether or not the address has an account (and does
/// the same database work), so the page does not tell who is a customer.
pub async fn reset_submit(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let mut form = FormState::new(body.into_inner());
    let Some(email) = form.field("email", Email::parse) else {
        let mut ctx = Context::new();
        ctx.insert("form", &form);
        return page(
            &rq,
            "accounts/password_reset.html",
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    // Counted before looking the address up, so it is the same either way.
    if !MailSendLimit::allow(&rq).await {
        form.add_non_field_error(MAIL_LIMITED);
        return form_page(
            &rq,
            "accounts/password_reset.html",
            &form,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let parts = EmailParts::of(&rq);
    let signer = signer(&rq)?;
    let minutes = rq.config.password_reset_minutes;
    rq.db(move |conn| {
        let Some(user) = User::by_email(conn, &email).optional()? else {
            return Ok(());
        };
        if !user.is_active {
            return Ok(());
        }
        let token = tokens::reset_token(&signer, &user, minutes);
        let mut ctx = parts.context();
        ctx.insert("name", &user.display_name());
        ctx.insert(
            "link",
            &format!("{}/accounts/password-reset/{token}/", parts.site_url),
        );
        ctx.insert("minutes", &minutes);
        queue_email(
            conn,
            &parts,
            "accounts/email/password_reset",
            &user.email,
            "Reset your password",
            &ctx,
        )
    })
    .await?;
    Ok(redirect(&rq.url("accounts:password_reset_sent", &[])?))
}

pub async fn reset_sent(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("minutes", &rq.config.password_reset_minutes);
    page(
        &rq,
        "accounts/password_reset_sent.html",
        ctx,
        StatusCode::OK,
    )
}

fn token_failed(rq: &RequestContext, e: TokenError) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("expired", &(e == TokenError::Expired));
    page(
        rq,
        "accounts/password_reset_invalid.html",
        ctx,
        StatusCode::BAD_REQUEST,
    )
}

async fn check_token(
    rq: &RequestContext,
    token: String,
) -> Result<Result<User, TokenError>, AppError> {
    let signer = signer(rq)?;
    rq.db(move |conn| Ok(tokens::check_reset(&signer, conn, &token)))
        .await
}

fn confirm_page(
    rq: &RequestContext,
    form: &FormState,
    token: &str,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("form", form);
    ctx.insert("token", token);
    page(rq, "accounts/password_reset_confirm.html", ctx, status)
}

pub async fn confirm_form(
    rq: RequestContext,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    match check_token(&rq, token.clone()).await? {
        Ok(_) => confirm_page(&rq, &FormState::default(), &token, StatusCode::OK),
        Err(e) => token_failed(&rq, e),
    }
}

pub async fn confirm_submit(
    rq: RequestContext,
    token: web::Path<String>,
    body: Fields,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let user = match check_token(&rq, token.clone()).await? {
        Ok(u) => u,
        Err(e) => return token_failed(&rq, e),
    };
    let mut form = FormState::new(body.into_inner());
    let attrs = (
        user.email.clone(),
        user.first_name.clone(),
        user.last_name.clone(),
    );
    let Some(hash) = new_password(&mut form, attrs).await? else {
        return confirm_page(&rq, &form, &token, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let parts = EmailParts::of(&rq);
    let signer = signer(&rq)?;
    let done = rq
        .db(move |conn| {
            write_transaction(conn, |conn| {
                // Checked again inside the transaction: of two submissions
                // of one link, only the first changes the password.
                let user = match tokens::check_reset(&signer, conn, &token) {
                    Ok(u) => u,
                    Err(e) => return Ok(Err(e)),
                };
                // Conditional on the hash the link was signed with, so
                // of two simultaneous submissions only one wins.
                if !User::replace_password_hash(conn, user.id, &user.password_hash, &hash)? {
                    return Ok(Err(TokenError::Invalid));
                }
                throttle::clear_account(conn, &user.email)?;
                queue_changed_notice(conn, &parts, &user)?;
                Ok(Ok(()))
            })
        })
        .await?;
    if let Err(e) = done {
        return token_failed(&rq, e);
    }
    throttle::forget(&rq, &user.email).await;
    // Whoever was signed in here is signed out: the reset ended every session.
    rq.session.renew();
    rq.session.remove(site_core::http::auth::SESSION_KEY);
    rq.flash(
        Level::Success,
        "Your password was reset. Log in with your new password.",
    );
    Ok(redirect(&rq.url("accounts:login", &[])?))
}

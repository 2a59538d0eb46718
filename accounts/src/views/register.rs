//! Registration and email verification. A new customer is signed in at
//! once and can shop; until they follow the emailed link they are reminded
//! to confirm their address.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use site_core::db::write_transaction;
use site_core::forms::{optional_text, Email, FormState};
use site_core::http::auth::{current_user, set_current_user};
use site_core::http::{redirect, Level, MailSendLimit, RequestContext, MAIL_LIMITED};
use site_core::signing::TokenError;
use site_core::tera::Context;
use site_core::AppError;

use super::{
    form_page, new_password, page, queue_email, sign_in_session, signer, EmailParts, Fields,
};
use crate::models::User;
use crate::tokens;

pub async fn form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    if current_user(&rq.session).is_some() {
        return Ok(redirect(&rq.url("accounts:profile", &[])?));
    }
    form_page(
        &rq,
        "accounts/register.html",
        &FormState::default(),
        StatusCode::OK,
    )
}

/// Queues the verification email for `email` (the account's address, or
/// the new address of an email change).
pub fn queue_verification(
    conn: &mut site_core::DbConn,
    parts: &EmailParts,
    signer: &site_core::signing::Signer,
    verify_days: i64,
    user: &User,
    email: &str,
) -> Result<(), AppError> {
    let token = tokens::verify_token(signer, user, email, verify_days);
    let mut ctx = parts.context();
    ctx.insert("name", &user.display_name());
    ctx.insert(
        "link",
        &format!("{}/accounts/verify/{token}/", parts.site_url),
    );
    ctx.insert("days", &verify_days);
    queue_email(
        conn,
        parts,
        "accounts/email/verify",
        email,
        "Confirm your email address",
        &ctx,
    )
}

pub async fn submit(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let mut form = FormState::new(body.into_inner());
    let email = form.field("email", Email::parse);
    let first = form
        .field("first_name", optional_text(100))
        .unwrap_or_default();
    let last = form
        .field("last_name", optional_text(100))
        .unwrap_or_default();
    let typed_email = form.raw("email").to_lowercase();
    let hash = new_password(&mut form, (typed_email, first.clone(), last.clone())).await?;
    let (Some(email), Some(hash)) = (email, hash.filter(|_| form.is_valid())) else {
        return form_page(
            &rq,
            "accounts/register.html",
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    if !MailSendLimit::allow(&rq).await {
        form.add_non_field_error(MAIL_LIMITED);
        return form_page(
            &rq,
            "accounts/register.html",
            &form,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let parts = EmailParts::of(&rq);
    let signer = signer(&rq)?;
    let verify_days = rq.config.verify_days;
    let created = rq
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let Some(user) = User::create_with_hash(conn, &email, &hash, &first, &last)? else {
                    return Ok(None);
                };
                queue_verification(conn, &parts, &signer, verify_days, &user, &user.email)?;
                Ok(Some(user))
            })
        })
        .await?;
    let Some(user) = created else {
        form.add_error(
            "email",
            "An account with this email already exists. Log in, or reset your password if you forgot it.",
        );
        return form_page(
            &rq,
            "accounts/register.html",
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    rq.session.renew();
    sign_in_session(&rq, &user)?;
    for hook in super::hooks(&rq).0 {
        hook.logged_in(&rq, user.id).await?;
    }
    rq.flash(
        Level::Success,
        format!(
            "Welcome! Your account is ready. We sent a link to {} to confirm your address.",
            user.email
        ),
    );
    Ok(redirect("/"))
}

fn verify_failed(rq: &RequestContext, e: TokenError) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("expired", &(e == TokenError::Expired));
    page(
        rq,
        "accounts/verify_failed.html",
        ctx,
        StatusCode::BAD_REQUEST,
    )
}

/// The link from the email shows what it confirms and a button: opening
/// a link (as mail scanners do) changes nothing; the POST does.
pub async fn verify_form(
    rq: RequestContext,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let signer = signer(&rq)?;
    let token = token.into_inner();
    let t = token.clone();
    let checked = rq
        .db(move |conn| Ok(tokens::check_verify(&signer, conn, &t)))
        .await?;
    match checked {
        Ok((_, email)) => {
            let mut ctx = Context::new();
            ctx.insert("email", &email);
            ctx.insert("token", &token);
            page(&rq, "accounts/verify.html", ctx, StatusCode::OK)
        }
        Err(e) => verify_failed(&rq, e),
    }
}

/// Confirms the address (for an email change, the address becomes the
/// account's).
pub async fn verify(
    rq: RequestContext,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let signer = signer(&rq)?;
    let parts = EmailParts::of(&rq);
    let token = token.into_inner();
    let outcome = rq
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let (user, email) = match tokens::check_verify(&signer, conn, &token) {
                    Ok(found) => found,
                    Err(e) => return Ok(Err(e)),
                };
                if !User::confirm_email(conn, user.id, &email)? {
                    return Ok(Err(TokenError::Invalid));
                }
                if user.email != email {
                    // The old address hears of the change, in case it was
                    // not its owner who made it.
                    let mut ctx = parts.context();
                    ctx.insert("name", &user.display_name());
                    ctx.insert("new_email", &email);
                    ctx.insert(
                        "reset_link",
                        &format!("{}/accounts/password-reset/", parts.site_url),
                    );
                    queue_email(
                        conn,
                        &parts,
                        "accounts/email/email_changed",
                        &user.email,
                        "Your email address was changed",
                        &ctx,
                    )?;
                }
                Ok(Ok(User::find(conn, user.id)?))
            })
        })
        .await?;
    match outcome {
        Ok(user) => {
            if current_user(&rq.session).is_some_and(|u| u.id == user.id) {
                set_current_user(&rq.session, &super::session_user(&user))
                    .map_err(AppError::internal)?;
            }
            rq.flash(
                Level::Success,
                format!("Thank you: {} is confirmed.", user.email),
            );
            Ok(redirect(&rq.url("accounts:profile", &[])?))
        }
        Err(e) => verify_failed(&rq, e),
    }
}

/// Sends the verification link again (for the signed-in customer).
pub async fn resend(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    if !MailSendLimit::allow(&rq).await {
        rq.flash(Level::Warning, MAIL_LIMITED);
        return Ok(redirect(&rq.url("accounts:profile", &[])?));
    }
    let parts = EmailParts::of(&rq);
    let signer = signer(&rq)?;
    let verify_days = rq.config.verify_days;
    let sent = rq
        .db(move |conn| {
            let user = User::find(conn, me.id)?;
            if user.email_verified {
                return Ok(None);
            }
            queue_verification(conn, &parts, &signer, verify_days, &user, &user.email)?;
            Ok(Some(user.email))
        })
        .await?;
    match sent {
        Some(email) => rq.flash(
            Level::Success,
            format!("We sent a new confirmation link to {email}."),
        ),
        None => rq.flash(Level::Info, "Your email address is already confirmed."),
    }
    Ok(redirect(&rq.url("accounts:profile", &[])?))
}

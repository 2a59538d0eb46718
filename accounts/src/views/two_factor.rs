//! Setting up and turning off two-factor authentication. Enrolment shows a
//! secret (and its QR code) and asks for a code from the app before it is
//! saved; recovery codes are shown once.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use site_core::db::write_transaction;
use site_core::forms::FormState;
use site_core::http::{redirect, Level, RequestContext};
use site_core::tera::Context;
use site_core::AppError;

use super::{page, Fields};
use crate::models::User;
use crate::twofactor;

const ENROLLING: &str = "_totp_enrolling";

async fn setup_page(
    rq: &RequestContext,
    form: &FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let me = match super::signed_in(rq) {
        Ok(u) => u,
        Err(to_login) => return Ok(*to_login),
    };
    let id = me.id;
    let user = rq.db(move |conn| Ok(User::find(conn, id)?)).await?;
    let mut ctx = Context::new();
    ctx.insert("form", form);
    ctx.insert("enabled", &user.totp_secret.is_some());
    ctx.insert("required", &(user.is_staff && rq.config.staff_2fa));
    if user.totp_secret.is_none() {
        let secret = match rq.session.get::<String>(ENROLLING).ok().flatten() {
            Some(s) => s,
            None => {
                let s = twofactor::new_secret();
                rq.session
                    .insert(ENROLLING, &s)
                    .map_err(AppError::internal)?;
                s
            }
        };
        let totp = twofactor::totp(&secret, &user.email)
            .ok_or_else(|| AppError::internal("a generated TOTP secret was refused"))?;
        ctx.insert("secret", &secret);
        ctx.insert("otpauth", &totp.get_url());
        ctx.insert("qr", &totp.get_qr_base64().ok());
    }
    page(rq, "accounts/two_factor.html", ctx, status)
}

pub async fn show(rq: RequestContext) -> Result<HttpResponse, AppError> {
    setup_page(&rq, &FormState::default(), StatusCode::OK).await
}

/// `action=enable` with a code from the app, or `action=disable`; either
/// with the password.
pub async fn submit(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let me = crate::login_required!(rq);
    let mut form = FormState::new(body.into_inner());
    let id = me.id;
    let enable = match form.raw("action") {
        "enable" => true,
        "disable" => false,
        _ => return Err(AppError::BadRequest("Unknown action.".into())),
    };
    let enrolling = rq.session.get::<String>(ENROLLING).ok().flatten();
    if enable && enrolling.is_none() {
        return Ok(redirect(&rq.url("accounts:two_factor", &[])?));
    }
    if !enable && me.is_staff && rq.config.staff_2fa {
        form.values.remove("password");
        form.add_non_field_error("Staff accounts must keep two-factor authentication on.");
        return setup_page(&rq, &form, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let (_, check) = super::confirm_password(
        &rq,
        id,
        &mut form,
        "password",
        "Your password is not right.",
    )
    .await?;
    if check != super::PasswordCheck::Right {
        return setup_page(&rq, &form, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let Some(secret) = enrolling.filter(|_| enable) else {
        rq.db(move |conn| {
            write_transaction(conn, |conn| -> Result<(), AppError> {
                User::set_totp_secret(conn, id, None)?;
                twofactor::clear_recovery_codes(conn, id)?;
                Ok(())
            })
        })
        .await?;
        rq.flash(Level::Success, "Two-factor authentication is off.");
        return Ok(redirect(&rq.url("accounts:profile", &[])?));
    };
    let code = form.raw("code").to_string();
    if !twofactor::check_code(&secret, &me.email, &code) {
        form.add_error(
            "code",
            "That code is not right. Enter the 6-digit code your app shows now.",
        );
        return setup_page(&rq, &form, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let enabled = rq
        .db(move |conn| {
            write_transaction(conn, |conn| -> Result<_, AppError> {
                // Only if still off: a second enrolment (another tab, a
                // stale session) cannot swap the secret.
                if !User::enable_totp(conn, id, &secret)? {
                    return Ok(None);
                }
                // Sessions signed in with the password alone end (this
                // one signs in again below, as the user is now).
                site_core::http::auth::end_sessions(conn, id)?;
                let user = User::find(conn, id)?;
                twofactor::use_code(conn, &user, &secret, &code)?;
                Ok(Some((user, twofactor::new_recovery_codes(conn, id)?)))
            })
        })
        .await?;
    rq.session.remove(ENROLLING);
    let Some((user, codes)) = enabled else {
        rq.flash(Level::Info, "Two-factor authentication was already on.");
        return Ok(redirect(&rq.url("accounts:two_factor", &[])?));
    };
    rq.session.renew();
    super::sign_in_session(&rq, &user)?;
    rq.flash(Level::Success, "Two-factor authentication is on.");
    let mut ctx = Context::new();
    ctx.insert("codes", &codes);
    page(&rq, "accounts/recovery_codes.html", ctx, StatusCode::OK)
}

//! Log in (password, then a two-factor code when the account has one) and
//! log out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use diesel::OptionalExtension;
use serde::{Deserialize, Serialize};
use site_core::forms::{Email, FormState};
use site_core::http::{redirect, Level, RequestContext};
use site_core::tera::Context;
use site_core::AppError;

use super::{client_ip, form_page, page, sign_in_session, Fields};
use crate::models::User;
use crate::{password, throttle, twofactor};

/// Only a path on this site may follow a login ("next"); anything else
/// (another host, a scheme, `//evil`) goes to the home page.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    // Browsers strip tabs and newlines from URLs and read `\` as `/`, so
    // any of them could turn a local path into `//other-host`.
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.chars().any(|c| c.is_control() || c == '\\');
    ok.then(|| n.to_string())
}

const EXPIRED: &str = "Your login expired or the password changed meanwhile: please log in again.";
pub const THROTTLED: &str =
    "Too many failed attempts to log in. Wait 15 minutes and try again, or reset your password.";
const MISMATCH: &str = "That email and password do not match an account. Check them and try again.";

fn login_page(
    rq: &RequestContext,
    form: &FormState,
    next: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("form", form);
    ctx.insert("next", &next.unwrap_or_default());
    page(rq, "accounts/login.html", ctx, status)
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

pub async fn login_form(
    rq: RequestContext,
    q: web::Query<NextParam>,
) -> Result<HttpResponse, AppError> {
    login_page(
        &rq,
        &FormState::default(),
        safe_next(q.next.as_deref()),
        StatusCode::OK,
    )
}

/// A login that passed the password and waits for its second factor.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    user_id: i64,
    /// Which password it passed: a reset meanwhile voids it.
    password: String,
    next: Option<String>,
    /// Unix seconds; the code must come within 5 minutes.
    at: i64,
}

const PENDING: &str = "_pending_login";

/// A short digest of the stored password hash (not the hash itself, which
/// has no business in a session).
fn fingerprint(user: &User) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(user.password_hash.as_bytes())[..8])
}

pub async fn login_submit(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let mut form = FormState::new(body.into_inner());
    let next = safe_next(Some(form.raw("next")));
    let email = form.field("email", Email::parse);
    let password_text = form.raw("password").to_string();
    form.values.remove("password");
    if password_text.is_empty() {
        form.add_error("password", "This field is required.");
    }
    let Some(email) = email.filter(|_| form.is_valid()) else {
        return login_page(&rq, &form, next, StatusCode::UNPROCESSABLE_ENTITY);
    };
    if !throttle::attempt_for(&rq, &email.to_string(), &client_ip(&rq)).await? {
        form.add_non_field_error(THROTTLED);
        return login_page(&rq, &form, next, StatusCode::TOO_MANY_REQUESTS);
    }
    let candidate = rq
        .db(move |conn| Ok(User::by_email(conn, &email).optional()?))
        .await?;
    let user = web::block(move || {
        User::verify(candidate, &password_text).map(|u| {
            let rehash = password::needs_rehash(&u.password_hash)
                .then(|| password::hash(&password_text).ok())
                .flatten();
            (u, rehash)
        })
    })
    .await?;
    let Some((user, rehash)) = user else {
        form.add_non_field_error(MISMATCH);
        return login_page(&rq, &form, next, StatusCode::UNPROCESSABLE_ENTITY);
    };
    if let Some(h) = rehash {
        let id = user.id;
        rq.db(move |conn| Ok(User::record_login(conn, id, Some(h))?))
            .await?;
    }
    if user.totp_secret.is_some() {
        // A new session id now too: the half-done login must not be
        // finished from a session id planted before.
        rq.session.renew();
        rq.session
            .insert(
                PENDING,
                PendingLogin {
                    user_id: user.id,
                    password: fingerprint(&user),
                    next,
                    at: site_core::now().and_utc().timestamp(),
                },
            )
            .map_err(AppError::internal)?;
        return Ok(redirect(&rq.url("accounts:login_2fa", &[])?));
    }
    complete_login(&rq, user, next).await
}

/// Signs `user` in: a fresh session id (so a session id planted before
/// cannot ride this login), the other apps' login work (the cart merge),
/// and where to go next.
async fn complete_login(
    rq: &RequestContext,
    user: User,
    next: Option<String>,
) -> Result<HttpResponse, AppError> {
    rq.session.renew();
    rq.session.remove(PENDING);
    sign_in_session(rq, &user)?;
    let (id, account) = (user.id, user.email.clone());
    throttle::forget(rq, &account).await;
    rq.db(move |conn| {
        User::record_login(conn, id, None)?;
        throttle::clear_account(conn, &account)?;
        Ok(())
    })
    .await?;
    for hook in super::hooks(rq).0 {
        hook.logged_in(rq, user.id).await?;
    }
    rq.flash(Level::Success, format!("Signed in as {}.", user.email));
    if !user.email_verified {
        rq.flash(
            Level::Info,
            "Please confirm your email address: use the link we sent you (your profile page can send it again).",
        );
    }
    if user.is_staff && rq.config.staff_2fa && user.totp_secret.is_none() {
        rq.flash(
            Level::Warning,
            "Staff accounts must use two-factor authentication. Set it up to reach the staff pages.",
        );
        return Ok(redirect(&rq.url("accounts:two_factor", &[])?));
    }
    Ok(redirect(&next.unwrap_or_else(|| "/".into())))
}

fn pending(rq: &RequestContext) -> Option<PendingLogin> {
    let p: PendingLogin = rq.session.get(PENDING).ok().flatten()?;
    let fresh = site_core::now().and_utc().timestamp() - p.at < 300;
    fresh.then_some(p)
}

pub async fn code_form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    if pending(&rq).is_none() {
        return Ok(redirect(&rq.url("accounts:login", &[])?));
    }
    form_page(
        &rq,
        "accounts/login_code.html",
        &FormState::default(),
        StatusCode::OK,
    )
}

/// The second step: a current authenticator code or an unused recovery
/// code. Failures count towards the same throttle as passwords.
pub async fn code_submit(rq: RequestContext, body: Fields) -> Result<HttpResponse, AppError> {
    let Some(p) = pending(&rq) else {
        rq.flash(Level::Info, "That took too long: please log in again.");
        return Ok(redirect(&rq.url("accounts:login", &[])?));
    };
    let mut form = FormState::new(body.into_inner());
    let code = form.raw("code").trim().to_string();
    form.values.remove("code");
    let (uid, passed) = (p.user_id, p.password.clone());
    let user = rq
        .db(move |conn| {
            let user = User::find(conn, uid)?;
            Ok((user.is_active && fingerprint(&user) == passed).then_some(user))
        })
        .await?;
    let outcome = match user {
        None => Err(EXPIRED),
        Some(user) if !throttle::attempt_for(&rq, &user.email, &client_ip(&rq)).await? => {
            Err(THROTTLED)
        }
        Some(user) => {
            rq.db(move |conn| {
                let secret = user.totp_secret.clone().unwrap_or_default();
                let ok = twofactor::use_code(conn, &user, &secret, &code)?
                    || twofactor::use_recovery_code(conn, uid, &code)?;
                Ok(if ok {
                    Ok(user)
                } else {
                    Err("That code is not right. Enter the 6-digit code from your authenticator app, or one of your recovery codes.")
                })
            })
            .await?
        }
    };
    if let Err(EXPIRED) = outcome {
        rq.session.remove(PENDING);
        rq.flash(Level::Info, EXPIRED);
        return Ok(redirect(&rq.url("accounts:login", &[])?));
    }
    match outcome {
        Ok(user) => complete_login(&rq, user, p.next).await,
        Err(message) => {
            form.add_error("code", message);
            let status = if message == THROTTLED {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            form_page(&rq, "accounts/login_code.html", &form, status)
        }
    }
}

/// Logout ends the session for good (its row is deleted, the cookie
/// cleared); the customer's cart stays in the database for next time.
pub async fn logout(rq: RequestContext) -> Result<HttpResponse, AppError> {
    rq.session.purge();
    Ok(redirect("/"))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_goes_to_this_site() {
        assert_eq!(safe_next(Some("/cart/")).as_deref(), Some("/cart/"));
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "javascript:alert(1)",
            "",
            "/a\r\nSet-Cookie: x",
            // Browsers drop tabs inside URLs: this one is //evil.example.
            "/\t/evil.example",
            "/\u{0}/evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
    }
}

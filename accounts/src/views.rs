//! Sign in and out.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use diesel::OptionalExtension;
use site_core::forms::{Email, FormState};
use site_core::http::auth::{set_current_user, SessionUser};
use site_core::http::{redirect, Level, RequestContext};
use site_core::tera::Context;
use site_core::AppError;

use crate::models::User;

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

fn login_page(
    rq: &RequestContext,
    form: &FormState,
    next: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("form", form);
    ctx.insert("next", &next.unwrap_or_default());
    let body = rq
        .renderer
        .render_page(&rq.req, "accounts/login.html", ctx)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[derive(serde::Deserialize)]
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
        actix_web::http::StatusCode::OK,
    )
}

pub async fn login_submit(
    rq: RequestContext,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let mut form = FormState::new(body.into_inner());
    let next = safe_next(Some(form.raw("next")));
    let email = form.field("email", Email::parse);
    let password = form.raw("password").to_string();
    form.values.remove("password");
    if password.is_empty() {
        form.add_error("password", "This field is required.");
    }
    let Some(email) = email.filter(|_| form.is_valid()) else {
        return login_page(
            &rq,
            &form,
            next,
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let candidate = rq
        .db(move |conn| Ok(User::by_email(conn, &email).optional()?))
        .await?;
    let user = web::block(move || User::verify(candidate, &password)).await?;
    if let Some(u) = &user {
        let id = u.id;
        rq.db(move |conn| Ok(User::record_login(conn, id)?)).await?;
    }
    let Some(user) = user else {
        form.add_non_field_error(
            "That email and password do not match an account. Check them and try again.",
        );
        return login_page(
            &rq,
            &form,
            next,
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    // A new session id at login: a session id planted before cannot be used
    // to ride the signed-in session (session fixation).
    rq.session.renew();
    set_current_user(
        &rq.session,
        &SessionUser {
            id: user.id,
            email: user.email.clone(),
            is_staff: user.is_staff,
        },
    )
    .map_err(AppError::internal)?;
    rq.flash(Level::Success, format!("Signed in as {}.", user.email));
    Ok(redirect(&next.unwrap_or_else(|| "/".into())))
}

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

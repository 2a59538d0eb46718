//! Account pages. Handlers parse the form, call the models, and render or
//! redirect; hashing runs on the blocking pool without a connection held.

pub mod addresses;
pub mod auth;
pub mod passwords;
pub mod profile;
pub mod register;
pub mod two_factor;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use site_core::hooks::AccountHooks;
use site_core::http::auth::{current_user, set_current_user, SessionUser};
use site_core::http::{redirect, RequestContext};
use site_core::mail::{outbox, Email};
use site_core::signing::Signer;
use site_core::tera::Context;
use site_core::AppError;

use crate::models::User;

pub type Fields = web::Form<HashMap<String, String>>;

/// Renders `template` with `status` (422 for a form with errors).
pub fn page(
    rq: &RequestContext,
    template: &str,
    ctx: Context,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut res = rq.render_status(template, ctx, status)?;
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// A page whose context is just `form` (see [`page`]).
pub fn form_page(
    rq: &RequestContext,
    template: &str,
    form: &site_core::forms::FormState,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("form", form);
    page(rq, template, ctx, status)
}

/// What checking a password before a sensitive change found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Right,
    Wrong,
    /// Too many wrong passwords lately: not even checked.
    Throttled,
}

impl PasswordCheck {
    /// The sentence for the form (`wrong` when it was wrong), or `None`.
    pub fn problem(self, wrong: &'static str) -> Option<&'static str> {
        match self {
            PasswordCheck::Right => None,
            PasswordCheck::Wrong => Some(wrong),
            PasswordCheck::Throttled => Some(auth::THROTTLED),
        }
    }
}

/// Checks the password typed into `form`'s `field` before a sensitive
/// change (email, password, two-factor, deletion), for the signed-in user
/// `user_id`. The field is emptied (a password is never echoed) and, if
/// the check fails, given `wrong` or the throttle's message. Each try
/// counts towards the same throttle as logins, so a borrowed session
/// cannot guess at leisure.
pub async fn confirm_password(
    rq: &RequestContext,
    user_id: i64,
    form: &mut site_core::forms::FormState,
    field: &str,
    wrong: &'static str,
) -> Result<(User, PasswordCheck), AppError> {
    let password_text = form.raw(field).to_string();
    form.values.remove(field);
    let user = rq.db(move |conn| Ok(User::find(conn, user_id)?)).await?;
    let allowed = crate::throttle::attempt_for(rq, &user.email, &client_ip(rq)).await?;
    let check = if !allowed {
        PasswordCheck::Throttled
    } else {
        let candidate = user.clone();
        let ok =
            web::block(move || User::verify(Some(candidate), &password_text).is_some()).await?;
        if ok {
            let account = user.email.clone();
            crate::throttle::forget(rq, &account).await;
            rq.db(move |conn| Ok(crate::throttle::clear_account(conn, &account)?))
                .await?;
            PasswordCheck::Right
        } else {
            PasswordCheck::Wrong
        }
    };
    if let Some(problem) = check.problem(wrong) {
        form.add_error(field, problem);
    }
    Ok((user, check))
}

/// The signed-in user, or a redirect to the login page that comes back here.
pub fn signed_in(rq: &RequestContext) -> Result<SessionUser, Box<HttpResponse>> {
    match current_user(&rq.session) {
        Some(u) => Ok(u),
        None => Err(Box::new(
            rq.login_redirect().unwrap_or_else(|_| redirect("/")),
        )),
    }
}

/// Runs `$rq`'s handler only for a signed-in user.
#[macro_export]
macro_rules! login_required {
    ($rq:expr) => {
        match $crate::views::signed_in(&$rq) {
            Ok(u) => u,
            Err(to_login) => return Ok(*to_login),
        }
    };
}

pub fn signer(rq: &RequestContext) -> Result<web::Data<Signer>, AppError> {
    rq.req
        .app_data::<web::Data<Signer>>()
        .cloned()
        .ok_or_else(|| AppError::internal("app data Signer is not registered"))
}

pub fn hooks(rq: &RequestContext) -> AccountHooks {
    rq.req
        .app_data::<web::Data<AccountHooks>>()
        .map(|h| h.get_ref().clone())
        .unwrap_or_default()
}

/// The client's address (see `RequestContext::client_ip`), as the
/// throttle's key.
pub fn client_ip(rq: &RequestContext) -> String {
    rq.client_ip().to_string()
}

pub fn session_user(user: &User) -> SessionUser {
    SessionUser {
        id: user.id,
        email: user.email.clone(),
        is_staff: user.is_staff,
        email_verified: user.email_verified,
        auth_version: user.auth_version,
    }
}

/// Puts `user` in the session (after its id was renewed), with a new
/// CSRF secret.
pub fn sign_in_session(rq: &RequestContext, user: &User) -> Result<(), AppError> {
    site_core::http::csrf::rotate(&rq.req);
    set_current_user(&rq.session, &session_user(user)).map_err(AppError::internal)
}

/// Renders an accounts email and queues it in the caller's transaction.
pub fn queue_email(
    conn: &mut site_core::DbConn,
    rq_parts: &EmailParts,
    template: &str,
    to: &str,
    subject: &str,
    ctx: &Context,
) -> Result<(), AppError> {
    let email = Email::render(&rq_parts.renderer, template, to, subject, ctx)?;
    outbox::enqueue(conn, &email)?;
    Ok(())
}

/// What rendering an email needs, cloned out of the request so it can go
/// to the blocking pool.
#[derive(Clone)]
pub struct EmailParts {
    pub renderer: web::Data<site_core::templates::Renderer>,
    pub site_url: String,
}

impl EmailParts {
    pub fn of(rq: &RequestContext) -> Self {
        EmailParts {
            renderer: rq.renderer.clone(),
            site_url: rq.config.site_url.clone(),
        }
    }

    pub fn context(&self) -> Context {
        let mut ctx = Context::new();
        ctx.insert("site_url", &self.site_url);
        ctx
    }
}

/// Hashes on the blocking pool (argon2 takes tens of milliseconds).
pub async fn hash_password(password: String) -> Result<String, AppError> {
    web::block(move || crate::password::hash(&password))
        .await?
        .map_err(AppError::internal)
}

/// The form's two new-password fields checked against the rules and each
/// other; the hash, or the errors recorded on the form.
pub async fn new_password(
    form: &mut site_core::forms::FormState,
    attrs: (String, String, String),
) -> Result<Option<String>, AppError> {
    let p1 = form.raw("password1").to_string();
    let p2 = form.raw("password2").to_string();
    form.values.remove("password1");
    form.values.remove("password2");
    if p1.is_empty() {
        form.add_error("password1", "This field is required.");
        return Ok(None);
    }
    if p1 != p2 {
        form.add_error("password2", "The two passwords do not match.");
        return Ok(None);
    }
    let problems = crate::validators::validate(
        &p1,
        &crate::validators::UserAttributes {
            email: &attrs.0,
            first_name: &attrs.1,
            last_name: &attrs.2,
        },
    );
    if !problems.is_empty() {
        for p in problems {
            form.add_error("password1", p);
        }
        return Ok(None);
    }
    Ok(Some(hash_password(p1).await?))
}

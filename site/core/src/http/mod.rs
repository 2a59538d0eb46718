//! HTTP plumbing every app shares: the error type and its pages, the request
//! context handlers work through, security headers, CSRF, sessions, flash
//! messages and pagination.

pub mod auth;
pub mod csrf;
pub mod flash;
pub mod pagination;
pub mod security;
pub mod session_store;

use actix_session::{Session, SessionExt};
use actix_web::{
    dev::Payload, http::StatusCode, web, FromRequest, HttpRequest, HttpResponse, ResponseError,
};
use futures_util::future::{ready, Ready};
use tera::Context;

use crate::config::Config;
use crate::db::{Database, DbConn};
use crate::templates::Renderer;

pub use flash::{Flash, Level};
pub use pagination::{Page, Paginator};

/// What a handler can fail with. Everything but `Internal` is the shopper's
/// business and is shown to them; `Internal` is logged and shown as a plain
/// 500 page with a reference, never with its details.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("The page you asked for does not exist.")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// The database (or another service the shop needs) cannot be
    /// reached: 503, "try again in a moment".
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    /// An error that travelled through `anyhow` keeps its cause: one that
    /// says the database cannot be reached is a 503, not a 500.
    fn from(e: anyhow::Error) -> Self {
        if database_unreachable(&e) {
            tracing::warn!(error = %format!("{e:#}"), "the database cannot be reached");
            return AppError::Unavailable(DATABASE_DOWN.into());
        }
        AppError::Internal(e)
    }
}

/// Whether anything in `e`'s chain says the database is out of reach: no
/// connection from the pool, or one that closed or could not send.
pub fn database_unreachable(e: &anyhow::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    e.chain().any(|cause| {
        cause.downcast_ref::<diesel::r2d2::PoolError>().is_some()
            || matches!(
                cause.downcast_ref::<Error>(),
                Some(Error::DatabaseError(
                    Kind::ClosedConnection | Kind::UnableToSendCommand,
                    _
                ))
            )
    })
}

const DATABASE_DOWN: &str = "The shop cannot reach its database just now.";

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(anyhow::anyhow!("{e}"))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            // The server went away (restarted, unreachable).
            Error::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, info) => {
                tracing::warn!(error = info.message(), "the database connection failed");
                AppError::Unavailable(DATABASE_DOWN.into())
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    /// No connection within the pool's timeout: the database is down (or
    /// every connection busy far longer than any page takes).
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection");
        AppError::Unavailable(DATABASE_DOWN.into())
    }
}

impl From<tera::Error> for AppError {
    fn from(e: tera::Error) -> Self {
        // tera keeps the useful part (which template, which variable) in the
        // source chain.
        AppError::Internal(anyhow::Error::new(e))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(e)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body is rendered by the error-page middleware, which knows the
    /// request (its id, the nav); this plain text is the fallback.
    fn error_response(&self) -> HttpResponse {
        let text = match self {
            AppError::Internal(_) => "Server error".to_string(),
            other => other.to_string(),
        };
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(text)
    }
}

/// The request as handlers see it: session, database, templates, config.
pub struct RequestContext {
    pub req: HttpRequest,
    pub session: Session,
    pub db: web::Data<Database>,
    pub renderer: web::Data<Renderer>,
    pub config: web::Data<Config>,
}

impl FromRequest for RequestContext {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let missing = |what: &str| {
            actix_web::Error::from(AppError::internal(format!(
                "app data {what} is not registered"
            )))
        };
        ready((|| {
            Ok(RequestContext {
                req: req.clone(),
                session: req.get_session(),
                db: req
                    .app_data::<web::Data<Database>>()
                    .cloned()
                    .ok_or_else(|| missing("Database"))?,
                renderer: req
                    .app_data::<web::Data<Renderer>>()
                    .cloned()
                    .ok_or_else(|| missing("Renderer"))?,
                config: req
                    .app_data::<web::Data<Config>>()
                    .cloned()
                    .ok_or_else(|| missing("Config"))?,
            })
        })())
    }
}

impl RequestContext {
    /// The shop's Redis connection, when it has `REDIS_URL`.
    pub fn redis(&self) -> Option<redis::aio::ConnectionManager> {
        self.req
            .app_data::<web::Data<Option<redis::aio::ConnectionManager>>>()
            .and_then(|r| r.as_ref().clone())
    }

    /// Runs blocking database work on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.db.clone();
        // The request's span goes along, so what the work logs carries
        // the request id.
        let span = tracing::Span::current();
        web::block(move || {
            let _entered = span.enter();
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await?
    }

    pub fn render(&self, template: &str, ctx: Context) -> Result<HttpResponse, AppError> {
        self.render_status(template, ctx, StatusCode::OK)
    }

    /// A form that did not validate: the same page, status 422, the user's
    /// input and the field errors in `ctx`.
    pub fn render_invalid(&self, template: &str, ctx: Context) -> Result<HttpResponse, AppError> {
        self.render_status(template, ctx, StatusCode::UNPROCESSABLE_ENTITY)
    }

    pub fn render_status(
        &self,
        template: &str,
        ctx: Context,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        let body = self.renderer.render_page(&self.req, template, ctx)?;
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body))
    }

    /// A page whose context is just `form` (a form page, first shown or
    /// sent back with its errors).
    pub fn render_form(
        &self,
        template: &str,
        form: &crate::forms::FormState,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        let mut ctx = Context::new();
        ctx.insert("form", form);
        self.render_status(template, ctx, status)
    }

    /// The client's address: the socket's peer, or, when that peer is a
    /// trusted proxy (SHOP_TRUSTED_PROXIES), the nearest address in
    /// `X-Forwarded-For` that is not one of ours. Anything further left
    /// in that header was written by the client and proves nothing.
    pub fn client_ip(&self) -> std::net::IpAddr {
        client_ip(&self.req, &self.config.trusted_proxies)
    }

    /// Where to send someone who must log in first: the login page, coming
    /// back to this page afterwards.
    pub fn login_redirect(&self) -> Result<HttpResponse, AppError> {
        let login = self.url("accounts:login", &[])?;
        let here = self.req.uri().path();
        Ok(redirect(&format!(
            "{login}?next={}",
            url::form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>()
        )))
    }

    pub fn flash(&self, level: Level, text: impl Into<String>) {
        flash::push(&self.session, level, text.into());
    }

    /// Reverses a named route (see `crate::urls`).
    pub fn url(&self, name: &str, args: &[(&str, &str)]) -> Result<String, AppError> {
        let lookup = |k: &str| {
            args.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        self.renderer
            .urls()
            .reverse(name, &lookup)
            .map_err(AppError::internal)
    }
}

/// See [`RequestContext::client_ip`].
pub fn client_ip(req: &HttpRequest, trusted: &[std::net::IpAddr]) -> std::net::IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|ip| ip.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// A per-client allowance for forms that send email (contact, password
/// reset, verification, email change): a burst of 3, then one every 3
/// minutes. It limits mail floods, not logins (those are throttled by
/// `accounts::throttle`, per account as well as per address).
pub struct MailSendLimit(ClientLimit);

impl Default for MailSendLimit {
    fn default() -> Self {
        MailSendLimit(ClientLimit::new(
            "mail",
            3,
            std::time::Duration::from_secs(180),
        ))
    }
}

impl MailSendLimit {
    /// Whether this request may send another email now (counts it if so).
    pub async fn allow(rq: &RequestContext) -> bool {
        match rq.req.app_data::<web::Data<MailSendLimit>>() {
            Some(limit) => limit.0.allow(rq).await,
            None => true,
        }
    }
}

/// A per-client allowance: a burst of `burst`, then one more every
/// `period`. In memory, per process; with Redis (REDIS_URL) one count
/// shared by every app server: up to `burst` per `period`, in fixed
/// windows. Should Redis not answer, this process's own count decides.
pub struct ClientLimit {
    local: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    name: &'static str,
    burst: u32,
    period: std::time::Duration,
}

impl ClientLimit {
    /// `name` keeps this limit's counts apart from others' in Redis.
    pub fn new(name: &'static str, burst: u32, period: std::time::Duration) -> ClientLimit {
        use std::num::NonZeroU32;
        let quota = governor::Quota::with_period(period)
            .unwrap_or_else(|| governor::Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        ClientLimit {
            local: governor::RateLimiter::keyed(quota),
            name,
            burst,
            period,
        }
    }

    /// Whether this request's client may go on now (counts it if so).
    pub async fn allow(&self, rq: &RequestContext) -> bool {
        let ip = rq.client_ip();
        let redis = rq.redis();
        let prefix = rq.config.redis_prefix.clone();
        if let Some(conn) = redis {
            match self.count_in_redis(conn, &prefix, ip).await {
                Ok(count) => return count <= i64::from(self.burst),
                Err(e) => {
                    tracing::warn!(limit = self.name, error = %e, "Redis did not count; counting here")
                }
            }
        }
        self.local.check_key(&ip).is_ok()
    }

    /// Counts one more for `ip` in this period's window; the count so far.
    async fn count_in_redis(
        &self,
        mut conn: redis::aio::ConnectionManager,
        prefix: &str,
        ip: std::net::IpAddr,
    ) -> anyhow::Result<i64> {
        let seconds = self.period.as_secs().max(1);
        let window = chrono::Utc::now().timestamp().max(0) as u64 / seconds;
        let key = format!("{prefix}limit:{}:{ip}:{window}", self.name);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(seconds)
            .ignore();
        let counted = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            pipe.query_async::<(i64,)>(&mut conn),
        )
        .await
        .map_err(|_| anyhow::anyhow!("no answer within 1 s"))??;
        Ok(counted.0)
    }
}

pub const MAIL_LIMITED: &str = "You asked us to send several emails in the last few minutes. Please wait a little before trying again; nothing was lost from this form.";

/// 303 See Other: after a POST, the browser GETs the next page.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

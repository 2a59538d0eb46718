//! The outermost middleware: gives each request an id, sets the security
//! headers on every response, and turns error responses into pages (4xx say
//! what was wrong; 5xx say nothing but the request id, which is logged with
//! the error).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use tera::Context;

use super::AppError;
use crate::templates::Renderer;

/// The id of a request, in logs, the `X-Request-Id` header and error pages.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Header values computed once at start-up.
#[derive(Clone)]
pub struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    pub fn new(https: bool) -> Self {
        let mut headers = vec![
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                     font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                     base-uri 'self'; object-src 'none'",
                ),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
            (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
            (HeaderName::from_static("permissions-policy"), HeaderValue::from_static("camera=(), microphone=(), geolocation=()")),
        ];
        if https {
            headers.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            ));
        }
        SecurityHeaders { headers }
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let id = RequestId(crate::random_token(12));
    req.extensions_mut().insert(id.clone());
    let headers = req.app_data::<web::Data<SecurityHeaders>>().cloned();

    // A Host this shop does not serve (SHOP_ALLOWED_HOSTS) is refused
    // before anything reads it (links, redirects, emails).
    let refused_host = req
        .app_data::<web::Data<crate::Config>>()
        .map(|c| (c.clone(), req.connection_info().host().to_string()))
        .filter(|(c, host)| !c.host_allowed(host))
        .map(|(_, host)| host);
    // Everything logged while answering carries the request id.
    let span = tracing::info_span!("request", request_id = %id.0);
    let answered = match refused_host {
        Some(host) => {
            tracing::warn!(parent: &span, %host, "request for a host this shop does not serve");
            Ok(req.error_response(super::AppError::BadRequest(format!(
                "This site does not answer to the host {host:?}."
            ))))
        }
        None => tracing::Instrument::instrument(next.call(req), span)
            .await
            .map(|r| r.map_into_boxed_body()),
    };
    let mut res = match answered {
        Ok(res) => {
            if res.response().error().is_some()
                && (res.status().is_client_error() || res.status().is_server_error())
            {
                error_page(res.map_into_boxed_body(), &id)
            } else {
                res.map_into_boxed_body()
            }
        }
        // Middleware further in answer refusals as responses (see csrf);
        // an Err here is a failure of the machinery itself: logged, and
        // answered by `unavailable` (outside the session middleware).
        Err(err) => {
            tracing::error!(request_id = %id.0, error = %err, "request failed in middleware");
            return Err(err);
        }
    };
    let h = res.headers_mut();
    if let Some(sh) = headers {
        for (name, value) in &sh.headers {
            h.insert(name.clone(), value.clone());
        }
    }
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    let elapsed = started.elapsed();
    crate::metrics::observe_request(
        res.request()
            .match_pattern()
            .as_deref()
            .unwrap_or("(no route)"),
        res.request().method().as_str(),
        res.status().as_u16(),
        elapsed.as_secs_f64(),
    );
    tracing::info!(
        target: "shop::request",
        request_id = %id.0,
        method = %res.request().method(),
        path = %res.request().path(),
        status = res.status().as_u16(),
        micros = elapsed.as_micros() as u64,
    );
    Ok(res)
}

fn error_page(res: ServiceResponse<BoxBody>, id: &RequestId) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let (title, message) = {
        let err = res.response().error();
        let app = err.and_then(|e| e.as_error::<AppError>());
        if status.is_server_error() {
            match err {
                Some(e) => {
                    tracing::error!(request_id = %id.0, path = %res.request().path(), error = ?e, "request failed")
                }
                None => tracing::error!(request_id = %id.0, "request failed"),
            }
            if status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE {
                ("Service unavailable".to_string(), "The shop cannot reach a service it needs just now. Please try again in a moment.".to_string())
            } else {
                ("Server error".to_string(), "Something went wrong on our side. It has been logged; please try again in a moment.".to_string())
            }
        } else {
            let title = match status.as_u16() {
                400 => "Bad request",
                403 => "Forbidden",
                404 => "Page not found",
                405 => "Method not allowed",
                409 => "Conflict",
                413 => "Too large",
                429 => "Too many requests",
                _ => status.canonical_reason().unwrap_or("Error"),
            };
            let message = match (app, err) {
                (Some(a), _) => a.to_string(),
                (None, Some(e)) => e.to_string(),
                (None, None) => String::new(),
            };
            (title.to_string(), message)
        }
    };
    let (req, old) = res.into_parts();
    let mut ctx = Context::new();
    ctx.insert("status", &status.as_u16());
    ctx.insert("title", &title);
    ctx.insert("message", &message);
    ctx.insert("request_id", &id.0);
    let rendered = req
        .app_data::<web::Data<Renderer>>()
        .map(|r| r.render_page(&req, "errors/page.html", ctx));
    let mut builder = HttpResponse::build(status);
    for (k, v) in old.headers() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            builder.append_header((k.clone(), v.clone()));
        }
    }
    let body = match rendered {
        Some(Ok(html)) => {
            builder.content_type("text/html; charset=utf-8");
            html
        }
        other => {
            if let Some(Err(e)) = other {
                tracing::error!(request_id = %id.0, error = ?e, "error page failed to render");
            }
            builder.content_type("text/plain; charset=utf-8");
            format!("{status}\n{message}\nRequest id: {}\n", id.0)
        }
    };
    ServiceResponse::new(req, builder.body(body))
}

/// Outermost but for compression: a failure of the machinery itself
/// (the session store unreachable: Redis or the database down) becomes a
/// 503 page saying to try again, instead of actix-session's empty 500.
/// The shop answers normally again once the store is back.
pub async fn unavailable(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match next.call(req).await {
        Ok(res) => Ok(res.map_into_boxed_body()),
        Err(err) => {
            let id = RequestId(crate::random_token(12));
            tracing::error!(request_id = %id.0, error = %err, "the session store (or other machinery) failed");
            let page = HttpResponse::ServiceUnavailable()
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header(("x-request-id", id.0.clone()))
                .body(unavailable_page(&id));
            Err(actix_web::error::InternalError::from_response(err.to_string(), page).into())
        }
    }
}

/// The page for a request the machinery could not take (no request is
/// left to render a template with): plain HTML in the shop's style.
fn unavailable_page(id: &RequestId) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Service unavailable · Demo Shop</title>\
         <link rel=\"stylesheet\" href=\"/static/css/shop.css\"></head>\
         <body><main class=\"container\"><h1>Service unavailable</h1>\
         <p>The shop cannot reach a service it needs just now. Please try again in a moment.</p>\
         <p class=\"muted\">Request id: {}</p><p><a href=\"/\">Demo Shop</a></p></main></body></html>\n",
        id.0
    )
}

/// The 404 for paths no app claims.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

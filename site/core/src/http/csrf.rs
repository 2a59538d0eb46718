//! CSRF protection for every unsafe method. The secret lives in a cookie
//! (like Django's `csrftoken`, so anonymous pages need no session row) and
//! must come back in the form field `csrf_token` or the `X-CSRF-Token`
//! header; a cross-site `Origin` is refused outright.
//!
//! As Django does: pages carry the secret masked with a fresh random salt
//! each time (so a compressed response never repeats a secret an attacker
//! could guess byte by byte: BREACH), the cookie is set only by responses
//! that put a token in a form (so static files and probes stay cacheable
//! by shared caches), and a new secret is issued at login (`rotate`).

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use subtle::ConstantTimeEq;

use super::AppError;

pub const COOKIE: &str = "csrftoken";
pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
const TOKEN_LEN: usize = 43;

/// This request's secret, and whether the response must set the cookie.
#[derive(Clone)]
struct CsrfState {
    secret: String,
    /// No valid cookie came in, or the secret was rotated.
    new: bool,
    /// A page put a token in a form.
    used: bool,
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn index(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|a| *a == c)
}

/// `salt` + the secret shifted by it, character by character: a different
/// string for every salt, the same secret inside.
fn mask(secret: &str, salt: &str) -> String {
    let shifted: String = secret
        .bytes()
        .zip(salt.bytes())
        .map(|(s, k)| {
            let (s, k) = (index(s).unwrap_or(0), index(k).unwrap_or(0));
            ALPHABET[(s + k) % ALPHABET.len()] as char
        })
        .collect();
    format!("{salt}{shifted}")
}

/// The secret inside a masked token; `None` if it is not one.
fn unmask(token: &str) -> Option<String> {
    if token.len() != 2 * TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (salt, shifted) = token.split_at(TOKEN_LEN);
    let n = ALPHABET.len();
    shifted
        .bytes()
        .zip(salt.bytes())
        .map(|(c, k)| {
            let (c, k) = (index(c)?, index(k)?);
            Some(ALPHABET[(c + n - k) % n] as char)
        })
        .collect()
}

/// Whether cookies are marked `Secure` (set from `SHOP_HTTPS`).
#[derive(Clone, Copy)]
pub struct CookieSecurity {
    pub secure: bool,
}

/// Path prefixes that take no CSRF token: endpoints other services post
/// to, which authenticate each request themselves (signed webhooks).
#[derive(Clone, Default)]
pub struct Exempt(pub Vec<&'static str>);

impl Exempt {
    fn covers(&self, path: &str) -> bool {
        self.0.iter().any(|p| path.starts_with(p))
    }
}

/// A token for this request's forms: the secret, masked afresh. The
/// response will set the cookie if it is new.
pub fn token(req: &HttpRequest) -> String {
    let mut extensions = req.extensions_mut();
    match extensions.get_mut::<CsrfState>() {
        Some(state) => {
            state.used = true;
            mask(&state.secret, &crate::random_token(TOKEN_LEN))
        }
        None => String::new(),
    }
}

/// Issues a new secret (at login, as Django does): tokens from pages shown
/// before stop working, and the response sets the new cookie.
pub fn rotate(req: &HttpRequest) {
    if let Some(state) = req.extensions_mut().get_mut::<CsrfState>() {
        state.secret = crate::random_token(TOKEN_LEN);
        state.new = true;
        state.used = true;
    }
}

fn well_formed(t: &str) -> bool {
    t.len() == TOKEN_LEN && t.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_safe(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let existing = req
        .cookie(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| well_formed(t));
    let fresh = existing.is_none();
    let token = existing.unwrap_or_else(|| crate::random_token(TOKEN_LEN));
    req.extensions_mut().insert(CsrfState {
        secret: token.clone(),
        new: fresh,
        used: false,
    });

    let exempt = req
        .app_data::<web::Data<Exempt>>()
        .is_some_and(|e| e.covers(req.path()));
    if exempt {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    if !is_safe(req.method()) {
        if let Err(refusal) = check_origin(&req) {
            return Ok(req.error_response(refusal).map_into_right_body());
        }
        let submitted = match submitted_token(&mut req).await {
            Ok(s) => s,
            // An unreadable or oversized body: answered (413/400) as a page.
            Err(e) => return Ok(req.error_response(e).map_into_right_body()),
        };
        // A masked token from a page (or the bare secret, from a script
        // that read the cookie's value some other way).
        let secret = submitted.map(|s| unmask(&s).unwrap_or(s));
        let ok = !fresh
            && secret
                .as_deref()
                .is_some_and(|s| s.as_bytes().ct_eq(token.as_bytes()).into());
        if !ok {
            let refusal = AppError::Forbidden(
                "The form's security token is missing or out of date (CSRF check failed). \
                 Go back, reload the page and submit the form again."
                    .into(),
            );
            return Ok(req.error_response(refusal).map_into_right_body());
        }
    }

    let secure = req
        .app_data::<web::Data<CookieSecurity>>()
        .is_some_and(|c| c.secure);
    let mut res = next.call(req).await?;
    let state = res.request().extensions().get::<CsrfState>().cloned();
    if let Some(state) = state.filter(|s| s.new && s.used) {
        let cookie = Cookie::build(COOKIE, state.secret)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(actix_web::cookie::time::Duration::days(365))
            .finish();
        res.response_mut()
            .add_cookie(&cookie)
            .map_err(actix_web::error::ErrorInternalServerError)?;
    }
    Ok(res.map_into_left_body())
}

/// A browser names where a POST came from; it must be this site.
fn check_origin(req: &ServiceRequest) -> Result<(), AppError> {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    else {
        return Ok(());
    };
    let host = req.connection_info().host().to_string();
    let origin_host = url::Url::parse(origin).ok().and_then(|u| {
        u.host_str().map(|h| match u.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_string(),
        })
    });
    if origin_host.as_deref() == Some(host.as_str()) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "This form was sent from another site ({origin}) and was refused."
        )))
    }
}

/// The header, or the form field read from the body (which is then put back
/// for the handler).
async fn submitted_token(req: &mut ServiceRequest) -> Result<Option<String>, actix_web::Error> {
    if let Some(h) = req.headers().get(HEADER).and_then(|h| h.to_str().ok()) {
        return Ok(Some(h.to_string()));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let is_multipart = content_type.starts_with("multipart/form-data");
    if is_multipart {
        return multipart_token(req).await;
    }
    if !is_form {
        return Ok(None);
    }
    let body = req.extract::<web::Bytes>().await?;
    let found = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned());
    req.set_payload(actix_web::dev::Payload::from(body));
    Ok(found)
}

/// Forms put their token first, so a multipart body is read only until
/// it shows (at most this far); the rest streams on to the handler, so an
/// upload is never held in memory here.
const MULTIPART_TOKEN_WITHIN: usize = 64 * 1024;

async fn multipart_token(req: &mut ServiceRequest) -> Result<Option<String>, actix_web::Error> {
    use futures_util::StreamExt;
    let mut payload = req.take_payload();
    let mut prefix = web::BytesMut::new();
    let mut found = None;
    while found.is_none() && prefix.len() < MULTIPART_TOKEN_WITHIN {
        match payload.next().await {
            Some(chunk) => {
                prefix.extend_from_slice(&chunk?);
                found = multipart_field(&prefix, FIELD);
            }
            None => break,
        }
    }
    let head = futures_util::stream::once(futures_util::future::ready(Ok(prefix.freeze())));
    req.set_payload(actix_web::dev::Payload::Stream {
        payload: Box::pin(head.chain(payload)),
    });
    Ok(found)
}

/// The value of a small text part of a multipart body.
fn multipart_field(body: &[u8], name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let text = String::from_utf8_lossy(body);
    let at = text.find(&needle)?;
    let rest = &text[at + needle.len()..];
    let start = rest.find("\r\n\r\n")? + 4;
    let value = &rest[start..];
    let end = value.find("\r\n")?;
    Some(value[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_multipart_field() {
        let body = b"--x\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc123\r\n--x--\r\n";
        assert_eq!(
            multipart_field(body, "csrf_token").as_deref(),
            Some("abc123")
        );
        assert_eq!(multipart_field(body, "other"), None);
    }

    #[test]
    fn masked_tokens_differ_every_time_and_carry_the_same_secret() {
        let secret = crate::random_token(TOKEN_LEN);
        let a = mask(&secret, &crate::random_token(TOKEN_LEN));
        let b = mask(&secret, &crate::random_token(TOKEN_LEN));
        assert_ne!(a, b);
        assert!(!a.contains(&secret));
        assert_eq!(unmask(&a).as_deref(), Some(secret.as_str()));
        assert_eq!(unmask(&b).as_deref(), Some(secret.as_str()));
        assert_eq!(unmask(&secret), None, "too short to be masked");
        assert_eq!(unmask(&format!("{a};")[1..]), None);
        let mut tampered = a.clone().into_bytes();
        tampered[TOKEN_LEN + 3] = if tampered[TOKEN_LEN + 3] == b'a' {
            b'b'
        } else {
            b'a'
        };
        assert_ne!(
            unmask(&String::from_utf8(tampered).unwrap()).as_deref(),
            Some(secret.as_str())
        );
    }

    #[test]
    fn tokens_are_checked_for_shape() {
        assert!(well_formed(&crate::random_token(TOKEN_LEN)));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"a;".repeat(22)[..TOKEN_LEN]));
    }
}

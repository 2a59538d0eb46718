//! Typed configuration from environment variables (and `.env` when present).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::money::{Currency, Locale};

#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}={value:?} is not valid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://path` or `postgres://...`.
    pub database_url: String,
    pub bind: SocketAddr,
    /// Absolute base for links in emails; defaults to the bound address.
    pub site_url: String,
    /// Where generated and uploaded files live (`var/media`).
    pub media_root: PathBuf,
    /// Where the file mail backend writes `.eml` files (`var/mail`).
    pub mail_dir: PathBuf,
    pub smtp_url: Option<String>,
    pub from_email: String,
    /// Served over HTTPS: HSTS and `Secure` cookies.
    pub https: bool,
    /// Development: templates are re-read from disk on every render.
    pub dev: bool,
    pub currency: Currency,
    pub locale: Locale,
    pub session_days: i64,
    /// Database connections: SHOP_DB_POOL, or 8 for SQLite (its work is
    /// CPU on this host) and 16 for PostgreSQL (which waits on the network).
    pub db_pool: u32,
    /// How long listings may reuse the category list and product counts.
    pub catalogue_cache_seconds: u64,
    /// How long an unpaid order holds its stock before it is cancelled.
    pub order_hold_minutes: i64,
    /// Signs session cookies; when unset, `site` keeps one in `var/secret.key`.
    pub secret_key: Option<String>,
    /// Where the shop keeps its files (`var/`).
    pub var_dir: PathBuf,
    /// Where the contact form sends messages (SHOP_STAFF_EMAIL; default:
    /// the from address).
    pub staff_email: String,
    /// Staff must use two-factor authentication (SHOP_STAFF_2FA).
    pub staff_2fa: bool,
    /// How long a password reset link works (SHOP_PASSWORD_RESET_MINUTES).
    pub password_reset_minutes: i64,
    /// How long an email verification link works (SHOP_VERIFY_DAYS).
    pub verify_days: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed
    /// (SHOP_TRUSTED_PROXIES, comma-separated addresses).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Catalogue prices already include tax (SHOP_PRICES_INCLUDE_TAX, as
    /// European shops show them) or have it added at checkout (the default).
    pub prices_include_tax: bool,
    /// Where tax is rounded to the cent (SHOP_TAX_ROUNDING).
    pub tax_rounding: TaxRounding,
    /// The account shoppers paying by bank transfer send money to
    /// (SHOP_BANK_ACCOUNT; empty turns bank transfer off).
    pub bank_account: String,
    /// How long an order waiting for a bank transfer holds its stock
    /// (SHOP_BANK_TRANSFER_DAYS).
    pub bank_transfer_days: i64,
    /// Shoppers may pay in cash when the order is delivered
    /// (SHOP_CASH_ON_DELIVERY=1).
    pub cash_on_delivery: bool,
    /// Redis (REDIS_URL, e.g. redis://127.0.0.1:6379/0): sessions live
    /// there, shared by every app server; unset, in the database.
    pub redis_url: Option<String>,
    /// What this shop's keys in Redis start with (REDIS_KEY_PREFIX), so
    /// shops (or test runs) can share one Redis.
    pub redis_prefix: String,
    /// A public demo (SHOP_DEMO=1): a banner on every page, a shared
    /// view-only staff login shown on the login page, and the data reset
    /// to the seeded demo every `demo_reset_hours` (SHOP_DEMO_RESET_HOURS).
    pub demo: bool,
    pub demo_reset_hours: i64,
    /// When a card is charged (SHOP_CAPTURE): at checkout (the default),
    /// or only authorized at checkout and captured by staff when the order
    /// ships.
    pub capture: Capture,
    /// The host names this shop answers to (SHOP_ALLOWED_HOSTS,
    /// comma-separated; ".example.com" also matches its subdomains; empty
    /// allows any, for development). Other `Host` headers get 400.
    pub allowed_hosts: Vec<String>,
    /// `/metrics` answers only requests bearing this token
    /// (SHOP_METRICS_TOKEN; unset: `/metrics` does not exist).
    pub metrics_token: Option<String>,
}

impl Config {
    /// Whether a request's `Host` (a name, with or without a port) is one
    /// this shop answers to.
    pub fn host_allowed(&self, host: &str) -> bool {
        if self.allowed_hosts.is_empty() {
            return true;
        }
        let name = match host.rsplit_once(':') {
            // An IPv6 literal keeps its colons: [::1]:8000.
            Some((name, port))
                if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') =>
            {
                name
            }
            _ => host,
        }
        .trim_end_matches('.')
        .to_ascii_lowercase();
        self.allowed_hosts.iter().any(|allowed| {
            allowed == "*"
                || *allowed == name
                || allowed
                    .strip_prefix('.')
                    .is_some_and(|domain| name == domain || name.ends_with(&format!(".{domain}")))
        })
    }
}

/// When a card payment is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// Charged in full when the shopper pays.
    AtCheckout,
    /// Authorized (held on the card) when the shopper pays; captured by
    /// staff before the order ships, or voided if it never does.
    AtShipping,
}

/// Where tax is rounded to the currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxRounding {
    /// Each line (and the delivery) on its own, then summed.
    PerLine,
    /// Once, on the order's taxable total.
    PerOrder,
}

impl Config {
    /// Reads the process environment, after loading `.env` if it exists.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The same rules over any source of variables (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var_dir = PathBuf::from(get("SHOP_VAR_DIR").unwrap_or_else(|| "var".into()));
        let database_url = get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", var_dir.join("shop.sqlite3").display()));
        crate::db::Backend::from_url(&database_url).map_err(|e| ConfigError {
            name: "DATABASE_URL",
            value: database_url.clone(),
            reason: e.to_string(),
        })?;
        let bind_raw = get("SHOP_BIND").unwrap_or_else(|| "127.0.0.1:8000".into());
        let bind: SocketAddr = bind_raw.parse().map_err(|e| ConfigError {
            name: "SHOP_BIND",
            value: bind_raw.clone(),
            reason: format!("{e} (expected HOST:PORT, e.g. 127.0.0.1:8000)"),
        })?;
        let flag = |name: &'static str| -> Result<bool, ConfigError> {
            match get(name).as_deref().map(str::trim) {
                None | Some("") | Some("0") | Some("false") | Some("no") => Ok(false),
                Some("1") | Some("true") | Some("yes") => Ok(true),
                Some(other) => Err(ConfigError {
                    name,
                    value: other.into(),
                    reason: "expected 1/0, true/false or yes/no".into(),
                }),
            }
        };
        let currency_raw = get("SHOP_CURRENCY").unwrap_or_else(|| "USD".into());
        let currency = Currency::parse(&currency_raw).map_err(|e| ConfigError {
            name: "SHOP_CURRENCY",
            value: currency_raw.clone(),
            reason: e.to_string(),
        })?;
        let locale_raw = get("SHOP_LOCALE").unwrap_or_else(|| "en-US".into());
        let locale = Locale::parse(&locale_raw).map_err(|reason| ConfigError {
            name: "SHOP_LOCALE",
            value: locale_raw.clone(),
            reason,
        })?;
        let smtp_url = get("SMTP_URL").filter(|s| !s.trim().is_empty());
        if let Some(url) = &smtp_url {
            url::Url::parse(url).map_err(|e| ConfigError {
                name: "SMTP_URL",
                value: url.clone(),
                reason: format!(
                    "{e} (expected smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://host)"
                ),
            })?;
        }
        // A whole number in a range, or an error naming the variable.
        let number =
            |name: &'static str, default: i64, range: std::ops::RangeInclusive<i64>, unit: &str| {
                let raw = get(name).unwrap_or_else(|| default.to_string());
                raw.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| ConfigError {
                        name,
                        value: raw.clone(),
                        reason: format!(
                            "expected a whole number of {unit} from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    })
            };
        let session_days = number("SHOP_SESSION_DAYS", 14, 1..=365, "days")?;
        let order_hold_minutes = number("SHOP_ORDER_HOLD_MINUTES", 60, 5..=10_080, "minutes")?;
        let catalogue_cache_seconds = number(
            "SHOP_CATALOGUE_CACHE_SECONDS",
            5,
            0..=3600,
            "seconds (0 is off)",
        )? as u64;
        let default_pool = if database_url.starts_with("sqlite") {
            8
        } else {
            16
        };
        let db_pool = number("SHOP_DB_POOL", default_pool, 1..=256, "connections")? as u32;
        let bank_transfer_days = number("SHOP_BANK_TRANSFER_DAYS", 7, 1..=60, "days")?;
        let demo_reset_hours = number("SHOP_DEMO_RESET_HOURS", 6, 1..=168, "hours")?;
        let password_reset_minutes =
            number("SHOP_PASSWORD_RESET_MINUTES", 60, 5..=10_080, "minutes")?;
        let verify_days = number("SHOP_VERIFY_DAYS", 3, 1..=30, "days")?;
        let from_email =
            get("SHOP_FROM_EMAIL").unwrap_or_else(|| "Demo Shop <shop@example.com>".into());
        let staff_email = get("SHOP_STAFF_EMAIL")
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| from_email.clone());
        let proxies_raw = get("SHOP_TRUSTED_PROXIES").unwrap_or_default();
        let trusted_proxies = proxies_raw
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse().map_err(|_| ConfigError {
                    name: "SHOP_TRUSTED_PROXIES",
                    value: proxies_raw.clone(),
                    reason: format!(
                        "{p:?} is not an IP address (list addresses, e.g. 127.0.0.1,10.0.0.2)"
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let https = flag("SHOP_HTTPS")?;
        let rounding_raw = get("SHOP_TAX_ROUNDING").unwrap_or_else(|| "line".into());
        let tax_rounding = match rounding_raw.trim() {
            "line" => TaxRounding::PerLine,
            "order" => TaxRounding::PerOrder,
            _ => return Err(ConfigError {
                name: "SHOP_TAX_ROUNDING",
                value: rounding_raw.clone(),
                reason:
                    "expected line (round each line's tax) or order (round the order's tax once)"
                        .into(),
            }),
        };
        let capture_raw = get("SHOP_CAPTURE").unwrap_or_else(|| "checkout".into());
        let capture = match capture_raw.trim() {
            "checkout" => Capture::AtCheckout,
            "shipping" => Capture::AtShipping,
            _ => {
                return Err(ConfigError {
                    name: "SHOP_CAPTURE",
                    value: capture_raw.clone(),
                    reason: "expected checkout (charge cards when shoppers pay) or shipping \
                             (authorize then, capture when the order ships)"
                        .into(),
                })
            }
        };
        let site_url = get("SITE_URL")
            .unwrap_or_else(|| format!("{}://{bind}", if https { "https" } else { "http" }));
        Ok(Config {
            database_url,
            bind,
            site_url: site_url.trim_end_matches('/').to_string(),
            media_root: get("MEDIA_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|| var_dir.join("media")),
            mail_dir: get("SHOP_MAIL_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| var_dir.join("mail")),
            smtp_url,
            from_email,
            staff_email,
            staff_2fa: flag("SHOP_STAFF_2FA")?,
            password_reset_minutes,
            verify_days,
            trusted_proxies,
            prices_include_tax: flag("SHOP_PRICES_INCLUDE_TAX")?,
            tax_rounding,
            bank_account: get("SHOP_BANK_ACCOUNT")
                .unwrap_or_default()
                .trim()
                .to_string(),
            bank_transfer_days,
            cash_on_delivery: flag("SHOP_CASH_ON_DELIVERY")?,
            capture,
            redis_url: get("REDIS_URL")
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty()),
            redis_prefix: get("REDIS_KEY_PREFIX")
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "shop:".into()),
            demo: flag("SHOP_DEMO")?,
            demo_reset_hours,
            metrics_token: get("SHOP_METRICS_TOKEN")
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            allowed_hosts: get("SHOP_ALLOWED_HOSTS")
                .unwrap_or_default()
                .split(',')
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            https,
            dev: flag("SHOP_DEV")?,
            currency,
            locale,
            session_days,
            order_hold_minutes,
            catalogue_cache_seconds,
            db_pool,
            secret_key: match get("SECRET_KEY").filter(|k| !k.is_empty()) {
                Some(k) if k.len() < 64 => {
                    return Err(ConfigError {
                        name: "SECRET_KEY",
                        value: "(hidden)".into(),
                        reason: format!(
                            "it is {} characters long; use at least 64 random characters",
                            k.len()
                        ),
                    })
                }
                other => other,
            },
            var_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_a_local_sqlite_shop() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://var/shop.sqlite3");
        assert_eq!(c.site_url, "http://127.0.0.1:8000");
        assert!(!c.https);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = cfg(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(e.name, "DATABASE_URL");
        let e = cfg(&[("SHOP_BIND", "nope")]).unwrap_err();
        assert!(e.to_string().contains("SHOP_BIND"));
        let e = cfg(&[("SHOP_HTTPS", "maybe")]).unwrap_err();
        assert_eq!(e.name, "SHOP_HTTPS");
        let e = cfg(&[("SHOP_CURRENCY", "XYZ1")]).unwrap_err();
        assert_eq!(e.name, "SHOP_CURRENCY");
        let e = cfg(&[("SHOP_TRUSTED_PROXIES", "10.0.0.1, proxy")]).unwrap_err();
        assert_eq!(e.name, "SHOP_TRUSTED_PROXIES");
        assert_eq!(
            cfg(&[("SHOP_TRUSTED_PROXIES", "10.0.0.1, ::1")])
                .unwrap()
                .trusted_proxies
                .len(),
            2
        );
        let e = cfg(&[("SHOP_ORDER_HOLD_MINUTES", "1")]).unwrap_err();
        assert_eq!(e.name, "SHOP_ORDER_HOLD_MINUTES");
        assert_eq!(
            cfg(&[("SHOP_ORDER_HOLD_MINUTES", "30")])
                .unwrap()
                .order_hold_minutes,
            30
        );
    }
}

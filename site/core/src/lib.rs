//! What every app of the shop builds on: the database (SQLite or PostgreSQL,
//! chosen at run time), the schema, money, templates, forms, HTTP plumbing
//! (errors, security headers, CSRF, sessions, flash messages, pagination),
//! static files, mail and configuration.

pub mod address;
pub mod admin;
pub mod app;
pub mod cache;
pub mod config;
pub mod core_app;
pub mod country;
pub mod db;
pub mod forms;
pub mod hooks;
pub mod http;
pub mod images;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod money;
pub mod schema;
pub mod signing;
pub mod statics;
pub mod templates;
pub mod text_enum;
pub mod urls;

pub use config::Config;
pub use db::{DbConn, DbPool};
pub use http::{AppError, RequestContext};
pub use money::{Currency, Money};
// Apps render with the same tera as site_core; re-exported so versions never drift.
pub use tera;

/// A random URL-safe token of `len` characters (a-z, A-Z, 0-9), for ids that
/// must be unguessable: session keys, order links, idempotency keys.
pub fn random_token(len: usize) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// Crash tests: when `SHOP_FAILPOINT` names this point, the process dies
/// here at once (no destructors, no flushing: as `kill -9` would), so a
/// test can prove what was committed before it survives a restart.
pub fn failpoint(name: &str) {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("SHOP_FAILPOINT").ok());
    if armed.as_deref() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Seconds-precision UTC "now", the one clock every table is written with
/// (`CURRENT_TIMESTAMP` differs in precision between the backends).
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    now.with_nanosecond_trunc()
}

trait TruncMicros {
    fn with_nanosecond_trunc(self) -> Self;
}

impl TruncMicros for chrono::NaiveDateTime {
    fn with_nanosecond_trunc(self) -> Self {
        use chrono::Timelike;
        // PostgreSQL keeps microseconds; keep the same on SQLite so both
        // backends round-trip the same value.
        self.with_nanosecond(self.nanosecond() / 1000 * 1000)
            .unwrap_or(self)
    }
}

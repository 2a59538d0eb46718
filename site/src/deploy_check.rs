//! `site check --deploy`: the settings that are fine on a laptop and unsafe
//! in production, each with how to fix it (Django's `check --deploy`).
//! It reads the configuration only, so it runs before anything is up.

use site_core::Config;

/// One unsafe setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What `--allow` names to accept it knowingly.
    pub id: &'static str,
    pub what: String,
    pub fix: String,
}

fn problem(id: &'static str, what: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem {
        id,
        what: what.into(),
        fix: fix.into(),
    }
}

/// Hosts that are this machine (a database there needs no TLS).
fn is_local(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.starts_with('/')
        || host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host a PostgreSQL URL connects to and whether it asks for TLS.
fn postgres_target(url: &str) -> Option<(String, bool)> {
    let parsed = url::Url::parse(url).ok()?;
    let query = |key: &str| {
        parsed
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    let host = query("host").unwrap_or_else(|| parsed.host_str().unwrap_or("").to_string());
    let tls = matches!(
        query("sslmode").as_deref(),
        Some("require" | "verify-ca" | "verify-full")
    );
    Some((host, tls))
}

/// Every unsafe setting in `config`, in a stable order.
pub fn problems(config: &Config) -> Vec<Problem> {
    let mut found = Vec::new();
    match &config.secret_key {
        None => found.push(problem(
            "secret-key",
            "SECRET_KEY is not set: each server makes up its own in var/secret.key, so sessions, \
             form tokens and emailed links break between servers and when that file is lost.",
            "Set SECRET_KEY to 64 random characters, the same on every server \
             (e.g. `openssl rand -base64 48`).",
        )),
        Some(key) => {
            let distinct = key.chars().collect::<std::collections::HashSet<_>>().len();
            // Shorter than 64 characters is refused when the shop starts.
            if distinct < 10 {
                found.push(problem(
                    "secret-key",
                    "SECRET_KEY repeats a few characters: simple enough to guess, and whoever \
                     guesses it can forge sessions and password-reset links.",
                    "Set SECRET_KEY to 64 random characters (e.g. `openssl rand -base64 48`).",
                ));
            }
        }
    }
    if config.dev {
        found.push(problem(
            "dev",
            "Development mode is on (SHOP_DEV=1): templates are read from disk on every request.",
            "Unset SHOP_DEV.",
        ));
    }
    if !config.https {
        found.push(problem(
            "https",
            "HTTPS is off: session and form cookies are not marked Secure and browsers get no HSTS.",
            "Serve the shop behind HTTPS and set SHOP_HTTPS=1.",
        ));
    } else if config.site_url.starts_with("http://") {
        found.push(problem(
            "site-url",
            format!(
                "SITE_URL is {} while the shop is served over HTTPS: emailed links and payment \
                 returns would leave HTTPS.",
                config.site_url
            ),
            "Set SITE_URL to the https:// address shoppers use.",
        ));
    }
    if config.database_url.starts_with("sqlite:") {
        found.push(problem(
            "sqlite",
            "The database is SQLite: one app server on this machine's disk; several app servers \
             cannot share it.",
            "Use PostgreSQL (DATABASE_URL=postgres://…) to run several app servers; with a single \
             one, accept it with --allow sqlite.",
        ));
    } else if let Some((host, tls)) = postgres_target(&config.database_url) {
        if !tls && !is_local(&host) {
            found.push(problem(
                "postgres-tls",
                format!("PostgreSQL at {host} is reached without TLS: passwords and data cross the network in the clear."),
                "Add sslmode=verify-full to DATABASE_URL, or keep the database on this host or a private network (and accept it with --allow postgres-tls).",
            ));
        }
    }
    if config.smtp_url.is_none() {
        found.push(problem(
            "smtp",
            "No SMTP server: email is written to files in var/mail, so no customer receives it.",
            "Set SMTP_URL (e.g. smtp://user:password@mail.example.com:587).",
        ));
    }
    if config.https && config.bind.ip().is_loopback() && config.trusted_proxies.is_empty() {
        found.push(problem(
            "trusted-proxies",
            "The shop listens on loopback behind an HTTPS proxy, but SHOP_TRUSTED_PROXIES is empty: \
             every client looks like the proxy, so login throttling and mail limits treat them all as one.",
            "Set SHOP_TRUSTED_PROXIES to the proxy's address (e.g. 127.0.0.1).",
        ));
    }
    if config.allowed_hosts.is_empty() {
        found.push(problem(
            "allowed-hosts",
            "SHOP_ALLOWED_HOSTS is empty: the shop answers any Host header, which an attacker can \
             use to poison caches and the links the shop builds.",
            "Set SHOP_ALLOWED_HOSTS to the names shoppers use (e.g. shop.example.com).",
        ));
    } else if let Some(host) = url::Url::parse(&config.site_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .filter(|h| !config.host_allowed(h))
    {
        found.push(problem(
            "allowed-hosts",
            format!("SITE_URL's host {host} is not in SHOP_ALLOWED_HOSTS: the shop would refuse its own links."),
            format!("Add {host} to SHOP_ALLOWED_HOSTS."),
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| vars.get(k).cloned()).unwrap()
    }

    fn ids(config: &Config) -> Vec<&'static str> {
        problems(config).iter().map(|p| p.id).collect()
    }

    const SAFE: &[(&str, &str)] = &[
        (
            "SECRET_KEY",
            "q8Zr1VbT7mW3xK9pL2nC5yH6jD0fG4sA8uE1oI7tR3wQ9vB2kM5zX6cN0lP4hJyT",
        ),
        ("SHOP_HTTPS", "1"),
        ("SITE_URL", "https://shop.example.com"),
        ("SHOP_BIND", "127.0.0.1:8000"),
        ("SHOP_TRUSTED_PROXIES", "127.0.0.1"),
        ("SMTP_URL", "smtp://mail.example.com:587"),
        ("SHOP_ALLOWED_HOSTS", "shop.example.com"),
        ("DATABASE_URL", "postgres://shop@127.0.0.1/shop"),
    ];

    #[test]
    fn a_laptop_setup_lists_every_problem() {
        assert_eq!(
            ids(&config(&[])),
            vec!["secret-key", "https", "sqlite", "smtp", "allowed-hosts"]
        );
    }

    #[test]
    fn a_production_setup_has_none() {
        assert_eq!(ids(&config(SAFE)), Vec::<&str>::new());
    }

    #[test]
    fn each_unsafe_setting_is_named() {
        let with = |k: &str, v: &str| {
            let mut vars: Vec<(&str, &str)> =
                SAFE.iter().filter(|(n, _)| *n != k).copied().collect();
            vars.push((k, v));
            ids(&config(&vars))
        };
        assert_eq!(with("SECRET_KEY", &"ab".repeat(40)), vec!["secret-key"]);
        assert_eq!(with("SHOP_DEV", "1"), vec!["dev"]);
        assert_eq!(
            with("SITE_URL", "http://shop.example.com"),
            vec!["site-url"]
        );
        assert_eq!(
            with("DATABASE_URL", "postgres://shop@db.example.com/shop"),
            vec!["postgres-tls"]
        );
        assert!(with(
            "DATABASE_URL",
            "postgres://shop@db.example.com/shop?sslmode=verify-full"
        )
        .is_empty());
        assert!(with(
            "DATABASE_URL",
            "postgres://shop@/shop?host=/var/run/postgresql"
        )
        .is_empty());
        assert_eq!(with("SHOP_TRUSTED_PROXIES", ""), vec!["trusted-proxies"]);
        assert_eq!(
            with("SHOP_ALLOWED_HOSTS", "other.example.com"),
            vec!["allowed-hosts"]
        );
        assert!(with("SHOP_ALLOWED_HOSTS", ".example.com").is_empty());
    }
}

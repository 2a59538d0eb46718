//! The shop as one server: the apps' routes and templates, the middleware
//! stack, static and media files, and what `main.rs` offers operators.

pub mod cli;
mod contact;
pub mod jobs;
mod staff;
mod statics;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::middleware::{from_fn, Compress};
use actix_web::{dev::Server, web, App, HttpServer};
use anyhow::Context as _;
use payments::{DemoCardProvider, PaymentProvider};
use site_core::db::Database;
use site_core::hooks::AccountHooks;
use site_core::http::csrf::CookieSecurity;
use site_core::http::flash::Messages;
use site_core::http::security::{self, SecurityHeaders};
use site_core::http::session_store::DbSessionStore;
use site_core::http::{csrf, AppError};
use site_core::mail::Mailer;
use site_core::signing::Signer;
use site_core::statics::StaticFiles;
use site_core::templates::Renderer;
use site_core::urls::UrlTable;
use site_core::Config;

/// Everything a running shop shares between requests.
#[derive(Clone)]
pub struct Shop {
    pub config: Config,
    pub db: Database,
    pub renderer: Arc<Renderer>,
    pub mailer: Mailer,
    pub statics: Arc<StaticFiles>,
    pub payment_provider: Arc<dyn PaymentProvider>,
    pub session_key: Key,
    /// Signs the links in account emails.
    pub signer: Signer,
    /// What other apps do when an account logs in, exports or is deleted.
    pub account_hooks: AccountHooks,
    /// Shared by every worker, so one refresh serves them all.
    pub catalogue_cache: web::Data<products::CatalogueCache>,
    /// Shared by every worker: how much mail each client may trigger.
    pub mail_send_limit: web::Data<site_core::http::MailSendLimit>,
}

/// Every app's named routes, for reversing URLs.
pub fn url_table() -> UrlTable {
    UrlTable::new([
        products::ROUTES,
        cart::ROUTES,
        orders::ROUTES,
        payments::ROUTES,
        accounts::ROUTES,
        contact::ROUTES,
        staff::ROUTES,
    ])
}

pub fn renderer(config: &Config, statics: Arc<StaticFiles>) -> anyhow::Result<Renderer> {
    let sources = vec![
        site_core::templates::core_templates(),
        products::templates(),
        cart::templates(),
        orders::templates(),
        payments::templates(),
        accounts::templates(),
        site_core::template_source!(),
    ];
    let mut renderer = Renderer::new(
        sources,
        Arc::new(url_table()),
        statics,
        config.locale,
        config.currency,
        config.dev,
    )
    .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))
    .context("loading templates")?;
    renderer.add_processor(Messages);
    renderer.add_processor(cart::CartBadge);
    renderer.add_processor(accounts::CurrentUser);
    Ok(renderer)
}

/// "outer: inner: innermost", for errors whose detail is in their sources.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl Shop {
    /// Opens the database (migrating it) and builds what the server needs.
    pub fn open(config: Config, mailer: Mailer) -> anyhow::Result<Shop> {
        let db =
            Database::open(&config.database_url, config.db_pool).context("opening the database")?;
        db.migrate().context("migrating the database")?;
        let priced_in = products::Product::currencies(&mut *db.get()?)?;
        if let Some(other) = priced_in.iter().find(|c| *c != config.currency.code()) {
            anyhow::bail!(
                "the catalogue is priced in {other}, but SHOP_CURRENCY is {}: set SHOP_CURRENCY={other} \
                 (one shop sells in one currency)",
                config.currency
            );
        }
        let statics = Arc::new(StaticFiles::embedded());
        let renderer = Arc::new(renderer(&config, statics.clone())?);
        let secret = secret(&config)?;
        let session_key = Key::derive_from(secret.as_bytes());
        let signer = Signer::new(secret.as_bytes());
        Ok(Shop {
            config: config.clone(),
            db,
            renderer,
            mailer,
            statics,
            payment_provider: Arc::new(DemoCardProvider::default()),
            session_key,
            signer,
            account_hooks: AccountHooks(vec![
                Arc::new(cart::CartFollowsCustomer),
                Arc::new(orders::OrdersOfCustomer),
            ]),
            mail_send_limit: web::Data::new(site_core::http::MailSendLimit::default()),
            catalogue_cache: web::Data::new(products::CatalogueCache::new(
                std::time::Duration::from_secs(config.catalogue_cache_seconds),
            )),
        })
    }

    /// The actix app's routes, data and middleware.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.config.clone()))
            .app_data(web::Data::new(self.db.clone()))
            .app_data(web::Data::from(self.renderer.clone()))
            .app_data(web::Data::from(self.payment_provider.clone()))
            .app_data(web::Data::from(self.statics.clone()))
            .app_data(self.catalogue_cache.clone())
            .app_data(self.mail_send_limit.clone())
            .app_data(web::Data::new(self.signer.clone()))
            .app_data(web::Data::new(self.account_hooks.clone()))
            // Avatar uploads: the CSRF check reads the body, so this is the
            // largest request accepted at all; the avatar form itself
            // refuses more than 2 MB with a form error.
            .app_data(web::PayloadConfig::new(10 * 1024 * 1024))
            .app_data(web::Data::new(SecurityHeaders::new(self.config.https)))
            .app_data(web::Data::new(CookieSecurity {
                secure: self.config.https,
            }))
            .app_data(
                web::FormConfig::default()
                    .limit(64 * 1024)
                    .error_handler(|e, _| AppError::BadRequest(e.to_string()).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| AppError::BadRequest(e.to_string()).into()),
            )
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .configure(products::configure)
            .configure(cart::configure)
            .configure(orders::configure)
            .configure(payments::configure)
            .configure(accounts::configure)
            .configure(contact::configure)
            .configure(staff::configure)
            .configure(statics::configure)
            .service(
                actix_files::Files::new("/media", &self.config.media_root)
                    .use_etag(true)
                    .use_last_modified(true),
            );
    }

    /// Binds the HTTP server to `listener` (port 0 works: tests use it).
    pub fn server(self, listener: TcpListener) -> anyhow::Result<Server> {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let blocking_threads = (self.db.pool.max_size() as usize).div_ceil(workers).max(2);
        let shop = self;
        let server = HttpServer::new(move || {
            let session = SessionMiddleware::builder(
                DbSessionStore::new(shop.db.clone()),
                shop.session_key.clone(),
            )
            .cookie_name("sessionid".into())
            .cookie_secure(shop.config.https)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_content_security(CookieContentSecurity::Signed)
            .session_lifecycle(PersistentSession::default().session_ttl(
                actix_web::cookie::time::Duration::days(shop.config.session_days),
            ))
            .build();
            App::new()
                .configure(|cfg| shop.configure(cfg))
                .default_service(web::to(security::not_found))
                // Outermost last: compression, sessions, then ids, headers
                // and error pages (inside the session, so an error page shows
                // the cart and consumes flash messages for good), then the
                // CSRF check nearest the handlers.
                .wrap(from_fn(csrf::middleware))
                .wrap(from_fn(security::middleware))
                .wrap(session)
                .wrap(Compress::default())
        })
        // Database work runs on the blocking pool; threads beyond the
        // connection pool would only queue for a connection (and each
        // keeps its own allocator heap).
        .worker_max_blocking_threads(blocking_threads)
        .listen(listener)?
        .run();
        Ok(server)
    }
}

/// The secret that session cookies and emailed links are signed with:
/// `SECRET_KEY`, or one generated once and kept in `var/secret.key` so
/// sessions and links survive restarts.
fn secret(config: &Config) -> anyhow::Result<String> {
    if let Some(k) = &config.secret_key {
        return Ok(k.clone());
    }
    let path = config.var_dir.join("secret.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 64 {
            return Ok(existing.trim().to_string());
        }
    }
    std::fs::create_dir_all(&config.var_dir)
        .with_context(|| format!("creating {}", config.var_dir.display()))?;
    let fresh = site_core::random_token(64);
    write_private(&path, &fresh).with_context(|| format!("writing {}", path.display()))?;
    Ok(fresh)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

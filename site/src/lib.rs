//! The shop as one server: the apps' routes and templates, the middleware
//! stack, static and media files, and what `main.rs` offers operators.

pub mod cli;
mod contact;
pub mod demo;
pub mod deploy_check;
mod health;
pub mod jobs;
mod media;
mod metrics;
mod statics;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::middleware::{from_fn, Compress};
use actix_web::{dev::Server, web, App as ActixApp, HttpServer};
use anyhow::Context as _;
use payments::{DemoGateway, PaymentProvider};
use site_core::admin::AdminSite;
use site_core::app::App;
use site_core::core_app::CoreApp;
use site_core::db::Database;
use site_core::hooks::AccountHooks;
use site_core::http::csrf::CookieSecurity;
use site_core::http::security::{self, SecurityHeaders};
use site_core::http::session_store::{DbSessionStore, ShopSessionStore};
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
    /// The bundled demo gateway (its pages are served whatever the
    /// provider; it is the provider unless another is configured).
    pub demo_gateway: Arc<DemoGateway>,
    pub session_key: Key,
    /// Signs the links in account emails.
    pub signer: Signer,
    /// The apps, in order: each declares its routes, templates, admin
    /// models, permissions, hooks and jobs.
    pub apps: Arc<Vec<Arc<dyn App>>>,
    /// Every app's admin models and dashboard panels.
    pub admin: web::Data<AdminSite>,
    /// What other apps do when an account logs in, exports or is deleted.
    pub account_hooks: AccountHooks,
    /// Shared by every worker: how much mail each client may trigger.
    pub mail_send_limit: web::Data<site_core::http::MailSendLimit>,
    /// The site's secret, from which keys are derived.
    secret: Arc<str>,
    /// Redis, once `connect_redis` reached it (REDIS_URL set).
    pub redis: Option<Redis>,
}

/// Redis, when `REDIS_URL` is set: where sessions live, and a connection
/// for the readiness probe. Both reconnect by themselves after an outage.
#[derive(Clone)]
pub struct Redis {
    pub sessions: site_core::http::session_store::RedisSessionStore,
    pub conn: redis::aio::ConnectionManager,
}

/// The shop's apps. Adding an app is one line here (and its crate in the
/// workspace).
pub fn apps(config: &Config) -> Vec<Arc<dyn App>> {
    vec![
        Arc::new(products::ProductsApp::new(config)),
        Arc::new(cart::CartApp),
        Arc::new(orders::OrdersApp::default()),
        Arc::new(payments::PaymentsApp),
        Arc::new(accounts::AccountsApp::new(config)),
        Arc::new(contact::SiteApp),
        Arc::new(CoreApp),
    ]
}

/// Every app's named routes, for reversing URLs.
pub fn url_table(apps: &[Arc<dyn App>]) -> UrlTable {
    UrlTable::new(apps.iter().flat_map(|a| [a.routes(), a.admin_routes()]))
}

pub fn renderer(
    config: &Config,
    apps: &[Arc<dyn App>],
    statics: Arc<StaticFiles>,
) -> anyhow::Result<Renderer> {
    let sources = apps.iter().filter_map(|a| a.templates()).collect();
    let mut renderer = Renderer::new(
        sources,
        Arc::new(url_table(apps)),
        statics,
        config.locale,
        config.currency,
        config.dev,
    )
    .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))
    .context("loading templates")?;
    for app in apps {
        for p in app.context_processors() {
            renderer.add_boxed_processor(p);
        }
    }
    Ok(renderer)
}

/// The admin registry: every app's models, panels and referrers.
pub fn admin_site(apps: &[Arc<dyn App>]) -> AdminSite {
    let mut site = AdminSite::new();
    for app in apps {
        let models = app.admin_models();
        if !models.is_empty() {
            site.register_app(app.label(), app.verbose_name());
        }
        for m in models {
            site.register(m);
        }
        site.widgets.extend(app.admin_widgets());
        site.related.extend(app.admin_related());
    }
    site
}

/// Applies pending migrations, then makes the permission rows those the
/// apps declare (as Django does after migrating). Returns the migrations
/// run.
pub fn migrate(db: &Database, apps: &[Arc<dyn App>]) -> anyhow::Result<Vec<String>> {
    let declared = site_core::app::declared_permissions(apps);
    // One server at a time: two starting together would both create the
    // permissions.
    let (applied, synced) = db.while_migrating(|conn| -> anyhow::Result<_> {
        let applied = site_core::db::run_migrations(conn).context("migrating the database")?;
        let synced = site_core::app::sync_permissions(conn, &declared)
            .context("creating the declared permissions")?;
        Ok((applied, synced))
    })?;
    if !synced.removed.is_empty() {
        tracing::info!(
            removed = synced.removed.join(", "),
            "permissions no app declares any more were removed"
        );
    }
    Ok(applied)
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
        let apps = apps(&config);
        migrate(&db, &apps)?;
        // /media is served from this folder, and actix-files logs "is not
        // a directory" on every worker when it is missing (a fresh volume,
        // before the first upload).
        if let Err(e) = std::fs::create_dir_all(&config.media_root) {
            tracing::warn!(
                "cannot create MEDIA_ROOT {}: {e} (uploads and /media will fail)",
                config.media_root.display()
            );
        }
        let priced_in = products::Product::currencies(&mut *db.get()?)?;
        if let Some(other) = priced_in.iter().find(|c| *c != config.currency.code()) {
            anyhow::bail!(
                "the catalogue is priced in {other}, but SHOP_CURRENCY is {}: set SHOP_CURRENCY={other} \
                 (one shop sells in one currency)",
                config.currency
            );
        }
        let statics = Arc::new(StaticFiles::embedded());
        let renderer = Arc::new(renderer(&config, &apps, statics.clone())?);
        let secret = secret(&config)?;
        let session_key = Key::derive_from(secret.as_bytes());
        let signer = Signer::new(secret.as_bytes());
        let account_hooks = AccountHooks(apps.iter().flat_map(|a| a.account_hooks()).collect());
        let demo_gateway = Arc::new(DemoGateway::new(db.clone(), &config.site_url, &secret));
        Ok(Shop {
            config: config.clone(),
            db,
            renderer,
            mailer,
            statics,
            payment_provider: demo_gateway.clone(),
            demo_gateway,
            secret: secret.into(),
            session_key,
            signer,
            admin: web::Data::new(admin_site(&apps)),
            apps: Arc::new(apps),
            account_hooks,
            mail_send_limit: web::Data::new(site_core::http::MailSendLimit::default()),
            redis: None,
        })
    }

    /// Connects to Redis when `REDIS_URL` is set (call before `server`,
    /// inside the runtime); an unreachable Redis stops the start here,
    /// with its address.
    pub async fn connect_redis(&mut self) -> anyhow::Result<()> {
        let Some(url) = self.config.redis_url.clone() else {
            return Ok(());
        };
        // Named in errors without its password.
        let shown = url::Url::parse(&url)
            .map(|mut u| {
                let _ = u.set_password(None);
                u.to_string()
            })
            .unwrap_or_else(|_| "(an unreadable URL)".into());
        let sessions = site_core::http::session_store::RedisSessionStore::connect(
            &url,
            &self.config.redis_prefix,
        )
        .await
        .with_context(|| format!("connecting to Redis at {shown} (REDIS_URL)"))?;
        let conn = site_core::http::session_store::redis_connection(&url)
            .await
            .with_context(|| format!("connecting to Redis at {shown} (REDIS_URL)"))?;
        self.redis = Some(Redis { sessions, conn });
        Ok(())
    }

    /// What the apps' background jobs need.
    pub fn job_env(&self) -> site_core::app::JobEnv {
        site_core::app::JobEnv {
            db: self.db.clone(),
            mailer: self.mailer.clone(),
            config: self.config.clone(),
            renderer: self.renderer.clone(),
            secret: self.secret.clone(),
        }
    }

    /// The actix app's routes, data and middleware.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.config.clone()))
            .app_data(web::Data::new(self.db.clone()))
            .app_data(web::Data::from(self.renderer.clone()))
            .app_data(web::Data::from(self.payment_provider.clone()))
            .app_data(web::Data::from(self.demo_gateway.clone()))
            .app_data(web::Data::new(csrf::Exempt(
                self.apps
                    .iter()
                    .flat_map(|a| a.csrf_exempt())
                    .copied()
                    .collect(),
            )))
            .app_data(web::Data::from(self.statics.clone()))
            .app_data(self.admin.clone())
            .app_data(self.mail_send_limit.clone())
            .app_data(web::Data::new(self.signer.clone()))
            .app_data(web::Data::new(self.account_hooks.clone()))
            .app_data(web::Data::new(self.redis.as_ref().map(|r| r.conn.clone())))
            // Uploads (avatars, product images): the CSRF check reads the
            // body, so this is the largest request accepted at all; each
            // form refuses more than its own limit with a form error.
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
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()));
        for app in self.apps.iter() {
            app.configure(cfg);
        }
        let apps = self.apps.clone();
        cfg.service(
            web::scope("/admin")
                .wrap(from_fn(site_core::admin::guard::guard))
                .configure(move |scope| {
                    for app in apps.iter() {
                        app.configure_admin(scope);
                    }
                    site_core::admin::views::configure(scope);
                }),
        )
        .configure(statics::configure)
        .service(
            web::scope("/media")
                .wrap(from_fn(media::prefer_webp))
                .service(
                    actix_files::Files::new("", &self.config.media_root)
                        .use_etag(true)
                        .use_last_modified(true),
                ),
        );
    }

    /// Binds the HTTP server to `listener` (port 0 works: tests use it).
    pub fn server(self, listener: TcpListener) -> anyhow::Result<Server> {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let blocking_threads = (self.db.pool.max_size() as usize).div_ceil(workers).max(2);
        let shop = self;
        let server = HttpServer::new(move || {
            let store = match &shop.redis {
                Some(redis) => ShopSessionStore::Redis(redis.sessions.clone()),
                None => ShopSessionStore::Db(DbSessionStore::new(shop.db.clone())),
            };
            let session = SessionMiddleware::builder(store, shop.session_key.clone())
                .cookie_name("sessionid".into())
                .cookie_secure(shop.config.https)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_content_security(CookieContentSecurity::Signed)
                .session_lifecycle(PersistentSession::default().session_ttl(
                    actix_web::cookie::time::Duration::days(shop.config.session_days),
                ))
                .build();
            ActixApp::new()
                .configure(|cfg| shop.configure(cfg))
                .default_service(web::to(security::not_found))
                // Outermost last: compression, sessions, then ids, headers
                // and error pages (inside the session, so an error page shows
                // the cart and consumes flash messages for good), then the
                // CSRF check nearest the handlers.
                .wrap(from_fn(demo::guard))
                .wrap(from_fn(site_core::http::auth::verify_middleware))
                .wrap(from_fn(csrf::middleware))
                .wrap(from_fn(security::middleware))
                .wrap(session)
                .wrap(from_fn(security::unavailable))
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

//! The command line: Django's `manage.py`, for this shop.

use std::io::{BufRead, IsTerminal, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use site_core::db::Database;
use site_core::forms::Email;
use site_core::mail::Mailer;
use site_core::Config;

use crate::demo::Demo;
use crate::Shop;

#[derive(Debug, Parser)]
#[command(
    name = "site",
    version,
    about = "Demo Shop: run the shop and look after it."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the shop (the default). Migrates, and seeds an empty catalogue.
    Serve {
        /// Address to listen on (default: SHOP_BIND or 127.0.0.1:8000).
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Do not seed the demo catalogue into an empty database.
        #[arg(long)]
        no_seed: bool,
        /// Serve pages only, leaving the background jobs to `site worker`
        /// (for app servers behind a load balancer).
        #[arg(long)]
        no_jobs: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Fill an empty shop with deterministic demo categories, products,
    /// customers and a year of orders (with their payments). Written in
    /// bulk: a million products take minutes.
    SeedDemo {
        #[arg(long, default_value_t = 200)]
        products: usize,
        #[arg(long, default_value_t = 12)]
        categories: usize,
        #[arg(long, default_value_t = 300)]
        orders: usize,
        /// Demo customer accounts behind a third of the orders.
        #[arg(long, default_value_t = 20)]
        customers: usize,
    },
    /// Create a staff superuser (asks for what it is not given).
    Createsuperuser {
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's password (asks twice; or reads one line from stdin).
    Changepassword {
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Run the background jobs without serving pages: deliver queued email
    /// (with retries), cancel unpaid orders, clear expired sessions. Safe
    /// beside running servers, which do the same.
    Worker,
    /// Import products from a CSV file, matched by SKU (sku, name, category,
    /// price, stock, active, description, slug). Each row is created,
    /// updated, left unchanged or refused with a reason; --dry-run only
    /// says which.
    ImportProducts {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Write every static file (plain and content-hashed names) into DIR.
    Collectstatic { dir: PathBuf },
    /// Delete expired sessions.
    Clearsessions,
    /// Cancel orders unpaid for longer than SHOP_ORDER_HOLD_MINUTES and
    /// return their stock (the server also does it every minute).
    ReleaseUnpaidOrders,
    /// Check the configuration and the database; with --deploy, also list
    /// every setting unsafe in production with its fix (exits 1 if any).
    Check {
        #[arg(long)]
        deploy: bool,
        /// Accept a deploy problem knowingly (its id, e.g. sqlite); repeatable.
        #[arg(long = "allow", value_name = "ID")]
        allow: Vec<String>,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    match cli.command.unwrap_or(Command::Serve {
        bind: None,
        no_seed: false,
        no_jobs: false,
    }) {
        Command::Serve {
            bind,
            no_seed,
            no_jobs,
        } => serve(config, bind, no_seed, no_jobs),
        Command::Check { deploy, allow } => check(&config, deploy, &allow),
        Command::Migrate => {
            let db = open_db(&config)?;
            let applied = crate::migrate(&db, &crate::apps(&config))?;
            if applied.is_empty() {
                println!("No migrations to apply.");
            }
            for m in applied {
                println!("Applied {m}");
            }
            Ok(())
        }
        Command::SeedDemo {
            products,
            categories,
            orders,
            customers,
        } => {
            let db = open_db(&config)?;
            crate::migrate(&db, &crate::apps(&config))?;
            seed(
                &db,
                &config,
                &Demo {
                    products,
                    categories,
                    orders,
                    customers,
                },
            )?;
            Ok(())
        }
        Command::Createsuperuser {
            email,
            password_stdin,
        } => {
            let db = open_db(&config)?;
            crate::migrate(&db, &crate::apps(&config))?;
            createsuperuser(&db, email, password_stdin)
        }
        Command::Changepassword {
            email,
            password_stdin,
        } => {
            let db = open_db(&config)?;
            crate::migrate(&db, &crate::apps(&config))?;
            changepassword(&db, &email, password_stdin)
        }
        Command::Worker => {
            let mailer = Mailer::from_config(&config)?;
            let shop = crate::Shop::open(config, mailer)?;
            println!(
                "Worker running (mail: {}). Press Ctrl-C to stop.",
                shop.mailer.backend_name()
            );
            actix_web::rt::System::new().block_on(async move {
                let jobs = crate::jobs::spawn(&shop.apps, shop.job_env());
                crate::jobs::stop_signal().await?;
                jobs.stop().await;
                tracing::info!("stopped cleanly");
                Ok(())
            })
        }
        Command::ImportProducts { file, dry_run } => {
            let db = open_db(&config)?;
            crate::migrate(&db, &crate::apps(&config))?;
            import_products(&db, &config, &file, dry_run)
        }
        Command::Collectstatic { dir } => {
            let n = site_core::statics::StaticFiles::embedded()
                .collect(&dir)
                .with_context(|| format!("writing into {}", dir.display()))?;
            println!(
                "{n} static files written to {} (each under its plain and its hashed name).",
                dir.display()
            );
            Ok(())
        }
        Command::ReleaseUnpaidOrders => {
            let db = open_db(&config)?;
            let n = payments::holds::release_unpaid_orders(
                &db,
                chrono::TimeDelta::minutes(config.order_hold_minutes),
                chrono::TimeDelta::days(config.bank_transfer_days),
            )?;
            println!("Cancelled {n} unpaid orders and returned their stock.");
            Ok(())
        }
        Command::Clearsessions => {
            let db = open_db(&config)?;
            let n = site_core::db::clear_expired_sessions(&mut *db.get()?)?;
            println!("Deleted {n} expired sessions.");
            Ok(())
        }
    }
}

fn open_db(config: &Config) -> anyhow::Result<Database> {
    Database::open(&config.database_url, 4).context("opening the database")
}

fn bar(len: u64, message: &'static str, unit: &str) -> ProgressBar {
    if len == 0 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

/// Seeds an empty shop, telling the operator what it made; returns the
/// demo customers' password when it made customers.
fn seed(db: &Database, config: &Config, demo: &Demo) -> anyhow::Result<Option<String>> {
    let started = std::time::Instant::now();
    // A public demo shows its customers' password on the login page.
    let password = (demo.customers > 0).then(|| {
        if config.demo {
            crate::demo::CUSTOMER_PASSWORD.to_string()
        } else {
            site_core::random_token(16)
        }
    });
    let seeded = crate::demo::seed(db, config, demo, password.as_deref(), &bar)?;
    for line in seeded.lines {
        println!("{line}");
    }
    crate::demo::mark_reset(&mut *db.get()?)?;
    println!("Done in {:.0?}.", started.elapsed());
    Ok(password)
}

fn import_products(
    db: &Database,
    config: &Config,
    path: &std::path::Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(if dry_run { "Checking" } else { "Importing" });
    let importer = products::import::Importer {
        staff: None,
        label: "Imported from CSV (command line)",
    };
    let report = products::import::import(
        &mut *db.get()?,
        std::io::BufReader::new(file),
        config.currency,
        dry_run,
        &importer,
        &mut |n| bar.set_position(n),
    )?;
    bar.finish_and_clear();
    for row in report
        .rows
        .iter()
        .filter(|r| r.outcome == products::import::Outcome::Error)
        .take(20)
    {
        println!("line {}: {}: {}", row.line, row.sku, row.detail);
    }
    println!(
        "{}{} created, {} updated, {} unchanged, {} with errors.",
        if dry_run {
            "Dry run, nothing written: "
        } else {
            ""
        },
        report.created,
        report.updated,
        report.skipped,
        report.errors
    );
    Ok(())
}

fn createsuperuser(
    db: &Database,
    email: Option<String>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let email = match email {
        Some(e) => e,
        None => {
            print!("Email: ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            stdin.lock().read_line(&mut line)?;
            line
        }
    };
    let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
    let password = read_password(password_stdin)?;
    let user = accounts::User::create_superuser(&mut *db.get()?, &email, &password)?;
    println!("Superuser {} created.", user.email);
    Ok(())
}

/// A new password: one line of standard input (scripts), or typed twice
/// at a prompt.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Password (again): ")?;
    if first != again {
        bail!("the passwords do not match");
    }
    Ok(first)
}

fn changepassword(db: &Database, email: &str, password_stdin: bool) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
    let mut conn = db.get()?;
    let user = accounts::User::by_email(&mut conn, &email)
        .map_err(|_| anyhow::anyhow!("no user has the email {email}"))?;
    let password = read_password(password_stdin)?;
    let problems = accounts::validators::validate(&password, &user.attributes());
    if !problems.is_empty() {
        bail!("{}", problems.join(" "));
    }
    let hash = accounts::password::hash(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    accounts::User::set_password_hash(&mut conn, user.id, &hash)?;
    println!(
        "Password changed for {}; their sessions were ended.",
        user.email
    );
    Ok(())
}

fn serve(
    mut config: Config,
    bind: Option<SocketAddr>,
    no_seed: bool,
    no_jobs: bool,
) -> anyhow::Result<()> {
    if let Some(b) = bind {
        config.bind = b;
        if std::env::var("SITE_URL").is_err() {
            config.site_url = format!("{}://{b}", if config.https { "https" } else { "http" });
        }
    }
    let mailer = Mailer::from_config(&config)?;
    let shop = Shop::open(config.clone(), mailer)?;
    let mut conn = shop.db.get()?;
    let mut customer_note = None;
    if !no_seed && products::Product::count(&mut conn)? == 0 {
        let demo = Demo::STANDARD;
        if let Some(pw) = seed(&shop.db, &config, &demo)? {
            customer_note = Some(format!(
                "Demo customers: customer1@example.com … customer{}@example.com / {pw}",
                demo.customers
            ));
        }
    } else if !no_seed {
        // A demo shop seeded before shipping methods existed could not
        // take orders without them.
        let n = orders::shipping::seed_demo(&mut conn, config.currency)?;
        if n > 0 {
            println!("Seeded {n} demo shipping methods.");
        }
    }
    let admin_note = if accounts::User::count_superusers(&mut conn)? == 0 {
        let email = Email::parse("admin@example.com").map_err(|e| anyhow::anyhow!("{e}"))?;
        let password = site_core::random_token(16);
        match accounts::User::create_superuser(&mut conn, &email, &password) {
            Ok(_) => Some(format!("Staff login: admin@example.com / {password} (shown once; change it with createsuperuser)")),
            // Another server starting beside this one made it (and says so).
            Err(accounts::UserError::Exists(_)) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let voucher_note = orders::vouchers::demo_code(&mut conn)?.map(|v| {
        format!(
            "Demo voucher: {} ({}), apply it at checkout",
            v.code,
            v.label()
                .trim_start_matches(&format!("Voucher {} (", v.code))
                .trim_end_matches(')')
        )
    });
    let demo_note = if config.demo {
        crate::demo::prepare_viewer(&mut conn)?;
        Some(format!(
            "Demo mode: view-only staff login {} / {}; the data resets every {} hours.",
            crate::demo::VIEWER_EMAIL,
            crate::demo::VIEWER_PASSWORD,
            config.demo_reset_hours
        ))
    } else {
        None
    };
    drop(conn);

    let listener = TcpListener::bind(config.bind)
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    let backend = shop.db.backend.name();
    let mail = shop.mailer.backend_name();
    let env = shop.job_env();
    let apps = shop.apps.clone();
    actix_web::rt::System::new().block_on(async move {
        let mut shop = shop;
        shop.connect_redis().await?;
        let server = shop.server(listener)?;
        let jobs = (!no_jobs).then(|| crate::jobs::spawn(&apps, env));
        println!("Demo Shop is running at http://{addr}/  (database: {backend}, mail: {mail})");
        if jobs.is_none() {
            println!("Background jobs are off here (--no-jobs): run `site worker` beside it.");
        }
        if let Some(note) = admin_note {
            println!("{note}");
        }
        if let Some(note) = customer_note {
            println!("{note}");
        }
        for note in [voucher_note, demo_note].into_iter().flatten() {
            println!("{note}");
        }
        println!("Press Ctrl-C to stop.");
        // SIGTERM or Ctrl-C: actix stops accepting and finishes the
        // requests in flight; then each job finishes its current run.
        server.await?;
        if let Some(jobs) = jobs {
            jobs.stop().await;
        }
        tracing::info!("stopped cleanly");
        Ok(())
    })
}

/// `site check [--deploy] [--allow ID]…`.
fn check(config: &Config, deploy: bool, allow: &[String]) -> anyhow::Result<()> {
    let db = open_db(config)?;
    let mut conn = db.get().context("connecting to the database")?;
    site_core::db::ping(&mut conn).context("asking the database")?;
    if !site_core::db::migrations_applied(&mut conn)? {
        bail!("the database has pending migrations: run `site migrate`");
    }
    println!("The configuration is valid; the database answers and is migrated.");
    if !deploy {
        return Ok(());
    }
    let problems: Vec<_> = crate::deploy_check::problems(config)
        .into_iter()
        .filter(|p| !allow.iter().any(|a| a == p.id))
        .collect();
    if problems.is_empty() {
        println!("No deploy problems found.");
        return Ok(());
    }
    for p in &problems {
        println!("\n[{}] {}\n  Fix: {}", p.id, p.what, p.fix);
    }
    println!();
    bail!(
        "{} deploy problem{}: fix {} or accept {} knowingly with --allow ID",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        if problems.len() == 1 { "it" } else { "them" },
        if problems.len() == 1 { "it" } else { "each" },
    )
}

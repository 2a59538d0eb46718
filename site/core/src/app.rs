//! How an app describes itself to the site, once (Django's `AppConfig`):
//! its routes, templates, context processors, account hooks, admin models,
//! permissions and background jobs. `site` keeps a list of apps and wires
//! whatever they declare, so adding an app touches that list and the
//! workspace, nothing more.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::admin::ModelAdmin;
use crate::config::Config;
use crate::db::Database;
use crate::hooks::AccountHook;
use crate::mail::Mailer;
use crate::templates::{ContextProcessor, TemplateSource};
use crate::urls::Route;

pub trait App: Send + Sync + 'static {
    /// The app's label: the first part of its route names, permission
    /// codenames (`products.change_product`) and admin URLs.
    fn label(&self) -> &'static str;

    /// The app as staff read it in the admin: "Catalogue".
    fn verbose_name(&self) -> &'static str;

    /// Named routes, for reversing (see `crate::urls`).
    fn routes(&self) -> &'static [Route] {
        &[]
    }

    /// Named routes of the app's own admin pages (paths under `/admin/`,
    /// registered by `configure_admin`).
    fn admin_routes(&self) -> &'static [Route] {
        &[]
    }

    fn templates(&self) -> Option<TemplateSource> {
        None
    }

    /// Registers the app's public pages and app data.
    fn configure(&self, _cfg: &mut web::ServiceConfig) {}

    /// Registers the app's own admin pages (beyond the generic ones) inside
    /// the `/admin` scope, which the staff guard protects: paths here are
    /// relative to `/admin`.
    fn configure_admin(&self, _cfg: &mut web::ServiceConfig) {}

    fn context_processors(&self) -> Vec<Box<dyn ContextProcessor>> {
        Vec::new()
    }

    fn account_hooks(&self) -> Vec<Arc<dyn AccountHook>> {
        Vec::new()
    }

    /// The app's models in the staff admin. Each one also declares the
    /// view/add/change/delete permissions that `migrate` creates.
    fn admin_models(&self) -> Vec<Arc<dyn ModelAdmin>> {
        Vec::new()
    }

    /// Panels the app adds to the admin dashboard.
    fn admin_widgets(&self) -> Vec<Arc<dyn crate::admin::dashboard::Widget>> {
        Vec::new()
    }

    /// What the app keeps about other apps' objects, for their admin
    /// pages (delete plans, tables on change pages).
    fn admin_related(&self) -> Vec<Arc<dyn crate::admin::Related>> {
        Vec::new()
    }

    /// Permissions beyond each admin model's view/add/change/delete.
    fn permissions(&self) -> Vec<PermissionSpec> {
        Vec::new()
    }

    /// Work the server (or `site worker`) does on a timer: one run per
    /// period across every worker (see `crate::jobs`).
    fn jobs(&self) -> Vec<Job> {
        Vec::new()
    }

    /// What runs the jobs the app queues (`crate::jobs::enqueue`).
    fn tasks(&self) -> Vec<crate::jobs::Task> {
        Vec::new()
    }

    /// Path prefixes other services post to without a CSRF token (they
    /// sign their requests instead).
    fn csrf_exempt(&self) -> &'static [&'static str] {
        &[]
    }
}

/// A permission as code declares it; `migrate` creates the missing rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSpec {
    /// `app.action_model`, e.g. `products.change_product`.
    pub codename: String,
    /// What staff read: "Can change product".
    pub name: String,
}

impl PermissionSpec {
    pub fn new(codename: impl Into<String>, name: impl Into<String>) -> Self {
        PermissionSpec {
            codename: codename.into(),
            name: name.into(),
        }
    }
}

/// What a job may use.
#[derive(Clone)]
pub struct JobEnv {
    pub db: Database,
    pub mailer: Mailer,
    pub config: Config,
    /// Renders what jobs queue (emails).
    pub renderer: Arc<crate::templates::Renderer>,
    /// The site's secret, from which jobs derive the keys they need.
    pub secret: Arc<str>,
}

pub type JobFn = dyn Fn(&JobEnv) -> anyhow::Result<usize> + Send + Sync;

/// Work done every `every`: returns how many things it did (logged when
/// not zero).
#[derive(Clone)]
pub struct Job {
    pub name: &'static str,
    pub every: Duration,
    pub run: Arc<JobFn>,
}

impl Job {
    pub fn new(
        name: &'static str,
        every: Duration,
        run: impl Fn(&JobEnv) -> anyhow::Result<usize> + Send + Sync + 'static,
    ) -> Self {
        Job {
            name,
            every,
            run: Arc::new(run),
        }
    }
}

/// Every permission the apps declare: each admin model's four, then the
/// apps' own.
pub fn declared_permissions(apps: &[Arc<dyn App>]) -> Vec<PermissionSpec> {
    let mut out = Vec::new();
    for app in apps {
        for model in app.admin_models() {
            out.extend(model.meta().permissions());
        }
        out.extend(app.permissions());
    }
    out
}

/// What `sync_permissions` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PermissionSync {
    pub created: usize,
    pub renamed: usize,
    /// Rows no app declares any more (a model that left the admin); their
    /// grants go with them.
    pub removed: Vec<String>,
}

/// Makes the permission rows what code declares (what Django does after
/// migrating, with its stale-row clean-up folded in): creates the missing,
/// renames those whose description changed, and deletes those nothing
/// declares, in one transaction. Grants of the rows that stay are kept.
pub fn sync_permissions(
    conn: &mut crate::db::DbConn,
    declared: &[PermissionSpec],
) -> diesel::QueryResult<PermissionSync> {
    use crate::schema::accounts_permission as p;
    use diesel::prelude::*;
    crate::db::write_transaction(conn, |conn| {
        let existing: std::collections::HashMap<String, String> = p::table
            .select((p::codename, p::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        let mut done = PermissionSync::default();
        let mut seen = std::collections::HashSet::new();
        for spec in declared {
            if !seen.insert(spec.codename.as_str()) {
                continue;
            }
            match existing.get(&spec.codename) {
                Some(name) if *name == spec.name => {}
                Some(_) => {
                    diesel::update(p::table.filter(p::codename.eq(&spec.codename)))
                        .set(p::name.eq(&spec.name))
                        .execute(conn)?;
                    done.renamed += 1;
                }
                None => {
                    diesel::insert_into(p::table)
                        .values((p::codename.eq(&spec.codename), p::name.eq(&spec.name)))
                        .execute(conn)?;
                    done.created += 1;
                }
            }
        }
        let mut stale: Vec<String> = existing
            .into_keys()
            .filter(|c| !seen.contains(c.as_str()))
            .collect();
        stale.sort();
        if !stale.is_empty() {
            diesel::delete(p::table.filter(p::codename.eq_any(&stale))).execute(conn)?;
        }
        done.removed = stale;
        Ok(done)
    })
}

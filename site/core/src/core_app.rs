//! What the shop's platform contributes as an app: its templates and flash
//! messages, the admin's own pages, outgoing email and background jobs in
//! the admin, the task that sends email and the job that clears expired
//! sessions.

use std::sync::Arc;
use std::time::Duration;

use crate::admin::ModelAdmin;
use crate::app::{App, Job};
use crate::templates::{ContextProcessor, TemplateSource};
use crate::urls::Route;

pub struct CoreApp;

impl App for CoreApp {
    fn label(&self) -> &'static str {
        "core"
    }

    fn verbose_name(&self) -> &'static str {
        "Site"
    }

    fn routes(&self) -> &'static [Route] {
        crate::admin::views::ROUTES
    }

    fn templates(&self) -> Option<TemplateSource> {
        Some(crate::templates::core_templates())
    }

    fn context_processors(&self) -> Vec<Box<dyn ContextProcessor>> {
        vec![Box::new(crate::http::flash::Messages)]
    }

    fn admin_models(&self) -> Vec<Arc<dyn ModelAdmin>> {
        vec![
            Arc::new(crate::mail::admin::OutboxAdmin::default()),
            Arc::new(crate::jobs::admin::JobAdmin::default()),
        ]
    }

    fn tasks(&self) -> Vec<crate::jobs::Task> {
        vec![crate::mail::outbox::task()]
    }

    fn jobs(&self) -> Vec<Job> {
        vec![Job::new(
            "core.clear_sessions",
            Duration::from_secs(3600),
            |env| Ok(crate::db::clear_expired_sessions(&mut *env.db.get()?)?),
        )]
    }
}

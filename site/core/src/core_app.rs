//! What the shop's platform contributes as an app: its templates and flash
//! messages, the admin's own pages, outgoing email in the admin, and the
//! jobs that deliver email and clear expired sessions.

use std::sync::Arc;
use std::time::Duration;

use crate::admin::ModelAdmin;
use crate::app::{App, Job};
use crate::templates::{ContextProcessor, TemplateSource};
use crate::urls::Route;

/// How often the worker looks for email to send.
pub const MAIL_POLL: Duration = Duration::from_secs(2);

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
        vec![Arc::new(crate::mail::admin::OutboxAdmin::default())]
    }

    fn jobs(&self) -> Vec<Job> {
        vec![
            Job::new("deliver-mail", MAIL_POLL, |env| {
                let report = crate::mail::outbox::deliver_due(&env.db, &env.mailer, crate::now())?;
                if report.deferred + report.failed > 0 {
                    tracing::warn!(
                        sent = report.sent,
                        deferred = report.deferred,
                        failed = report.failed,
                        "mail delivery round"
                    );
                }
                Ok(report.sent)
            }),
            Job::new("clear-sessions", Duration::from_secs(3600), |env| {
                Ok(crate::db::clear_expired_sessions(&mut *env.db.get()?)?)
            }),
        ]
    }
}

//! Background work the server (or `site worker`) does on a timer: each
//! app's jobs (delivering queued email, cancelling unpaid orders, clearing
//! expired sessions and old login failures).

use std::sync::Arc;

use actix_web::web;
use site_core::app::{App, Job, JobEnv};

/// Runs `job` on the blocking pool every `job.every`, logging failures.
fn every(job: Job, env: JobEnv) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(job.every);
        loop {
            tick.tick().await;
            let (run, env) = (job.run.clone(), env.clone());
            let ran = web::block(move || run(&env)).await;
            site_core::metrics::observe_job(job.name, matches!(ran, Ok(Ok(_))));
            match ran {
                Ok(Ok(n)) if n > 0 => tracing::info!(job = job.name, count = n, "done"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(job = job.name, error = %e, "failed"),
                Err(e) => tracing::warn!(job = job.name, error = %e, "failed"),
            }
        }
    });
}

/// Starts every app's timers; call from inside the server's (or worker's)
/// runtime.
pub fn spawn(apps: &[Arc<dyn App>], env: JobEnv) {
    for app in apps {
        for job in app.jobs() {
            every(job, env.clone());
        }
    }
}

//! Background work the server (or `site worker`) does on a timer: each
//! app's jobs (delivering queued email, processing payment webhooks,
//! cancelling unpaid orders, clearing expired sessions and old login
//! failures). On SIGTERM each finishes the run it is in, then stops.

use std::sync::Arc;

use actix_web::web;
use site_core::app::{App, Job, JobEnv};

/// The running jobs: stopping lets each finish its current run.
pub struct Jobs {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<actix_web::rt::task::JoinHandle<()>>,
}

impl Jobs {
    /// Asks every job to stop and waits until each has finished the run it
    /// is in (none starts another).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// SIGTERM (what service managers and orchestrators send) or Ctrl-C.
pub async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = actix_web::rt::signal::unix::signal(
            actix_web::rt::signal::unix::SignalKind::terminate(),
        )?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            c = actix_web::rt::signal::ctrl_c() => c,
        }
    }
    #[cfg(not(unix))]
    {
        actix_web::rt::signal::ctrl_c().await
    }
}

/// Runs `job` on the blocking pool every `job.every`, logging failures,
/// until `stop` says so (never in the middle of a run).
fn every(
    job: Job,
    env: JobEnv,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(job.every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
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
    })
}

/// Starts every app's timers; call from inside the server's (or worker's)
/// runtime.
pub fn spawn(apps: &[Arc<dyn App>], env: JobEnv) -> Jobs {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks = apps
        .iter()
        .flat_map(|app| app.jobs())
        .map(|job| every(job, env.clone(), stopped.clone()))
        .collect();
    Jobs { stop, tasks }
}

//! The server's (or `site worker`'s) job loops: each claims a due job from
//! `core_job` (a queued email, a webhook to process, a recurring sweep),
//! runs it on the blocking pool, and naps when nothing is due. Any number
//! of processes run them together: the table's leases give each job to one
//! (see `site_core::jobs`). On SIGTERM each loop finishes the job it is in,
//! then stops.

use std::sync::Arc;

use actix_web::web;
use site_core::app::{App, JobEnv};
use site_core::jobs::{Outcome, Ran, Runner};

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

/// Job loops per process: a slow job (an SMTP server timing out) does not
/// hold up the others.
const LOOPS: usize = 2;

/// How long a loop naps when nothing is due.
pub const POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Every app's queued tasks and recurring jobs.
pub fn runner(apps: &[Arc<dyn App>]) -> Runner {
    Runner::new(
        apps.iter().flat_map(|app| app.tasks()).collect(),
        apps.iter().flat_map(|app| app.jobs()).collect(),
    )
}

/// One loop: claims and runs jobs until `stop` says so (never in the
/// middle of a job).
fn work(
    runner: Arc<Runner>,
    env: JobEnv,
    mut stop: tokio::sync::watch::Receiver<bool>,
    schedule: bool,
) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut scheduled = !schedule;
        loop {
            if *stop.borrow() {
                return;
            }
            let (r, e) = (runner.clone(), env.clone());
            let ran = web::block(move || -> anyhow::Result<Option<Ran>> {
                if !scheduled {
                    r.schedule(&mut *e.db.get()?)?;
                }
                r.run_next(&e, None, site_core::now())
            })
            .await;
            let busy = match ran {
                Ok(Ok(ran)) => {
                    scheduled = true;
                    if let Some(ran) = &ran {
                        let ok = matches!(ran.outcome, Outcome::Done);
                        site_core::metrics::observe_job(ran.kind, ok);
                    }
                    ran.is_some()
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %format!("{e:#}"), "job loop: the database did not answer");
                    false
                }
                Err(e) => {
                    tracing::warn!(error = %e, "job loop failed");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = actix_web::rt::time::sleep(POLL) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    })
}

/// Starts the job loops; call from inside the server's (or worker's)
/// runtime.
pub fn spawn(apps: &[Arc<dyn App>], env: JobEnv) -> Jobs {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = Arc::new(runner(apps));
    let tasks = (0..LOOPS)
        .map(|i| work(runner.clone(), env.clone(), stopped.clone(), i == 0))
        .collect();
    Jobs { stop, tasks }
}

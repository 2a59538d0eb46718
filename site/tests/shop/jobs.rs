//! The jobs table: queued work runs once however many workers claim it,
//! a job whose worker died is taken over when its lease runs out,
//! recurring jobs run once per period across workers, and failed jobs
//! wait for staff, who retry them from the admin.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use site_core::app::Job;
use site_core::jobs::{self, JobRow, Outcome, Runner, Status, Task};
use site_core::mail::outbox;
use site_core::schema::core_job as j;

use crate::support::TestApp;

const PW: &str = "a long passphrase";

fn email(to: &str, subject: &str) -> site_core::mail::Email {
    site_core::mail::Email {
        to: to.into(),
        subject: subject.into(),
        text: "t".into(),
        html: "<p>h</p>".into(),
    }
}

fn jobs_of(app: &TestApp, kind: &str) -> Vec<JobRow> {
    j::table
        .filter(j::kind.eq(kind))
        .order(j::id)
        .select(JobRow::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

#[actix_web::test]
async fn an_email_is_queued_as_a_job_in_the_same_transaction_and_sent_once() {
    let app = TestApp::spawn().await;
    // Rolled back: neither the message nor its job exists.
    let rolled_back: Result<(), diesel::result::Error> = app.conn().transaction(|conn| {
        outbox::enqueue(conn, &email("a@example.com", "Never"))?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled_back.is_err());
    assert!(jobs_of(&app, outbox::SEND_EMAIL).is_empty());
    assert!(app.outbox(outbox::Status::Pending).is_empty());

    outbox::enqueue(&mut app.conn(), &email("b@example.com", "Hello")).unwrap();
    let queued = jobs_of(&app, outbox::SEND_EMAIL);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].status, Status::Pending);

    let ran = app.run_jobs_at(None, site_core::now()).await;
    let sent: Vec<_> = ran
        .iter()
        .filter(|r| r.kind == outbox::SEND_EMAIL)
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].outcome, Outcome::Done);
    assert!(
        jobs_of(&app, outbox::SEND_EMAIL).is_empty(),
        "a finished job leaves the queue"
    );
    assert_eq!(app.outbox(outbox::Status::Sent).len(), 1);
    // Running again sends nothing more.
    app.run_jobs_at(None, site_core::now()).await;
    assert_eq!(app.sent_mail().len(), 1);
}

#[actix_web::test]
async fn four_workers_racing_over_one_queue_send_each_email_once() {
    let app = TestApp::spawn().await;
    for i in 0..40 {
        outbox::enqueue(
            &mut app.conn(),
            &email(&format!("c{i}@example.com"), &format!("Order {i}")),
        )
        .unwrap();
    }
    let env = app.job_env();
    let apps = site::apps(&app.config);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (env, runner) = (env.clone(), site::jobs::runner(&apps));
            std::thread::spawn(move || {
                runner
                    .run_due(&env, Some(&[outbox::SEND_EMAIL]), site_core::now())
                    .unwrap()
                    .len()
            })
        })
        .collect();
    let ran: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(ran, 40, "each job ran once, on one worker");
    let mut to: Vec<_> = app.sent_mail().into_iter().map(|m| m.to).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 40);
    assert_eq!(app.outbox(outbox::Status::Sent).len(), 40);
}

#[actix_web::test]
async fn a_job_whose_worker_died_is_taken_over_when_its_lease_runs_out() {
    let app = TestApp::spawn().await;
    outbox::enqueue(&mut app.conn(), &email("d@example.com", "Lease")).unwrap();
    let now = site_core::now();
    // A worker claims it, then dies without finishing.
    let held = jobs::claim(&mut app.conn(), &[outbox::SEND_EMAIL], now, "dead-worker")
        .unwrap()
        .expect("claimed");
    assert_eq!(held.status, Status::Running);
    assert_eq!(held.claimed_by, "dead-worker");
    // While the lease runs, nobody else takes it.
    assert!(app
        .run_jobs_at(Some(&[outbox::SEND_EMAIL]), now)
        .await
        .is_empty());
    assert!(app.sent_mail().is_empty());
    // Once it has run out, another worker does.
    let later = now + jobs::LEASE + chrono::TimeDelta::seconds(1);
    let ran = app.run_jobs_at(Some(&[outbox::SEND_EMAIL]), later).await;
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].outcome, Outcome::Done);
    assert_eq!(app.sent_mail().len(), 1);
    // The dead worker's late answer changes nothing.
    let late = jobs::finish(
        &mut app.conn(),
        &held,
        &Err(jobs::JobError::Retry("timed out".into())),
        now,
        chrono::TimeDelta::seconds(30),
    )
    .unwrap();
    assert_eq!(late, Outcome::Lost);
    assert!(jobs_of(&app, outbox::SEND_EMAIL).is_empty());
}

/// A job whose worker died on its last attempt is failed without being run
/// again, and its email is marked failed for staff, not left waiting.
#[actix_web::test]
async fn an_email_whose_worker_died_on_the_last_attempt_is_marked_failed() {
    let app = TestApp::spawn().await;
    outbox::enqueue(&mut app.conn(), &email("f@example.com", "Poison")).unwrap();
    let now = site_core::now();
    // Its worker died holding it, on the last attempt.
    diesel::update(j::table.filter(j::kind.eq(outbox::SEND_EMAIL)))
        .set((
            j::status.eq(Status::Running),
            j::attempts.eq(outbox::MAX_ATTEMPTS),
            j::claimed_until.eq(Some(now - chrono::TimeDelta::seconds(1))),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let report = outbox::deliver_due(&app.db, &app.mailer, now).unwrap();
    assert_eq!(report.failed, 1);
    assert!(app.sent_mail().is_empty(), "not sent once more");
    let failed = app.outbox(outbox::Status::Failed);
    assert_eq!(failed.len(), 1, "staff see it in the outbox");
    assert!(
        failed[0].last_error.contains("worker stopped"),
        "{}",
        failed[0].last_error
    );
    assert_eq!(jobs_of(&app, outbox::SEND_EMAIL)[0].status, Status::Failed);
    // Retried from the outbox, it goes out.
    assert!(outbox::retry(&mut app.conn(), failed[0].id).unwrap());
    assert_eq!(app.deliver_mail().sent, 1);
}

#[actix_web::test]
async fn a_recurring_job_runs_once_per_period_however_many_workers_run() {
    let app = TestApp::spawn().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let runner = |runs: Arc<AtomicUsize>| {
        Runner::new(
            Vec::new(),
            vec![Job::new("test.tick", Duration::from_secs(60), move |_| {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(1)
            })],
        )
    };
    let (a, b) = (runner(runs.clone()), runner(runs.clone()));
    // Both servers start and schedule it: one row.
    a.schedule(&mut app.conn()).unwrap();
    b.schedule(&mut app.conn()).unwrap();
    assert_eq!(jobs_of(&app, "test.tick").len(), 1);

    let env = app.job_env();
    let now = site_core::now();
    for runner in [&a, &b, &a] {
        runner.run_due(&env, None, now).unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "once in this period");
    let row = &jobs_of(&app, "test.tick")[0];
    assert_eq!(row.status, Status::Pending);
    assert_eq!(row.run_at, now + chrono::TimeDelta::seconds(60));

    let next = now + chrono::TimeDelta::seconds(61);
    for runner in [&b, &a] {
        runner.run_due(&env, None, next).unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 2, "once more in the next");
}

#[actix_web::test]
async fn a_failing_recurring_job_is_retried_and_shown_to_staff() {
    let app = TestApp::spawn().await;
    let broken = Runner::new(
        Vec::new(),
        vec![Job::new("test.broken", Duration::from_secs(3600), |_| {
            anyhow::bail!("the disk is full")
        })],
    );
    broken.schedule(&mut app.conn()).unwrap();
    let now = site_core::now();
    let ran = broken.run_due(&app.job_env(), None, now).unwrap();
    assert_eq!(ran.len(), 1);
    // Retried before the hour is out, never failed for good.
    assert!(
        matches!(ran[0].outcome, Outcome::Retry(at) if at <= now + chrono::TimeDelta::seconds(30))
    );
    app.user("ops@example.com", PW, true);
    let c = app.client();
    c.login("ops@example.com", PW).await;
    let page = c.get("/admin/core/job/?status=retrying").await;
    assert_eq!(page.status, 200);
    assert!(page.contains("test.broken (recurring)"), "{}", page.text());
    assert!(page.contains("the disk is full"));
    assert!(page.contains("Retrying"));
}

#[actix_web::test]
async fn staff_see_failed_jobs_and_retry_them() {
    let app = TestApp::spawn().await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = attempts.clone();
    // A task that fails for good on its first run, then works.
    let runner = Runner::new(
        vec![Task::new("test.flaky", move |_, job| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(jobs::JobError::Permanent(format!(
                    "the supplier refused {}",
                    job.payload
                )));
            }
            Ok(())
        })],
        Vec::new(),
    );
    jobs::enqueue(
        &mut app.conn(),
        "test.flaky",
        &serde_json::json!({"sku": "MUG-1"}),
    )
    .unwrap();
    let env = app.job_env();
    let ran = runner.run_due(&env, None, site_core::now()).unwrap();
    assert_eq!(ran[0].outcome, Outcome::Failed);
    let failed = jobs_of(&app, "test.flaky");
    assert_eq!(failed[0].status, Status::Failed);
    assert!(failed[0].failed_at.is_some());
    // Nothing runs it again by itself.
    assert!(runner
        .run_due(&env, None, site_core::now() + chrono::TimeDelta::days(2))
        .unwrap()
        .is_empty());

    // A staff member without the permission cannot see the page.
    app.user("clerk@example.com", PW, false);
    let clerk = app.client();
    clerk.login("clerk@example.com", PW).await;
    assert_ne!(clerk.get("/admin/core/job/").await.status, 200);

    app.user("ops@example.com", PW, true);
    let c = app.client();
    c.login("ops@example.com", PW).await;
    let page = c.get("/admin/core/job/?status=failed").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.count("data-testid=\"row\""), 1, "{}", page.text());
    assert!(page.contains("the supplier refused"));
    let detail = c
        .get(&format!("/admin/core/job/{}/change/", failed[0].id))
        .await;
    assert_eq!(detail.status, 200);
    assert!(detail.contains("MUG-1"), "the arguments are shown");

    let id = failed[0].id.to_string();
    let retried = c
        .follow(
            c.submit_multi(
                &page,
                "/admin/core/job/?status=failed",
                &[("action", "retry"), ("_selected", &id)],
            )
            .await,
        )
        .await;
    assert!(
        retried.contains("1 job was queued to run now."),
        "{}",
        retried.text()
    );
    let ran = runner.run_due(&env, None, site_core::now()).unwrap();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].outcome, Outcome::Done);
    assert!(jobs_of(&app, "test.flaky").is_empty());
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[actix_web::test]
async fn an_email_retried_from_the_jobs_page_is_sent_and_marked_sent() {
    let app = TestApp::spawn().await;
    outbox::enqueue(&mut app.conn(), &email("e@example.com", "Refused")).unwrap();
    // A server that refuses connections, until the last attempt.
    let mut cfg = app.config.clone();
    cfg.smtp_url = Some(format!("smtp://127.0.0.1:{}", crate::support::free_port()));
    let down = site_core::mail::Mailer::from_config(&cfg).unwrap();
    let mut at = site_core::now();
    for _ in 0..outbox::MAX_ATTEMPTS {
        outbox::deliver_due(&app.db, &down, at).unwrap();
        at += chrono::TimeDelta::hours(7);
    }
    assert_eq!(app.outbox(outbox::Status::Failed).len(), 1);
    let job = &jobs_of(&app, outbox::SEND_EMAIL)[0];
    assert_eq!(job.status, Status::Failed);
    assert_eq!(job.attempts, outbox::MAX_ATTEMPTS);

    assert_eq!(jobs::retry(&mut app.conn(), &[job.id]).unwrap(), 1);
    assert_eq!(app.deliver_mail().sent, 1, "the working mailer sends it");
    assert_eq!(app.outbox(outbox::Status::Sent).len(), 1);
    assert!(jobs_of(&app, outbox::SEND_EMAIL).is_empty());
}

/// Email waiting in the outbox and webhook events not processed when the
/// jobs table arrives become jobs, and are sent and processed.
#[actix_web::test]
async fn the_migration_queues_what_was_waiting_before_it() {
    use diesel_migrations::MigrationHarness;
    use site_core::db::DbConn;
    let app = TestApp::spawn().await;
    let mut conn = app.conn();
    let before_jobs = |v: String| v.contains("000027");
    let legacy = r#"INSERT INTO core_outbox (recipient, subject, text_body, html_body, message_id,
                  status, attempts, next_attempt_at, claimed_until, last_error, created_at) VALUES
                  ('old@example.com', 'Queued before the jobs table', 't', '<p>h</p>', 'legacy-1',
                  'sending', 1, '2026-01-01 00:00:00', '2026-01-01 00:05:00', 'timed out',
                  '2026-01-01 00:00:00');
                  INSERT INTO core_outbox (recipient, subject, text_body, html_body, message_id,
                  status, attempts, next_attempt_at, last_error, created_at, sent_at) VALUES
                  ('done@example.com', 'Sent long ago', 't', '<p>h</p>', 'legacy-2', 'sent', 1,
                  '2026-01-01 00:00:00', '', '2026-01-01 00:00:00', '2026-01-01 00:00:01');
                  INSERT INTO payments_webhook_event (provider, event_id, kind, payload, received_at,
                  attempts, last_error) VALUES ('demo-pay', 'evt_legacy', 'charge.succeeded',
                  '{"id":"evt_legacy","type":"charge.succeeded","reference":"nobody",
                  "amount_minor":100,"currency":"USD"}',
                  '2026-01-01 00:00:00', 0, '')"#;
    match &mut *conn {
        DbConn::Sqlite(c) => {
            use site_core::db::SQLITE_MIGRATIONS as M;
            while !before_jobs(c.revert_last_migration(M).unwrap().to_string()) {}
            c.batch_execute(legacy).unwrap();
            c.run_pending_migrations(M).unwrap();
        }
        DbConn::Postgres(c) => {
            use site_core::db::POSTGRES_MIGRATIONS as M;
            while !before_jobs(c.revert_last_migration(M).unwrap().to_string()) {}
            c.batch_execute(legacy).unwrap();
            c.run_pending_migrations(M).unwrap();
        }
    }
    drop(conn);
    let sends = jobs_of(&app, outbox::SEND_EMAIL);
    assert_eq!(sends.len(), 1, "only the message not sent yet");
    assert_eq!(sends[0].attempts, 1, "its attempts carry over");
    assert_eq!(jobs_of(&app, payments::webhooks::PROCESS_WEBHOOK).len(), 1);
    assert_eq!(app.deliver_mail().sent, 1);
    assert_eq!(app.sent_mail()[0].to, "old@example.com");
    assert_eq!(app.process_webhooks().await, 1);
    assert!(jobs_of(&app, payments::webhooks::PROCESS_WEBHOOK).is_empty());
    let note: String = site_core::schema::payments_webhook_event::table
        .select(site_core::schema::payments_webhook_event::last_error)
        .first(&mut *app.conn())
        .unwrap();
    assert!(
        note.contains("No payment has the reference nobody"),
        "{note}"
    );
}

struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &mut self.0 {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

/// Three `site worker` processes on one database: each email is written
/// once, by one of them.
#[actix_web::test]
async fn three_worker_processes_share_the_queue() {
    let app = TestApp::spawn().await;
    for i in 0..30 {
        outbox::enqueue(
            &mut app.conn(),
            &email(&format!("w{i}@example.com"), &format!("Parcel {i}")),
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let secret = site_core::random_token(64);
    let mut workers = Workers(Vec::new());
    for n in 0..3 {
        let var = dir.path().join(format!("w{n}"));
        workers.0.push(
            Command::new(env!("CARGO_BIN_EXE_site"))
                .arg("worker")
                .env("DATABASE_URL", &app.config.database_url)
                .env("SHOP_VAR_DIR", &var)
                .env("SECRET_KEY", &secret)
                .env_remove("SMTP_URL")
                .env_remove("REDIS_URL")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start a worker"),
        );
    }
    let written = || -> Vec<String> {
        (0..3)
            .flat_map(|n| {
                std::fs::read_dir(dir.path().join(format!("w{n}")).join("mail"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            })
            .collect()
    };
    for _ in 0..300 {
        if app.outbox(outbox::Status::Sent).len() == 30 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment more: a duplicate send would show now.
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    drop(workers);
    let mails = written();
    assert_eq!(mails.len(), 30, "each email written once");
    for i in 0..30 {
        let subject = format!("Subject: Parcel {i}\r\n");
        assert_eq!(
            mails.iter().filter(|m| m.contains(&subject)).count(),
            1,
            "Parcel {i}"
        );
    }
    // The recurring rows exist once each, however many workers started.
    let recurring: Vec<String> = j::table
        .filter(j::every_seconds.is_not_null())
        .select(j::kind)
        .load(&mut *app.conn())
        .unwrap();
    let mut unique = recurring.clone();
    unique.sort();
    unique.dedup();
    assert!(recurring.contains(&"core.clear_sessions".to_string()));
    assert_eq!(recurring.len(), unique.len());
}

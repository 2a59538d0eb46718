//! Background work through one table, `core_job`.
//!
//! - **Queued jobs** ([`enqueue`]) are written in the transaction of the
//!   change that needs them (an email to send, a webhook to process): a
//!   rolled-back change queues nothing, a committed one always runs.
//! - **Recurring jobs** (an app's [`Job`]s: the unpaid-order sweep, session
//!   cleanup) are one row per name that is rescheduled after each run, so
//!   however many servers and workers run, each job runs once per period.
//!
//! A worker claims a due row with a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so workers never wait on each other; SQLite has one writer),
//! runs it, and finishes it only if its claim is still the current one. A
//! job whose worker died is claimed again once the lease runs out. A queued
//! job that keeps failing is retried with backoff, then marked failed and
//! waits for staff, who retry it from the admin (`/admin/core/job/`).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Text, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::app::{Job, JobEnv};
use crate::db::{Database, DbConn};
use crate::schema::core_job as j;

pub mod admin;

/// How long a worker owns a claimed job: longer than any job takes (an
/// SMTP timeout, a demo reset). A job whose worker died waits this long.
pub const LEASE: TimeDelta = TimeDelta::minutes(5);

/// Attempts a queued job gets unless its task says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 12;

/// Recurring rows never fail for good: they are retried every period.
const RECURRING_ATTEMPTS: i32 = i32::MAX;

crate::text_enum! {
    /// Where a job is: waiting (to run, or to run again after a failure),
    /// held by a worker, or failed for good and waiting for staff.
    pub enum Status {
        Pending = "pending",
        Running = "running",
        Failed = "failed",
    }
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "Waiting",
            Status::Running => "Running",
            Status::Failed => "Failed",
        }
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Serialize)]
#[diesel(table_name = j)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub every_seconds: Option<i32>,
    pub status: Status,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub claim_token: String,
    pub claimed_by: String,
    pub last_error: String,
    pub created_at: NaiveDateTime,
    pub failed_at: Option<NaiveDateTime>,
}

impl JobRow {
    /// The job's arguments.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_str(&self.payload).map_err(|e| {
            JobError::Permanent(format!(
                "its arguments {:?} do not parse: {e}",
                self.payload
            ))
        })
    }

    pub fn recurring(&self) -> bool {
        self.every_seconds.is_some()
    }

    /// Waiting to run again after an error (a status of its own for staff).
    pub fn retrying(&self) -> bool {
        self.status == Status::Pending && !self.last_error.is_empty()
    }
}

/// Why a job did not finish.
#[derive(Debug)]
pub enum JobError {
    /// Worth trying again later (a server down, a lock held elsewhere).
    Retry(String),
    /// Will never work (a refused address, arguments that do not parse):
    /// fails the job at once.
    Permanent(String),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Retry(e) | JobError::Permanent(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for JobError {}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> Self {
        JobError::Retry(format!("{e:#}"))
    }
}

impl From<diesel::result::Error> for JobError {
    fn from(e: diesel::result::Error) -> Self {
        JobError::Retry(e.to_string())
    }
}

impl From<diesel::r2d2::PoolError> for JobError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        JobError::Retry(e.to_string())
    }
}

pub type TaskFn = dyn Fn(&JobEnv, &JobRow) -> Result<(), JobError> + Send + Sync;
pub type FailedFn = dyn Fn(&JobEnv, &JobRow, &str) -> anyhow::Result<()> + Send + Sync;

/// What runs a queued job of one kind. How many attempts a job gets is
/// written on its row when it is queued ([`enqueue_at`]).
#[derive(Clone)]
pub struct Task {
    /// `app.verb_noun`, e.g. `core.send_email`: what [`enqueue`] names.
    pub kind: &'static str,
    /// The wait after the first failure; it doubles after each, up to 6 h.
    pub first_retry: TimeDelta,
    pub run: Arc<TaskFn>,
    /// Called once a job has failed for good (out of attempts, a permanent
    /// error, or its worker dying on the last attempt), with the error: to
    /// record it where staff look (the outbox marks its message failed).
    pub on_failed: Option<Arc<FailedFn>>,
}

impl Task {
    pub fn new(
        kind: &'static str,
        run: impl Fn(&JobEnv, &JobRow) -> Result<(), JobError> + Send + Sync + 'static,
    ) -> Self {
        Task {
            kind,
            first_retry: TimeDelta::seconds(30),
            run: Arc::new(run),
            on_failed: None,
        }
    }

    pub fn on_failed(
        mut self,
        f: impl Fn(&JobEnv, &JobRow, &str) -> anyhow::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.on_failed = Some(Arc::new(f));
        self
    }

    pub fn first_retry(mut self, wait: TimeDelta) -> Self {
        self.first_retry = wait;
        self
    }
}

/// The wait before attempt `attempts + 1`: `first`, doubling, at most 6 h.
pub fn retry_delay(first: TimeDelta, attempts: i32) -> TimeDelta {
    let exp = attempts.clamp(1, 16) - 1;
    (first * (1 << exp)).min(TimeDelta::hours(6))
}

/// Queues a job of `kind` with `args`, to run now, in the caller's
/// transaction.
pub fn enqueue(conn: &mut DbConn, kind: &str, args: &impl Serialize) -> QueryResult<()> {
    enqueue_at(conn, kind, args, crate::now(), DEFAULT_MAX_ATTEMPTS)
}

/// Queues a job to run at `run_at` with `max_attempts`.
pub fn enqueue_at(
    conn: &mut DbConn,
    kind: &str,
    args: &impl Serialize,
    run_at: NaiveDateTime,
    max_attempts: i32,
) -> QueryResult<()> {
    let payload = serde_json::to_string(args)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::insert_into(j::table)
        .values((
            j::kind.eq(kind),
            j::payload.eq(payload),
            j::status.eq(Status::Pending),
            j::attempts.eq(0),
            j::max_attempts.eq(max_attempts.max(1)),
            j::run_at.eq(run_at),
            j::claim_token.eq(""),
            j::claimed_by.eq(""),
            j::last_error.eq(""),
            j::created_at.eq(crate::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// What putting a job back in the queue sets: due now, a fresh set of
/// attempts, no longer failed.
type RunAgain = (
    diesel::dsl::Eq<j::status, Status>,
    diesel::dsl::Eq<j::run_at, NaiveDateTime>,
    diesel::dsl::Eq<j::attempts, i32>,
    diesel::dsl::Eq<j::failed_at, Option<NaiveDateTime>>,
);

fn run_again() -> RunAgain {
    (
        j::status.eq(Status::Pending),
        j::run_at.eq(crate::now()),
        j::attempts.eq(0),
        j::failed_at.eq(None),
    )
}

/// Puts failed (or retrying) jobs back in the queue to run now with a
/// fresh set of attempts; how many were.
pub fn retry(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    diesel::update(
        j::table.filter(j::id.eq_any(ids)).filter(
            j::status
                .eq(Status::Failed)
                .or(j::status.eq(Status::Pending).and(j::last_error.ne(""))),
        ),
    )
    .set(run_again())
    .execute(conn)
}

/// Runs the failed job of `kind` with exactly these `args` again, or
/// queues a new one (with `max_attempts`) if there is none (staff retrying
/// from another page, such as the outbox's).
pub fn retry_or_enqueue(
    conn: &mut DbConn,
    kind: &str,
    args: &impl Serialize,
    max_attempts: i32,
) -> QueryResult<()> {
    let payload = serde_json::to_string(args)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let ids: Vec<i64> = j::table
        .filter(j::kind.eq(kind))
        .filter(j::payload.eq(&payload))
        .filter(j::status.ne(Status::Running))
        .select(j::id)
        .load(conn)?;
    if ids.is_empty() {
        return enqueue_at(conn, kind, args, crate::now(), max_attempts);
    }
    diesel::update(j::table.filter(j::id.eq_any(&ids)))
        .set(run_again())
        .execute(conn)?;
    Ok(())
}

/// Counts for the metrics: jobs due and not claimed, and jobs failed.
pub fn backlog(conn: &mut DbConn) -> QueryResult<(i64, i64)> {
    let waiting = j::table
        .filter(j::status.eq(Status::Pending))
        .filter(j::run_at.le(crate::now()))
        .count()
        .get_result(conn)?;
    let failed = j::table
        .filter(j::status.eq(Status::Failed))
        .count()
        .get_result(conn)?;
    Ok((waiting, failed))
}

const CLAIM_SET: &str = "status = 'running', attempts = attempts + 1, \
                         claimed_until = {1}, claim_token = {2}, claimed_by = {3}";

/// The claim statement for one backend: `pending` picks the oldest due
/// job, else a job whose lease ran out.
fn claim_sql(postgres: bool, pending: bool) -> String {
    let (p, kinds, lock) = if postgres {
        (
            ["$1", "$2", "$3", "$4", "$5"],
            "kind = ANY($4)",
            " FOR UPDATE SKIP LOCKED",
        )
    } else {
        (
            ["?1", "?2", "?3", "?4", "?5"],
            "kind IN (SELECT value FROM json_each(?4))",
            "",
        )
    };
    let due = if pending {
        format!("status = 'pending' AND run_at <= {}", p[4])
    } else {
        format!("status = 'running' AND claimed_until < {}", p[4])
    };
    let set = CLAIM_SET
        .replace("{1}", p[0])
        .replace("{2}", p[1])
        .replace("{3}", p[2]);
    format!(
        "UPDATE core_job SET {set} WHERE id = (SELECT id FROM core_job \
         WHERE {due} AND {kinds} ORDER BY run_at, id LIMIT 1{lock}) RETURNING *"
    )
}

/// Claims one due job of `kinds` for `worker` (a job whose lease ran out
/// first, then the oldest due one). `now` decides what is due (tests pass
/// a later one rather than wait out a backoff); the lease runs from the
/// real clock.
pub fn claim(
    conn: &mut DbConn,
    kinds: &[&str],
    now: NaiveDateTime,
    worker: &str,
) -> QueryResult<Option<JobRow>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let lease = now.max(crate::now()) + LEASE;
    for pending in [false, true] {
        let token = crate::random_token(24);
        let claimed = match conn {
            DbConn::Postgres(pg) => diesel::sql_query(claim_sql(true, pending))
                .bind::<Timestamp, _>(lease)
                .bind::<Text, _>(&token)
                .bind::<Text, _>(worker)
                .bind::<Array<Text>, _>(kinds)
                .bind::<Timestamp, _>(now)
                .get_result::<JobRow>(pg)
                .optional()?,
            DbConn::Sqlite(lite) => {
                let kinds = serde_json::to_string(kinds).expect("strings serialise");
                diesel::sql_query(claim_sql(false, pending))
                    .bind::<Timestamp, _>(lease)
                    .bind::<Text, _>(&token)
                    .bind::<Text, _>(worker)
                    .bind::<Text, _>(kinds)
                    .bind::<Timestamp, _>(now)
                    .get_result::<JobRow>(lite)
                    .optional()?
            }
        };
        if claimed.is_some() {
            return Ok(claimed);
        }
    }
    Ok(None)
}

/// What became of a job run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done: a queued job is deleted, a recurring one scheduled again.
    Done,
    /// Failed this time; runs again at the given time.
    Retry(NaiveDateTime),
    /// Failed for good: waits for staff.
    Failed,
    /// Another worker took it over after this one's lease ran out: this
    /// run's result was not recorded.
    Lost,
}

/// Records how `job` went, if this worker's claim is still the current
/// one. The next run is scheduled from `now` (the time the job was claimed
/// as due at); `first_retry` paces the retries of a queued job.
pub fn finish(
    conn: &mut DbConn,
    job: &JobRow,
    result: &Result<(), JobError>,
    now: NaiveDateTime,
    first_retry: TimeDelta,
) -> QueryResult<Outcome> {
    let mine = j::table
        .find(job.id)
        .filter(j::status.eq(Status::Running))
        .filter(j::claim_token.eq(&job.claim_token));
    let released = (
        j::claimed_until.eq(None::<NaiveDateTime>),
        j::claim_token.eq(""),
    );
    let (outcome, n) = match (result, job.every_seconds) {
        (Ok(()), None) => (Outcome::Done, diesel::delete(mine).execute(conn)?),
        (Ok(()), Some(every)) => {
            let next = now + TimeDelta::seconds(i64::from(every));
            let n = diesel::update(mine)
                .set((
                    j::status.eq(Status::Pending),
                    j::run_at.eq(next),
                    j::attempts.eq(0),
                    j::last_error.eq(""),
                    released,
                ))
                .execute(conn)?;
            (Outcome::Done, n)
        }
        (Err(e), every) => {
            let give_up = every.is_none()
                && (matches!(e, JobError::Permanent(_)) || job.attempts >= job.max_attempts);
            if give_up {
                let n = diesel::update(mine)
                    .set((
                        j::status.eq(Status::Failed),
                        j::failed_at.eq(Some(crate::now())),
                        j::last_error.eq(e.to_string()),
                        released,
                    ))
                    .execute(conn)?;
                (Outcome::Failed, n)
            } else {
                let mut wait = retry_delay(first_retry, job.attempts);
                if let Some(every) = every {
                    wait = wait.min(TimeDelta::seconds(i64::from(every)));
                }
                let next = now + wait;
                let n = diesel::update(mine)
                    .set((
                        j::status.eq(Status::Pending),
                        j::run_at.eq(next),
                        j::last_error.eq(e.to_string()),
                        released,
                    ))
                    .execute(conn)?;
                (Outcome::Retry(next), n)
            }
        }
    };
    Ok(if n == 1 { outcome } else { Outcome::Lost })
}

/// A job this worker ran.
#[derive(Debug, Clone)]
pub struct Ran {
    pub id: i64,
    pub kind: &'static str,
    pub outcome: Outcome,
    /// The error, when it failed.
    pub error: Option<String>,
    /// What a recurring job reported doing (logged when not zero).
    pub count: usize,
}

/// The jobs every app declares, by kind, and who this worker is.
#[derive(Clone)]
pub struct Runner {
    tasks: HashMap<&'static str, Task>,
    recurring: HashMap<&'static str, Job>,
    kinds: Vec<&'static str>,
    worker: String,
}

impl Runner {
    pub fn new(tasks: Vec<Task>, recurring: Vec<Job>) -> Self {
        let tasks: HashMap<_, _> = tasks.into_iter().map(|t| (t.kind, t)).collect();
        let recurring: HashMap<_, _> = recurring.into_iter().map(|r| (r.name, r)).collect();
        let mut kinds: Vec<_> = tasks.keys().chain(recurring.keys()).copied().collect();
        kinds.sort_unstable();
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        Runner {
            tasks,
            recurring,
            kinds,
            worker: format!("{host}:{}:{}", std::process::id(), crate::random_token(4)),
        }
    }

    /// Every kind this worker runs.
    pub fn kinds(&self) -> &[&'static str] {
        &self.kinds
    }

    /// Creates the row of each recurring job that has none (due at once),
    /// and keeps each row's period the code's.
    pub fn schedule(&self, conn: &mut DbConn) -> QueryResult<()> {
        let now = crate::now();
        for job in self.recurring.values() {
            let every = i32::try_from(job.every.as_secs().max(1)).unwrap_or(i32::MAX);
            let sql = |p: [&str; 5]| {
                format!(
                    "INSERT INTO core_job (kind, payload, every_seconds, status, attempts, \
                     max_attempts, run_at, claim_token, claimed_by, last_error, created_at) \
                     VALUES ({}, '{{}}', {}, 'pending', 0, {}, {}, '', '', '', {}) \
                     ON CONFLICT (kind) WHERE every_seconds IS NOT NULL \
                     DO UPDATE SET every_seconds = excluded.every_seconds",
                    p[0], p[1], p[2], p[3], p[4]
                )
            };
            macro_rules! upsert {
                ($c:expr, $p:expr) => {
                    diesel::sql_query(sql($p))
                        .bind::<Text, _>(job.name)
                        .bind::<Integer, _>(every)
                        .bind::<Integer, _>(RECURRING_ATTEMPTS)
                        .bind::<Timestamp, _>(now)
                        .bind::<Timestamp, _>(now)
                        .execute($c)
                };
            }
            match conn {
                DbConn::Postgres(pg) => upsert!(pg, ["$1", "$2", "$3", "$4", "$5"]),
                DbConn::Sqlite(lite) => upsert!(lite, ["?1", "?2", "?3", "?4", "?5"]),
            }?;
        }
        Ok(())
    }

    /// Claims and runs one due job of `kinds` (all of this worker's when
    /// `None`); `None` when nothing was due.
    pub fn run_next(
        &self,
        env: &JobEnv,
        kinds: Option<&[&str]>,
        now: NaiveDateTime,
    ) -> anyhow::Result<Option<Ran>> {
        let kinds = kinds.unwrap_or(&self.kinds);
        let Some(job) = claim(&mut *env.db.get()?, kinds, now, &self.worker)? else {
            return Ok(None);
        };
        let (kind, first_retry, result, count) =
            if let Some(task) = self.tasks.get(job.kind.as_str()) {
                let result = match worker_died(&job) {
                    Some(died) => Err(died),
                    None => (task.run)(env, &job),
                };
                (task.kind, task.first_retry, result, 0)
            } else if let Some(rec) = self.recurring.get(job.kind.as_str()) {
                match (rec.run)(env) {
                    Ok(n) => (rec.name, TimeDelta::seconds(30), Ok(()), n),
                    Err(e) => (rec.name, TimeDelta::seconds(30), Err(e.into()), 0),
                }
            } else {
                unreachable!("claimed only kinds this runner knows");
            };
        let error = result.as_ref().err().map(|e| e.to_string());
        let outcome = finish(&mut *env.db.get()?, &job, &result, now, first_retry)?;
        if let (Outcome::Failed, Some(e), Some(task)) =
            (&outcome, &error, self.tasks.get(job.kind.as_str()))
        {
            if let Some(on_failed) = &task.on_failed {
                if let Err(hook) = on_failed(env, &job, e) {
                    tracing::warn!(job = job.id, kind, error = %hook, "recording a failed job");
                }
            }
        }
        match (&outcome, &error) {
            (Outcome::Failed, Some(e)) => {
                tracing::error!(job = job.id, kind, attempts = job.attempts, error = %e, "job failed for good; staff can retry it")
            }
            (Outcome::Retry(at), Some(e)) => {
                tracing::warn!(job = job.id, kind, attempts = job.attempts, error = %e, retry_at = %at, "job failed; will retry")
            }
            (Outcome::Lost, _) => {
                tracing::warn!(
                    job = job.id,
                    kind,
                    "job ran past its lease; another worker has it"
                )
            }
            _ if count > 0 => tracing::info!(job = kind, count, "done"),
            _ => {}
        }
        Ok(Some(Ran {
            id: job.id,
            kind,
            outcome,
            error,
            count,
        }))
    }

    /// Runs every job of `kinds` due at `now` until none is left (what a
    /// worker does between naps); what ran.
    pub fn run_due(
        &self,
        env: &JobEnv,
        kinds: Option<&[&str]>,
        now: NaiveDateTime,
    ) -> anyhow::Result<Vec<Ran>> {
        let mut ran = Vec::new();
        while let Some(r) = self.run_next(env, kinds, now)? {
            ran.push(r);
        }
        Ok(ran)
    }
}

/// A job claimed again after its lease ran out once too often: its worker
/// keeps dying on it, so it is not run again.
fn worker_died(job: &JobRow) -> Option<JobError> {
    (job.attempts > job.max_attempts).then(|| {
        JobError::Permanent(format!(
            "its worker stopped while running it ({} times)",
            job.max_attempts
        ))
    })
}

/// Runs queued jobs of one kind outside a worker, with a caller-supplied
/// step and failure record (the outbox's `deliver_due` sends with the
/// mailer it is given).
pub fn run_kind(
    db: &Database,
    kind: &str,
    now: NaiveDateTime,
    first_retry: TimeDelta,
    mut step: impl FnMut(&JobRow) -> Result<(), JobError>,
    mut on_failed: impl FnMut(&JobRow, &str) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<Outcome>> {
    let worker = format!("inline:{}", std::process::id());
    let mut outcomes = Vec::new();
    while let Some(job) = claim(&mut *db.get()?, &[kind], now, &worker)? {
        let result = match worker_died(&job) {
            Some(died) => Err(died),
            None => step(&job),
        };
        let outcome = finish(&mut *db.get()?, &job, &result, now, first_retry)?;
        if let (Outcome::Failed, Err(e)) = (&outcome, &result) {
            on_failed(&job, &e.to_string())?;
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

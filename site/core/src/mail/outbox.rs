//! The outbox: email waits in `core_outbox` until a worker has handed it
//! to the mail server. A message and the job that sends it
//! (`core.send_email`, see `crate::jobs`) are written in the transaction of
//! the change that causes them, so a rolled-back change sends nothing and
//! a committed one always sends, even if the mail server is down for hours.
//!
//! The job's lease keeps two workers from sending the same message; the
//! message keeps what became of it for staff. Every attempt carries the
//! same Message-ID.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::{Email, Mailer};
use crate::db::{Database, DbConn};
use crate::jobs::{JobError, JobRow, Outcome, Task};
use crate::schema::core_outbox as o;

/// After this many failed attempts a message is marked failed and waits
/// for staff (the delays add up to about a day).
pub const MAX_ATTEMPTS: i32 = 12;

/// The job that sends one message.
pub const SEND_EMAIL: &str = "core.send_email";

/// The wait after the first failure; it doubles after each.
const FIRST_RETRY: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
struct SendArgs {
    outbox: i64,
}

crate::text_enum! {
    /// Where a message is: waiting (for its first attempt or a retry),
    /// sent, or failed for good.
    pub enum Status {
        Pending = "pending",
        Sent = "sent",
        Failed = "failed",
    }
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "Waiting",
            Status::Sent => "Sent",
            Status::Failed => "Failed",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = o)]
pub struct OutboxMessage {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub message_id: String,
    pub status: Status,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: String,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl OutboxMessage {
    fn email(&self) -> Email {
        Email {
            to: self.recipient.clone(),
            subject: self.subject.clone(),
            text: self.text_body.clone(),
            html: self.html_body.clone(),
        }
    }
}

/// Queues `email`; it is sent once the surrounding transaction commits.
pub fn enqueue(conn: &mut DbConn, email: &Email) -> QueryResult<()> {
    let now = crate::now();
    let message_id = crate::random_token(32);
    diesel::insert_into(o::table)
        .values((
            o::recipient.eq(&email.to),
            o::subject.eq(&email.subject),
            o::text_body.eq(&email.text),
            o::html_body.eq(&email.html),
            o::message_id.eq(&message_id),
            o::status.eq(Status::Pending),
            o::attempts.eq(0),
            o::next_attempt_at.eq(now),
            o::last_error.eq(""),
            o::created_at.eq(now),
        ))
        .execute(conn)?;
    let outbox = o::table
        .filter(o::message_id.eq(&message_id))
        .select(o::id)
        .first(conn)?;
    crate::jobs::enqueue_at(conn, SEND_EMAIL, &SendArgs { outbox }, now, MAX_ATTEMPTS)
}

/// The wait before attempt `attempts + 1`: 30 s, doubling, at most 6 h.
pub fn retry_delay(attempts: i32) -> chrono::TimeDelta {
    crate::jobs::retry_delay(FIRST_RETRY, attempts)
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    /// Failed this time; will be tried again.
    pub deferred: usize,
    /// Failed for good (permanent error or out of attempts).
    pub failed: usize,
}

impl Delivery {
    pub fn total(&self) -> usize {
        self.sent + self.deferred + self.failed
    }
}

/// Sends the message of one `core.send_email` job and records on it what
/// happened. Holds no connection while talking to the mail server.
pub fn send(db: &Database, mailer: &Mailer, job: &JobRow) -> Result<(), JobError> {
    let SendArgs { outbox } = job.args()?;
    let Some(msg) = o::table
        .find(outbox)
        .select(OutboxMessage::as_select())
        .first(&mut *db.get()?)
        .optional()?
    else {
        // Deleted by staff: nothing to send.
        return Ok(());
    };
    if msg.status == Status::Sent {
        return Ok(());
    }
    let message_id = format!("<{}@{}>", msg.message_id, mailer.domain());
    let outcome = mailer.send(&msg.email(), Some(&message_id));
    let mut conn = db.get()?;
    let row = o::table.find(msg.id);
    match &outcome {
        Ok(()) => {
            diesel::update(row)
                .set((
                    o::status.eq(Status::Sent),
                    o::attempts.eq(job.attempts),
                    o::sent_at.eq(Some(crate::now())),
                    o::last_error.eq(""),
                ))
                .execute(&mut conn)?;
            Ok(())
        }
        // Failed for good: `failed` records it on the message.
        Err(e) if e.is_permanent() => Err(JobError::Permanent(e.to_string())),
        Err(e) => {
            diesel::update(row)
                .set((
                    o::status.eq(Status::Pending),
                    o::attempts.eq(job.attempts),
                    o::next_attempt_at.eq(crate::now() + retry_delay(job.attempts)),
                    o::last_error.eq(e.to_string()),
                ))
                .execute(&mut conn)?;
            Err(JobError::Retry(e.to_string()))
        }
    }
}

/// Marks the message of a `core.send_email` job that failed for good
/// (staff see it in the outbox and can retry it there).
pub fn failed(db: &Database, job: &JobRow, error: &str) -> anyhow::Result<()> {
    let SendArgs { outbox } = job.args()?;
    tracing::error!(outbox_id = outbox, attempts = job.attempts, %error, "email failed for good; staff can retry it");
    diesel::update(o::table.find(outbox).filter(o::status.ne(Status::Sent)))
        .set((
            o::status.eq(Status::Failed),
            o::attempts.eq(job.attempts.min(job.max_attempts)),
            o::last_error.eq(error),
        ))
        .execute(&mut *db.get()?)?;
    Ok(())
}

/// Sends every message that is due at `now` with `mailer` (tests pass a
/// later `now` instead of waiting out the backoff, and their own mailer);
/// each message gets one attempt.
pub fn deliver_due(db: &Database, mailer: &Mailer, now: NaiveDateTime) -> anyhow::Result<Delivery> {
    let outcomes = crate::jobs::run_kind(
        db,
        SEND_EMAIL,
        now,
        FIRST_RETRY,
        |job| send(db, mailer, job),
        |job, error| failed(db, job, error),
    )?;
    let mut report = Delivery::default();
    for outcome in outcomes {
        match outcome {
            Outcome::Done => report.sent += 1,
            Outcome::Retry(_) => report.deferred += 1,
            Outcome::Failed => report.failed += 1,
            Outcome::Lost => {}
        }
    }
    Ok(report)
}

/// The task that sends queued email, for the workers.
pub fn task() -> Task {
    Task::new(SEND_EMAIL, |env, job| send(&env.db, &env.mailer, job))
        .first_retry(FIRST_RETRY)
        .on_failed(|env, job, error| failed(&env.db, job, error))
}

/// Messages in `status`, newest first.
pub fn list(conn: &mut DbConn, status: Status, limit: i64) -> QueryResult<Vec<OutboxMessage>> {
    o::table
        .filter(o::status.eq(status))
        .order(o::id.desc())
        .limit(limit)
        .select(OutboxMessage::as_select())
        .load(conn)
}

/// Puts a failed message back in the queue with a fresh set of attempts.
pub fn retry(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    let now = crate::now();
    let again = diesel::update(o::table.find(id).filter(o::status.eq(Status::Failed)))
        .set((
            o::status.eq(Status::Pending),
            o::attempts.eq(0),
            o::next_attempt_at.eq(now),
        ))
        .execute(conn)?
        == 1;
    if again {
        crate::jobs::retry_or_enqueue(conn, SEND_EMAIL, &SendArgs { outbox: id }, MAX_ATTEMPTS)?;
    }
    Ok(again)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(retry_delay(1).num_seconds(), 30);
        assert_eq!(retry_delay(2).num_seconds(), 60);
        assert_eq!(retry_delay(5).num_seconds(), 480);
        assert_eq!(retry_delay(MAX_ATTEMPTS).num_seconds(), 6 * 3600);
        let total: i64 = (1..MAX_ATTEMPTS)
            .map(|a| retry_delay(a).num_seconds())
            .sum();
        assert!(total > 12 * 3600, "retries span the better part of a day");
    }
}

//! The outbox: email waits in `core_outbox` until the mail worker has
//! handed it to the mail server. A message is written in the transaction
//! of the change that causes it, so a rolled-back change sends nothing and
//! a committed one always sends, even if the mail server is down for hours.
//!
//! Delivery claims a row with a conditional UPDATE (a lease), so two
//! workers (the server's and `site worker`) never send the same message
//! twice. Every attempt carries the same Message-ID.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::{Email, Mailer};
use crate::db::{Database, DbConn};
use crate::schema::core_outbox as o;

/// After this many failed attempts a message is marked failed and waits
/// for staff (the delays add up to about a day).
pub const MAX_ATTEMPTS: i32 = 12;

/// How long a worker owns a claimed message; longer than any SMTP timeout.
const LEASE_SECONDS: i64 = 300;

crate::text_enum! {
    /// Where a message is: waiting (for its first attempt or a retry),
    /// being sent by a worker, sent, or failed for good.
    pub enum Status {
        Pending = "pending",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
    }
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "Waiting",
            Status::Sending => "Sending",
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
    pub claimed_until: Option<NaiveDateTime>,
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
    diesel::insert_into(o::table)
        .values((
            o::recipient.eq(&email.to),
            o::subject.eq(&email.subject),
            o::text_body.eq(&email.text),
            o::html_body.eq(&email.html),
            o::message_id.eq(crate::random_token(32)),
            o::status.eq(Status::Pending),
            o::attempts.eq(0),
            o::next_attempt_at.eq(now),
            o::last_error.eq(""),
            o::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The wait before attempt `attempts + 1`: 30 s, doubling, at most 6 h.
pub fn retry_delay(attempts: i32) -> chrono::TimeDelta {
    let exp = attempts.clamp(1, 16) - 1;
    chrono::TimeDelta::seconds((30i64 << exp).min(6 * 3600))
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

fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    o::table
        .filter(
            o::status
                .eq(Status::Pending)
                .and(o::next_attempt_at.le(now))
                .or(o::status.eq(Status::Sending).and(o::claimed_until.lt(now))),
        )
        .order(o::id)
        .select(o::id)
        .limit(limit)
        .load(conn)
}

/// Takes the message for this worker if nobody else has it. The lease runs
/// from the real clock (a round can take long with a slow server), and
/// its end doubles as this claim's token.
fn claim(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<Option<OutboxMessage>> {
    let lease = now.max(crate::now()) + chrono::TimeDelta::seconds(LEASE_SECONDS);
    let claimed = diesel::update(
        o::table.find(id).filter(
            o::status
                .eq(Status::Pending)
                .and(o::next_attempt_at.le(now))
                .or(o::status.eq(Status::Sending).and(o::claimed_until.lt(now))),
        ),
    )
    .set((
        o::status.eq(Status::Sending),
        o::claimed_until.eq(Some(lease)),
        o::attempts.eq(o::attempts + 1),
    ))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    o::table
        .find(id)
        .select(OutboxMessage::as_select())
        .first(conn)
        .map(Some)
}

/// Sends every message that is due at `now` (tests pass a later `now`
/// instead of waiting out the backoff). Holds no connection while talking
/// to the mail server.
pub fn deliver_due(db: &Database, mailer: &Mailer, now: NaiveDateTime) -> anyhow::Result<Delivery> {
    let mut report = Delivery::default();
    loop {
        let ids = due(&mut *db.get()?, now, 50)?;
        let mut progressed = false;
        for id in &ids {
            let Some(msg) = claim(&mut *db.get()?, *id, now)? else {
                continue;
            };
            progressed = true;
            let message_id = format!("<{}@{}>", msg.message_id, mailer.domain());
            let outcome = mailer.send(&msg.email(), Some(&message_id));
            let mut conn = db.get()?;
            // Still ours: nobody re-claimed it after the lease ran out.
            let row = o::table
                .find(msg.id)
                .filter(o::status.eq(Status::Sending))
                .filter(o::claimed_until.eq(msg.claimed_until));
            match outcome {
                Ok(()) => {
                    diesel::update(row)
                        .set((
                            o::status.eq(Status::Sent),
                            o::sent_at.eq(Some(crate::now())),
                            o::claimed_until.eq(None::<NaiveDateTime>),
                            o::last_error.eq(""),
                        ))
                        .execute(&mut conn)?;
                    report.sent += 1;
                }
                Err(e) if e.is_permanent() || msg.attempts >= MAX_ATTEMPTS => {
                    tracing::error!(outbox_id = msg.id, to = %msg.recipient, attempts = msg.attempts, error = %e, "email failed for good; staff can retry it");
                    diesel::update(row)
                        .set((
                            o::status.eq(Status::Failed),
                            o::claimed_until.eq(None::<NaiveDateTime>),
                            o::last_error.eq(e.to_string()),
                        ))
                        .execute(&mut conn)?;
                    report.failed += 1;
                }
                Err(e) => {
                    let next = now + retry_delay(msg.attempts);
                    tracing::warn!(outbox_id = msg.id, attempts = msg.attempts, error = %e, retry_at = %next, "email not sent; will retry");
                    diesel::update(row)
                        .set((
                            o::status.eq(Status::Pending),
                            o::claimed_until.eq(None::<NaiveDateTime>),
                            o::next_attempt_at.eq(next),
                            o::last_error.eq(e.to_string()),
                        ))
                        .execute(&mut conn)?;
                    report.deferred += 1;
                }
            }
        }
        if ids.len() < 50 || !progressed {
            return Ok(report);
        }
    }
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
    diesel::update(o::table.find(id).filter(o::status.eq(Status::Failed)))
        .set((
            o::status.eq(Status::Pending),
            o::attempts.eq(0),
            o::next_attempt_at.eq(crate::now()),
        ))
        .execute(conn)
        .map(|n| n == 1)
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

//! Payments and their transactions, and the two steps of taking money:
//! claim the order (one live payment per order, enforced by a unique
//! index), then record what the provider said.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use orders::Order;
use serde::Serialize;
use site_core::db::{write_transaction, DbConn};
use site_core::schema::{payments_payment as p, payments_transaction as t};

use crate::domain::ChargeOutcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Processing,
    Succeeded,
    Failed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Processing => "processing",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = p)]
pub struct Payment {
    pub id: i64,
    pub order_id: i64,
    pub provider: String,
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub card_last4: String,
    pub idempotency_key: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = t)]
pub struct Transaction {
    pub id: i64,
    pub payment_id: i64,
    pub kind: String,
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reference: String,
    pub message: String,
    pub created_at: NaiveDateTime,
}

impl Payment {
    pub fn by_key(conn: &mut DbConn, key: &str) -> QueryResult<Payment> {
        p::table
            .filter(p::idempotency_key.eq(key))
            .select(Payment::as_select())
            .first(conn)
    }

    pub fn for_order(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<Payment>> {
        p::table
            .filter(p::order_id.eq(order_id))
            .order(p::id.asc())
            .select(Payment::as_select())
            .load(conn)
    }

    pub fn transactions(&self, conn: &mut DbConn) -> QueryResult<Vec<Transaction>> {
        t::table
            .filter(t::payment_id.eq(self.id))
            .order(t::id.asc())
            .select(Transaction::as_select())
            .load(conn)
    }

    /// The decline reason of a failed payment, from its transaction.
    pub fn failure_message(&self, conn: &mut DbConn) -> QueryResult<Option<String>> {
        Ok(self
            .transactions(conn)?
            .into_iter()
            .rev()
            .find(|t| t.status == "declined")
            .map(|t| t.message))
    }
}

#[derive(Debug)]
pub enum Claim {
    /// A new payment, now `processing`: charge it.
    Started(Order, Payment),
    /// This form was submitted before: that payment is the answer.
    Duplicate(Order, Payment),
    /// The order no longer awaits payment.
    NotPayable(Order),
    /// Another payment for this order is being processed right now.
    InProgress(Order),
}

/// Step one: claim the order for a new payment, idempotently per form key.
pub fn claim(
    conn: &mut DbConn,
    public_id: &str,
    key: &str,
    provider: &str,
    card_last4: &str,
) -> QueryResult<Claim> {
    let attempt = write_transaction(conn, |conn| -> QueryResult<Claim> {
        let order = Order::by_public_id(conn, public_id)?;
        if let Some(existing) = Payment::by_key(conn, key).optional()? {
            return Ok(Claim::Duplicate(order, existing));
        }
        if !order.status().awaits_payment() {
            return Ok(Claim::NotPayable(order));
        }
        let now = site_core::now();
        diesel::insert_into(p::table)
            .values((
                p::order_id.eq(order.id),
                p::provider.eq(provider),
                p::status.eq(PaymentStatus::Processing.as_str()),
                p::amount_minor.eq(order.total_minor),
                p::currency.eq(&order.currency),
                p::card_last4.eq(card_last4),
                p::idempotency_key.eq(key),
                p::created_at.eq(now),
                p::updated_at.eq(now),
            ))
            .execute(conn)?;
        let payment = Payment::by_key(conn, key)?;
        Ok(Claim::Started(order, payment))
    });
    match attempt {
        // A unique index refused the insert: either this very form raced
        // itself (same key), or another payment for the order is live.
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            let order = Order::by_public_id(conn, public_id)?;
            match Payment::by_key(conn, key).optional()? {
                Some(existing) => Ok(Claim::Duplicate(order, existing)),
                None => Ok(Claim::InProgress(order)),
            }
        }
        other => other,
    }
}

/// Step two: record the provider's answer; an approval marks the order paid.
pub fn record_outcome(
    conn: &mut DbConn,
    payment: &Payment,
    outcome: &ChargeOutcome,
) -> QueryResult<()> {
    write_transaction(conn, |conn| {
        let now = site_core::now();
        let (status, tx_status, reference, message) = match outcome {
            ChargeOutcome::Approved { reference } => {
                (PaymentStatus::Succeeded, "approved", reference.as_str(), "")
            }
            ChargeOutcome::Declined { reference, reason } => (
                PaymentStatus::Failed,
                "declined",
                reference.as_str(),
                reason.as_str(),
            ),
        };
        diesel::insert_into(t::table)
            .values((
                t::payment_id.eq(payment.id),
                t::kind.eq("charge"),
                t::status.eq(tx_status),
                t::amount_minor.eq(payment.amount_minor),
                t::currency.eq(&payment.currency),
                t::reference.eq(reference),
                t::message.eq(message),
                t::created_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(p::table.find(payment.id))
            .set((p::status.eq(status.as_str()), p::updated_at.eq(now)))
            .execute(conn)?;
        if status == PaymentStatus::Succeeded {
            Order::mark_paid(conn, payment.order_id)?;
        }
        Ok(())
    })
}

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

site_core::text_enum! {
    pub enum PaymentStatus {
        /// Claimed; the provider is being asked.
        Processing = "processing",
        /// The provider's answer was lost (an error or timeout): the card
        /// may or may not have been charged. Resolved by `lookup` before any
        /// new attempt for the order.
        Unconfirmed = "unconfirmed",
        /// The money is held on the card (capture at shipping): staff
        /// capture it before the order ships, or void it.
        Authorized = "authorized",
        /// Charged: the money is the shop's.
        Succeeded = "succeeded",
        Failed = "failed",
        /// Authorized, then released uncaptured: nothing was charged.
        Voided = "voided",
    }
}

impl PaymentStatus {
    pub fn label(self) -> &'static str {
        match self {
            PaymentStatus::Processing => "Processing",
            PaymentStatus::Unconfirmed => "Unconfirmed",
            PaymentStatus::Authorized => "Authorized, not captured",
            PaymentStatus::Succeeded => "Succeeded",
            PaymentStatus::Failed => "Failed",
            PaymentStatus::Voided => "Voided",
        }
    }
}

site_core::text_enum! {
    /// What the provider said to one request.
    pub enum TransactionStatus {
        /// Asked, not answered yet (a refund being made).
        Pending = "pending",
        Approved = "approved",
        Declined = "declined",
    }
}

site_core::text_enum! {
    /// What a transaction asked the provider to do.
    pub enum TransactionKind {
        /// Money taken: a charge, or the capture of an authorization.
        Charge = "charge",
        /// Money held on the card, not taken yet.
        Authorization = "authorization",
        /// An authorization released uncaptured.
        Void = "void",
        Refund = "refund",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = p)]
pub struct Payment {
    pub id: i64,
    pub order_id: i64,
    pub provider: String,
    pub status: PaymentStatus,
    pub amount_minor: i64,
    pub currency: String,
    pub card_last4: String,
    pub idempotency_key: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub refunded_minor: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = t)]
pub struct Transaction {
    pub id: i64,
    pub payment_id: i64,
    pub kind: TransactionKind,
    pub status: TransactionStatus,
    pub amount_minor: i64,
    pub currency: String,
    pub reference: String,
    pub message: String,
    pub created_at: NaiveDateTime,
    pub idempotency_key: Option<String>,
    pub refund_plan: Option<String>,
}

impl Payment {
    pub fn status(&self) -> PaymentStatus {
        self.status
    }

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

    /// The order's live payment: processing, unconfirmed, authorized or
    /// succeeded.
    pub fn live(conn: &mut DbConn, order_id: i64) -> QueryResult<Option<Payment>> {
        p::table
            .filter(p::order_id.eq(order_id))
            .filter(p::status.eq_any([
                PaymentStatus::Processing,
                PaymentStatus::Unconfirmed,
                PaymentStatus::Authorized,
                PaymentStatus::Succeeded,
            ]))
            .select(Payment::as_select())
            .first(conn)
            .optional()
    }

    /// Whether the provider must be asked what became of this payment before
    /// the order may be charged again: its answer was lost, or it has been
    /// "processing" longer than any provider call takes (the server died
    /// mid-charge).
    pub fn needs_lookup(&self, now: NaiveDateTime) -> bool {
        self.status() == PaymentStatus::Unconfirmed
            || (self.status() == PaymentStatus::Processing
                && now - self.updated_at > STALE_PROCESSING)
    }

    /// The decline reason of a failed payment, from its transaction.
    pub fn failure_message(&self, conn: &mut DbConn) -> QueryResult<Option<String>> {
        Ok(self
            .transactions(conn)?
            .into_iter()
            .rev()
            .find(|t| t.status == TransactionStatus::Declined)
            .map(|t| t.message))
    }
}

/// Longer than any provider call may take (their timeouts are seconds).
pub const STALE_PROCESSING: chrono::TimeDelta = chrono::TimeDelta::seconds(120);

/// The provider's answer was lost: the payment stays live (no new attempt
/// for the order) until `lookup` says what happened.
pub fn mark_unconfirmed(conn: &mut DbConn, payment: &Payment) -> QueryResult<()> {
    diesel::update(
        p::table
            .find(payment.id)
            .filter(p::status.eq(PaymentStatus::Processing)),
    )
    .set((
        p::status.eq(PaymentStatus::Unconfirmed),
        p::updated_at.eq(site_core::now()),
    ))
    .execute(conn)?;
    Ok(())
}

#[derive(Debug)]
pub enum Claim {
    /// A new payment, now `processing`: charge it.
    Started(Order, Payment),
    /// This form was submitted before: that payment is the answer.
    Duplicate(Order, Payment),
    /// The order no longer awaits payment.
    NotPayable(Order),
    /// Another payment for this order is live (processing or unconfirmed).
    InProgress(Order, Payment),
    /// Another payment for this order changed state just now: try again.
    Busy(Order),
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
        // Touching the order both checks it still awaits payment and keeps
        // the unpaid-order sweep away from it while it is being paid.
        if !order.status().awaits_payment() || !Order::touch_pending(conn, order.id)? {
            return Ok(Claim::NotPayable(order));
        }
        let now = site_core::now();
        diesel::insert_into(p::table)
            .values((
                p::order_id.eq(order.id),
                p::provider.eq(provider),
                p::status.eq(PaymentStatus::Processing),
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
                None => match Payment::live(conn, order.id)? {
                    Some(live) if live.status() == PaymentStatus::Succeeded => {
                        Ok(Claim::NotPayable(order))
                    }
                    Some(live) => Ok(Claim::InProgress(order, live)),
                    // The live payment finished between the insert and this look.
                    None => Ok(Claim::Busy(order)),
                },
            }
        }
        other => other,
    }
}

/// Work done in the transaction that marks an order paid (the receipt).
pub type OnPaid<'f> = dyn Fn(&mut DbConn, i64) -> Result<(), String> + 'f;

/// Step two: record the provider's answer; an approval marks the order
/// paid. Only a payment still processing or unconfirmed is recorded, so a
/// second recording (a replay, a lookup racing the original) changes
/// nothing. Returns whether this call recorded it.
pub fn record_outcome(
    conn: &mut DbConn,
    payment: &Payment,
    outcome: &ChargeOutcome,
    on_paid: Option<&OnPaid<'_>>,
) -> QueryResult<bool> {
    write_transaction(conn, |conn| {
        let now = site_core::now();
        let (status, kind, tx_status, reference, message) = match outcome {
            ChargeOutcome::Approved { reference, .. } => (
                PaymentStatus::Succeeded,
                TransactionKind::Charge,
                TransactionStatus::Approved,
                reference.as_str(),
                "",
            ),
            ChargeOutcome::Authorized { reference, .. } => (
                PaymentStatus::Authorized,
                TransactionKind::Authorization,
                TransactionStatus::Approved,
                reference.as_str(),
                "",
            ),
            ChargeOutcome::Declined { reference, reason } => (
                PaymentStatus::Failed,
                TransactionKind::Charge,
                TransactionStatus::Declined,
                reference.as_str(),
                reason.as_str(),
            ),
        };
        let moved = diesel::update(
            p::table
                .find(payment.id)
                .filter(p::status.eq_any([PaymentStatus::Processing, PaymentStatus::Unconfirmed])),
        )
        .set((p::status.eq(status), p::updated_at.eq(now)))
        .execute(conn)?;
        if moved == 0 {
            return Ok(false);
        }
        if let ChargeOutcome::Approved { card_last4, .. }
        | ChargeOutcome::Authorized { card_last4, .. } = outcome
        {
            if !card_last4.is_empty() {
                diesel::update(p::table.find(payment.id))
                    .set(p::card_last4.eq(card_last4))
                    .execute(conn)?;
            }
        }
        insert_transaction(conn, payment, kind, tx_status, reference, message)?;
        // An authorization secures the order as a charge does: it is paid
        // (its receipt, its invoice number) and waits for staff to capture
        // the money before it ships.
        let paid = match status {
            PaymentStatus::Succeeded => Order::mark_paid(conn, payment.order_id)?,
            PaymentStatus::Authorized => Order::mark_authorized(conn, payment.order_id)?,
            _ => false,
        };
        if paid {
            if let Some(f) = on_paid {
                f(conn, payment.order_id).map_err(|e| DieselError::QueryBuilderError(e.into()))?;
            }
        }
        Ok(true)
    })
}

fn insert_transaction(
    conn: &mut DbConn,
    payment: &Payment,
    kind: TransactionKind,
    status: TransactionStatus,
    reference: &str,
    message: &str,
) -> QueryResult<()> {
    diesel::insert_into(t::table)
        .values((
            t::payment_id.eq(payment.id),
            t::kind.eq(kind),
            t::status.eq(status),
            t::amount_minor.eq(payment.amount_minor),
            t::currency.eq(&payment.currency),
            t::reference.eq(reference),
            t::message.eq(message),
            t::created_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The provider's reference of an authorized payment's charge.
pub fn authorization_reference(conn: &mut DbConn, payment: &Payment) -> QueryResult<String> {
    t::table
        .filter(t::payment_id.eq(payment.id))
        .filter(t::kind.eq(TransactionKind::Authorization))
        .filter(t::status.eq(TransactionStatus::Approved))
        .select(t::reference)
        .first(conn)
}

/// Records the capture of an authorized payment: it becomes succeeded,
/// with the charge its refunds refer to, and the order's timeline says so.
/// A payment not authorized (captured already, voided) is left alone.
/// Returns whether this call recorded it.
pub fn record_capture(
    conn: &mut DbConn,
    payment: &Payment,
    reference: &str,
    actor: orders::events::Actor<'_>,
) -> QueryResult<bool> {
    write_transaction(conn, |conn| {
        let moved = diesel::update(
            p::table
                .find(payment.id)
                .filter(p::status.eq(PaymentStatus::Authorized)),
        )
        .set((
            p::status.eq(PaymentStatus::Succeeded),
            p::updated_at.eq(site_core::now()),
        ))
        .execute(conn)?;
        if moved == 1 {
            insert_transaction(
                conn,
                payment,
                TransactionKind::Charge,
                TransactionStatus::Approved,
                reference,
                "Captured",
            )?;
            orders::events::record(
                conn,
                payment.order_id,
                orders::events::EventKind::Note,
                "The card payment was captured: the money is taken and the order may ship.",
                "Your card was charged for this order.",
                actor,
            )?;
        }
        Ok(moved == 1)
    })
}

/// Records that a payment's authorization was released (or that one
/// still being made never will be taken): it becomes voided, no longer
/// live. Returns whether this call recorded it.
pub fn record_void(
    conn: &mut DbConn,
    payment: &Payment,
    reference: &str,
    message: &str,
) -> QueryResult<bool> {
    write_transaction(conn, |conn| {
        let moved = diesel::update(p::table.find(payment.id).filter(p::status.eq_any([
            PaymentStatus::Authorized,
            PaymentStatus::Processing,
            PaymentStatus::Unconfirmed,
        ])))
        .set((
            p::status.eq(PaymentStatus::Voided),
            p::updated_at.eq(site_core::now()),
        ))
        .execute(conn)?;
        if moved == 1 {
            insert_transaction(
                conn,
                payment,
                TransactionKind::Void,
                TransactionStatus::Approved,
                reference,
                message,
            )?;
        }
        Ok(moved == 1)
    })
}

/// A card the provider declined while its payment page stays open (the
/// shopper may try another): kept in the payment's history, changing
/// nothing else.
pub fn record_declined_attempt(
    conn: &mut DbConn,
    payment: &Payment,
    event: &crate::domain::WebhookEvent,
) -> QueryResult<()> {
    let message = if event.card_last4.is_empty() {
        event.reason.clone()
    } else {
        format!("{} (card ending {})", event.reason, event.card_last4)
    };
    insert_transaction(
        conn,
        payment,
        TransactionKind::Charge,
        TransactionStatus::Declined,
        &event.charge,
        &message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(status: PaymentStatus, updated_at: NaiveDateTime) -> Payment {
        Payment {
            id: 1,
            order_id: 1,
            provider: "demo-card".into(),
            status,
            amount_minor: 100,
            currency: "USD".into(),
            card_last4: "4242".into(),
            idempotency_key: "k".into(),
            created_at: updated_at,
            updated_at,
            refunded_minor: 0,
        }
    }

    #[test]
    fn lost_or_stale_payments_are_looked_up_before_a_new_attempt() {
        let now = site_core::now();
        assert!(payment(PaymentStatus::Unconfirmed, now).needs_lookup(now));
        assert!(
            !payment(PaymentStatus::Processing, now).needs_lookup(now),
            "in flight right now"
        );
        let long_ago = now - STALE_PROCESSING - chrono::TimeDelta::seconds(1);
        assert!(
            payment(PaymentStatus::Processing, long_ago).needs_lookup(now),
            "its server died mid-charge"
        );
        assert!(!payment(PaymentStatus::Succeeded, long_ago).needs_lookup(now));
    }
}

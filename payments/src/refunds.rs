//! Refunds, in two steps around the payment service's call (never inside
//! a transaction): reserve the amount and the units (conditional UPDATEs
//! backed by CHECKs, so a payment can never give back more than it took,
//! however many refunds race), ask the service, then record its answer —
//! approved: on the order (stock, timeline, email); declined: the
//! reservation is given back. Each refund form's key makes it one refund
//! however often it is sent; a refund whose answer was lost stays reserved
//! and is asked again, with the same key, when the form is sent again.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use orders::events::Actor;
use orders::refunds::{self as order_refunds, RefundLine, Refunded};
use site_core::db::{write_transaction, DbConn};
use site_core::money::Money;
use site_core::schema::{payments_payment as p, payments_transaction as t};

use crate::domain::RefundOutcome;
use crate::models::{Payment, PaymentStatus, Transaction, TransactionKind, TransactionStatus};

/// What staff asked to refund.
#[derive(Debug, Clone)]
pub struct Plan {
    pub amount: Money,
    pub lines: Vec<RefundLine>,
    pub delivery: bool,
    pub restock: bool,
    pub note: String,
    /// The refund form's key.
    pub key: String,
    /// How amounts read to the customer (the shop's locale).
    pub locale: site_core::money::Locale,
}

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("This order has no payment to refund.")]
    NotPaid,
    #[error("At most {0} can be refunded: that is what is left of the payment.")]
    TooMuch(Money),
    #[error("Some of those items were refunded meanwhile: look at the order again.")]
    LinesTaken,
    #[error("The delivery was refunded meanwhile: look at the order again.")]
    DeliveryTaken,
    #[error(transparent)]
    Db(#[from] DieselError),
}

/// What a refund reserved, as its transaction keeps it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Stored {
    lines: Vec<RefundLine>,
    delivery: bool,
    restock: bool,
    note: String,
}

/// A reserved refund, ready for the payment service. `plan` is what was
/// reserved (on a retry: what the first request reserved, whatever the
/// form says now).
#[derive(Debug, Clone)]
pub struct Reservation {
    pub payment: Payment,
    pub transaction_id: i64,
    pub charge_reference: String,
    pub plan: Plan,
}

impl Reservation {
    /// Money the shop must send back itself (a bank transfer): no payment
    /// service to ask.
    pub fn is_manual(&self) -> bool {
        crate::admin_transfer::is_manual(&self.payment.provider)
    }
}

/// The pending refund made with form key `key`, to ask about again.
pub fn pending(
    conn: &mut DbConn,
    key: &str,
    locale: site_core::money::Locale,
) -> QueryResult<Option<Reservation>> {
    let Some(tx) = t::table
        .filter(t::idempotency_key.eq(key))
        .filter(t::status.eq(TransactionStatus::Pending))
        .filter(t::kind.eq(TransactionKind::Refund))
        .select(Transaction::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    reservation_of(conn, &tx, locale).map(Some)
}

/// Whether a refund of the order (made or on hold) already covered its
/// delivery.
pub fn delivery_refunded(conn: &mut DbConn, order_id: i64) -> QueryResult<bool> {
    let plans: Vec<Option<String>> = t::table
        .inner_join(p::table)
        .filter(p::order_id.eq(order_id))
        .filter(t::kind.eq(TransactionKind::Refund))
        .filter(t::status.ne(TransactionStatus::Declined))
        .select(t::refund_plan)
        .load(conn)?;
    Ok(plans
        .iter()
        .flatten()
        .any(|j| serde_json::from_str::<Stored>(j).is_ok_and(|s| s.delivery)))
}

/// The order's refunds still waiting for an answer, newest first.
pub fn pending_for_order(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<Transaction>> {
    t::table
        .inner_join(p::table)
        .filter(p::order_id.eq(order_id))
        .filter(t::kind.eq(TransactionKind::Refund))
        .filter(t::status.eq(TransactionStatus::Pending))
        .order(t::id.desc())
        .select(Transaction::as_select())
        .load(conn)
}

fn reservation_of(
    conn: &mut DbConn,
    tx: &Transaction,
    locale: site_core::money::Locale,
) -> QueryResult<Reservation> {
    let payment = p::table
        .find(tx.payment_id)
        .select(Payment::as_select())
        .first(conn)?;
    let charge_reference = charge_reference(conn, payment.id)?;
    let stored: Stored = tx
        .refund_plan
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(Stored {
            lines: Vec::new(),
            delivery: false,
            restock: false,
            note: String::new(),
        });
    let currency = site_core::Currency::parse(&tx.currency).unwrap_or(site_core::Currency::Usd);
    Ok(Reservation {
        payment,
        transaction_id: tx.id,
        charge_reference,
        plan: Plan {
            amount: Money::from_minor(tx.amount_minor, currency),
            lines: stored.lines,
            delivery: stored.delivery,
            restock: stored.restock,
            note: stored.note,
            key: tx.idempotency_key.clone().unwrap_or_default(),
            locale,
        },
    })
}

#[derive(Debug)]
pub enum Reserved {
    /// Ask the payment service (a new refund, or one whose answer was lost).
    Ask(Reservation),
    /// This form's refund was already answered.
    Answered(Transaction),
}

/// The order's succeeded payment and what is left to refund of it.
pub fn refundable(conn: &mut DbConn, order_id: i64) -> QueryResult<Option<(Payment, Money)>> {
    let payment = p::table
        .filter(p::order_id.eq(order_id))
        .filter(p::status.eq(PaymentStatus::Succeeded))
        .select(Payment::as_select())
        .first(conn)
        .optional()?;
    Ok(payment.map(|pay| {
        let currency =
            site_core::Currency::parse(&pay.currency).unwrap_or(site_core::Currency::Usd);
        let left = Money::from_minor(pay.amount_minor - pay.refunded_minor, currency);
        (pay, left)
    }))
}

fn charge_reference(conn: &mut DbConn, payment_id: i64) -> QueryResult<String> {
    t::table
        .filter(t::payment_id.eq(payment_id))
        .filter(t::kind.eq(TransactionKind::Charge))
        .filter(t::status.eq(TransactionStatus::Approved))
        .select(t::reference)
        .first(conn)
}

/// Step one: reserve the refund of `plan` on order `order_id`.
pub fn reserve(conn: &mut DbConn, order_id: i64, plan: &Plan) -> Result<Reserved, RefundError> {
    write_transaction(conn, |conn| {
        if let Some(tx) = t::table
            .filter(t::idempotency_key.eq(&plan.key))
            .select(Transaction::as_select())
            .first(conn)
            .optional()?
        {
            if tx.status != TransactionStatus::Pending {
                return Ok(Reserved::Answered(tx));
            }
            return Ok(Reserved::Ask(reservation_of(conn, &tx, plan.locale)?));
        }
        let Some((payment, left)) = refundable(conn, order_id)? else {
            return Err(RefundError::NotPaid);
        };
        let amount = plan.amount.minor();
        let reserved = diesel::update(
            p::table
                .find(payment.id)
                .filter(p::status.eq(PaymentStatus::Succeeded))
                .filter((p::refunded_minor + amount).le(p::amount_minor)),
        )
        .set(p::refunded_minor.eq(p::refunded_minor + amount))
        .execute(conn)?;
        if reserved == 0 {
            return Err(RefundError::TooMuch(left));
        }
        // The UPDATE above holds the payment's row until this transaction
        // ends, so a racing refund waits there and then sees this one's
        // row: the delivery goes back once however many forms race.
        if plan.delivery && delivery_refunded(conn, order_id)? {
            return Err(RefundError::DeliveryTaken);
        }
        if !order_refunds::reserve_lines(conn, order_id, &plan.lines)? {
            return Err(RefundError::LinesTaken);
        }
        let charge_reference = charge_reference(conn, payment.id)?;
        let stored = serde_json::to_string(&Stored {
            lines: plan.lines.clone(),
            delivery: plan.delivery,
            restock: plan.restock,
            note: plan.note.clone(),
        })
        .map_err(|e| DieselError::SerializationError(Box::new(e)))?;
        let transaction_id: i64 = diesel::insert_into(t::table)
            .values((
                t::payment_id.eq(payment.id),
                t::kind.eq(TransactionKind::Refund),
                t::status.eq(TransactionStatus::Pending),
                t::amount_minor.eq(amount),
                t::currency.eq(&payment.currency),
                t::reference.eq(""),
                t::message.eq(&plan.note),
                t::created_at.eq(site_core::now()),
                t::idempotency_key.eq(Some(&plan.key)),
                t::refund_plan.eq(Some(stored)),
            ))
            .returning(t::id)
            .get_result(conn)?;
        Ok(Reserved::Ask(Reservation {
            payment,
            transaction_id,
            charge_reference,
            plan: plan.clone(),
        }))
    })
}

/// Work done in the refund's transaction once it is approved (the email).
pub type OnRefunded<'f> = dyn Fn(&mut DbConn, i64, Money) -> Result<(), String> + 'f;

/// Step two: record the payment service's answer. Only a pending refund
/// is recorded, so a second recording changes nothing; returns whether
/// the refund was approved.
pub fn settle(
    conn: &mut DbConn,
    res: &Reservation,
    outcome: &RefundOutcome,
    actor: Actor<'_>,
    on_refunded: Option<&OnRefunded<'_>>,
) -> Result<bool, RefundError> {
    let plan = &res.plan;
    write_transaction(conn, |conn| {
        let (status, reference, message) = match outcome {
            RefundOutcome::Approved { reference } => (
                TransactionStatus::Approved,
                reference.as_str(),
                plan.note.as_str(),
            ),
            RefundOutcome::Declined { reason } => {
                (TransactionStatus::Declined, "", reason.as_str())
            }
        };
        let moved = diesel::update(
            t::table
                .find(res.transaction_id)
                .filter(t::status.eq(TransactionStatus::Pending)),
        )
        .set((
            t::status.eq(status),
            t::reference.eq(reference),
            t::message.eq(message),
        ))
        .execute(conn)?;
        if moved == 0 {
            return Ok(status == TransactionStatus::Approved);
        }
        let order_id = res.payment.order_id;
        if status == TransactionStatus::Declined {
            diesel::update(p::table.find(res.payment.id))
                .set(p::refunded_minor.eq(p::refunded_minor - plan.amount.minor()))
                .execute(conn)?;
            order_refunds::release_lines(conn, order_id, &plan.lines)?;
            return Ok(false);
        }
        order_refunds::record(
            conn,
            &Refunded {
                order_id,
                amount: plan.amount,
                lines: &plan.lines,
                delivery: plan.delivery,
                restock: plan.restock,
                note: &plan.note,
                card_last4: &res.payment.card_last4,
                locale: plan.locale,
            },
            actor,
        )?;
        if let Some(f) = on_refunded {
            f(conn, order_id, plan.amount).map_err(|e| DieselError::QueryBuilderError(e.into()))?;
        }
        Ok(true)
    })
}

//! An order's timeline: every change is recorded in the transaction that
//! makes it, with who made it. Staff see every event; the customer sees
//! the ones written for them, in their words.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use site_core::db::DbConn;
use site_core::schema::orders_event as e;

site_core::text_enum! {
    /// What happened.
    pub enum EventKind {
        Placed = "placed",
        Paid = "paid",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
        Refunded = "refunded",
        /// Staff wrote a note on the order.
        Note = "note",
    }
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor<'a> {
    /// The shop itself: a payment provider's answer, a timer.
    System,
    /// The person who placed the order (signed in or not).
    Customer(Option<i64>),
    /// A staff member in the admin.
    Staff { id: i64, email: &'a str },
}

impl Actor<'_> {
    fn columns(&self) -> (Option<i64>, String) {
        match self {
            Actor::System => (None, "shop".into()),
            Actor::Customer(id) => (*id, "customer".into()),
            Actor::Staff { id, email } => (Some(*id), (*email).to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = e)]
pub struct OrderEvent {
    pub id: i64,
    pub order_id: i64,
    pub kind: EventKind,
    pub message: String,
    pub customer_message: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub created_at: NaiveDateTime,
}

/// Records an event on `order_id`; `customer_message` empty keeps it
/// from the customer. Call it inside the change's transaction.
pub fn record(
    conn: &mut DbConn,
    order_id: i64,
    kind: EventKind,
    message: &str,
    customer_message: &str,
    actor: Actor<'_>,
) -> QueryResult<()> {
    let (actor_id, actor) = actor.columns();
    diesel::insert_into(e::table)
        .values((
            e::order_id.eq(order_id),
            e::kind.eq(kind),
            e::message.eq(message),
            e::customer_message.eq(customer_message),
            e::actor_id.eq(actor_id),
            e::actor.eq(actor),
            e::created_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The order's events, oldest first.
pub fn for_order(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<OrderEvent>> {
    e::table
        .filter(e::order_id.eq(order_id))
        .order(e::id.asc())
        .select(OrderEvent::as_select())
        .load(conn)
}

/// The events the customer sees, oldest first.
pub fn for_customer(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<OrderEvent>> {
    e::table
        .filter(e::order_id.eq(order_id))
        .filter(e::customer_message.ne(""))
        .order(e::id.asc())
        .select(OrderEvent::as_select())
        .load(conn)
}

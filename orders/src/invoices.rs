//! Invoice numbers: given when an order is paid, in the paying
//! transaction, from one counter row, so they run without gaps (a payment
//! rolled back gives its number back) and in the order payments happened.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use site_core::db::DbConn;
use site_core::schema::{orders_invoice as i, orders_invoice_counter as c};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = i)]
pub struct Invoice {
    pub id: i64,
    pub order_id: i64,
    pub number: i64,
    pub issued_at: NaiveDateTime,
}

impl Invoice {
    /// "INV-000042".
    pub fn label(&self) -> String {
        label(self.number)
    }

    pub fn for_order(conn: &mut DbConn, order_id: i64) -> QueryResult<Option<Invoice>> {
        i::table
            .filter(i::order_id.eq(order_id))
            .select(Invoice::as_select())
            .first(conn)
            .optional()
    }
}

pub fn label(number: i64) -> String {
    format!("INV-{number:06}")
}

/// Takes the next `n` numbers (the counter row stays locked until the
/// caller's transaction ends); returns the first.
fn take(conn: &mut DbConn, n: i64) -> QueryResult<i64> {
    let last: i64 = diesel::update(c::table.find(1))
        .set(c::last_number.eq(c::last_number + n))
        .returning(c::last_number)
        .get_result(conn)?;
    Ok(last - n + 1)
}

/// Gives order `order_id` the next number; call it in the transaction
/// that marks the order paid. An order that has one keeps it.
pub fn assign(conn: &mut DbConn, order_id: i64) -> QueryResult<Invoice> {
    if let Some(existing) = Invoice::for_order(conn, order_id)? {
        return Ok(existing);
    }
    let number = take(conn, 1)?;
    diesel::insert_into(i::table)
        .values((
            i::order_id.eq(order_id),
            i::number.eq(number),
            i::issued_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    i::table
        .filter(i::order_id.eq(order_id))
        .select(Invoice::as_select())
        .first(conn)
}

/// Numbers for orders paid in bulk (the demo data), in the order given:
/// (order id, paid at).
pub fn assign_many(conn: &mut DbConn, paid: &[(i64, NaiveDateTime)]) -> QueryResult<()> {
    if paid.is_empty() {
        return Ok(());
    }
    let first = take(conn, paid.len() as i64)?;
    let rows: Vec<_> = paid
        .iter()
        .enumerate()
        .map(|(k, (order_id, at))| {
            (
                i::order_id.eq(*order_id),
                i::number.eq(first + k as i64),
                i::issued_at.eq(*at),
            )
        })
        .collect();
    site_core::insert_many!(conn, i::table, &rows)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_read_as_invoice_labels() {
        assert_eq!(super::label(42), "INV-000042");
        assert_eq!(super::label(1_234_567), "INV-1234567");
    }
}

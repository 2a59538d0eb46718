//! How the shopper chose to pay at checkout: by card at once (the
//! default), by bank transfer (the order waits days for the money and
//! staff mark it received in the admin), or in cash on delivery (the order
//! ships unpaid; staff record the cash once the courier hands it over).

use diesel::prelude::*;
use site_core::db::DbConn;
use site_core::schema::orders_payment_method as pm;

site_core::text_enum! {
    pub enum PaymentMethod {
        Card = "card",
        BankTransfer = "bank_transfer",
        CashOnDelivery = "cash_on_delivery",
    }
}

impl PaymentMethod {
    pub fn label(self) -> &'static str {
        match self {
            PaymentMethod::Card => "Card",
            PaymentMethod::BankTransfer => "Bank transfer",
            PaymentMethod::CashOnDelivery => "Cash on delivery",
        }
    }

    /// Paid when the goods arrive, so the order ships before it is paid.
    pub fn pays_on_delivery(self) -> bool {
        self == PaymentMethod::CashOnDelivery
    }
}

/// Records the choice for a new order (card needs no row).
pub fn record(conn: &mut DbConn, order_id: i64, method: PaymentMethod) -> QueryResult<()> {
    if method == PaymentMethod::Card {
        return Ok(());
    }
    diesel::insert_into(pm::table)
        .values((
            pm::order_id.eq(order_id),
            pm::method.eq(method),
            pm::created_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// How order `order_id` is to be paid.
pub fn of(conn: &mut DbConn, order_id: i64) -> QueryResult<PaymentMethod> {
    Ok(pm::table
        .find(order_id)
        .select(pm::method)
        .first::<PaymentMethod>(conn)
        .optional()?
        .unwrap_or(PaymentMethod::Card))
}

/// Which of `order_ids` are paid in cash on delivery (one query).
pub fn paying_on_delivery(
    conn: &mut DbConn,
    order_ids: &[i64],
) -> QueryResult<std::collections::HashSet<i64>> {
    Ok(pm::table
        .filter(pm::order_id.eq_any(order_ids))
        .filter(pm::method.eq(PaymentMethod::CashOnDelivery))
        .select(pm::order_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

//! Unpaid orders hold their stock for a while (SHOP_ORDER_HOLD_MINUTES;
//! SHOP_BANK_TRANSFER_DAYS for orders paid by bank transfer); then they
//! are cancelled and the stock goes back on sale.

use site_core::db::{write_transaction, Database};

use crate::models::Payment;

/// Cancels orders unpaid for longer than `hold` and puts their stock back.
/// An order with a live payment (in flight, unconfirmed or succeeded) is
/// left alone: its payment decides. Returns how many were cancelled.
pub fn release_unpaid_orders(
    db: &Database,
    hold: chrono::TimeDelta,
    bank_hold: chrono::TimeDelta,
) -> anyhow::Result<usize> {
    let cutoff = site_core::now() - hold;
    let bank_cutoff = site_core::now() - bank_hold.max(hold);
    let mut conn = db.get()?;
    let mut released = 0;
    loop {
        let batch = orders::Order::unpaid_since(&mut conn, cutoff, bank_cutoff, 100)?;
        let mut progressed = false;
        for id in &batch {
            let cancelled = write_transaction(&mut conn, |conn| -> diesel::QueryResult<bool> {
                if Payment::live(conn, *id)?.is_some() {
                    return Ok(false);
                }
                use orders::payment_method::PaymentMethod;
                let due = match orders::payment_method::of(conn, *id)? {
                    PaymentMethod::BankTransfer => bank_cutoff,
                    PaymentMethod::Card => cutoff,
                    // Waits for the courier (`unpaid_since` leaves it out).
                    PaymentMethod::CashOnDelivery => return Ok(false),
                };
                orders::Order::cancel_unpaid(conn, *id, due)
            })?;
            if cancelled {
                released += 1;
                progressed = true;
                tracing::info!(order_id = id, "unpaid order cancelled; stock released");
            }
        }
        if batch.len() < 100 || !progressed {
            return Ok(released);
        }
    }
}

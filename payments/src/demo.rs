//! Payments for the demo orders that were paid: one succeeded payment and
//! its approved charge each, and the demo gateway's record of the charge,
//! as paying on Demo Pay would have left them (so staff can refund them).

use diesel::prelude::*;
use site_core::db::{write_transaction, DbConn};
use site_core::schema::{
    gateway_checkout as gc, orders_order as o, payments_payment as p, payments_transaction as t,
};

use crate::models::{PaymentStatus, TransactionKind, TransactionStatus};

const BATCH: i64 = 1000;

fn charge_reference(order_id: i64) -> String {
    format!("ch_demo_{order_id:012}")
}

/// Adds the payments of paid orders that have none (the demo orders);
/// `progress` gets the number written.
pub fn seed(conn: &mut DbConn, progress: &dyn Fn(u64)) -> QueryResult<usize> {
    let mut after = 0i64;
    let mut written = 0usize;
    loop {
        let orders: Vec<(i64, i64, String, chrono::NaiveDateTime)> = o::table
            .filter(o::id.gt(after))
            .filter(o::paid_at.is_not_null())
            .filter(o::idempotency_key.like("demo-order-%"))
            .order(o::id)
            .limit(BATCH)
            .select((o::id, o::total_minor, o::currency, o::created_at))
            .load(conn)?;
        let Some(last) = orders.last() else {
            return Ok(written);
        };
        after = last.0;
        write_transaction(conn, |conn| -> QueryResult<()> {
            let payments: Vec<_> = orders
                .iter()
                .map(|(id, total, currency, at)| {
                    (
                        p::order_id.eq(*id),
                        p::provider.eq(crate::gateway::NAME),
                        p::status.eq(PaymentStatus::Succeeded),
                        p::amount_minor.eq(*total),
                        p::currency.eq(currency.as_str()),
                        p::card_last4.eq("4242"),
                        p::idempotency_key.eq(format!("demo-payment-{id}")),
                        p::created_at.eq(*at),
                        p::updated_at.eq(*at),
                    )
                })
                .collect();
            site_core::insert_many!(conn, p::table, &payments)?;
            let ids: Vec<(i64, i64, i64, String, chrono::NaiveDateTime)> = p::table
                .filter(p::order_id.eq_any(orders.iter().map(|o| o.0)))
                .filter(p::idempotency_key.like("demo-payment-%"))
                .select((
                    p::id,
                    p::order_id,
                    p::amount_minor,
                    p::currency,
                    p::created_at,
                ))
                .load(conn)?;
            let txs: Vec<_> = ids
                .iter()
                .map(|(id, order, amount, currency, at)| {
                    (
                        t::payment_id.eq(*id),
                        t::kind.eq(TransactionKind::Charge),
                        t::status.eq(TransactionStatus::Approved),
                        t::amount_minor.eq(*amount),
                        t::currency.eq(currency.as_str()),
                        t::reference.eq(charge_reference(*order)),
                        t::message.eq(""),
                        t::created_at.eq(*at),
                    )
                })
                .collect();
            site_core::insert_many!(conn, t::table, &txs)?;
            let checkouts: Vec<_> = orders
                .iter()
                .map(|(id, total, currency, at)| {
                    (
                        gc::token.eq(site_core::random_token(32)),
                        gc::merchant_reference.eq(format!("demo-payment-{id}")),
                        gc::amount_minor.eq(*total),
                        gc::currency.eq(currency.as_str()),
                        gc::merchant_name.eq("Demo Shop"),
                        gc::return_url.eq("/"),
                        gc::status.eq(crate::gateway::CheckoutStatus::Succeeded),
                        gc::charge_reference.eq(charge_reference(*id)),
                        gc::card_last4.eq("4242"),
                        gc::created_at.eq(*at),
                        gc::updated_at.eq(*at),
                    )
                })
                .collect();
            site_core::insert_many!(conn, gc::table, &checkouts)?;
            Ok(())
        })?;
        written += orders.len();
        progress(written as u64);
    }
}

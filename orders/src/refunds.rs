//! The order's side of a refund (the payments app moves the money): what
//! refunding some units of a line is worth, reserving those units so two
//! refunds cannot both take them, and recording the refund on the order:
//! its refunded amount, the stock put back, the timeline, the email.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use site_core::db::DbConn;
use site_core::money::Money;
use site_core::schema::{orders_line as l, orders_order as o};

use crate::events::{self, Actor, EventKind};
use crate::models::{Order, OrderLine};

/// Units of one line to refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub line_id: i64,
    pub quantity: i64,
}

/// What `units` more of `line` were paid for, beyond the units already
/// refunded: each line's units add up to exactly what it was paid (its
/// share after its discount, with its tax when tax was added on top), as
/// they are refunded one at a time or all at once.
pub fn line_value(line: &OrderLine, tax_included: bool, units: i64) -> i64 {
    if line.quantity <= 0 || units <= 0 {
        return 0;
    }
    let paid =
        line.line_total_minor - line.discount_minor + if tax_included { 0 } else { line.tax_minor };
    let q = i128::from(line.quantity);
    let share = |n: i64| {
        let exact = i128::from(paid) * i128::from(n.clamp(0, line.quantity));
        (2 * exact + q) / (2 * q)
    };
    let done = line.refunded_quantity;
    i64::try_from(share(done + units) - share(done)).unwrap_or(i64::MAX)
}

/// What the delivery was paid: its charge after a free-delivery voucher,
/// with its tax when tax was added on top.
pub fn delivery_value(order: &Order, lines: &[OrderLine]) -> i64 {
    let on_lines: i64 = lines.iter().map(|l| l.discount_minor).sum();
    let delivery_discount = (order.discount_minor - on_lines).max(0);
    let line_tax: i64 = lines.iter().map(|l| l.tax_minor).sum();
    let delivery_tax = if order.tax_included {
        0
    } else {
        (order.tax_minor - line_tax).max(0)
    };
    (order.shipping_minor - delivery_discount).max(0) + delivery_tax
}

/// Reserves `lines`' units for a refund of order `order_id`; false (and
/// nothing reserved by this call's caller's transaction, which must roll
/// back) if any line has fewer unrefunded units left.
pub fn reserve_lines(conn: &mut DbConn, order_id: i64, lines: &[RefundLine]) -> QueryResult<bool> {
    for line in lines {
        let n = diesel::update(
            l::table
                .filter(l::id.eq(line.line_id))
                .filter(l::order_id.eq(order_id))
                .filter((l::refunded_quantity + line.quantity).le(l::quantity)),
        )
        .set(l::refunded_quantity.eq(l::refunded_quantity + line.quantity))
        .execute(conn)?;
        if n == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Gives reserved units back (the refund was declined).
pub fn release_lines(conn: &mut DbConn, order_id: i64, lines: &[RefundLine]) -> QueryResult<()> {
    for line in lines {
        diesel::update(
            l::table
                .filter(l::id.eq(line.line_id))
                .filter(l::order_id.eq(order_id))
                .filter(l::refunded_quantity.ge(line.quantity)),
        )
        .set(l::refunded_quantity.eq(l::refunded_quantity - line.quantity))
        .execute(conn)?;
    }
    Ok(())
}

/// A refund the payment service made, as the order records it.
pub struct Refunded<'a> {
    pub order_id: i64,
    pub amount: Money,
    pub lines: &'a [RefundLine],
    pub delivery: bool,
    pub restock: bool,
    pub note: &'a str,
    pub card_last4: &'a str,
    /// How amounts read to the customer.
    pub locale: site_core::money::Locale,
}

/// Records a refund on the order, in the refund's transaction: the amount
/// (a CHECK keeps it within the total), the stock of refunded units when
/// asked (never for a cancelled order: cancelling put it all back), and
/// the timeline.
pub fn record(conn: &mut DbConn, r: &Refunded<'_>, actor: Actor<'_>) -> QueryResult<()> {
    let status: crate::OrderStatus = o::table.find(r.order_id).select(o::status).first(conn)?;
    let restock = r.restock && status != crate::OrderStatus::Cancelled;
    diesel::update(o::table.find(r.order_id))
        .set((
            o::refunded_minor.eq(o::refunded_minor + r.amount.minor()),
            o::updated_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    let mut what = Vec::new();
    let mut back = Vec::new();
    for line in r.lines {
        let (name, product): (String, Option<i64>) = l::table
            .find(line.line_id)
            .select((l::product_name, l::product_id))
            .first(conn)?;
        what.push(format!("{} × {name}", line.quantity));
        if let (true, Some(product)) = (restock, product) {
            back.push((product, line.quantity));
            diesel::update(l::table.find(line.line_id))
                .set(l::restocked_quantity.eq(l::restocked_quantity + line.quantity))
                .execute(conn)?;
        }
    }
    products::models::release_many(conn, &back)?;
    if r.delivery {
        what.push("delivery".into());
    }
    let mut message = format!("Refunded {}", r.amount);
    if !what.is_empty() {
        message.push_str(&format!(" for {}", what.join(", ")));
    }
    if restock && !r.lines.is_empty() {
        message.push_str("; stock returned");
    }
    if !r.note.is_empty() {
        message.push_str(&format!(". Note: {}", r.note));
    }
    let to = if r.card_last4.is_empty() {
        "your payment method".to_string()
    } else {
        format!("your card ending {}", r.card_last4)
    };
    events::record(
        conn,
        r.order_id,
        EventKind::Refunded,
        &message,
        &format!("Refunded {} to {to}", r.amount.format(r.locale)),
        actor,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: i64, total: i64, discount: i64, tax: i64) -> OrderLine {
        OrderLine {
            id: 1,
            order_id: 1,
            product_id: None,
            product_name: "Mug".into(),
            sku: "M".into(),
            unit_price_minor: total / quantity,
            quantity,
            line_total_minor: total,
            discount_minor: discount,
            tax_minor: tax,
            refunded_quantity: 0,
            restocked_quantity: 0,
            options: String::new(),
        }
    }

    #[test]
    fn units_are_worth_their_share_of_what_was_paid() {
        let l = line(3, 3000, 300, 540);
        assert_eq!(line_value(&l, false, 3), 3240, "all of it, tax on top");
        assert_eq!(line_value(&l, true, 3), 2700, "tax inside the price");
        assert_eq!(line_value(&l, false, 1), 1080);
        assert_eq!(line_value(&line(3, 1000, 0, 0), false, 1), 333);
        assert_eq!(line_value(&line(3, 1000, 0, 0), false, 2), 667);
        // One at a time adds up to what was paid: 2 × 5.00 less 0.33.
        let mut two = line(2, 1000, 33, 0);
        let first = line_value(&two, false, 1);
        two.refunded_quantity = 1;
        let second = line_value(&two, false, 1);
        assert_eq!(first + second, 967, "{first} + {second}");
        assert_eq!(line_value(&l, false, 0), 0);
        assert_eq!(line_value(&l, false, 9), 3240, "never more than the line");
    }
}

//! Orders and their lines, and `place_order`: the one transaction that
//! turns a cart into an order.

use cart::{Cart, PricedCart};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use products::models::reserve_stock;
use products::Product;
use serde::Serialize;
use site_core::address::PostalAddress;
use site_core::address_columns;
use site_core::db::{write_transaction, DbConn};
use site_core::money::{Currency, Money, MoneyError};
use site_core::schema::{orders_adjustment as adj, orders_line as l, orders_order as o};

use crate::domain::{CheckoutDetails, OrderStatus, TransitionError};
use crate::events::{self, Actor, EventKind};
use crate::pricing::{AdjustmentKind, Breakdown};
use crate::shipping::{self, Parcel, ShippingQuote};
use crate::taxes::{self, TaxRule, TaxSettings};
use crate::vouchers::{self, Voucher, VoucherRefusal};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = o)]
pub struct Order {
    pub id: i64,
    pub public_id: String,
    #[serde(skip)]
    pub idempotency_key: String,
    pub user_id: Option<i64>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
    pub status: OrderStatus,
    pub currency: String,
    pub total_minor: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub subtotal_minor: i64,
    pub shipping_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub shipping_method: String,
    pub shipping_method_id: Option<i64>,
    pub voucher_code: String,
    pub tax_included: bool,
    pub refunded_minor: i64,
}

/// A row of an order's breakdown, as it was placed.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = adj)]
pub struct OrderAdjustment {
    pub id: i64,
    pub order_id: i64,
    pub kind: AdjustmentKind,
    pub label: String,
    pub amount_minor: i64,
    pub rate_basis_points: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Associations, Serialize)]
#[diesel(table_name = l, belongs_to(Order))]
pub struct OrderLine {
    pub id: i64,
    pub order_id: i64,
    pub product_id: Option<i64>,
    pub product_name: String,
    pub sku: String,
    pub unit_price_minor: i64,
    pub quantity: i64,
    pub line_total_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub refunded_quantity: i64,
    pub restocked_quantity: i64,
    /// The variant's values when bought ("Size: 42, Colour: Black").
    pub options: String,
}

#[derive(Insertable)]
#[diesel(table_name = o)]
struct NewOrder<'a> {
    public_id: &'a str,
    idempotency_key: &'a str,
    user_id: Option<i64>,
    email: &'a str,
    status: OrderStatus,
    currency: &'a str,
    total_minor: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    subtotal_minor: i64,
    shipping_minor: i64,
    discount_minor: i64,
    tax_minor: i64,
    shipping_method: &'a str,
    shipping_method_id: Option<i64>,
    voucher_code: &'a str,
    tax_included: bool,
}

#[derive(Insertable)]
#[diesel(table_name = l)]
struct NewLine<'a> {
    order_id: i64,
    product_id: Option<i64>,
    product_name: &'a str,
    options: &'a str,
    sku: &'a str,
    unit_price_minor: i64,
    quantity: i64,
    line_total_minor: i64,
    discount_minor: i64,
    tax_minor: i64,
}

impl Order {
    pub fn currency(&self) -> Currency {
        Currency::parse(&self.currency).unwrap_or(Currency::Usd)
    }

    pub fn total(&self) -> Money {
        Money::from_minor(self.total_minor, self.currency())
    }

    pub fn status(&self) -> OrderStatus {
        self.status
    }

    /// What an order's link may carry: 32 letters and digits; anything
    /// else is a 404 before the database is asked.
    pub fn check_public_id(public_id: &str) -> Result<(), site_core::AppError> {
        if public_id.len() == 32 && public_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(())
        } else {
            Err(site_core::AppError::NotFound)
        }
    }

    /// The order as its pages show it: lines and breakdown rows.
    pub fn full_view(&self, conn: &mut DbConn) -> QueryResult<OrderView> {
        let lines = self.lines(conn)?;
        let adjustments = self.adjustments(conn)?;
        Ok(self.view(&lines).with_adjustments(&adjustments))
    }

    pub fn by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Order> {
        o::table
            .filter(o::public_id.eq(public_id))
            .select(Order::as_select())
            .first(conn)
    }

    /// The order placed with `email` whose reference (the first eight
    /// characters of its public id, in capitals) is `reference`. Looked
    /// for among that email's latest orders, by its index.
    pub fn find_by_reference(
        conn: &mut DbConn,
        email: &str,
        reference: &str,
    ) -> QueryResult<Option<Order>> {
        let candidates: Vec<Order> = o::table
            .filter(o::email.eq(email))
            .order(o::id.desc())
            .limit(500)
            .select(Order::as_select())
            .load(conn)?;
        Ok(candidates
            .into_iter()
            .find(|o| crate::emails::short_ref(&o.public_id) == reference))
    }

    pub fn by_idempotency_key(conn: &mut DbConn, key: &str) -> QueryResult<Order> {
        o::table
            .filter(o::idempotency_key.eq(key))
            .select(Order::as_select())
            .first(conn)
    }

    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Order> {
        o::table.find(id).select(Order::as_select()).first(conn)
    }

    /// Where the order goes.
    pub fn address(&self) -> PostalAddress {
        PostalAddress {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            address: self.address.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
        }
    }

    /// The separate billing address, if the shopper gave one.
    pub fn billing_address(&self, conn: &mut DbConn) -> QueryResult<Option<PostalAddress>> {
        use site_core::schema::orders_billing_address as ba;
        let row: Option<site_core::address::Row> = ba::table
            .find(self.id)
            .select(address_columns!(ba))
            .first(conn)
            .optional()?;
        Ok(row.map(PostalAddress::from))
    }

    /// The rows of the order's breakdown, in the order they were placed.
    pub fn adjustments(&self, conn: &mut DbConn) -> QueryResult<Vec<OrderAdjustment>> {
        adj::table
            .filter(adj::order_id.eq(self.id))
            .order(adj::id.asc())
            .select(OrderAdjustment::as_select())
            .load(conn)
    }

    pub fn lines(&self, conn: &mut DbConn) -> QueryResult<Vec<OrderLine>> {
        OrderLine::belonging_to(self)
            .order(l::id.asc())
            .select(OrderLine::as_select())
            .load(conn)
    }

    pub fn count_for_user(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
        o::table
            .filter(o::user_id.eq(user_id))
            .count()
            .get_result(conn)
    }

    /// A page of the customer's orders, newest first.
    pub fn for_user(
        conn: &mut DbConn,
        user_id: i64,
        limit: i64,
        offset: i64,
    ) -> QueryResult<Vec<Order>> {
        o::table
            .filter(o::user_id.eq(user_id))
            .order(o::id.desc())
            .limit(limit)
            .offset(offset)
            .select(Order::as_select())
            .load(conn)
    }

    /// One of the customer's orders; someone else's is `NotFound`.
    pub fn find_for_user(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<Order> {
        o::table
            .filter(o::user_id.eq(user_id))
            .filter(o::id.eq(id))
            .select(Order::as_select())
            .first(conn)
    }

    /// Removes the customer from their orders when they delete their
    /// account: the orders stay (with lines, totals and payments, for the
    /// books), the person's name, email and address do not.
    pub fn anonymise_for_user(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
        use site_core::schema::orders_voucher_use as vu;
        diesel::update(
            vu::table
                .filter(vu::order_id.eq_any(o::table.filter(o::user_id.eq(user_id)).select(o::id))),
        )
        .set(vu::email.eq("deleted@invalid"))
        .execute(conn)?;
        diesel::update(o::table.filter(o::user_id.eq(user_id)))
            .set((
                o::user_id.eq(None::<i64>),
                o::email.eq("deleted@invalid"),
                o::first_name.eq(""),
                o::last_name.eq(""),
                o::address.eq(""),
                o::postal_code.eq(""),
                o::city.eq(""),
                o::updated_at.eq(site_core::now()),
            ))
            .execute(conn)
    }

    pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
        o::table.count().get_result(conn)
    }

    /// Marks a pending order as being paid for now (resets its hold time).
    /// A conditional UPDATE, so on PostgreSQL it also locks the row against
    /// a concurrent `cancel_unpaid`; false if the order is no longer pending.
    pub fn touch_pending(conn: &mut DbConn, order_id: i64) -> QueryResult<bool> {
        let n = diesel::update(
            o::table
                .filter(o::id.eq(order_id))
                .filter(o::status.eq(OrderStatus::Pending)),
        )
        .set(o::updated_at.eq(site_core::now()))
        .execute(conn)?;
        Ok(n == 1)
    }

    /// Pending orders untouched since `cutoff`, oldest first.
    /// Orders waiting for a bank transfer are only due from `bank_cutoff`.
    pub fn unpaid_since(
        conn: &mut DbConn,
        cutoff: NaiveDateTime,
        bank_cutoff: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<i64>> {
        use crate::payment_method::PaymentMethod;
        use site_core::schema::orders_payment_method as pm;
        let by_transfer = pm::table
            .filter(pm::method.eq(PaymentMethod::BankTransfer))
            .select(pm::order_id);
        // Paid on delivery: they wait for the courier, not for a deadline.
        let on_delivery = pm::table
            .filter(pm::method.eq(PaymentMethod::CashOnDelivery))
            .select(pm::order_id);
        o::table
            .filter(o::status.eq(OrderStatus::Pending))
            .filter(o::updated_at.lt(cutoff))
            .filter(o::id.ne_all(by_transfer).or(o::updated_at.lt(bank_cutoff)))
            .filter(o::id.ne_all(on_delivery))
            .order(o::updated_at.asc())
            .limit(limit)
            .select(o::id)
            .load(conn)
    }

    /// Cancels a pending order untouched since `cutoff` and puts its stock
    /// back; call it inside a transaction. False if the order was paid,
    /// touched or cancelled meanwhile (then nothing changes).
    pub fn cancel_unpaid(
        conn: &mut DbConn,
        order_id: i64,
        cutoff: NaiveDateTime,
    ) -> QueryResult<bool> {
        transition_if(
            conn,
            order_id,
            OrderStatus::Pending,
            &Move::Cancel,
            Some(cutoff),
            Actor::System,
        )
        .map_err(|e| match e {
            MoveError::Db(e) => e,
            MoveError::NotAllowed(e) => unreachable_move(e),
        })
    }

    /// Whether `cart` holds exactly what this order bought.
    pub fn bought(&self, conn: &mut DbConn, cart: &Cart) -> QueryResult<bool> {
        let mut bought: Vec<(i64, i64)> = self
            .lines(conn)?
            .iter()
            .filter_map(|l| l.product_id.map(|id| (id, l.quantity)))
            .collect();
        bought.sort_unstable();
        Ok(bought == cart.lines().collect::<Vec<_>>())
    }

    /// Marks a pending order paid. Only a pending order moves, so a second
    /// call (a replayed webhook, a double submit) changes nothing and
    /// returns false.
    /// A pending order is paid for by a card authorization (capture at
    /// shipping). False if it was not pending.
    pub fn mark_authorized(conn: &mut DbConn, order_id: i64) -> QueryResult<bool> {
        Order::transition(conn, order_id, OrderStatus::Pending, &Move::Authorize).map_err(|e| {
            match e {
                MoveError::Db(e) => e,
                MoveError::NotAllowed(e) => unreachable_move(e),
            }
        })
    }

    pub fn mark_paid(conn: &mut DbConn, order_id: i64) -> QueryResult<bool> {
        let status: OrderStatus = o::table.find(order_id).select(o::status).first(conn)?;
        if matches!(status, OrderStatus::Shipped | OrderStatus::Delivered) {
            return Order::mark_paid_on_delivery(conn, order_id);
        }
        Order::transition(conn, order_id, OrderStatus::Pending, &Move::Pay).map_err(|e| match e {
            MoveError::Db(e) => e,
            MoveError::NotAllowed(e) => unreachable_move(e),
        })
    }

    /// An order paid on delivery, shipped unpaid, is paid now: it keeps
    /// its status and takes its invoice number. False if it was paid
    /// already (or is not such an order).
    fn mark_paid_on_delivery(conn: &mut DbConn, order_id: i64) -> QueryResult<bool> {
        if !crate::payment_method::of(conn, order_id)?.pays_on_delivery() {
            return Ok(false);
        }
        let now = site_core::now();
        let moved = diesel::update(
            o::table
                .find(order_id)
                .filter(o::paid_at.is_null())
                .filter(o::status.eq_any([OrderStatus::Shipped, OrderStatus::Delivered])),
        )
        .set((o::paid_at.eq(Some(now)), o::updated_at.eq(now)))
        .execute(conn)?;
        if moved == 0 {
            return Ok(false);
        }
        let invoice = crate::invoices::assign(conn, order_id)?;
        events::record(
            conn,
            order_id,
            EventKind::Paid,
            &format!("Cash received on delivery; invoice {}", invoice.label()),
            &format!(
                "Payment received on delivery; invoice {}. Thank you!",
                invoice.label()
            ),
            Actor::System,
        )?;
        Ok(true)
    }

    /// Whether the order is waiting for money: unpaid and not cancelled
    /// (an order paid on delivery may already be on its way).
    pub fn awaits_money(&self) -> bool {
        self.paid_at.is_none()
            && matches!(
                self.status(),
                OrderStatus::Pending | OrderStatus::Shipped | OrderStatus::Delivered
            )
    }

    /// The one way an order changes status: from `from` (what the caller
    /// read) by `mv`, if the pipeline allows it. A conditional UPDATE, so
    /// only one of two racing moves happens: `Ok(false)` if the order is
    /// no longer `from`. A cancel puts the stock back. Call it inside a
    /// transaction.
    pub fn transition(
        conn: &mut DbConn,
        order_id: i64,
        from: OrderStatus,
        mv: &Move<'_>,
    ) -> Result<bool, MoveError> {
        transition_if(conn, order_id, from, mv, None, Actor::System)
    }

    /// [`Order::transition`] made by `actor` (recorded on the timeline).
    pub fn transition_by(
        conn: &mut DbConn,
        order_id: i64,
        from: OrderStatus,
        mv: &Move<'_>,
        actor: Actor<'_>,
    ) -> Result<bool, MoveError> {
        transition_if(conn, order_id, from, mv, None, actor)
    }

    /// What templates see: the order, its money formatted, its status.
    pub fn view(&self, lines: &[OrderLine]) -> OrderView {
        let currency = self.currency();
        let money = |minor| Money::from_minor(minor, currency);
        OrderView {
            order: self.clone(),
            subtotal: money(self.subtotal_minor),
            shipping: money(self.shipping_minor),
            discount: money(self.discount_minor),
            tax: money(self.tax_minor),
            total: self.total(),
            status: self.status(),
            status_label: self.status().label(),
            awaits_payment: self.status().awaits_payment(),
            carrier_name: crate::domain::carrier_name(&self.carrier).to_string(),
            tax_label: None,
            refunded: money(self.refunded_minor),
            refund_state: match self.refunded_minor {
                0 => None,
                r if r >= self.total_minor => Some("Refunded"),
                _ => Some("Partially refunded"),
            },
            lines: lines
                .iter()
                .map(|line| LineView {
                    product_id: line.product_id,
                    name: line.product_name.clone(),
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                    unit_price: Money::from_minor(line.unit_price_minor, currency),
                    line_total: Money::from_minor(line.line_total_minor, currency),
                    discount: Money::from_minor(line.discount_minor, currency),
                    net: Money::from_minor(line.line_total_minor - line.discount_minor, currency),
                    tax: Money::from_minor(line.tax_minor, currency),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: Order,
    pub subtotal: Money,
    pub shipping: Money,
    pub discount: Money,
    pub tax: Money,
    pub total: Money,
    pub status: OrderStatus,
    pub status_label: &'static str,
    pub awaits_payment: bool,
    pub carrier_name: String,
    pub lines: Vec<LineView>,
    pub refunded: Money,
    /// "Partially refunded" or "Refunded" once money was given back.
    pub refund_state: Option<&'static str>,
    /// The tax row's label ("VAT 20%"), once `with_adjustments` has run.
    pub tax_label: Option<String>,
}

impl OrderView {
    /// Adds what the breakdown's rows say (the tax rate's label).
    pub fn with_adjustments(mut self, adjustments: &[OrderAdjustment]) -> OrderView {
        self.tax_label = adjustments
            .iter()
            .find(|a| a.kind == AdjustmentKind::Tax)
            .map(|a| a.label.clone());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LineView {
    pub product_id: Option<i64>,
    pub name: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
    /// Its share of the order's discount, what is left, and its tax.
    pub discount: Money,
    pub net: Money,
    pub tax: Money,
}

/// A status change, with what it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move<'a> {
    Pay,
    /// Paid for by a card authorization: the money is held, to be
    /// captured before the order ships.
    Authorize,
    Ship {
        carrier: &'a str,
        tracking_number: &'a str,
    },
    Deliver,
    Cancel,
}

impl Move<'_> {
    pub fn to(&self) -> OrderStatus {
        match self {
            Move::Pay | Move::Authorize => OrderStatus::Paid,
            Move::Ship { .. } => OrderStatus::Shipped,
            Move::Deliver => OrderStatus::Delivered,
            Move::Cancel => OrderStatus::Cancelled,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error(transparent)]
    NotAllowed(#[from] TransitionError),
    #[error(transparent)]
    Db(#[from] DieselError),
}

/// Moves that the code above only makes from statuses that allow them.
fn unreachable_move(e: TransitionError) -> DieselError {
    DieselError::QueryBuilderError(e.to_string().into())
}

/// [`Order::transition`], also requiring the order untouched since
/// `untouched_since` (the unpaid-order sweep).
fn transition_if(
    conn: &mut DbConn,
    order_id: i64,
    from: OrderStatus,
    mv: &Move<'_>,
    untouched_since: Option<NaiveDateTime>,
    actor: Actor<'_>,
) -> Result<bool, MoveError> {
    let to = match from.transition(mv.to()) {
        Ok(to) => to,
        Err(refused) => {
            if crate::payment_method::of(conn, order_id)?.pays_on_delivery() {
                from.transition_paying_on_delivery(mv.to())?
            } else {
                return Err(refused.into());
            }
        }
    };
    let now = site_core::now();
    // No cutoff: any time before the year 9999 will do.
    let cutoff = untouched_since.unwrap_or_else(|| {
        chrono::NaiveDate::from_ymd_opt(9999, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or(now)
    });
    let row = o::table
        .filter(o::id.eq(order_id))
        .filter(o::status.eq(from))
        .filter(o::updated_at.lt(cutoff));
    let moved = match mv {
        Move::Pay | Move::Authorize => diesel::update(row)
            .set((
                o::status.eq(to),
                o::paid_at.eq(Some(now)),
                o::updated_at.eq(now),
            ))
            .execute(conn)?,
        Move::Ship {
            carrier,
            tracking_number,
        } => diesel::update(row)
            .set((
                o::status.eq(to),
                o::carrier.eq(*carrier),
                o::tracking_number.eq(*tracking_number),
                o::shipped_at.eq(Some(now)),
                o::updated_at.eq(now),
            ))
            .execute(conn)?,
        Move::Deliver => diesel::update(row)
            .set((
                o::status.eq(to),
                o::delivered_at.eq(Some(now)),
                o::updated_at.eq(now),
            ))
            .execute(conn)?,
        Move::Cancel => diesel::update(row)
            .set((
                o::status.eq(to),
                o::cancelled_at.eq(Some(now)),
                o::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    if moved == 0 {
        return Ok(false);
    }
    let (kind, message, customer) = match mv {
        Move::Pay => {
            let invoice = crate::invoices::assign(conn, order_id)?;
            (
                EventKind::Paid,
                format!("Paid; invoice {}", invoice.label()),
                format!("Payment received; invoice {}. Thank you!", invoice.label()),
            )
        }
        Move::Authorize => {
            let invoice = crate::invoices::assign(conn, order_id)?;
            (
                EventKind::Paid,
                format!(
                    "Card authorized (capture it before shipping); invoice {}",
                    invoice.label()
                ),
                format!(
                    "Payment authorized: the amount is held on your card and taken when \
                     your order ships; invoice {}. Thank you!",
                    invoice.label()
                ),
            )
        }
        Move::Ship {
            carrier,
            tracking_number,
        } => {
            let carrier = crate::domain::carrier_name(carrier);
            (
                EventKind::Shipped,
                format!("Marked shipped with {carrier}, tracking number {tracking_number}"),
                format!("Shipped with {carrier}. Tracking number: {tracking_number}"),
            )
        }
        Move::Deliver => (
            EventKind::Delivered,
            "Marked delivered".to_string(),
            "Delivered".to_string(),
        ),
        Move::Cancel if untouched_since.is_some() => (
            EventKind::Cancelled,
            "Cancelled: not paid within the hold time; its stock is back on sale".to_string(),
            "Cancelled because it was not paid in time. Nothing was charged.".to_string(),
        ),
        Move::Cancel => (
            EventKind::Cancelled,
            format!(
                "Cancelled{}; its stock is back on sale",
                if from == OrderStatus::Paid {
                    " after payment"
                } else {
                    ""
                }
            ),
            "Cancelled".to_string(),
        ),
    };
    events::record(conn, order_id, kind, &message, &customer, actor)?;
    if to == OrderStatus::Cancelled {
        // Units a refund already put back on sale are not returned twice.
        let lines: Vec<(Option<i64>, i64, i64)> = l::table
            .filter(l::order_id.eq(order_id))
            .select((l::product_id, l::quantity, l::restocked_quantity))
            .load(conn)?;
        let back: Vec<(i64, i64)> = lines
            .into_iter()
            .filter_map(|(product_id, quantity, restocked)| {
                Some((product_id?, quantity - restocked)).filter(|(_, n)| *n > 0)
            })
            .collect();
        products::models::release_many(conn, &back)?;
        // The order's voucher use goes back to the code.
        crate::vouchers::release(conn, order_id)?;
    }
    Ok(true)
}

/// A cart line that cannot be filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShortLine {
    pub product_id: i64,
    pub name: String,
    pub wanted: i64,
    pub available: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    #[error("your cart is empty")]
    EmptyCart,
    #[error("some products are not in stock in the quantity asked for")]
    OutOfStock(Vec<ShortLine>),
    #[error("some products are no longer sold")]
    Unavailable(Vec<i64>),
    #[error("the shipping method chosen does not deliver this order")]
    ShippingUnavailable,
    #[error("the voucher cannot be used: {0}")]
    VoucherRefused(VoucherRefusal),
    #[error("the total changed since it was shown: it is now {now}")]
    TotalChanged { now: Money },
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("queueing the confirmation: {0}")]
    Confirmation(String),
    #[error(transparent)]
    Db(#[from] DieselError),
}

#[derive(Debug)]
pub enum Placed {
    /// This call created the order.
    New(Order),
    /// The same checkout form had already placed this order.
    Existing(Order),
}

/// Places the order for `cart` in one transaction: the order and its lines
/// (copying name, SKU and price) are written and every line's stock is taken
/// with a conditional UPDATE, or nothing is written at all. The same
/// `idempotency_key` always yields the same single order.
pub fn place_order(
    conn: &mut DbConn,
    req: &CheckoutRequest<'_>,
) -> Result<Placed, PlaceOrderError> {
    let attempt = write_transaction(conn, |conn| place_order_tx(conn, req));
    match attempt {
        // Two submissions of one form raced (PostgreSQL): the loser's
        // transaction rolled back whole; the winner's order is the answer.
        Err(PlaceOrderError::Db(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            _,
        ))) => Ok(Placed::Existing(Order::by_idempotency_key(
            conn,
            req.idempotency_key,
        )?)),
        other => other,
    }
}

/// What a checkout submits: the cart, who buys and where it goes, and the
/// form's idempotency key.
pub struct CheckoutRequest<'a> {
    pub cart: &'a Cart,
    pub details: &'a CheckoutDetails,
    pub idempotency_key: &'a str,
    pub user_id: Option<i64>,
    pub currency: Currency,
    pub shipping_method_id: i64,
    /// The voucher code the shopper applied.
    pub voucher_code: Option<&'a str>,
    pub taxes: TaxSettings,
    pub payment_method: crate::payment_method::PaymentMethod,
    /// The total the shopper saw and agreed to; the order is refused if
    /// it comes to anything else (a price changed meanwhile).
    pub expected_total: Option<Money>,
    /// Runs in the order's transaction once it is written (the view queues
    /// the confirmation email here, so an order never lacks one).
    pub on_placed: Option<&'a OnPlaced<'a>>,
}

/// Work done inside `place_order`'s transaction for a new order (given
/// its lines and breakdown rows).
pub type OnPlaced<'f> =
    dyn Fn(&mut DbConn, &Order, &[OrderLine], &[OrderAdjustment]) -> Result<(), String> + 'f;

fn place_order_tx(conn: &mut DbConn, req: &CheckoutRequest<'_>) -> Result<Placed, PlaceOrderError> {
    let CheckoutRequest {
        cart,
        details,
        idempotency_key,
        user_id,
        currency,
        shipping_method_id,
        voucher_code,
        taxes,
        payment_method,
        expected_total,
        on_placed,
    } = *req;
    if let Some(existing) = Order::by_idempotency_key(conn, idempotency_key).optional()? {
        return Ok(Placed::Existing(existing));
    }
    if cart.is_empty() {
        return Err(PlaceOrderError::EmptyCart);
    }
    let products = Product::active_by_ids(conn, &cart.product_ids())?;
    let priced = PricedCart::new(cart, products, currency)?;
    if !priced.missing.is_empty() {
        return Err(PlaceOrderError::Unavailable(priced.missing));
    }
    let now = site_core::now();
    let voucher = match voucher_code {
        Some(code) => {
            let customer = vouchers::Customer {
                email: details.email.as_str(),
                user_id,
            };
            match vouchers::applicable(conn, code, now, priced.total, customer)? {
                Ok(v) => Some(v),
                Err(refusal) => return Err(PlaceOrderError::VoucherRefused(refusal)),
            }
        }
        None => None,
    };
    let parcel = Parcel {
        country: &details.address.country,
        subtotal: vouchers::Voucher::goods_after(voucher.as_ref(), priced.total)?,
        weight_grams: priced.weight_grams,
    };
    let Some(quote) = shipping::quote(conn, shipping_method_id, &parcel)? else {
        return Err(PlaceOrderError::ShippingUnavailable);
    };
    let tax = taxes::rule_for(conn, &details.address.country, taxes)?;
    let breakdown = breakdown_of(&priced, currency, &quote, voucher.as_ref(), tax.as_ref())?;
    if expected_total.is_some_and(|t| t != breakdown.total) {
        return Err(PlaceOrderError::TotalChanged {
            now: breakdown.total,
        });
    }
    // Take every line's stock; report all the short lines, not just the
    // first. Variants' parents are locked first (in id order, so two
    // checkouts cannot deadlock) and their totals follow.
    let parents = products::models::lock_parents(conn, &cart.product_ids())?;
    let mut short = Vec::new();
    for line in &priced.lines {
        if !reserve_stock(conn, line.product_id, line.quantity)? {
            // The stock read above may be stale by now (another checkout
            // took it): tell the shopper what is left at this moment.
            let available = Product::find(conn, line.product_id)
                .map(|p| p.stock)
                .unwrap_or(0);
            short.push(ShortLine {
                product_id: line.product_id,
                name: line.name.clone(),
                wanted: line.quantity,
                available,
            });
        }
    }
    if !short.is_empty() {
        return Err(PlaceOrderError::OutOfStock(short));
    }
    products::models::refresh_parents(conn, &parents)?;
    let options = products::variants::described(conn, &cart.product_ids())?;
    let public_id = site_core::random_token(32);
    diesel::insert_into(o::table)
        .values((
            address_columns!(o, &details.address),
            &NewOrder {
                public_id: &public_id,
                idempotency_key,
                user_id,
                email: details.email.as_str(),
                status: OrderStatus::Pending,
                currency: currency.code(),
                total_minor: breakdown.total.minor(),
                created_at: now,
                updated_at: now,
                subtotal_minor: breakdown.subtotal.minor(),
                shipping_minor: breakdown.shipping.minor(),
                discount_minor: breakdown.discount.minor(),
                tax_minor: breakdown.tax.minor(),
                shipping_method: &quote.name,
                shipping_method_id: Some(quote.method_id),
                voucher_code: voucher.as_ref().map_or("", |v| v.code.as_str()),
                tax_included: breakdown.tax_included,
            },
        ))
        .execute(conn)?;
    let order = Order::by_public_id(conn, &public_id)?;
    for a in &breakdown.adjustments {
        diesel::insert_into(adj::table)
            .values((
                adj::order_id.eq(order.id),
                adj::kind.eq(a.kind),
                adj::label.eq(&a.label),
                adj::amount_minor.eq(a.amount.minor()),
                adj::rate_basis_points.eq(a.rate_basis_points),
            ))
            .execute(conn)?;
    }
    for ((line, discount), tax) in priced
        .lines
        .iter()
        .zip(&breakdown.line_discounts)
        .zip(&breakdown.line_taxes)
    {
        diesel::insert_into(l::table)
            .values(&NewLine {
                order_id: order.id,
                product_id: Some(line.product_id),
                product_name: &line.name,
                options: options.get(&line.product_id).map_or("", String::as_str),
                sku: &line.sku,
                unit_price_minor: line.unit_price.minor(),
                quantity: line.quantity,
                line_total_minor: line.line_total.minor(),
                discount_minor: discount.minor(),
                tax_minor: tax.minor(),
            })
            .execute(conn)?;
    }
    crate::payment_method::record(conn, order.id, payment_method)?;
    if let Some(b) = &details.billing {
        use site_core::schema::orders_billing_address as ba;
        diesel::insert_into(ba::table)
            .values((ba::order_id.eq(order.id), address_columns!(ba, b)))
            .execute(conn)?;
    }
    events::record(
        conn,
        order.id,
        EventKind::Placed,
        &format!(
            "Placed by {} ({}): {} for {} with {} delivery{}{}",
            details.email.as_str(),
            if user_id.is_some() {
                "customer"
            } else {
                "guest"
            },
            match priced.item_count {
                1 => "1 item".to_string(),
                n => format!("{n} items"),
            },
            breakdown.total,
            quote.name,
            voucher
                .as_ref()
                .map(|v| format!(" and the voucher {}", v.code))
                .unwrap_or_default(),
            if payment_method == crate::payment_method::PaymentMethod::BankTransfer {
                "; to be paid by bank transfer"
            } else {
                ""
            }
        ),
        "Order placed",
        Actor::Customer(user_id),
    )?;
    if let Some(v) = &voucher {
        // Claimed last, after the stock: a use is only counted for an
        // order that is placed, and the transaction undoes it otherwise.
        let customer = vouchers::Customer {
            email: details.email.as_str(),
            user_id,
        };
        if let Err(refusal) = vouchers::claim(conn, v, order.id, customer, breakdown.discount)? {
            return Err(PlaceOrderError::VoucherRefused(refusal));
        }
    }
    if let Some(f) = on_placed {
        let lines = order.lines(conn)?;
        let adjustments = order.adjustments(conn)?;
        f(conn, &order, &lines, &adjustments).map_err(PlaceOrderError::Confirmation)?;
    }
    Ok(Placed::New(order))
}

/// The breakdown of `priced` shipped with `quote`, with `voucher`, taxed
/// by `tax`: what checkout shows and what `place_order` stores.
pub fn breakdown_of(
    priced: &PricedCart,
    currency: Currency,
    quote: &ShippingQuote,
    voucher: Option<&Voucher>,
    tax: Option<&TaxRule>,
) -> Result<Breakdown, MoneyError> {
    let lines: Vec<Money> = priced.lines.iter().map(|l| l.line_total).collect();
    Breakdown::for_checkout(&lines, currency, Some(quote), voucher, tax)
}

//! Voucher codes: what they take off, when they may be used, and the one
//! conditional UPDATE that claims a use, so a code limited to N uses is
//! used N times however many shoppers race for it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use site_core::db::DbConn;
use site_core::money::{Locale, Money, MoneyError};
use site_core::schema::{orders_voucher as v, orders_voucher_use as vu};

site_core::text_enum! {
    /// What a voucher takes off.
    pub enum VoucherKind {
        /// A percentage of the subtotal.
        Percent = "percent",
        /// A fixed amount off the subtotal (never more than it).
        Fixed = "fixed",
        /// The delivery charge.
        FreeShipping = "free_shipping",
    }
}

impl VoucherKind {
    pub fn label(self) -> &'static str {
        match self {
            VoucherKind::Percent => "Percentage off",
            VoucherKind::Fixed => "Amount off",
            VoucherKind::FreeShipping => "Free delivery",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = v)]
pub struct Voucher {
    pub id: i64,
    pub code: String,
    pub description: String,
    pub kind: VoucherKind,
    pub percent_basis_points: i32,
    pub amount_minor: i64,
    pub min_basket_minor: Option<i64>,
    pub valid_from: Option<NaiveDateTime>,
    pub valid_until: Option<NaiveDateTime>,
    pub usage_limit: Option<i64>,
    pub per_customer_limit: Option<i64>,
    pub times_used: i64,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Why a code cannot be used, in words for the shopper.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoucherRefusal {
    #[error("“{0}” is not a voucher code we know. Check it and try again.")]
    Unknown(String),
    #[error("This code cannot be used yet.")]
    NotYet,
    #[error("This code has expired.")]
    Expired,
    #[error("This code has been used up.")]
    UsedUp,
    #[error("You have already used this code as many times as it allows.")]
    AlreadyUsed,
    #[error("This code needs a basket of at least {0}.")]
    BasketTooSmall(Money),
}

impl VoucherRefusal {
    /// The message with amounts in the shop's locale.
    pub fn message(&self, locale: Locale) -> String {
        match self {
            VoucherRefusal::BasketTooSmall(min) => {
                format!(
                    "This code needs a basket of at least {}.",
                    min.format(locale)
                )
            }
            other => other.to_string(),
        }
    }
}

/// What people type, as codes are stored: trimmed, upper case.
pub fn normalise(code: &str) -> String {
    code.trim().to_uppercase()
}

impl Voucher {
    pub fn percent(&self) -> Decimal {
        Decimal::new(i64::from(self.percent_basis_points), 2)
    }

    /// How the discount reads on the breakdown: "Voucher DEMO10 (10% off)".
    pub fn label(&self) -> String {
        let what = match self.kind {
            VoucherKind::Percent => format!("{}% off", self.percent().normalize()),
            VoucherKind::Fixed => "amount off".to_string(),
            VoucherKind::FreeShipping => "free delivery".to_string(),
        };
        format!("Voucher {} ({what})", self.code)
    }

    pub fn by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Voucher>> {
        v::table
            .filter(v::code.eq(normalise(code)))
            .select(Voucher::as_select())
            .first(conn)
            .optional()
    }

    /// Everything but the customer's own earlier uses: active, within its
    /// dates, uses left, and a big enough basket.
    pub fn check(&self, now: NaiveDateTime, subtotal: Money) -> Result<(), VoucherRefusal> {
        if !self.is_active {
            return Err(VoucherRefusal::Unknown(self.code.clone()));
        }
        if self.valid_from.is_some_and(|from| now < from) {
            return Err(VoucherRefusal::NotYet);
        }
        if self.valid_until.is_some_and(|until| now >= until) {
            return Err(VoucherRefusal::Expired);
        }
        if self
            .usage_limit
            .is_some_and(|limit| self.times_used >= limit)
        {
            return Err(VoucherRefusal::UsedUp);
        }
        if let Some(min) = self.min_basket_minor {
            if subtotal.minor() < min {
                return Err(VoucherRefusal::BasketTooSmall(Money::from_minor(
                    min,
                    subtotal.currency(),
                )));
            }
        }
        Ok(())
    }

    /// What it takes off a basket of `subtotal` delivered for `shipping`:
    /// never more than what it discounts.
    pub fn discount(&self, subtotal: Money, shipping: Money) -> Result<Money, MoneyError> {
        match self.kind {
            VoucherKind::Percent => subtotal.percent(self.percent()).map(|d| d.min(subtotal)),
            VoucherKind::Fixed => {
                Ok(Money::from_minor(self.amount_minor, subtotal.currency()).min(subtotal))
            }
            VoucherKind::FreeShipping => Ok(shipping),
        }
    }

    /// What the goods cost after this voucher's discount on them (a
    /// free-delivery voucher takes nothing off the goods): what free
    /// delivery thresholds compare.
    pub fn goods_after(voucher: Option<&Voucher>, subtotal: Money) -> Result<Money, MoneyError> {
        match voucher {
            Some(v) if v.kind != VoucherKind::FreeShipping => {
                subtotal.checked_sub(v.discount(subtotal, Money::zero(subtotal.currency()))?)
            }
            _ => Ok(subtotal),
        }
    }

    /// Uses of this voucher by `customer`: under their email, or (signed
    /// in) on any of their account's orders, whatever email those gave.
    pub fn uses_by(&self, conn: &mut DbConn, customer: Customer<'_>) -> QueryResult<i64> {
        use site_core::schema::orders_order as o;
        let by_email = vu::email.eq(customer.email.to_lowercase());
        let query = vu::table.filter(vu::voucher_id.eq(self.id));
        match customer.user_id {
            Some(user) => {
                query
                    .filter(by_email.or(
                        vu::order_id.eq_any(o::table.filter(o::user_id.eq(user)).select(o::id)),
                    ))
                    .count()
                    .get_result(conn)
            }
            None => query.filter(by_email).count().get_result(conn),
        }
    }

    /// `check` and the per-customer limit for `customer`.
    pub fn check_for(
        &self,
        conn: &mut DbConn,
        now: NaiveDateTime,
        subtotal: Money,
        customer: Customer<'_>,
    ) -> QueryResult<Result<(), VoucherRefusal>> {
        if let Err(r) = self.check(now, subtotal) {
            return Ok(Err(r));
        }
        if let Some(limit) = self.per_customer_limit {
            if self.uses_by(conn, customer)? >= limit {
                return Ok(Err(VoucherRefusal::AlreadyUsed));
            }
        }
        Ok(Ok(()))
    }
}

/// Who uses a voucher: the checkout's email, and the account when signed
/// in (a per-customer limit counts both).
#[derive(Debug, Clone, Copy)]
pub struct Customer<'a> {
    pub email: &'a str,
    pub user_id: Option<i64>,
}

/// The voucher for `code` if `customer` may use it on a basket of
/// `subtotal` now; otherwise why not.
pub fn applicable(
    conn: &mut DbConn,
    code: &str,
    now: NaiveDateTime,
    subtotal: Money,
    customer: Customer<'_>,
) -> QueryResult<Result<Voucher, VoucherRefusal>> {
    let Some(voucher) = Voucher::by_code(conn, code)? else {
        return Ok(Err(VoucherRefusal::Unknown(normalise(code))));
    };
    Ok(voucher
        .check_for(conn, now, subtotal, customer)?
        .map(|()| voucher))
}

/// Claims one use of `voucher` for order `order_id` inside the order's
/// transaction. The conditional UPDATE counts the use only while uses are
/// left (and, on PostgreSQL, locks the voucher's row until commit, so the
/// per-customer count that follows sees every earlier use).
pub fn claim(
    conn: &mut DbConn,
    voucher: &Voucher,
    order_id: i64,
    customer: Customer<'_>,
    discount: Money,
) -> QueryResult<Result<(), VoucherRefusal>> {
    let claimed = diesel::update(
        v::table
            .filter(v::id.eq(voucher.id))
            .filter(v::is_active.eq(true))
            .filter(
                v::usage_limit
                    .is_null()
                    .or(v::times_used.lt(v::usage_limit.assume_not_null())),
            ),
    )
    .set(v::times_used.eq(v::times_used + 1))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(Err(VoucherRefusal::UsedUp));
    }
    if let Some(limit) = voucher.per_customer_limit {
        if voucher.uses_by(conn, customer)? >= limit {
            return Ok(Err(VoucherRefusal::AlreadyUsed));
        }
    }
    diesel::insert_into(vu::table)
        .values((
            vu::voucher_id.eq(voucher.id),
            vu::order_id.eq(order_id),
            vu::email.eq(customer.email.to_lowercase()),
            vu::discount_minor.eq(discount.minor()),
            vu::created_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    Ok(Ok(()))
}

/// Gives back the voucher use of a cancelled order (in its transaction), so
/// an unpaid or cancelled order does not use up a limited code.
pub fn release(conn: &mut DbConn, order_id: i64) -> QueryResult<()> {
    let used: Option<i64> = vu::table
        .filter(vu::order_id.eq(order_id))
        .select(vu::voucher_id)
        .first(conn)
        .optional()?;
    if let Some(voucher_id) = used {
        diesel::delete(vu::table.filter(vu::order_id.eq(order_id))).execute(conn)?;
        diesel::update(v::table.find(voucher_id).filter(v::times_used.gt(0)))
            .set(v::times_used.eq(v::times_used - 1))
            .execute(conn)?;
    }
    Ok(())
}

/// A voucher as `create` takes it.
pub struct NewVoucher<'a> {
    pub code: &'a str,
    pub description: &'a str,
    pub kind: VoucherKind,
    pub percent_basis_points: i32,
    pub amount: Money,
    pub min_basket: Option<Money>,
    pub valid_from: Option<NaiveDateTime>,
    pub valid_until: Option<NaiveDateTime>,
    pub usage_limit: Option<i64>,
    pub per_customer_limit: Option<i64>,
}

/// Adds a voucher (demo data, tests); returns its id.
pub fn create(conn: &mut DbConn, new: &NewVoucher<'_>) -> QueryResult<i64> {
    let now = site_core::now();
    diesel::insert_into(v::table)
        .values((
            v::code.eq(normalise(new.code)),
            v::description.eq(new.description),
            v::kind.eq(new.kind),
            v::percent_basis_points.eq(new.percent_basis_points),
            v::amount_minor.eq(new.amount.minor()),
            v::min_basket_minor.eq(new.min_basket.map(|m| m.minor())),
            v::valid_from.eq(new.valid_from),
            v::valid_until.eq(new.valid_until),
            v::usage_limit.eq(new.usage_limit),
            v::per_customer_limit.eq(new.per_customer_limit),
            v::times_used.eq(0),
            v::is_active.eq(true),
            v::created_at.eq(now),
            v::updated_at.eq(now),
        ))
        .returning(v::id)
        .get_result(conn)
}

/// The demo shop's code, printed at start-up.
pub const DEMO_CODE: &str = "DEMO10";

/// Adds `DEMO10` (10 % off, no limit) unless it exists; true if added.
pub fn seed_demo(conn: &mut DbConn, currency: site_core::Currency) -> QueryResult<bool> {
    if Voucher::by_code(conn, DEMO_CODE)?.is_some() {
        return Ok(false);
    }
    create(
        conn,
        &NewVoucher {
            code: DEMO_CODE,
            description: "The demo shop's code: 10% off everything, as often as you like.",
            kind: VoucherKind::Percent,
            percent_basis_points: 1000,
            amount: Money::zero(currency),
            min_basket: None,
            valid_from: None,
            valid_until: None,
            usage_limit: None,
            per_customer_limit: None,
        },
    )?;
    Ok(true)
}

/// The demo code, if it is there to be used.
pub fn demo_code(conn: &mut DbConn) -> QueryResult<Option<Voucher>> {
    Ok(Voucher::by_code(conn, DEMO_CODE)?.filter(|v| v.is_active))
}

#[cfg(test)]
mod tests {
    use super::*;
    use site_core::Currency;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    fn voucher(kind: VoucherKind) -> Voucher {
        Voucher {
            id: 1,
            code: "SAVE".into(),
            description: String::new(),
            kind,
            percent_basis_points: 1250,
            amount_minor: 2000,
            min_basket_minor: None,
            valid_from: None,
            valid_until: None,
            usage_limit: None,
            per_customer_limit: None,
            times_used: 0,
            is_active: true,
            created_at: Default::default(),
            updated_at: Default::default(),
        }
    }

    fn at(day: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, day)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    #[test]
    fn each_kind_takes_off_what_it_says_and_never_more_than_the_basket() {
        let pct = voucher(VoucherKind::Percent);
        assert_eq!(pct.discount(usd(1000), usd(500)).unwrap().minor(), 125);
        assert_eq!(
            pct.discount(usd(1), usd(0)).unwrap().minor(),
            0,
            "12.5% of 1 cent rounds to 0"
        );
        assert_eq!(pct.label(), "Voucher SAVE (12.5% off)");
        let fixed = voucher(VoucherKind::Fixed);
        assert_eq!(fixed.discount(usd(5000), usd(500)).unwrap().minor(), 2000);
        assert_eq!(fixed.discount(usd(1500), usd(500)).unwrap().minor(), 1500);
        let free = voucher(VoucherKind::FreeShipping);
        assert_eq!(free.discount(usd(1500), usd(450)).unwrap().minor(), 450);
    }

    #[test]
    fn dates_uses_and_basket_size_are_checked() {
        let mut v = voucher(VoucherKind::Percent);
        v.valid_from = Some(at(5));
        v.valid_until = Some(at(10));
        assert_eq!(v.check(at(4), usd(100)), Err(VoucherRefusal::NotYet));
        assert_eq!(v.check(at(5), usd(100)), Ok(()));
        assert_eq!(v.check(at(10), usd(100)), Err(VoucherRefusal::Expired));
        v.valid_until = None;
        v.usage_limit = Some(3);
        v.times_used = 3;
        assert_eq!(v.check(at(6), usd(100)), Err(VoucherRefusal::UsedUp));
        v.times_used = 2;
        v.min_basket_minor = Some(5000);
        assert_eq!(
            v.check(at(6), usd(4999)),
            Err(VoucherRefusal::BasketTooSmall(usd(5000)))
        );
        assert_eq!(
            v.check(at(6), usd(4999))
                .unwrap_err()
                .message(Locale::default()),
            "This code needs a basket of at least $50.00."
        );
        v.is_active = false;
        assert_eq!(
            v.check(at(6), usd(9999)),
            Err(VoucherRefusal::Unknown("SAVE".into()))
        );
        assert_eq!(normalise("  demo10 "), "DEMO10");
    }
}

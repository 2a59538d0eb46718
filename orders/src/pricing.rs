//! The price breakdown: one calculation from a cart's lines and the
//! shipping chosen to the total, which the checkout review, the order, its
//! page and its emails all show the same way. An order stores it when it
//! is placed (columns plus adjustment rows) and never recomputes it.

use serde::Serialize;
use site_core::money::{Currency, Money, MoneyError};

use crate::shipping::ShippingQuote;
use crate::vouchers::{Voucher, VoucherKind};

site_core::text_enum! {
    /// What an adjustment does to the subtotal.
    pub enum AdjustmentKind {
        /// Added: the delivery charge.
        Shipping = "shipping",
        /// Taken off.
        Discount = "discount",
        /// Added on top of the prices.
        Tax = "tax",
    }
}

/// One row of the breakdown below the subtotal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adjustment {
    pub kind: AdjustmentKind,
    pub label: String,
    pub amount: Money,
}

/// Subtotal, each adjustment, and the total they make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    pub subtotal: Money,
    pub adjustments: Vec<Adjustment>,
    pub shipping: Money,
    pub discount: Money,
    pub tax: Money,
    pub total: Money,
    /// Each line's share of the discounts on the lines (in line order),
    /// summing to them exactly; a free-delivery voucher's is on delivery.
    pub line_discounts: Vec<Money>,
}

impl Breakdown {
    /// The breakdown of `subtotal` with `adjustments`: total = subtotal +
    /// shipping - discounts + tax. Discounts beyond what they discount are
    /// an error, not a negative total.
    pub fn new(subtotal: Money, adjustments: Vec<Adjustment>) -> Result<Breakdown, MoneyError> {
        let currency = subtotal.currency();
        let sum = |kind: AdjustmentKind| {
            Money::sum(
                adjustments
                    .iter()
                    .filter(|a| a.kind == kind)
                    .map(|a| a.amount),
                currency,
            )
        };
        let shipping = sum(AdjustmentKind::Shipping)?;
        let discount = sum(AdjustmentKind::Discount)?;
        let tax = sum(AdjustmentKind::Tax)?;
        let total = subtotal
            .checked_add(shipping)?
            .checked_sub(discount)?
            .checked_add(tax)?;
        Ok(Breakdown {
            subtotal,
            adjustments,
            shipping,
            discount,
            tax,
            total,
            line_discounts: Vec::new(),
        })
    }

    /// What a cart's lines cost delivered by `shipping` with `voucher`.
    pub fn for_checkout(
        line_totals: &[Money],
        currency: Currency,
        shipping: Option<&ShippingQuote>,
        voucher: Option<&Voucher>,
    ) -> Result<Breakdown, MoneyError> {
        let subtotal = Money::sum(line_totals.iter().copied(), currency)?;
        let shipping_charge = shipping.map_or(Money::zero(currency), |s| s.price);
        let mut adjustments: Vec<Adjustment> = shipping
            .map(|s| Adjustment {
                kind: AdjustmentKind::Shipping,
                label: s.name.clone(),
                amount: s.price,
            })
            .into_iter()
            .collect();
        let mut on_lines = Money::zero(currency);
        if let Some(v) = voucher {
            let amount = v.discount(subtotal, shipping_charge)?;
            if v.kind != VoucherKind::FreeShipping {
                on_lines = amount;
            }
            adjustments.push(Adjustment {
                kind: AdjustmentKind::Discount,
                label: v.label(),
                amount,
            });
        }
        let mut b = Breakdown::new(subtotal, adjustments)?;
        b.line_discounts = on_lines.allocate(line_totals)?;
        Ok(b)
    }

    /// The discount rows, for showing each on its own line.
    pub fn discounts(&self) -> impl Iterator<Item = &Adjustment> {
        self.adjustments
            .iter()
            .filter(|a| a.kind == AdjustmentKind::Discount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    fn quote(price: i64) -> ShippingQuote {
        ShippingQuote {
            method_id: 1,
            name: "Courier".into(),
            description: String::new(),
            price: usd(price),
            free_over: None,
        }
    }

    #[test]
    fn shipping_is_added_once_and_labelled() {
        let b = Breakdown::for_checkout(
            &[usd(1000), usd(250)],
            Currency::Usd,
            Some(&quote(499)),
            None,
        )
        .unwrap();
        assert_eq!(b.subtotal.minor(), 1250);
        assert_eq!(b.shipping.minor(), 499);
        assert_eq!(b.total.minor(), 1749);
        assert_eq!(b.adjustments[0].label, "Courier");
        let none = Breakdown::for_checkout(&[usd(1)], Currency::Usd, None, None).unwrap();
        assert_eq!(none.total.minor(), 1);
        assert!(none.adjustments.is_empty());
    }

    fn voucher(kind: VoucherKind) -> Voucher {
        Voucher {
            id: 1,
            code: "TEN".into(),
            description: String::new(),
            kind,
            percent_basis_points: 1000,
            amount_minor: 0,
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

    #[test]
    fn a_voucher_is_a_labelled_discount_shared_across_the_lines() {
        let lines = [usd(999), usd(333), usd(1)];
        let b = Breakdown::for_checkout(
            &lines,
            Currency::Usd,
            Some(&quote(450)),
            Some(&voucher(VoucherKind::Percent)),
        )
        .unwrap();
        assert_eq!(b.discount.minor(), 133, "10% of 13.33, rounded");
        assert_eq!(b.total.minor(), 1333 + 450 - 133);
        assert_eq!(b.discounts().next().unwrap().label, "Voucher TEN (10% off)");
        assert_eq!(
            b.line_discounts
                .iter()
                .map(|m| m.minor())
                .collect::<Vec<_>>(),
            vec![100, 33, 0]
        );
        let free = Breakdown::for_checkout(
            &lines,
            Currency::Usd,
            Some(&quote(450)),
            Some(&voucher(VoucherKind::FreeShipping)),
        )
        .unwrap();
        assert_eq!(free.total, free.subtotal, "delivery is taken off");
        assert!(free.line_discounts.iter().all(|d| d.is_zero()));
    }

    #[test]
    fn a_discount_larger_than_the_basket_is_refused() {
        let err = Breakdown::new(
            usd(100),
            vec![Adjustment {
                kind: AdjustmentKind::Discount,
                label: "Too much".into(),
                amount: usd(101),
            }],
        )
        .unwrap_err();
        assert_eq!(err, MoneyError::Negative);
    }

    fn adjustment() -> impl Strategy<Value = Adjustment> {
        (0usize..3, 0i64..1_000_000).prop_map(|(k, a)| Adjustment {
            kind: AdjustmentKind::ALL[k],
            label: String::new(),
            amount: usd(a),
        })
    }

    proptest! {
        #[test]
        fn lines_plus_shipping_minus_discounts_plus_tax_is_the_total(
            lines in proptest::collection::vec(0i64..10_000_000, 0..20),
            adjustments in proptest::collection::vec(adjustment(), 0..8),
        ) {
            let subtotal: i64 = lines.iter().sum();
            let signed: i64 = adjustments.iter().map(|a| match a.kind {
                AdjustmentKind::Discount => -a.amount.minor(),
                _ => a.amount.minor(),
            }).sum();
            let b = Breakdown::new(usd(subtotal), adjustments.clone());
            let of = |k: AdjustmentKind| adjustments.iter().filter(|a| a.kind == k).map(|a| a.amount.minor()).sum::<i64>();
            if subtotal + of(AdjustmentKind::Shipping) < of(AdjustmentKind::Discount) {
                prop_assert!(b.is_err());
            } else {
                let b = b.unwrap();
                prop_assert_eq!(b.total.minor(), subtotal + signed);
                prop_assert_eq!(
                    b.subtotal.minor() + b.shipping.minor() - b.discount.minor() + b.tax.minor(),
                    b.total.minor()
                );
            }
        }
    }
}

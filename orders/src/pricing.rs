//! The price breakdown: one calculation from a cart's lines and the
//! shipping chosen to the total, which the checkout review, the order, its
//! page and its emails all show the same way. An order stores it when it
//! is placed (columns plus adjustment rows) and never recomputes it.

use serde::Serialize;
use site_core::money::{Currency, Money, MoneyError};

use crate::shipping::ShippingQuote;
use crate::taxes::TaxRule;
use crate::vouchers::{Voucher, VoucherKind};
use site_core::config::TaxRounding;

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
    /// A tax row's rate, in hundredths of a percent.
    pub rate_basis_points: Option<i32>,
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
    /// The tax on each line after its discount (the rest of `tax` is on
    /// delivery).
    pub line_taxes: Vec<Money>,
    /// The prices include `tax`: the total does not add it.
    pub tax_included: bool,
    /// The tax row's label ("VAT 20%"), when there is tax.
    pub tax_label: Option<String>,
}

impl Breakdown {
    /// The breakdown of `subtotal` with `adjustments`: total = subtotal +
    /// shipping - discounts + tax (tax not added when the prices include
    /// it). Discounts beyond what they discount are an error, not a
    /// negative total.
    pub fn new(
        subtotal: Money,
        adjustments: Vec<Adjustment>,
        tax_included: bool,
    ) -> Result<Breakdown, MoneyError> {
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
        let total = subtotal.checked_add(shipping)?.checked_sub(discount)?;
        let total = if tax_included {
            total
        } else {
            total.checked_add(tax)?
        };
        let tax_label = adjustments
            .iter()
            .find(|a| a.kind == AdjustmentKind::Tax)
            .map(|a| a.label.clone());
        Ok(Breakdown {
            subtotal,
            adjustments,
            shipping,
            discount,
            tax,
            total,
            line_discounts: Vec::new(),
            line_taxes: Vec::new(),
            tax_included,
            tax_label,
        })
    }

    /// What a cart's lines cost delivered by `shipping` with `voucher`,
    /// taxed by `tax`: the one calculation checkout shows and orders keep.
    pub fn for_checkout(
        line_totals: &[Money],
        currency: Currency,
        shipping: Option<&ShippingQuote>,
        voucher: Option<&Voucher>,
        tax: Option<&TaxRule>,
    ) -> Result<Breakdown, MoneyError> {
        let subtotal = Money::sum(line_totals.iter().copied(), currency)?;
        let shipping_charge = shipping.map_or(Money::zero(currency), |s| s.price);
        let mut adjustments: Vec<Adjustment> = shipping
            .map(|s| Adjustment {
                kind: AdjustmentKind::Shipping,
                label: s.name.clone(),
                amount: s.price,
                rate_basis_points: None,
            })
            .into_iter()
            .collect();
        let mut on_lines = Money::zero(currency);
        let mut on_shipping = Money::zero(currency);
        if let Some(v) = voucher {
            let amount = v.discount(subtotal, shipping_charge)?;
            if v.kind == VoucherKind::FreeShipping {
                on_shipping = amount;
            } else {
                on_lines = amount;
            }
            adjustments.push(Adjustment {
                kind: AdjustmentKind::Discount,
                label: v.label(),
                amount,
                rate_basis_points: None,
            });
        }
        let line_discounts = on_lines.allocate(line_totals)?;
        // What is taxed: each line after its discount, and the delivery.
        let mut taxed = line_totals
            .iter()
            .zip(&line_discounts)
            .map(|(l, d)| l.checked_sub(*d))
            .collect::<Result<Vec<Money>, _>>()?;
        taxed.push(shipping_charge.checked_sub(on_shipping)?);
        let mut line_taxes = vec![Money::zero(currency); line_totals.len()];
        let included = tax.is_some_and(|t| t.included);
        if let Some(rule) = tax {
            let rate = rule.percent();
            let tax_of = |m: Money| {
                if rule.included {
                    m.included_percent(rate)
                } else {
                    m.percent(rate)
                }
            };
            let shares = match rule.rounding {
                TaxRounding::PerLine => taxed
                    .iter()
                    .map(|m| tax_of(*m))
                    .collect::<Result<Vec<_>, _>>()?,
                TaxRounding::PerOrder => {
                    let all = tax_of(Money::sum(taxed.iter().copied(), currency)?)?;
                    all.allocate(&taxed)?
                }
            };
            let amount = Money::sum(shares.iter().copied(), currency)?;
            line_taxes = shares[..line_totals.len()].to_vec();
            if !amount.is_zero() || rule.rate_basis_points > 0 {
                adjustments.push(Adjustment {
                    kind: AdjustmentKind::Tax,
                    label: rule.label(),
                    amount,
                    rate_basis_points: Some(rule.rate_basis_points),
                });
            }
        }
        let mut b = Breakdown::new(subtotal, adjustments, included)?;
        b.line_discounts = line_discounts;
        b.line_taxes = line_taxes;
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
            None,
        )
        .unwrap();
        assert_eq!(b.subtotal.minor(), 1250);
        assert_eq!(b.shipping.minor(), 499);
        assert_eq!(b.total.minor(), 1749);
        assert_eq!(b.adjustments[0].label, "Courier");
        let none = Breakdown::for_checkout(&[usd(1)], Currency::Usd, None, None, None).unwrap();
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
            None,
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
            None,
        )
        .unwrap();
        assert_eq!(free.total, free.subtotal, "delivery is taken off");
        assert!(free.line_discounts.iter().all(|d| d.is_zero()));
    }

    fn vat(included: bool, rounding: TaxRounding) -> TaxRule {
        TaxRule {
            name: "VAT".into(),
            rate_basis_points: 2000,
            included,
            rounding,
        }
    }

    #[test]
    fn tax_is_added_on_lines_and_delivery_after_discounts() {
        let b = Breakdown::for_checkout(
            &[usd(1000), usd(333)],
            Currency::Usd,
            Some(&quote(450)),
            Some(&voucher(VoucherKind::Percent)),
            Some(&vat(false, TaxRounding::PerLine)),
        )
        .unwrap();
        // Discount 133 shared 100 / 33: taxed 900, 300 and delivery 450.
        assert_eq!(b.discount.minor(), 133);
        assert_eq!(
            b.line_taxes.iter().map(|m| m.minor()).collect::<Vec<_>>(),
            vec![180, 60]
        );
        assert_eq!(b.tax.minor(), 180 + 60 + 90);
        assert_eq!(b.total.minor(), 1333 + 450 - 133 + 330);
        assert_eq!(b.tax_label.as_deref(), Some("VAT 20%"));
    }

    #[test]
    fn rounding_per_line_and_per_order_differ_where_cents_add_up() {
        let lines = [usd(1), usd(1), usd(1)];
        let per_line = Breakdown::for_checkout(
            &lines,
            Currency::Usd,
            None,
            None,
            Some(&vat(false, TaxRounding::PerLine)),
        )
        .unwrap();
        assert_eq!(
            per_line.tax.minor(),
            0,
            "0.2 of a cent rounds away on each line"
        );
        let per_order = Breakdown::for_checkout(
            &lines,
            Currency::Usd,
            None,
            None,
            Some(&vat(false, TaxRounding::PerOrder)),
        )
        .unwrap();
        assert_eq!(per_order.tax.minor(), 1, "0.6 of a cent rounds to one");
        assert_eq!(
            per_order.line_taxes.iter().map(|m| m.minor()).sum::<i64>(),
            1,
            "and is shared across the lines"
        );
    }

    #[test]
    fn included_tax_is_shown_but_not_added() {
        let b = Breakdown::for_checkout(
            &[usd(1200)],
            Currency::Usd,
            Some(&quote(600)),
            None,
            Some(&vat(true, TaxRounding::PerLine)),
        )
        .unwrap();
        assert_eq!(b.tax.minor(), 200 + 100);
        assert_eq!(b.total.minor(), 1800);
        assert!(b.tax_included);
        assert_eq!(b.tax_label.as_deref(), Some("VAT 20% included"));
    }

    #[test]
    fn a_discount_larger_than_the_basket_is_refused() {
        let err = Breakdown::new(
            usd(100),
            vec![Adjustment {
                kind: AdjustmentKind::Discount,
                label: "Too much".into(),
                amount: usd(101),
                rate_basis_points: None,
            }],
            false,
        )
        .unwrap_err();
        assert_eq!(err, MoneyError::Negative);
    }

    fn adjustment() -> impl Strategy<Value = Adjustment> {
        (0usize..3, 0i64..1_000_000).prop_map(|(k, a)| Adjustment {
            kind: AdjustmentKind::ALL[k],
            label: String::new(),
            amount: usd(a),
            rate_basis_points: None,
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
            let b = Breakdown::new(usd(subtotal), adjustments.clone(), false);
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

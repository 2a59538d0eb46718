//! Money: BIGINT minor units plus a currency code in the database, a
//! `rust_decimal::Decimal` in Rust, rounded explicitly (half away from zero)
//! whenever a value meets the currency's minor unit. Never `f64`.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Serialize, Serializer};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("unknown currency {0:?} (supported: USD, EUR, GBP, JPY, CHF)")]
    UnknownCurrency(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount is too large")]
    Overflow,
    #[error("enter an amount such as 12.50")]
    Invalid,
    #[error("the amount cannot be negative")]
    Negative,
    #[error("{0} has at most {1} decimal places")]
    TooPrecise(Currency, u32),
}

/// An ISO 4217 currency the shop can price in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    Usd,
    Eur,
    Gbp,
    Jpy,
    Chf,
}

impl Currency {
    pub const ALL: [Currency; 5] = [
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Jpy,
        Currency::Chf,
    ];

    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == upper)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }

    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Jpy => "JPY",
            Currency::Chf => "CHF",
        }
    }

    /// Digits after the decimal point in the minor unit.
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            _ => 2,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Usd => "$",
            Currency::Eur => "€",
            Currency::Gbp => "£",
            Currency::Jpy => "¥",
            Currency::Chf => "CHF",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in a currency, always a whole number of minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Money {
            amount: Decimal::new(minor, currency.exponent()),
            currency,
        }
    }

    pub fn zero(currency: Currency) -> Self {
        Money::from_minor(0, currency)
    }

    /// Rounds any decimal to the currency's minor unit, half away from zero.
    pub fn from_decimal_rounded(amount: Decimal, currency: Currency) -> Self {
        let rounded = amount
            .round_dp_with_strategy(currency.exponent(), RoundingStrategy::MidpointAwayFromZero);
        Money {
            amount: rounded,
            currency,
        }
    }

    /// Parses what a person types ("12.5", "1,234.50"); refuses amounts
    /// finer than the minor unit rather than rounding them silently.
    pub fn parse(input: &str, currency: Currency) -> Result<Self, MoneyError> {
        let cleaned: String = input
            .trim()
            .chars()
            .filter(|c| *c != ',' && *c != '_')
            .collect();
        let amount: Decimal = cleaned.parse().map_err(|_| MoneyError::Invalid)?;
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(MoneyError::Negative);
        }
        if amount.normalize().scale() > currency.exponent() {
            return Err(MoneyError::TooPrecise(currency, currency.exponent()));
        }
        let m = Money::from_decimal_rounded(amount, currency);
        m.checked_minor().ok_or(MoneyError::Overflow)?;
        Ok(m)
    }

    /// What a person types in `locale`'s way ("12,50" in de-DE is twelve
    /// and a half; "1.234,50" has a thousands separator); the currency
    /// symbol and spaces are ignored.
    pub fn parse_in(input: &str, currency: Currency, locale: Locale) -> Result<Self, MoneyError> {
        let mut cleaned = String::new();
        for c in input.trim().chars() {
            if c == locale.decimal {
                cleaned.push('.');
            } else if locale.group.contains(c) || c.is_whitespace() || c == '\u{202f}' {
                continue;
            } else if c.is_ascii_digit() || c == '-' || (c == '.' && locale.decimal == '.') {
                cleaned.push(c);
            } else if currency.symbol().contains(c) || c.is_alphabetic() {
                continue;
            } else {
                return Err(MoneyError::Invalid);
            }
        }
        Money::parse(&cleaned, currency)
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    fn checked_minor(&self) -> Option<i64> {
        let scaled = self
            .amount
            .checked_mul(Decimal::from(10i64.pow(self.currency.exponent())))?;
        i64::try_from(scaled.trunc()).ok()
    }

    /// Minor units for the database. Every `Money` is built whole and within
    /// range, so this cannot fail for values made by this module.
    pub fn minor(&self) -> i64 {
        self.checked_minor()
            .expect("Money is always a whole number of minor units in range")
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let minor = self
            .minor()
            .checked_add(other.minor())
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }

    pub fn checked_mul(self, quantity: i64) -> Result<Money, MoneyError> {
        let minor = self
            .minor()
            .checked_mul(quantity)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }

    /// `self - other`; an error if the result would be below zero (a
    /// discount larger than what it discounts, a refund beyond a capture).
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let minor = self
            .minor()
            .checked_sub(other.minor())
            .ok_or(MoneyError::Overflow)?;
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money::from_minor(minor, self.currency))
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn min(self, other: Money) -> Money {
        if other.minor() < self.minor() {
            other
        } else {
            self
        }
    }

    /// `rate` percent of this amount (`12.5` is 12.5 %), rounded to the
    /// minor unit half away from zero: 10 % of 0.05 is 0.01.
    pub fn percent(self, rate: Decimal) -> Result<Money, MoneyError> {
        let exact = self
            .amount
            .checked_mul(rate)
            .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED))
            .ok_or(MoneyError::Overflow)?;
        let m = Money::from_decimal_rounded(exact, self.currency);
        m.checked_minor().ok_or(MoneyError::Overflow)?;
        Ok(m)
    }

    /// The tax already inside this amount at `rate` percent: amount × rate
    /// / (100 + rate), rounded half away from zero (20 % VAT in 12.00 is
    /// 2.00).
    pub fn included_percent(self, rate: Decimal) -> Result<Money, MoneyError> {
        let exact = self
            .amount
            .checked_mul(rate)
            .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED + rate))
            .ok_or(MoneyError::Overflow)?;
        let m = Money::from_decimal_rounded(exact, self.currency);
        m.checked_minor().ok_or(MoneyError::Overflow)?;
        Ok(m)
    }

    /// Splits this amount across `weights` in proportion to them, without
    /// losing or inventing a minor unit: each share is rounded down, then
    /// the units left over go one each to the largest remainders (ties to
    /// the earlier weight). All-zero weights share equally.
    pub fn allocate(self, weights: &[Money]) -> Result<Vec<Money>, MoneyError> {
        if weights.is_empty() {
            return Ok(Vec::new());
        }
        for w in weights {
            if w.currency != self.currency {
                return Err(MoneyError::CurrencyMismatch(self.currency, w.currency));
            }
        }
        let total = self.minor();
        if total < 0 {
            return Err(MoneyError::Negative);
        }
        let mut ws: Vec<i128> = weights
            .iter()
            .map(|w| i128::from(w.minor().max(0)))
            .collect();
        if ws.iter().all(|w| *w == 0) {
            ws = vec![1; ws.len()];
        }
        let sum: i128 = ws.iter().sum();
        let total = i128::from(total);
        let mut shares: Vec<i128> = ws.iter().map(|w| total * w / sum).collect();
        let mut left = total - shares.iter().sum::<i128>();
        let mut order: Vec<usize> = (0..ws.len()).collect();
        // Largest remainder first; stable, so ties keep their order.
        order.sort_by_key(|&i| std::cmp::Reverse(total * ws[i] % sum));
        for i in order {
            if left == 0 {
                break;
            }
            shares[i] += 1;
            left -= 1;
        }
        shares
            .into_iter()
            .map(|s| {
                i64::try_from(s)
                    .map(|m| Money::from_minor(m, self.currency))
                    .map_err(|_| MoneyError::Overflow)
            })
            .collect()
    }

    /// Sums amounts of one currency; the empty sum is zero.
    pub fn sum(
        items: impl IntoIterator<Item = Money>,
        currency: Currency,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    pub fn format(&self, locale: Locale) -> String {
        locale.format(self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// Templates see `{amount: "12.50", currency: "USD"}`; the `currency`
/// filter formats it for the shop's locale.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Money", 3)?;
        st.serialize_field("amount", &self.amount.to_string())?;
        // For templates' comparisons ("free" when 0).
        st.serialize_field("minor", &self.minor())?;
        st.serialize_field("currency", self.currency.code())?;
        st.end()
    }
}

/// How a locale writes money: separators and where the symbol goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locale {
    pub tag: &'static str,
    decimal: char,
    group: &'static str,
    symbol_after: bool,
}

impl Locale {
    const KNOWN: [Locale; 6] = [
        Locale {
            tag: "en-US",
            decimal: '.',
            group: ",",
            symbol_after: false,
        },
        Locale {
            tag: "en-GB",
            decimal: '.',
            group: ",",
            symbol_after: false,
        },
        Locale {
            tag: "de-DE",
            decimal: ',',
            group: ".",
            symbol_after: true,
        },
        Locale {
            tag: "fr-FR",
            decimal: ',',
            group: "\u{202f}",
            symbol_after: true,
        },
        Locale {
            tag: "de-CH",
            decimal: '.',
            group: "’",
            symbol_after: false,
        },
        Locale {
            tag: "ja-JP",
            decimal: '.',
            group: ",",
            symbol_after: false,
        },
    ];

    /// The decimal separator ("," in de-DE).
    pub fn decimal(&self) -> char {
        self.decimal
    }

    pub fn parse(tag: &str) -> Result<Self, String> {
        let wanted = tag.trim().replace('_', "-");
        Locale::KNOWN
            .into_iter()
            .find(|l| l.tag.eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| {
                let known: Vec<_> = Locale::KNOWN.iter().map(|l| l.tag).collect();
                format!("unknown locale (supported: {})", known.join(", "))
            })
    }

    pub fn format(&self, amount: Decimal, currency: Currency) -> String {
        let rounded = amount
            .round_dp_with_strategy(currency.exponent(), RoundingStrategy::MidpointAwayFromZero);
        let text = format!("{:.*}", currency.exponent() as usize, rounded.abs());
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i.to_string(), Some(f.to_string())),
            None => (text.clone(), None),
        };
        let mut grouped = group_digits(&int_part, self.group);
        if let Some(frac) = frac_part {
            grouped.push(self.decimal);
            grouped.push_str(&frac);
        }
        let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
            "-"
        } else {
            ""
        };
        let symbol = currency.symbol();
        if self.symbol_after {
            format!("{sign}{grouped}\u{a0}{symbol}")
        } else if symbol.len() > 1 && symbol.chars().all(|c| c.is_ascii_alphabetic()) {
            format!("{sign}{symbol}\u{a0}{grouped}")
        } else {
            format!("{sign}{symbol}{grouped}")
        }
    }

    /// A count as this locale writes it: 1,000,000 (1.000.000 in de-DE).
    pub fn count(&self, n: i64) -> String {
        let grouped = group_digits(&n.unsigned_abs().to_string(), self.group);
        if n < 0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    }
}

/// `digits` with `separator` between each group of three from the right.
pub fn group_digits(digits: &str, separator: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push_str(separator);
        }
        grouped.push(ch);
    }
    grouped
}

impl Default for Locale {
    fn default() -> Self {
        Locale::KNOWN[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const USD: Currency = Currency::Usd;

    #[test]
    fn parses_what_people_type() {
        assert_eq!(Money::parse("12.5", USD).unwrap().minor(), 1250);
        assert_eq!(Money::parse("1,234.50", USD).unwrap().minor(), 123450);
        assert_eq!(
            Money::parse("12.345", USD),
            Err(MoneyError::TooPrecise(USD, 2))
        );
        assert_eq!(Money::parse("-1", USD), Err(MoneyError::Negative));
        assert_eq!(Money::parse("abc", USD), Err(MoneyError::Invalid));
        assert_eq!(Money::parse("1000", Currency::Jpy).unwrap().minor(), 1000);
        assert!(Money::parse("1.5", Currency::Jpy).is_err());
    }

    #[test]
    fn amounts_are_read_the_way_the_locale_writes_them() {
        let de = Locale::parse("de-DE").unwrap();
        let us = Locale::parse("en-US").unwrap();
        let fr = Locale::parse("fr-FR").unwrap();
        let eur = Currency::Eur;
        assert_eq!(Money::parse_in("12,50", eur, de).unwrap().minor(), 1250);
        assert_eq!(
            Money::parse_in("1.234,50 €", eur, de).unwrap().minor(),
            123_450
        );
        assert_eq!(
            Money::parse_in("1,234.50", Currency::Usd, us)
                .unwrap()
                .minor(),
            123_450
        );
        assert_eq!(
            Money::parse_in("$12.5", Currency::Usd, us).unwrap().minor(),
            1250
        );
        assert_eq!(
            Money::parse_in("1\u{202f}234,5", eur, fr).unwrap().minor(),
            123_450
        );
        assert_eq!(
            Money::parse_in("12,505", eur, de),
            Err(MoneyError::TooPrecise(eur, 2))
        );
        assert_eq!(Money::parse_in("12;50", eur, de), Err(MoneyError::Invalid));
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(
            Money::from_decimal_rounded("0.005".parse().unwrap(), USD).minor(),
            1
        );
        assert_eq!(
            Money::from_decimal_rounded("0.0049".parse().unwrap(), USD).minor(),
            0
        );
        assert_eq!(
            Money::from_decimal_rounded("2.675".parse().unwrap(), USD).minor(),
            268
        );
    }

    #[test]
    fn counts_are_grouped_per_locale() {
        let en = Locale::default();
        assert_eq!(en.count(0), "0");
        assert_eq!(en.count(999), "999");
        assert_eq!(en.count(1000), "1,000");
        assert_eq!(en.count(1_000_000), "1,000,000");
        assert_eq!(en.count(-12_345), "-12,345");
        assert_eq!(Locale::parse("de-DE").unwrap().count(41_000), "41.000");
        assert_eq!(
            Locale::parse("fr-FR").unwrap().count(41_000),
            "41\u{202f}000"
        );
    }

    #[test]
    fn formats_per_locale() {
        let m = Money::from_minor(123456789, USD);
        assert_eq!(m.format(Locale::parse("en-US").unwrap()), "$1,234,567.89");
        let e = Money::from_minor(123456, Currency::Eur);
        assert_eq!(e.format(Locale::parse("de-DE").unwrap()), "1.234,56\u{a0}€");
        assert_eq!(
            e.format(Locale::parse("fr_FR").unwrap()),
            "1\u{202f}234,56\u{a0}€"
        );
        assert_eq!(
            Money::from_minor(5000, Currency::Jpy).format(Locale::default()),
            "¥5,000"
        );
        assert_eq!(Money::from_minor(5, USD).format(Locale::default()), "$0.05");
        assert_eq!(
            Money::from_minor(100, Currency::Chf).format(Locale::default()),
            "CHF\u{a0}1.00"
        );
        assert!(Locale::parse("xx-YY").is_err());
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let e = Money::from_minor(1, USD).checked_add(Money::from_minor(1, Currency::Eur));
        assert_eq!(e, Err(MoneyError::CurrencyMismatch(USD, Currency::Eur)));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(
            Money::from_minor(i64::MAX, USD).checked_mul(2),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_minor(i64::MAX, USD).checked_add(Money::from_minor(1, USD)),
            Err(MoneyError::Overflow)
        );
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(Currency::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn minor_units_round_trip(minor in -1_000_000_000_000i64..1_000_000_000_000, c in currency()) {
            prop_assert_eq!(Money::from_minor(minor, c).minor(), minor);
        }

        #[test]
        fn addition_is_exact_and_commutative(a in 0i64..1_000_000_000_000, b in 0i64..1_000_000_000_000, c in currency()) {
            let (x, y) = (Money::from_minor(a, c), Money::from_minor(b, c));
            prop_assert_eq!(x.checked_add(y).unwrap(), y.checked_add(x).unwrap());
            prop_assert_eq!(x.checked_add(y).unwrap().amount(), x.amount() + y.amount());
        }

        #[test]
        fn multiplying_is_repeated_addition(a in 0i64..10_000_000, q in 0i64..50, c in currency()) {
            let m = Money::from_minor(a, c);
            let repeated = Money::sum(std::iter::repeat_n(m, q as usize), c).unwrap();
            prop_assert_eq!(m.checked_mul(q).unwrap(), repeated);
        }

        #[test]
        fn rounding_is_within_half_a_minor_unit(units in -10_000_000_000i64..10_000_000_000, scale in 0u32..8, c in currency()) {
            let d = Decimal::new(units, scale);
            let m = Money::from_decimal_rounded(d, c);
            let half = Decimal::new(5, c.exponent() + 1);
            prop_assert!((m.amount() - d).abs() <= half);
            prop_assert!(m.amount().scale() <= c.exponent());
        }

        #[test]
        fn subtraction_undoes_addition_and_never_goes_negative(a in 0i64..1_000_000_000_000, b in 0i64..1_000_000_000_000, c in currency()) {
            let (x, y) = (Money::from_minor(a, c), Money::from_minor(b, c));
            prop_assert_eq!(x.checked_add(y).unwrap().checked_sub(y).unwrap(), x);
            match x.checked_sub(y) {
                Ok(d) => prop_assert_eq!(d.minor(), a - b),
                Err(e) => { prop_assert!(b > a); prop_assert_eq!(e, MoneyError::Negative); }
            }
        }

        #[test]
        fn a_percentage_is_within_half_a_minor_unit_of_exact(a in 0i64..1_000_000_000_000, bp in 0u32..10_000, c in currency()) {
            let rate = Decimal::new(i64::from(bp), 2); // 0.00 % to 99.99 %
            let p = Money::from_minor(a, c).percent(rate).unwrap();
            let exact = Decimal::from(a) * rate / Decimal::ONE_HUNDRED;
            prop_assert!((Decimal::from(p.minor()) - exact).abs() <= Decimal::new(5, 1));
            prop_assert!(p.minor() <= a);
        }

        #[test]
        fn included_tax_plus_its_net_is_the_gross(gross in 0i64..1_000_000_000_000, bp in 0u32..10_000) {
            let rate = Decimal::new(i64::from(bp), 2);
            let g = Money::from_minor(gross, Currency::Usd);
            let tax = g.included_percent(rate).unwrap();
            let net = g.checked_sub(tax).unwrap();
            // Adding the tax back to the net gives the gross within half a cent.
            let exact_back = Decimal::from(net.minor()) * (Decimal::ONE_HUNDRED + rate) / Decimal::ONE_HUNDRED;
            prop_assert!((exact_back - Decimal::from(gross)).abs() <= Decimal::new(5, 1) * (Decimal::ONE_HUNDRED + rate) / Decimal::ONE_HUNDRED);
            prop_assert!(tax.minor() <= gross);
        }

        #[test]
        fn an_allocation_sums_to_the_amount_and_follows_the_weights(
            amount in 0i64..100_000_000,
            weights in proptest::collection::vec(0i64..10_000_000, 1..12),
        ) {
            let c = Currency::Usd;
            let ws: Vec<Money> = weights.iter().map(|w| Money::from_minor(*w, c)).collect();
            let shares = Money::from_minor(amount, c).allocate(&ws).unwrap();
            prop_assert_eq!(shares.len(), ws.len());
            prop_assert_eq!(shares.iter().map(|s| s.minor()).sum::<i64>(), amount);
            let total: i64 = weights.iter().sum();
            for (s, w) in shares.iter().zip(&weights) {
                prop_assert!(s.minor() >= 0);
                if total > 0 {
                    // Within one unit of the exact proportional share.
                    let exact = i128::from(amount) * i128::from(*w);
                    let got = i128::from(s.minor()) * i128::from(total);
                    prop_assert!((got - exact).abs() < i128::from(total), "share {} of weight {}", s.minor(), w);
                }
            }
        }

        #[test]
        fn formatting_keeps_every_digit(minor in 0i64..1_000_000_000_000) {
            let text = Money::from_minor(minor, USD).format(Locale::default());
            let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
            let expected = minor.to_string();
            prop_assert_eq!(digits.trim_start_matches('0'), expected.trim_start_matches('0'));
        }
    }
}

/// How amounts are typed and shown in forms: the shop's currency and
/// locale ("12,50" is twelve and a half in de-DE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyFormat {
    pub currency: Currency,
    pub locale: Locale,
}

impl MoneyFormat {
    pub fn of(config: &crate::Config) -> MoneyFormat {
        MoneyFormat {
            currency: config.currency,
            locale: config.locale,
        }
    }

    /// `minor` as a form input shows it: digits and the locale's decimal
    /// separator, no symbol or grouping, so it parses back the same.
    pub fn input(&self, minor: i64) -> String {
        Money::from_minor(minor, self.currency)
            .amount()
            .to_string()
            .replace('.', &self.locale.decimal().to_string())
    }

    /// What staff typed, in the locale's way.
    pub fn parse(&self, typed: &str) -> Result<Money, MoneyError> {
        Money::parse_in(typed, self.currency, self.locale)
    }
}

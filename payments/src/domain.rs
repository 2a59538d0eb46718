//! Cards and providers. A card exists only for the length of one charge;
//! nothing but its last four digits is ever stored.

use std::fmt;

use site_core::money::Money;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CardError {
    #[error("Enter the card number.")]
    MissingNumber,
    #[error("This card number is not valid: check the digits.")]
    InvalidNumber,
    #[error("Enter the expiry date as MM/YY.")]
    InvalidExpiry,
    #[error("This card has expired.")]
    Expired,
    #[error("Enter the 3 or 4 digit security code.")]
    InvalidCvc,
}

/// A card number that passed the Luhn check. `Debug` shows only the last
/// four digits, so a stray log line cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    pub fn parse(raw: &str) -> Result<CardNumber, CardError> {
        let digits: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.is_empty() {
            return Err(CardError::MissingNumber);
        }
        if !(12..=19).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !luhn(&digits)
        {
            return Err(CardError::InvalidNumber);
        }
        Ok(CardNumber(digits))
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(****{})", self.last4())
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Month and year a card is valid through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub month: u32,
    pub year: i32,
}

impl Expiry {
    /// "MM/YY" or "MM/YYYY", not before `today`'s month.
    pub fn parse(raw: &str, today: chrono::NaiveDate) -> Result<Expiry, CardError> {
        use chrono::Datelike;
        let (m, y) = raw.trim().split_once('/').ok_or(CardError::InvalidExpiry)?;
        let month: u32 = m.trim().parse().map_err(|_| CardError::InvalidExpiry)?;
        let y = y.trim();
        let year: i32 = match y.len() {
            2 => 2000 + y.parse::<i32>().map_err(|_| CardError::InvalidExpiry)?,
            4 => y.parse().map_err(|_| CardError::InvalidExpiry)?,
            _ => return Err(CardError::InvalidExpiry),
        };
        if !(1..=12).contains(&month) {
            return Err(CardError::InvalidExpiry);
        }
        if (year, month) < (today.year(), today.month()) {
            return Err(CardError::Expired);
        }
        Ok(Expiry { month, year })
    }
}

pub fn parse_cvc(raw: &str) -> Result<(), CardError> {
    let t = raw.trim();
    if (3..=4).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CardError::InvalidCvc)
    }
}

/// What the shopper typed, parsed. Lives only for one request.
#[derive(Debug, Clone)]
pub struct Card {
    pub number: CardNumber,
    pub expiry: Expiry,
    pub holder: String,
}

pub struct ChargeRequest<'a> {
    pub amount: Money,
    pub card: &'a Card,
    /// Our payment's idempotency key; a real provider dedupes on it.
    pub reference: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved { reference: String },
    Declined { reference: String, reason: String },
}

#[derive(Debug, thiserror::Error)]
#[error("the payment provider could not be reached: {0}")]
pub struct ProviderError(pub String);

/// Giving back part or all of a charge.
pub struct RefundRequest<'a> {
    /// The provider's reference of the charge.
    pub charge_reference: &'a str,
    pub amount: Money,
    /// Our refund's idempotency key: the same key is the same refund.
    pub reference: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Approved { reference: String },
    Declined { reason: String },
}

/// A way to take money. Implementations talk to a payment service; the demo
/// one decides from the card number.
///
/// `reference` is our payment's idempotency key: a provider must treat a
/// second charge with the same reference as the same charge, and must be
/// able to say what became of it (`lookup`) when a call's answer was lost.
pub trait PaymentProvider: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn charge(&self, request: &ChargeRequest<'_>) -> Result<ChargeOutcome, ProviderError>;
    /// The outcome of the charge made with `reference`; `None` if the
    /// provider never received it (nothing was charged).
    fn lookup(&self, reference: &str) -> Result<Option<ChargeOutcome>, ProviderError>;
    /// Gives back `amount` of a charge. A second request with the same
    /// `reference` is the same refund (its first answer again).
    fn refund(&self, request: &RefundRequest<'_>) -> Result<RefundOutcome, ProviderError>;
}

/// Test cards, as payment services document them:
/// 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined,
/// 4000 0000 0000 9995 is declined for insufficient funds.
/// It remembers its charges (in memory, as a real service would on its
/// side), so a lost answer can be looked up.
#[derive(Default)]
pub struct DemoCardProvider {
    charges: std::sync::Mutex<std::collections::HashMap<String, ChargeOutcome>>,
    refunds: std::sync::Mutex<std::collections::HashMap<String, RefundOutcome>>,
}

pub const DEMO_CARD_OK: &str = "4242424242424242";
pub const DEMO_CARD_DECLINED: &str = "4000000000000002";
pub const DEMO_CARD_NO_FUNDS: &str = "4000000000009995";

impl PaymentProvider for DemoCardProvider {
    fn name(&self) -> &'static str {
        "demo-card"
    }

    fn charge(&self, request: &ChargeRequest<'_>) -> Result<ChargeOutcome, ProviderError> {
        let mut charges = self.charges.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(done) = charges.get(request.reference) {
            return Ok(done.clone());
        }
        let reference = format!("demo_{}", site_core::random_token(20));
        let outcome = match request.card.number.digits() {
            DEMO_CARD_OK => ChargeOutcome::Approved { reference },
            DEMO_CARD_DECLINED => ChargeOutcome::Declined {
                reference,
                reason: "Your card was declined.".into(),
            },
            DEMO_CARD_NO_FUNDS => ChargeOutcome::Declined {
                reference,
                reason: "Your card has insufficient funds.".into(),
            },
            _ => ChargeOutcome::Declined {
                reference,
                reason: "This demo shop only accepts its test cards: use 4242 4242 4242 4242."
                    .into(),
            },
        };
        charges.insert(request.reference.to_string(), outcome.clone());
        Ok(outcome)
    }

    fn lookup(&self, reference: &str) -> Result<Option<ChargeOutcome>, ProviderError> {
        Ok(self
            .charges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(reference)
            .cloned())
    }

    /// Refunds any charge it made (references start `demo_`); the shop's
    /// own ledger keeps refunds within what was charged.
    fn refund(&self, request: &RefundRequest<'_>) -> Result<RefundOutcome, ProviderError> {
        let mut refunds = self.refunds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(done) = refunds.get(request.reference) {
            return Ok(done.clone());
        }
        let outcome = if request.charge_reference.starts_with("demo_") {
            RefundOutcome::Approved {
                reference: format!("demo_re_{}", site_core::random_token(20)),
            }
        } else {
            RefundOutcome::Declined {
                reason: "The payment service does not know this charge.".into(),
            }
        };
        refunds.insert(request.reference.to_string(), outcome.clone());
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn card_numbers_are_luhn_checked_and_never_printed() {
        let n = CardNumber::parse("4242 4242 4242 4242").unwrap();
        assert_eq!(n.last4(), "4242");
        assert_eq!(format!("{n:?}"), "CardNumber(****4242)");
        assert_eq!(
            CardNumber::parse("4242 4242 4242 4241"),
            Err(CardError::InvalidNumber)
        );
        assert_eq!(CardNumber::parse(""), Err(CardError::MissingNumber));
        assert_eq!(CardNumber::parse("abcd"), Err(CardError::InvalidNumber));
        assert!(CardNumber::parse(DEMO_CARD_DECLINED).is_ok());
    }

    #[test]
    fn expiry_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(
            Expiry::parse("11/26", today).unwrap(),
            Expiry {
                month: 11,
                year: 2026
            }
        );
        assert_eq!(Expiry::parse("10/26", today), Err(CardError::Expired));
        assert_eq!(Expiry::parse("13/30", today), Err(CardError::InvalidExpiry));
        assert_eq!(Expiry::parse("1230", today), Err(CardError::InvalidExpiry));
        assert!(Expiry::parse("01/2031", today).is_ok());
    }

    #[test]
    fn the_demo_provider_knows_its_test_cards() {
        let card = |n: &str| Card {
            number: CardNumber::parse(n).unwrap(),
            expiry: Expiry {
                month: 1,
                year: 2099,
            },
            holder: "A".into(),
        };
        let amount = Money::from_minor(100, site_core::Currency::Usd);
        let demo = DemoCardProvider::default();
        let charge = |c: &Card, key: &str| {
            demo.charge(&ChargeRequest {
                amount,
                card: c,
                reference: key,
            })
            .unwrap()
        };
        let ok = charge(&card(DEMO_CARD_OK), "a");
        assert!(matches!(ok, ChargeOutcome::Approved { .. }));
        assert!(matches!(
            charge(&card(DEMO_CARD_DECLINED), "b"),
            ChargeOutcome::Declined { .. }
        ));
        assert!(matches!(
            charge(&card("5555555555554444"), "c"),
            ChargeOutcome::Declined { .. }
        ));
        assert_eq!(
            charge(&card(DEMO_CARD_DECLINED), "a"),
            ok,
            "the same reference is the same charge"
        );
        assert_eq!(demo.lookup("a").unwrap(), Some(ok));
        assert_eq!(demo.lookup("never").unwrap(), None);
    }
}

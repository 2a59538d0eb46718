//! Cards and providers. A card exists only for the length of one request
//! to the gateway's page; nothing but its last four digits is ever stored.

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
    sum.is_multiple_of(10)
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

/// Opening a hosted payment page for one of our payments.
pub struct BeginRequest<'a> {
    pub amount: Money,
    /// Our payment's idempotency key: opening twice with the same key is
    /// the same payment page.
    pub reference: &'a str,
    /// Where the provider sends the shopper back, paid or not.
    pub return_url: &'a str,
    /// The shop's name, shown on the provider's page.
    pub merchant: &'a str,
    /// Charge the card at once; `false` only authorizes it (the money is
    /// held for the shop to `capture` or `void` later).
    pub capture: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved {
        reference: String,
        /// The card's last four digits, when a card paid.
        card_last4: String,
    },
    Declined {
        reference: String,
        reason: String,
    },
    /// The money is held on the card, not taken yet (`capture` takes it,
    /// `void` releases it).
    Authorized {
        reference: String,
        card_last4: String,
    },
}

/// What the provider knows of a payment we opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It never received the payment (nothing was or will be charged).
    Unknown,
    /// The shopper has not finished on its page yet.
    Open,
    Done(ChargeOutcome),
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

/// The provider's answer to a refund, a capture or a void.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Approved { reference: String },
    Declined { reason: String },
}

pub type RefundOutcome = Answer;

/// A webhook event whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebhookEvent {
    /// The provider's event id: the same event delivered again has it too.
    pub id: String,
    /// `charge.succeeded`, `charge.authorized`, `charge.captured`,
    /// `charge.voided`, `charge.failed`, `checkout.expired`; others are
    /// stored and ignored.
    #[serde(rename = "type")]
    pub kind: String,
    /// Our payment's idempotency key.
    pub reference: String,
    /// The provider's charge reference, once there is a charge.
    #[serde(default)]
    pub charge: String,
    pub amount_minor: i64,
    pub currency: String,
    #[serde(default)]
    pub card_last4: String,
    /// Why a charge failed.
    #[serde(default)]
    pub reason: String,
}

/// Why a webhook was refused (answered 400, nothing stored).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the signature header is missing")]
    MissingSignature,
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("the signature is too old (replayed?)")]
    Stale,
    #[error("the body is not an event: {0}")]
    Malformed(String),
}

/// A payment service with hosted payment pages. The shop sends the shopper
/// to `begin`'s page; the service sends them back to the return URL and
/// tells the shop what happened with a signed webhook. Either way the shop
/// learns the outcome, and can always ask (`lookup`) when an answer was lost.
///
/// `reference` is our payment's idempotency key: a provider must treat a
/// second `begin` with the same reference as the same payment.
pub trait PaymentProvider: Send + Sync + 'static {
    /// The name in `/payments/webhooks/<name>/` and on payment records.
    fn name(&self) -> &'static str;
    /// Opens (or reopens) the payment page; the URL to send the shopper to.
    fn begin(&self, request: &BeginRequest<'_>) -> Result<String, ProviderError>;
    fn lookup(&self, reference: &str) -> Result<Lookup, ProviderError>;
    /// Gives back `amount` of a charge. A second request with the same
    /// `reference` is the same refund (its first answer again).
    fn refund(&self, request: &RefundRequest<'_>) -> Result<RefundOutcome, ProviderError>;
    /// Takes `amount` (all of it) of an authorized charge. Capturing a
    /// charge already captured answers its first approval again.
    fn capture(&self, charge_reference: &str, amount: Money) -> Result<Answer, ProviderError>;
    /// Releases an authorized charge uncaptured. Voiding a charge already
    /// voided answers its first approval again.
    fn void(&self, charge_reference: &str) -> Result<Answer, ProviderError>;
    /// Checks a webhook's signature (header value) and reads its event.
    fn verify_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookEvent, WebhookError>;
}

/// Test cards, as payment services document them.
pub const DEMO_CARD_OK: &str = "4242424242424242";
pub const DEMO_CARD_DECLINED: &str = "4000000000000002";
pub const DEMO_CARD_NO_FUNDS: &str = "4000000000009995";

/// What the demo gateway answers a card: `None` approves it.
pub fn demo_decline(card: &Card) -> Option<&'static str> {
    match card.number.digits() {
        DEMO_CARD_OK => None,
        DEMO_CARD_DECLINED => Some("Your card was declined."),
        DEMO_CARD_NO_FUNDS => Some("Your card has insufficient funds."),
        _ => Some("This demo gateway only accepts its test cards: use 4242 4242 4242 4242."),
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
    fn the_demo_gateway_knows_its_test_cards() {
        let card = |n: &str| Card {
            number: CardNumber::parse(n).unwrap(),
            expiry: Expiry {
                month: 1,
                year: 2099,
            },
            holder: "A".into(),
        };
        assert_eq!(demo_decline(&card(DEMO_CARD_OK)), None);
        assert_eq!(
            demo_decline(&card(DEMO_CARD_DECLINED)),
            Some("Your card was declined.")
        );
        assert!(demo_decline(&card(DEMO_CARD_NO_FUNDS))
            .unwrap()
            .contains("insufficient funds"));
        assert!(demo_decline(&card("5555555555554444"))
            .unwrap()
            .contains("4242"));
    }
}

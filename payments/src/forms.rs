//! The card form, parsed into a `Card`.

use site_core::forms::{required_text, FormState};

use crate::domain::{parse_cvc, Card, CardNumber, Expiry};

pub fn parse_card(mut form: FormState, today: chrono::NaiveDate) -> Result<Card, FormState> {
    let number = form.field("card_number", CardNumber::parse);
    let expiry = form.field("expiry", |s| Expiry::parse(s, today));
    let cvc = form.field("cvc", parse_cvc);
    let holder = form.field("holder", required_text(100));
    // Card details never go back into the page, even on an error.
    form.values.remove("card_number");
    form.values.remove("cvc");
    match (number, expiry, cvc, holder) {
        (Some(number), Some(expiry), Some(()), Some(holder)) => Ok(Card {
            number,
            expiry,
            holder,
        }),
        _ => Err(form),
    }
}

/// The payment form's idempotency key (see orders' checkout key).
pub fn parse_payment_key(raw: &str) -> Option<String> {
    let t = raw.trim();
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| t.to_string())
}

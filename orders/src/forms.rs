//! The checkout form, parsed into `CheckoutDetails`.

use site_core::address::PostalAddress;
use site_core::forms::{Email, FormState};

use crate::domain::CheckoutDetails;

pub fn parse_checkout(mut form: FormState) -> Result<CheckoutDetails, FormState> {
    let email = form.field("email", Email::parse);
    let address = PostalAddress::parse(&mut form, "");
    // Billing fields count only when the shopper asked for them.
    let billing =
        (form.raw("billing_differs") == "on").then(|| PostalAddress::parse(&mut form, "billing_"));
    if billing.as_ref().is_some_and(Option::is_none) {
        return Err(form);
    }
    let billing = billing.flatten();
    match (email, address) {
        (Some(email), Some(address)) => Ok(CheckoutDetails {
            email,
            address,
            billing,
        }),
        _ => Err(form),
    }
}

/// The checkout form's idempotency key: generated with the form, sent back
/// with it, so a resubmitted form finds the order it already placed.
pub fn parse_checkout_key(raw: &str) -> Option<String> {
    let t = raw.trim();
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A submitted form with these values.
    fn form(pairs: &[(&str, &str)]) -> FormState {
        FormState::initial(pairs)
    }

    #[test]
    fn a_complete_form_parses() {
        let d = parse_checkout(form(&[
            ("email", "Ann@Example.com"),
            ("first_name", "Ann"),
            ("last_name", "Lee"),
            ("address", "1 High St"),
            ("postal_code", "ab1 2cd"),
            ("city", "Leeds"),
            ("country", "UK"),
        ]))
        .unwrap();
        assert_eq!(d.email.as_str(), "ann@example.com");
        assert_eq!(d.address.postal_code, "AB1 2CD");
    }

    #[test]
    fn every_bad_field_is_reported_and_input_kept() {
        let f =
            parse_checkout(form(&[("email", "nope"), ("postal_code", "<script>")])).unwrap_err();
        for field in [
            "email",
            "first_name",
            "last_name",
            "address",
            "postal_code",
            "city",
            "country",
        ] {
            assert!(f.errors.contains_key(field), "{field} should have an error");
        }
        assert_eq!(f.raw("email"), "nope");
    }

    #[test]
    fn keys_are_checked() {
        assert!(parse_checkout_key(&"a".repeat(32)).is_some());
        assert!(parse_checkout_key("short").is_none());
        assert!(parse_checkout_key(&"a;".repeat(16)).is_none());
    }
}

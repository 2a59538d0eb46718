//! The checkout form, parsed into `CheckoutDetails`.

use site_core::forms::{required_text, Email, FieldError, FormState};

use crate::domain::CheckoutDetails;

fn postal_code(raw: &str) -> Result<String, FieldError> {
    let t = required_text(20)(raw)?;
    if t.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        Ok(t.to_uppercase())
    } else {
        Err(FieldError::InvalidPostalCode)
    }
}

pub fn parse_checkout(mut form: FormState) -> Result<CheckoutDetails, FormState> {
    let email = form.field("email", Email::parse);
    let first_name = form.field("first_name", required_text(100));
    let last_name = form.field("last_name", required_text(100));
    let address = form.field("address", required_text(250));
    let postal_code = form.field("postal_code", postal_code);
    let city = form.field("city", required_text(100));
    let country = form.field("country", required_text(100));
    match (
        email,
        first_name,
        last_name,
        address,
        postal_code,
        city,
        country,
    ) {
        (
            Some(email),
            Some(first_name),
            Some(last_name),
            Some(address),
            Some(postal_code),
            Some(city),
            Some(country),
        ) => Ok(CheckoutDetails {
            email,
            first_name,
            last_name,
            address,
            postal_code,
            city,
            country,
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

    fn form(pairs: &[(&str, &str)]) -> FormState {
        FormState::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
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
        assert_eq!(d.postal_code, "AB1 2CD");
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

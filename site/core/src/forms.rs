//! Forms: what the user typed, parsed once into domain types at the edge,
//! with per-field errors handed back to the template beside the input.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;

use serde::Serialize;

/// A submitted form being parsed. Templates read `form.values.<name>` and
/// `form.errors.<name>`; the macros in `core/forms.html` do that for you.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FormState {
    pub values: BTreeMap<String, String>,
    pub errors: BTreeMap<String, Vec<String>>,
    pub non_field_errors: Vec<String>,
}

impl FormState {
    pub fn new(values: HashMap<String, String>) -> Self {
        FormState {
            values: values.into_iter().collect(),
            ..Default::default()
        }
    }

    /// An unbound form with initial values.
    pub fn initial(values: &[(&str, &str)]) -> Self {
        FormState {
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    pub fn raw(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    /// Parses one field; on failure records the message against the field.
    pub fn field<T, E: Display>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match parse(self.raw(name)) {
            Ok(v) => Some(v),
            Err(e) => {
                self.add_error(name, e.to_string());
                None
            }
        }
    }

    pub fn add_error(&mut self, name: &str, message: impl Into<String>) {
        self.errors
            .entry(name.to_string())
            .or_default()
            .push(message.into());
    }

    pub fn add_non_field_error(&mut self, message: impl Into<String>) {
        self.non_field_errors.push(message.into());
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty() && self.non_field_errors.is_empty()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldError {
    #[error("This field is required.")]
    Required,
    #[error("Keep this under {0} characters.")]
    TooLong(usize),
    #[error("Enter a valid email address, like name@example.com.")]
    InvalidEmail,
    #[error("Enter a whole number from {0} to {1}.")]
    OutOfRange(i64, i64),
    #[error("Use lowercase letters, digits and hyphens only.")]
    InvalidSlug,
    #[error("Enter a postal code using letters, digits, spaces and hyphens.")]
    InvalidPostalCode,
}

/// Required single-line text, trimmed, at most `max` characters.
pub fn required_text(max: usize) -> impl Fn(&str) -> Result<String, FieldError> {
    move |raw| {
        let t = raw.trim();
        if t.is_empty() {
            Err(FieldError::Required)
        } else if t.chars().count() > max {
            Err(FieldError::TooLong(max))
        } else if t.chars().any(|c| c.is_control() && c != '\t') {
            Err(FieldError::Required)
        } else {
            Ok(t.to_string())
        }
    }
}

/// Required text that may span lines (a message), trimmed, at most `max`
/// characters; other control characters are refused.
pub fn required_multiline(max: usize) -> impl Fn(&str) -> Result<String, FieldError> {
    move |raw| {
        let t = raw.trim();
        if t.is_empty() {
            Err(FieldError::Required)
        } else if t.chars().count() > max {
            Err(FieldError::TooLong(max))
        } else if t
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            Err(FieldError::Required)
        } else {
            Ok(t.replace("\r\n", "\n"))
        }
    }
}

/// A postal code: letters, digits, spaces and hyphens, upper-cased.
pub fn postal_code(raw: &str) -> Result<String, FieldError> {
    let t = required_text(20)(raw)?;
    if t.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        Ok(t.to_uppercase())
    } else {
        Err(FieldError::InvalidPostalCode)
    }
}

/// Optional text: empty is fine, otherwise at most `max` characters.
pub fn optional_text(max: usize) -> impl Fn(&str) -> Result<String, FieldError> {
    move |raw| {
        let t = raw.trim();
        if t.chars().count() > max {
            Err(FieldError::TooLong(max))
        } else {
            Ok(t.to_string())
        }
    }
}

/// An email address, lower-cased. Deliberately simple: one `@`, a dot in
/// the domain, no spaces; the verification mail is the real check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, FieldError> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(FieldError::Required);
        }
        if t.len() > 254 {
            return Err(FieldError::TooLong(254));
        }
        let (local, domain) = t.rsplit_once('@').ok_or(FieldError::InvalidEmail)?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !t
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
            && !local.contains('@');
        if ok {
            Ok(Email(t.to_lowercase()))
        } else {
            Err(FieldError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many of a thing: a whole number from 1 to `Quantity::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Quantity(i64);

impl Quantity {
    pub const MAX: i64 = 999;

    pub fn parse(raw: &str) -> Result<Quantity, FieldError> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(FieldError::Required);
        }
        t.parse::<i64>()
            .ok()
            .and_then(Quantity::new)
            .ok_or(FieldError::OutOfRange(1, Quantity::MAX))
    }

    pub fn new(n: i64) -> Option<Quantity> {
        (1..=Quantity::MAX).contains(&n).then_some(Quantity(n))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A URL slug: lowercase ASCII letters, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Slug, FieldError> {
        let t = raw.trim();
        let ok = !t.is_empty()
            && t.len() <= 100
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !t.starts_with('-')
            && !t.ends_with('-')
            && !t.contains("--");
        if ok {
            Ok(Slug(t.to_string()))
        } else {
            Err(FieldError::InvalidSlug)
        }
    }

    /// Makes a slug from a name: "Red Shoes!" -> "red-shoes".
    pub fn from_name(name: &str) -> Slug {
        let mut out = String::new();
        for c in name.to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let trimmed = out.trim_end_matches('-');
        Slug(if trimmed.is_empty() {
            "item".into()
        } else {
            trimmed
                .chars()
                .take(100)
                .collect::<String>()
                .trim_end_matches('-')
                .to_string()
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "a b@x.com",
            "ann@localhost",
            "a@x..com",
            "a@.x.com",
            "<a@x.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn quantities() {
        assert_eq!(Quantity::parse("3").unwrap().get(), 3);
        for bad in ["0", "-1", "1000", "1.5", "x", ""] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn slugs() {
        assert!(Slug::parse("red-shoes-2").is_ok());
        for bad in ["Red", "a--b", "-a", "a-", "a b", ""] {
            assert!(Slug::parse(bad).is_err());
        }
        assert_eq!(
            Slug::from_name("  Red Shoes!! (big) ").as_str(),
            "red-shoes-big"
        );
        assert_eq!(Slug::from_name("!!!").as_str(), "item");
    }

    #[test]
    fn form_state_keeps_input_and_errors() {
        let mut f = FormState::new([("email".to_string(), "nope".to_string())].into());
        assert!(f.field("email", Email::parse).is_none());
        assert!(f.field("name", required_text(10)).is_none());
        assert_eq!(f.raw("email"), "nope");
        assert_eq!(
            f.errors["name"],
            vec!["This field is required.".to_string()]
        );
        assert!(!f.is_valid());
    }
}

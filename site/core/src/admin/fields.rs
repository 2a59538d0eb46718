//! The fields of admin forms: what kind of value each holds, how staff type
//! it, and how it is parsed, once, into a [`Value`] the model saves.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::forms::{Email, FieldError, Slug};
use crate::money::{Money, MoneyFormat};

/// One field's value, as a model reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
    /// Minor units of the shop's currency.
    Money(i64),
    DateTime(NaiveDateTime),
    /// Another object's id (a foreign key).
    Ref(i64),
    /// Other objects' ids (many-to-many), sorted.
    Refs(Vec<i64>),
}

/// A whole object's values, by field name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Values(pub BTreeMap<String, Value>);

/// A value a model asked for is missing or of another kind: a mismatch
/// between the model's declared fields and its code.
#[derive(Debug, thiserror::Error)]
#[error("admin field {0:?} is missing or not of the expected kind")]
pub struct MissingField(pub String);

impl Values {
    pub fn new() -> Self {
        Values::default()
    }

    pub fn set(&mut self, name: &str, value: Value) -> &mut Self {
        self.0.insert(name.to_string(), value);
        self
    }

    /// Builder form of [`Values::set`].
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.set(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn text(&self, name: &str) -> Result<&str, MissingField> {
        match self.0.get(name) {
            Some(Value::Text(s)) => Ok(s),
            _ => Err(MissingField(name.into())),
        }
    }

    pub fn int(&self, name: &str) -> Result<i64, MissingField> {
        match self.0.get(name) {
            Some(Value::Int(n)) | Some(Value::Money(n)) | Some(Value::Ref(n)) => Ok(*n),
            _ => Err(MissingField(name.into())),
        }
    }

    pub fn bool(&self, name: &str) -> Result<bool, MissingField> {
        match self.0.get(name) {
            Some(Value::Bool(b)) => Ok(*b),
            _ => Err(MissingField(name.into())),
        }
    }

    /// A number or an amount that may be left empty (`None` then).
    pub fn opt_int(&self, name: &str) -> Option<i64> {
        match self.0.get(name) {
            Some(Value::Int(n)) | Some(Value::Money(n)) => Some(*n),
            _ => None,
        }
    }

    /// A foreign key that may be empty.
    pub fn opt_ref(&self, name: &str) -> Result<Option<i64>, MissingField> {
        match self.0.get(name) {
            Some(Value::Ref(n)) => Ok(Some(*n)),
            Some(Value::Null) => Ok(None),
            _ => Err(MissingField(name.into())),
        }
    }

    pub fn refs(&self, name: &str) -> Result<&[i64], MissingField> {
        match self.0.get(name) {
            Some(Value::Refs(ids)) => Ok(ids),
            _ => Err(MissingField(name.into())),
        }
    }
}

/// How a field is typed and what it holds.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text, at most `max` characters.
    Text {
        max: usize,
    },
    /// Several lines (`markdown`: rendered as Markdown on the site).
    LongText {
        max: usize,
        markdown: bool,
    },
    /// A URL slug; prefilled from the field `from` as staff type it.
    Slug {
        from: &'static str,
    },
    Email,
    Int {
        min: i64,
        max: i64,
    },
    /// An amount in the shop's currency, typed as "12.50".
    Money,
    Bool,
    /// One of fixed choices: (value, label).
    Choice {
        choices: Vec<(&'static str, &'static str)>,
    },
    /// Another object, picked from a list the model gives (`search`: the
    /// table is large, so staff type an id, or words that find exactly one).
    Ref {
        search: bool,
    },
    /// Several other objects, ticked from a list the model gives.
    Refs,
    /// A date and time (read-only in forms: set by the shop).
    DateTime,
    /// A new password: typed, never shown back, never in the history.
    Password,
}

/// One form field of a model.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    pub help: &'static str,
    /// Shown, never edited (ids, timestamps, totals the shop computes).
    pub readonly: bool,
    /// Only on the add form (a user's first password).
    pub add_only: bool,
}

impl Field {
    fn new(name: &'static str, label: &'static str, kind: FieldKind) -> Field {
        Field {
            name,
            label,
            kind,
            required: true,
            help: "",
            readonly: false,
            add_only: false,
        }
    }

    pub fn text(name: &'static str, label: &'static str, max: usize) -> Field {
        Field::new(name, label, FieldKind::Text { max })
    }

    pub fn long_text(name: &'static str, label: &'static str, max: usize) -> Field {
        Field::new(
            name,
            label,
            FieldKind::LongText {
                max,
                markdown: false,
            },
        )
    }

    pub fn markdown(name: &'static str, label: &'static str, max: usize) -> Field {
        Field::new(
            name,
            label,
            FieldKind::LongText {
                max,
                markdown: true,
            },
        )
    }

    pub fn slug(name: &'static str, label: &'static str, from: &'static str) -> Field {
        Field::new(name, label, FieldKind::Slug { from })
    }

    pub fn email(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, FieldKind::Email)
    }

    pub fn int(name: &'static str, label: &'static str, min: i64, max: i64) -> Field {
        Field::new(name, label, FieldKind::Int { min, max })
    }

    pub fn money(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, FieldKind::Money)
    }

    /// A checkbox: never "required" (unticked is false).
    pub fn bool(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, FieldKind::Bool).optional()
    }

    pub fn choice(
        name: &'static str,
        label: &'static str,
        choices: Vec<(&'static str, &'static str)>,
    ) -> Field {
        Field::new(name, label, FieldKind::Choice { choices })
    }

    pub fn reference(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, FieldKind::Ref { search: false })
    }

    /// A foreign key into a large table: typed, not picked from a list.
    pub fn search_reference(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, FieldKind::Ref { search: true })
    }

    pub fn references(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, FieldKind::Refs).optional()
    }

    /// A password typed on the add form (the model hashes it in
    /// `ModelAdmin::prepare`).
    pub fn password(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, FieldKind::Password).add_only()
    }

    pub fn datetime(name: &'static str, label: &'static str) -> Field {
        Field::new(name, label, FieldKind::DateTime).readonly()
    }

    pub fn optional(mut self) -> Field {
        self.required = false;
        self
    }

    pub fn help(mut self, help: &'static str) -> Field {
        self.help = help;
        self
    }

    pub fn readonly(mut self) -> Field {
        self.readonly = true;
        self
    }

    pub fn add_only(mut self) -> Field {
        self.add_only = true;
        self
    }

    /// Whether the form submits this field (readonly ones are only shown).
    pub fn editable(&self) -> bool {
        !self.readonly
    }

    /// The value as a form input shows it (never a password).
    pub fn to_input(&self, value: Option<&Value>, money: MoneyFormat) -> String {
        if matches!(self.kind, FieldKind::Password) {
            return String::new();
        }
        match value {
            None | Some(Value::Null) => String::new(),
            Some(Value::Text(s)) => s.clone(),
            Some(Value::Int(n)) | Some(Value::Ref(n)) => n.to_string(),
            Some(Value::Bool(b)) => if *b { "on" } else { "" }.to_string(),
            Some(Value::Money(minor)) => money.input(*minor),
            Some(Value::DateTime(t)) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            Some(Value::Refs(ids)) => ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
        }
    }

    /// Parses what staff typed (`raw`; for `Refs`, every ticked value).
    /// `choices` are the allowed ids of a `Ref`/`Refs` field (not used for
    /// search references, which the view resolves).
    pub fn parse(
        &self,
        raw: &[String],
        choices: Option<&[(i64, String)]>,
        money: MoneyFormat,
    ) -> Result<Value, String> {
        let one = raw.first().map(String::as_str).unwrap_or("");
        let trimmed = one.trim();
        if trimmed.is_empty() && !matches!(self.kind, FieldKind::Bool | FieldKind::Refs) {
            return if self.required {
                Err(FieldError::Required.to_string())
            } else {
                Ok(match self.kind {
                    FieldKind::Text { .. }
                    | FieldKind::LongText { .. }
                    | FieldKind::Email
                    | FieldKind::Slug { .. }
                    | FieldKind::Choice { .. } => Value::Text(String::new()),
                    _ => Value::Null,
                })
            };
        }
        match &self.kind {
            FieldKind::Text { max } => crate::forms::required_text(*max)(one)
                .map(Value::Text)
                .map_err(|e| match e {
                    FieldError::Required => "Use printable characters only.".to_string(),
                    other => other.to_string(),
                }),
            FieldKind::LongText { max, .. } => crate::forms::required_multiline(*max)(one)
                .map(Value::Text)
                .map_err(|e| match e {
                    FieldError::Required => "Use printable characters only.".to_string(),
                    other => other.to_string(),
                }),
            FieldKind::Slug { .. } => Slug::parse(trimmed)
                .map(|s| Value::Text(s.as_str().to_string()))
                .map_err(|e| e.to_string()),
            FieldKind::Email => Email::parse(trimmed)
                .map(|e| Value::Text(e.as_str().to_string()))
                .map_err(|e| e.to_string()),
            FieldKind::Int { min, max } => trimmed
                .parse::<i64>()
                .ok()
                .filter(|n| (*min..=*max).contains(n))
                .map(Value::Int)
                .ok_or_else(|| FieldError::OutOfRange(*min, *max).to_string()),
            FieldKind::Money => parse_money(trimmed, money).map(Value::Money),
            FieldKind::Bool => Ok(Value::Bool(matches!(trimmed, "on" | "1" | "true" | "yes"))),
            FieldKind::Choice { choices } => choices
                .iter()
                .find(|(v, _)| *v == trimmed)
                .map(|(v, _)| Value::Text(v.to_string()))
                .ok_or_else(|| format!("{trimmed:?} is not one of the choices.")),
            FieldKind::Ref { .. } => {
                let id: i64 = trimmed
                    .parse()
                    .map_err(|_| "Pick one of the choices.".to_string())?;
                match choices {
                    Some(list) if !list.iter().any(|(c, _)| *c == id) => {
                        Err("That choice is not available.".to_string())
                    }
                    _ => Ok(Value::Ref(id)),
                }
            }
            FieldKind::Refs => {
                let mut ids = Vec::new();
                for r in raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                    let id: i64 = r
                        .parse()
                        .map_err(|_| format!("{r:?} is not one of the choices."))?;
                    if let Some(list) = choices {
                        if !list.iter().any(|(c, _)| *c == id) {
                            return Err(format!("Choice {id} is not available."));
                        }
                    }
                    ids.push(id);
                }
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() && self.required {
                    return Err(FieldError::Required.to_string());
                }
                Ok(Value::Refs(ids))
            }
            FieldKind::Password => Ok(Value::Text(one.to_string())),
            FieldKind::DateTime => NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%d %H:%M:%S")
                .map(Value::DateTime)
                .map_err(|_| "Enter a date and time as YYYY-MM-DD HH:MM:SS.".to_string()),
        }
    }

    /// The value as a person reads it in history and read-only pages.
    pub fn display(
        &self,
        value: Option<&Value>,
        choices: Option<&[(i64, String)]>,
        money: MoneyFormat,
    ) -> String {
        match (value, &self.kind) {
            (_, FieldKind::Password) => "••••••••".to_string(),
            (None, _) | (Some(Value::Null), _) => "—".to_string(),
            (Some(Value::Bool(b)), _) => if *b { "yes" } else { "no" }.to_string(),
            (Some(Value::Money(m)), _) => {
                Money::from_minor(*m, money.currency).format(money.locale)
            }
            (Some(Value::Text(t)), FieldKind::Choice { choices }) => choices
                .iter()
                .find(|(v, _)| v == t)
                .map(|(_, l)| l.to_string())
                .unwrap_or_else(|| t.clone()),
            (Some(Value::Ref(id)), _) => label_of(*id, choices),
            (Some(Value::Refs(ids)), _) => {
                if ids.is_empty() {
                    "—".to_string()
                } else {
                    ids.iter()
                        .map(|id| label_of(*id, choices))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            }
            (Some(Value::DateTime(t)), _) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            (Some(v), _) => self.to_input(Some(v), money),
        }
    }
}

fn label_of(id: i64, choices: Option<&[(i64, String)]>) -> String {
    choices
        .and_then(|c| c.iter().find(|(c, _)| *c == id))
        .map(|(_, l)| l.clone())
        .unwrap_or_else(|| format!("#{id}"))
}

/// "12.50", "$1,234" ("12,50", "1.234 €" in de-DE) in the shop's
/// currency and locale, to minor units (see `Money::parse`: never
/// negative, never finer than the minor unit).
pub fn parse_money(raw: &str, money: MoneyFormat) -> Result<i64, String> {
    money.parse(raw).map(|m| m.minor()).map_err(|e| match e {
        crate::money::MoneyError::Invalid => {
            format!(
                "Enter an amount like {} (in {}).",
                money.input(1250),
                money.currency
            )
        }
        other => format!("{}.", capitalise(&other.to_string())),
    })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::money::{Currency, Locale};

    fn usd() -> MoneyFormat {
        MoneyFormat {
            currency: Currency::Usd,
            locale: Locale::parse("en-US").unwrap(),
        }
    }

    fn parse(f: &Field, raw: &str) -> Result<Value, String> {
        f.parse(&[raw.to_string()], None, usd())
    }

    #[test]
    fn money_is_typed_as_an_amount() {
        let f = Field::money("price", "Price");
        assert_eq!(parse(&f, "12.50"), Ok(Value::Money(1250)));
        assert_eq!(parse(&f, " $1,234 "), Ok(Value::Money(123400)));
        assert!(parse(&f, "-1").is_err());
        assert!(parse(&f, "1.234").is_err());
        assert!(parse(&f, "ten").is_err());
        assert_eq!(f.to_input(Some(&Value::Money(1250)), usd()), "12.50");
    }

    #[test]
    fn money_is_typed_the_locales_way() {
        let f = Field::money("price", "Price");
        let de = MoneyFormat {
            currency: Currency::parse("EUR").unwrap(),
            locale: Locale::parse("de-DE").unwrap(),
        };
        let typed = |raw: &str| f.parse(&[raw.to_string()], None, de);
        assert_eq!(typed("12,50"), Ok(Value::Money(1250)), "not 1250.00");
        assert_eq!(typed("1.234,50 €"), Ok(Value::Money(123450)));
        assert_eq!(f.to_input(Some(&Value::Money(1250)), de), "12,50");
        assert_eq!(
            typed(&f.to_input(Some(&Value::Money(99)), de)),
            Ok(Value::Money(99))
        );
        assert!(typed("12,505").is_err());
        assert!(typed("zwölf")
            .unwrap_err()
            .contains("Enter an amount like 12,50 (in EUR)."));
    }

    #[test]
    fn required_and_optional() {
        let name = Field::text("name", "Name", 10);
        assert!(parse(&name, "  ").is_err());
        assert!(parse(&name, "eleven char").is_err());
        assert_eq!(parse(&name, " Tea "), Ok(Value::Text("Tea".into())));
        let parent = Field::reference("parent", "Parent").optional();
        assert_eq!(parse(&parent, ""), Ok(Value::Null));
        assert!(Field::bool("a", "A").parse(&[], None, usd()) == Ok(Value::Bool(false)));
    }

    #[test]
    fn references_must_be_among_the_choices() {
        let f = Field::reference("category", "Category");
        let choices = vec![(1, "Tea".to_string()), (2, "Coffee".to_string())];
        assert_eq!(
            f.parse(&["2".into()], Some(&choices), usd()),
            Ok(Value::Ref(2))
        );
        assert!(f.parse(&["3".into()], Some(&choices), usd()).is_err());
        let many = Field::references("groups", "Groups");
        assert_eq!(
            many.parse(&["2".into(), "1".into(), "2".into()], Some(&choices), usd()),
            Ok(Value::Refs(vec![1, 2]))
        );
        assert_eq!(
            many.display(Some(&Value::Refs(vec![1, 2])), Some(&choices), usd()),
            "Tea, Coffee"
        );
    }

    #[test]
    fn choices_and_slugs() {
        let f = Field::choice("status", "Status", vec![("paid", "Paid")]);
        assert_eq!(parse(&f, "paid"), Ok(Value::Text("paid".into())));
        assert!(parse(&f, "lost").is_err());
        let s = Field::slug("slug", "Slug", "name");
        assert!(parse(&s, "Not A Slug").is_err());
        assert_eq!(parse(&s, "tea-pots"), Ok(Value::Text("tea-pots".into())));
    }
}

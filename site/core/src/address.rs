//! A postal address, one type for the address book, checkout and orders:
//! parsed from a form in one place, refilled into one, and stored with the
//! same six fields wherever it goes.

use serde::{Deserialize, Serialize};

use crate::country::Country;
use crate::forms::{postal_code, required_text, FormState};

/// Who receives (or is billed) and where. The country is an ISO 3166-1
/// alpha-2 code. Serialised as its six fields, flat, under the names the
/// forms use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub first_name: String,
    pub last_name: String,
    /// The street, number, flat: what comes before the city.
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
}

/// The form fields of an address, without a prefix.
pub const FIELDS: [&str; 6] = [
    "first_name",
    "last_name",
    "address",
    "postal_code",
    "city",
    "country",
];

impl PostalAddress {
    /// Parses the address fields named with `prefix` (`billing_city`),
    /// recording each field's error in the form.
    pub fn parse(form: &mut FormState, prefix: &str) -> Option<PostalAddress> {
        let name = |n: &str| format!("{prefix}{n}");
        let first_name = form.field(&name("first_name"), required_text(100));
        let last_name = form.field(&name("last_name"), required_text(100));
        let address = form.field(&name("address"), required_text(250));
        let postal_code = form.field(&name("postal_code"), postal_code);
        let city = form.field(&name("city"), required_text(100));
        let country = form.field(&name("country"), |raw| {
            Country::parse(raw).map(|c| c.code.to_string())
        });
        Some(PostalAddress {
            first_name: first_name?,
            last_name: last_name?,
            address: address?,
            postal_code: postal_code?,
            city: city?,
            country: country?,
        })
    }

    /// The form values that show this address again, named with `prefix`.
    pub fn values(&self, prefix: &str) -> Vec<(String, String)> {
        [
            &self.first_name,
            &self.last_name,
            &self.address,
            &self.postal_code,
            &self.city,
            &self.country,
        ]
        .into_iter()
        .zip(FIELDS)
        .map(|(value, field)| (format!("{prefix}{field}"), value.clone()))
        .collect()
    }

    /// The same address with its country as a code; addresses saved before
    /// countries were a choice hold a name. `None` if it names no country.
    pub fn with_country_code(mut self) -> Option<PostalAddress> {
        self.country = Country::parse(&self.country).ok()?.code.to_string();
        Some(self)
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

/// The six columns of an address, in [`FIELDS`]' order, as read by
/// [`address_columns!`].
pub type Row = (String, String, String, String, String, String);

impl From<Row> for PostalAddress {
    fn from((first_name, last_name, address, postal_code, city, country): Row) -> Self {
        PostalAddress {
            first_name,
            last_name,
            address,
            postal_code,
            city,
            country,
        }
    }
}

/// The address columns of table module `$t`, to select (into a [`Row`]),
/// or with an address, the values to insert or update:
/// `address_columns!(orders_order)`, `address_columns!(orders_order, &a)`.
#[macro_export]
macro_rules! address_columns {
    ($t:ident) => {
        (
            $t::first_name,
            $t::last_name,
            $t::address,
            $t::postal_code,
            $t::city,
            $t::country,
        )
    };
    ($t:ident, $a:expr) => {{
        let a: &$crate::address::PostalAddress = $a;
        (
            $t::first_name.eq(a.first_name.clone()),
            $t::last_name.eq(a.last_name.clone()),
            $t::address.eq(a.address.clone()),
            $t::postal_code.eq(a.postal_code.clone()),
            $t::city.eq(a.city.clone()),
            $t::country.eq(a.country.clone()),
        )
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A submitted form with these values.
    fn form(pairs: &[(&str, &str)]) -> FormState {
        FormState::initial(pairs)
    }

    #[test]
    fn an_address_parses_from_prefixed_fields_and_fills_them_again() {
        let raw = [
            ("billing_first_name", "Ann"),
            ("billing_last_name", "Lee"),
            ("billing_address", "1 High St"),
            ("billing_postal_code", "ls1 4ap"),
            ("billing_city", "Leeds"),
            ("billing_country", "United Kingdom"),
        ];
        let mut f = form(&raw);
        let a = PostalAddress::parse(&mut f, "billing_").expect("valid");
        assert_eq!(a.postal_code, "LS1 4AP");
        assert_eq!(a.country, "GB");
        assert_eq!(a.full_name(), "Ann Lee");
        let again = a.values("billing_");
        assert_eq!(again.len(), 6);
        assert!(again.contains(&("billing_country".into(), "GB".into())));
        assert_eq!(
            PostalAddress::parse(&mut form(&raw), "").map(|_| ()),
            None,
            "unprefixed fields are missing"
        );
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut f = form(&[("postal_code", "<b>"), ("country", "Atlantis")]);
        assert_eq!(PostalAddress::parse(&mut f, ""), None);
        for field in FIELDS {
            assert!(f.errors.contains_key(field), "{field}");
        }
    }

    #[test]
    fn a_country_name_from_before_becomes_its_code() {
        let a = PostalAddress {
            first_name: "A".into(),
            last_name: "B".into(),
            address: "1 Road".into(),
            postal_code: "1".into(),
            city: "C".into(),
            country: "Germany".into(),
        };
        assert_eq!(a.clone().with_country_code().unwrap().country, "DE");
        let nowhere = PostalAddress {
            country: "Atlantis".into(),
            ..a
        };
        assert_eq!(nowhere.with_country_code(), None);
    }
}

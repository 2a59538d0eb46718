//! The checkout flow: address, then shipping method, then review and
//! place. What the shopper chose so far is kept in their session; every
//! step is checked again on the server, and the order is placed by
//! `place_order` in one transaction. The views stay thin around this.

use actix_session::Session;
use cart::{Cart, PricedCart};
use serde::{Deserialize, Serialize};
use site_core::db::DbConn;
use site_core::forms::Email;
use site_core::money::{Currency, MoneyError};
use site_core::AppError;

use crate::domain::CheckoutDetails;
use crate::models::breakdown_of;
use crate::pricing::Breakdown;
use crate::shipping::{self, Parcel, ShippingQuote};
use crate::taxes::TaxSettings;
use crate::vouchers::{self, Voucher};
use site_core::address::PostalAddress;

const SESSION_KEY: &str = "checkout";

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Address,
    Shipping,
    Review,
}

/// What the shopper has chosen so far (in the session).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutState {
    pub details: Option<StoredDetails>,
    pub save_address: bool,
    pub shipping_method_id: Option<i64>,
    /// The voucher applied at review, checked again whenever it is priced.
    #[serde(default)]
    pub voucher_code: Option<String>,
}

/// `CheckoutDetails` as the session keeps them (parsed again on load).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDetails {
    pub email: String,
    #[serde(flatten)]
    pub address: PostalAddress,
    #[serde(default)]
    pub billing: Option<PostalAddress>,
}

impl From<&CheckoutDetails> for StoredDetails {
    fn from(d: &CheckoutDetails) -> Self {
        StoredDetails {
            email: d.email.as_str().to_string(),
            address: d.address.clone(),
            billing: d.billing.clone(),
        }
    }
}

impl StoredDetails {
    /// The details again; `None` if they no longer parse.
    pub fn parse(&self) -> Option<CheckoutDetails> {
        Some(CheckoutDetails {
            email: Email::parse(&self.email).ok()?,
            address: self.address.clone().with_country_code()?,
            billing: self.billing.clone(),
        })
    }

    pub fn values(&self) -> std::collections::BTreeMap<String, String> {
        let mut values: std::collections::BTreeMap<String, String> =
            self.address.values("").into_iter().collect();
        values.insert("email".into(), self.email.clone());
        if let Some(b) = &self.billing {
            values.insert("billing_differs".into(), "on".into());
            values.extend(b.values("billing_"));
        }
        values
    }
}

impl CheckoutState {
    /// The session's checkout; an unreadable one starts over.
    pub fn load(session: &Session) -> CheckoutState {
        session
            .get::<CheckoutState>(SESSION_KEY)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub fn store(&self, session: &Session) -> Result<(), AppError> {
        session
            .insert(SESSION_KEY, self)
            .map_err(AppError::internal)
    }

    pub fn clear(session: &Session) {
        session.remove(SESSION_KEY);
    }

    /// Records the address step; a new country forgets the shipping
    /// method (it may not deliver there).
    pub fn set_details(&mut self, details: &CheckoutDetails, save_address: bool) {
        let stored = StoredDetails::from(details);
        if self.details.as_ref().map(|d| &d.address.country) != Some(&stored.address.country) {
            self.shipping_method_id = None;
        }
        self.details = Some(stored);
        self.save_address = save_address;
    }

    pub fn parsed_details(&self) -> Option<CheckoutDetails> {
        self.details.as_ref().and_then(StoredDetails::parse)
    }
}

/// A cart priced for checkout: the methods that take it, the one chosen
/// (if it still does), and the breakdown with it.
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    pub cart: PricedCart,
    pub methods: Vec<ShippingQuote>,
    pub chosen: Option<ShippingQuote>,
    pub breakdown: Option<Breakdown>,
    pub voucher: Option<Voucher>,
    /// How the voucher's discount reads ("Voucher DEMO10 (10% off)").
    pub voucher_label: Option<String>,
    /// Why the voucher asked for cannot be used (in the shop's words).
    #[serde(skip)]
    pub voucher_refusal: Option<vouchers::VoucherRefusal>,
}

/// A voucher code the shopper entered, and their account if signed in
/// (a per-customer limit counts the account's orders too).
#[derive(Debug, Clone, Copy)]
pub struct VoucherCode<'a> {
    pub code: &'a str,
    pub user_id: Option<i64>,
}

impl Quote {
    /// Prices `cart` for `details` with the method `chosen` and the
    /// voucher `code`, taxed under `taxes` (four queries, two more for a
    /// voucher).
    pub fn new(
        conn: &mut DbConn,
        cart: &Cart,
        currency: Currency,
        details: &CheckoutDetails,
        chosen: Option<i64>,
        code: Option<VoucherCode<'_>>,
        taxes: TaxSettings,
    ) -> Result<Quote, AppError> {
        let priced = cart.price(conn, currency)?;
        let (voucher, voucher_refusal) = match code {
            Some(code) => match vouchers::applicable(
                conn,
                code.code,
                site_core::now(),
                priced.total,
                vouchers::Customer {
                    email: details.email.as_str(),
                    user_id: code.user_id,
                },
            )? {
                Ok(v) => (Some(v), None),
                Err(r) => (None, Some(r)),
            },
            None => (None, None),
        };
        // Free delivery thresholds compare the goods after the discount.
        let goods = Voucher::goods_after(voucher.as_ref(), priced.total)
            .map_err(|e: MoneyError| AppError::internal(e))?;
        let parcel = Parcel {
            country: &details.address.country,
            subtotal: goods,
            weight_grams: priced.weight_grams,
        };
        let methods = shipping::available(conn, &parcel)?;
        let chosen = chosen.and_then(|id| methods.iter().find(|m| m.method_id == id).cloned());
        let tax = crate::taxes::rule_for(conn, &details.address.country, taxes)?;
        let breakdown = chosen
            .as_ref()
            .map(|q| breakdown_of(&priced, currency, q, voucher.as_ref(), tax.as_ref()))
            .transpose()
            .map_err(|e: MoneyError| AppError::internal(e))?;
        Ok(Quote {
            cart: priced,
            methods,
            chosen,
            breakdown,
            voucher_label: voucher.as_ref().map(Voucher::label),
            voucher,
            voucher_refusal,
        })
    }
}

/// The first step the shopper still has to complete, given their state.
pub fn first_missing(state: &CheckoutState) -> Option<Step> {
    if state.parsed_details().is_none() {
        Some(Step::Address)
    } else if state.shipping_method_id.is_none() {
        Some(Step::Shipping)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(country: &str) -> CheckoutDetails {
        CheckoutDetails {
            email: Email::parse("a@example.com").unwrap(),
            address: PostalAddress {
                first_name: "A".into(),
                last_name: "B".into(),
                address: "1 Road".into(),
                postal_code: "X1".into(),
                city: "Town".into(),
                country: country.into(),
            },
            billing: None,
        }
    }

    #[test]
    fn steps_are_completed_in_order_and_a_new_country_resets_shipping() {
        let mut state = CheckoutState::default();
        assert_eq!(first_missing(&state), Some(Step::Address));
        state.set_details(&details("GB"), false);
        assert_eq!(first_missing(&state), Some(Step::Shipping));
        state.shipping_method_id = Some(3);
        assert_eq!(first_missing(&state), None);
        state.set_details(&details("GB"), true);
        assert_eq!(
            state.shipping_method_id,
            Some(3),
            "same country keeps the method"
        );
        state.set_details(&details("FR"), true);
        assert_eq!(state.shipping_method_id, None);
        assert_eq!(state.parsed_details().unwrap().address.country, "FR");
    }

    #[test]
    fn tampered_details_do_not_parse() {
        let mut stored = StoredDetails::from(&details("GB"));
        stored.address.country = "Atlantis".into();
        assert!(stored.parse().is_none());
    }

    #[test]
    fn details_kept_by_a_session_before_addresses_were_one_type_still_load() {
        let kept = r#"{"email":"a@example.com","first_name":"A","last_name":"B",
            "address":"1 Road","postal_code":"X1","city":"Town","country":"GB"}"#;
        let stored: StoredDetails = serde_json::from_str(kept).unwrap();
        assert_eq!(stored.parse(), Some(details("GB")));
        assert_eq!(
            serde_json::to_value(&stored).unwrap()["postal_code"],
            "X1",
            "still stored flat"
        );
    }
}

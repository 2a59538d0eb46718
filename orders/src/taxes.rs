//! Tax rates by country (staff manage them in the admin), and the rule an
//! order is taxed by: the rate for the delivery country (or the default
//! one), whether prices include it, and where it is rounded.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use site_core::config::TaxRounding;
use site_core::db::DbConn;
use site_core::schema::orders_tax_rate as t;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = t)]
pub struct TaxRate {
    pub id: i64,
    pub name: String,
    pub country: String,
    pub rate_basis_points: i32,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TaxRate {
    pub fn percent(&self) -> Decimal {
        percent(self.rate_basis_points)
    }

    /// The active rate for `country`, else the active default rate.
    pub fn for_country(conn: &mut DbConn, country: &str) -> QueryResult<Option<TaxRate>> {
        let mut rates: Vec<TaxRate> = t::table
            .filter(t::is_active.eq(true))
            .filter(t::country.eq(country).or(t::country.eq("")))
            .select(TaxRate::as_select())
            .load(conn)?;
        // The country's own rate sorts before the default ('').
        rates.sort_by(|a, b| b.country.cmp(&a.country));
        Ok(rates.into_iter().next())
    }
}

/// Hundredths of a percent as a percentage (2000 -> 20).
pub fn percent(basis_points: i32) -> Decimal {
    Decimal::new(i64::from(basis_points), 2)
}

/// How an order is taxed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRule {
    pub name: String,
    pub rate_basis_points: i32,
    /// The prices already include it.
    pub included: bool,
    pub rounding: TaxRounding,
}

impl TaxRule {
    pub fn from_rate(rate: &TaxRate, included: bool, rounding: TaxRounding) -> TaxRule {
        TaxRule {
            name: rate.name.clone(),
            rate_basis_points: rate.rate_basis_points,
            included,
            rounding,
        }
    }

    pub fn percent(&self) -> Decimal {
        percent(self.rate_basis_points)
    }

    /// How the tax row reads: "VAT 20%", or "VAT 20% included".
    pub fn label(&self) -> String {
        format!(
            "{} {}%{}",
            self.name,
            self.percent().normalize(),
            if self.included { " included" } else { "" }
        )
    }
}

/// The shop's tax settings (from its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxSettings {
    pub prices_include_tax: bool,
    pub rounding: TaxRounding,
}

impl TaxSettings {
    pub fn from_config(config: &site_core::Config) -> TaxSettings {
        TaxSettings {
            prices_include_tax: config.prices_include_tax,
            rounding: config.tax_rounding,
        }
    }
}

/// The rule for an order delivered to `country` under `settings`; `None`
/// where no rate applies.
pub fn rule_for(
    conn: &mut DbConn,
    country: &str,
    settings: TaxSettings,
) -> QueryResult<Option<TaxRule>> {
    Ok(TaxRate::for_country(conn, country)?
        .map(|r| TaxRule::from_rate(&r, settings.prices_include_tax, settings.rounding)))
}

/// A rate as `create` takes it.
pub fn create(conn: &mut DbConn, name: &str, country: &str, basis_points: i32) -> QueryResult<i64> {
    let now = site_core::now();
    diesel::insert_into(t::table)
        .values((
            t::name.eq(name),
            t::country.eq(country),
            t::rate_basis_points.eq(basis_points),
            t::is_active.eq(true),
            t::created_at.eq(now),
            t::updated_at.eq(now),
        ))
        .returning(t::id)
        .get_result(conn)
}

/// The demo shop's rates: VAT for the countries its shipping serves.
/// Skipped when any rate exists.
pub fn seed_demo(conn: &mut DbConn) -> QueryResult<usize> {
    let existing: i64 = t::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(0);
    }
    let rates = [
        ("GB", 2000),
        ("IE", 2300),
        ("FR", 2000),
        ("DE", 1900),
        ("NL", 2100),
        ("ES", 2100),
        ("IT", 2200),
        ("PT", 2300),
    ];
    for (country, bp) in rates {
        create(conn, "VAT", country, bp)?;
    }
    Ok(rates.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reads_as_its_rate() {
        let mut rule = TaxRule {
            name: "VAT".into(),
            rate_basis_points: 2000,
            included: false,
            rounding: TaxRounding::PerLine,
        };
        assert_eq!(rule.label(), "VAT 20%");
        rule.included = true;
        rule.rate_basis_points = 1250;
        assert_eq!(rule.label(), "VAT 12.5% included");
    }
}

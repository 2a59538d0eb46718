//! What a change list asks for, parsed from its query string once: search
//! words, filters, the date drill-down, the sort and the page. A value
//! that does not parse is a 400 that says which and why.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::{FilterKind, ModelMeta};
use crate::http::AppError;

/// A filter's chosen value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FilterValue {
    Choice(String),
    Bool(bool),
    Related(i64),
    /// From (inclusive) and to (inclusive, whole day) dates.
    DateRange(Option<NaiveDate>, Option<NaiveDate>),
}

/// The date drill-down: a year, a month of it, a day of that.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DateDrill {
    pub year: Option<i32>,
    pub month: Option<u32>,
    pub day: Option<u32>,
}

impl DateDrill {
    /// The half-open range `[start, end)` it covers.
    pub fn range(&self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let year = self.year?;
        let (start, end) = match (self.month, self.day) {
            (None, _) => (
                NaiveDate::from_ymd_opt(year, 1, 1)?,
                NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
            ),
            (Some(m), None) => {
                let start = NaiveDate::from_ymd_opt(year, m, 1)?;
                (start, start.checked_add_months(chrono::Months::new(1))?)
            }
            (Some(m), Some(d)) => {
                let start = NaiveDate::from_ymd_opt(year, m, d)?;
                (start, start.succ_opt()?)
            }
        };
        Some((start.and_hms_opt(0, 0, 0)?, end.and_hms_opt(0, 0, 0)?))
    }
}

/// A parsed change-list request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// The search box as typed (trimmed).
    pub search: String,
    /// Its words, lower-cased: every one must match.
    pub words: Vec<String>,
    pub filters: Vec<(&'static str, FilterValue)>,
    pub date: DateDrill,
    /// The column key to order by (the model's, or "id").
    pub sort: String,
    pub descending: bool,
    pub page: i64,
    pub offset: i64,
    pub limit: i64,
    /// Export walks the list by id instead of by page: only rows with a
    /// greater id, in id order (then `sort` is "id").
    pub after_id: Option<i64>,
    /// The search's matches, already found (fewer than the cap): a model
    /// searching through an index pages through these instead of
    /// searching again.
    pub only: Option<Vec<i64>>,
    /// Search words match as word beginnings, not only whole words (when
    /// whole words found nothing).
    pub prefix: bool,
}

impl ListQuery {
    pub fn filter(&self, key: &str) -> Option<&FilterValue> {
        self.filters.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn choice(&self, key: &str) -> Option<&str> {
        match self.filter(key) {
            Some(FilterValue::Choice(c)) => Some(c),
            _ => None,
        }
    }

    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.filter(key) {
            Some(FilterValue::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn related(&self, key: &str) -> Option<i64> {
        match self.filter(key) {
            Some(FilterValue::Related(id)) => Some(*id),
            _ => None,
        }
    }

    /// A date-range filter as `[from, to)` datetimes (either end open).
    pub fn date_range(&self, key: &str) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
        match self.filter(key) {
            Some(FilterValue::DateRange(from, to)) => (
                from.and_then(|d| d.and_hms_opt(0, 0, 0)),
                to.and_then(|d| d.succ_opt())
                    .and_then(|d| d.and_hms_opt(0, 0, 0)),
            ),
            _ => (None, None),
        }
    }

    /// The date drill-down's range, for the hierarchy's field.
    pub fn drill_range(&self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        self.date.range()
    }

    pub fn is_filtered(&self) -> bool {
        !self.words.is_empty() || !self.filters.is_empty() || self.date.year.is_some()
    }

    /// The export of a list: the same filters, walked by id.
    pub fn for_export(&self, after_id: Option<i64>, batch: i64) -> ListQuery {
        ListQuery {
            sort: "id".into(),
            descending: false,
            offset: 0,
            limit: batch,
            after_id: Some(after_id.unwrap_or(0)),
            ..self.clone()
        }
    }

    /// Parses `pairs` (the query string) for `meta`'s list.
    pub fn parse(meta: &ModelMeta, pairs: &[(String, String)]) -> Result<ListQuery, AppError> {
        let bad = |msg: String| AppError::BadRequest(msg);
        let mut q = ListQuery {
            limit: meta.per_page,
            page: 1,
            ..ListQuery::default()
        };
        let (default_sort, default_desc) = split_sort(meta.default_sort);
        q.sort = default_sort.to_string();
        q.descending = default_desc;
        let mut seen = std::collections::HashSet::new();
        for (key, value) in pairs {
            if !seen.insert(key.as_str()) {
                return Err(bad(format!("The parameter {key:?} is given twice.")));
            }
            let value = value.trim();
            match key.as_str() {
                "q" => {
                    if meta.search.is_none() {
                        return Err(bad("This list has no search.".into()));
                    }
                    if value.chars().count() > 200 {
                        return Err(bad("Search for at most 200 characters.".into()));
                    }
                    q.search = value.to_string();
                    q.words = value
                        .split_whitespace()
                        .take(8)
                        .map(str::to_lowercase)
                        .collect();
                }
                "o" => {
                    if value.is_empty() {
                        continue;
                    }
                    let (key, desc) = split_sort(value);
                    if key != "id" && !meta.columns.iter().any(|c| c.sortable && c.key == key) {
                        return Err(bad(format!(
                            "This list cannot be sorted by {key:?}: click a column heading to sort."
                        )));
                    }
                    q.sort = key.to_string();
                    q.descending = desc;
                }
                "page" => q.page = crate::http::Paginator::parse_number(Some(value))?,
                "year" | "month" | "day" => {
                    if meta.date_hierarchy.is_none() {
                        return Err(bad(format!("This list has no {key:?} drill-down.")));
                    }
                    let n: i64 = value
                        .parse()
                        .map_err(|_| bad(format!("{key}={value:?} is not a number.")))?;
                    match key.as_str() {
                        "year" if (1970..=9999).contains(&n) => q.date.year = Some(n as i32),
                        "month" if (1..=12).contains(&n) => q.date.month = Some(n as u32),
                        "day" if (1..=31).contains(&n) => q.date.day = Some(n as u32),
                        _ => return Err(bad(format!("{key}={value} is out of range."))),
                    }
                }
                other => {
                    let (name, end) = match other.rsplit_once('_') {
                        Some((n, e @ ("from" | "to"))) => (n, Some(e)),
                        _ => (other, None),
                    };
                    let filter = meta
                        .filters
                        .iter()
                        .find(|f| f.key == name)
                        .filter(|f| end.is_some() == matches!(f.kind, FilterKind::DateRange))
                        .ok_or_else(|| bad(format!("This list has no filter {other:?}.")))?;
                    if value.is_empty() {
                        continue;
                    }
                    let parsed = match &filter.kind {
                        FilterKind::Choices { choices } => {
                            if !choices.iter().any(|(v, _)| *v == value) {
                                return Err(bad(format!(
                                    "{other}={value:?} is not one of its choices."
                                )));
                            }
                            FilterValue::Choice(value.to_string())
                        }
                        FilterKind::Bool => match value {
                            "yes" | "1" | "true" => FilterValue::Bool(true),
                            "no" | "0" | "false" => FilterValue::Bool(false),
                            _ => return Err(bad(format!("{other}={value:?}: use yes or no."))),
                        },
                        FilterKind::Related => FilterValue::Related(
                            value
                                .parse()
                                .map_err(|_| bad(format!("{other}={value:?} is not an id.")))?,
                        ),
                        FilterKind::DateRange => {
                            let date =
                                NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                                    bad(format!("{other}={value:?}: enter a date as YYYY-MM-DD."))
                                })?;
                            let slot = q.filters.iter_mut().find(|(k, _)| *k == filter.key);
                            let (mut from, mut to) = match slot.as_ref().map(|(_, v)| v) {
                                Some(FilterValue::DateRange(f, t)) => (*f, *t),
                                _ => (None, None),
                            };
                            if end == Some("from") {
                                from = Some(date);
                            } else {
                                to = Some(date);
                            }
                            if let Some((_, v)) = slot {
                                *v = FilterValue::DateRange(from, to);
                                continue;
                            }
                            FilterValue::DateRange(from, to)
                        }
                    };
                    q.filters.push((filter.key, parsed));
                }
            }
        }
        if (q.date.month.is_some() && q.date.year.is_none())
            || (q.date.day.is_some() && q.date.month.is_none())
        {
            return Err(bad(
                "Pick a year before a month, and a month before a day.".into()
            ));
        }
        if q.date.year.is_some() && q.date.range().is_none() {
            return Err(bad("There is no such date.".into()));
        }
        q.offset = (q.page - 1).saturating_mul(q.limit);
        Ok(q)
    }
}

fn split_sort(raw: &str) -> (&str, bool) {
    match raw.strip_prefix('-') {
        Some(key) => (key, true),
        None => (raw, false),
    }
}

/// The years (or months, or days) to drill into, between `bounds`, for
/// the current drill-down.
pub fn drill_steps(
    drill: &DateDrill,
    bounds: Option<(NaiveDateTime, NaiveDateTime)>,
) -> Vec<(DateDrill, String)> {
    let Some((first, last)) = bounds else {
        return Vec::new();
    };
    match (drill.year, drill.month, drill.day) {
        (None, _, _) => (first.year()..=last.year())
            .rev()
            .map(|y| {
                (
                    DateDrill {
                        year: Some(y),
                        ..Default::default()
                    },
                    y.to_string(),
                )
            })
            .collect(),
        (Some(y), None, _) => (1..=12)
            .filter(|m| {
                let key = (y, *m);
                key >= (first.year(), first.month()) && key <= (last.year(), last.month())
            })
            .filter_map(|m| {
                let name = NaiveDate::from_ymd_opt(y, m, 1)?.format("%B").to_string();
                Some((
                    DateDrill {
                        year: Some(y),
                        month: Some(m),
                        day: None,
                    },
                    name,
                ))
            })
            .collect(),
        (Some(y), Some(m), None) => (1..=31)
            .filter_map(|d| NaiveDate::from_ymd_opt(y, m, d))
            .filter(|d| *d >= first.date() && *d <= last.date())
            .map(|d| {
                (
                    DateDrill {
                        year: Some(y),
                        month: Some(m),
                        day: Some(d.day()),
                    },
                    d.format("%-d %B").to_string(),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::{Column, DateHierarchy, Filter};

    fn meta() -> ModelMeta {
        let mut m = ModelMeta::new("shop", "thing", "thing", "things");
        m.columns = vec![
            Column::new("name", "Name").sortable(),
            Column::new("x", "X"),
        ];
        m.filters = vec![
            Filter::choices("status", "Status", vec![("paid", "Paid")]),
            Filter::boolean("active", "Active"),
            Filter::related("category", "Category"),
            Filter::date_range("created", "Created"),
        ];
        m.search = Some("name");
        m.date_hierarchy = Some(DateHierarchy {
            field: "created",
            label: "Created",
        });
        m.default_sort = "-created";
        m.per_page = 20;
        m
    }

    fn parse(qs: &str) -> Result<ListQuery, AppError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(qs.as_bytes())
            .into_owned()
            .collect();
        ListQuery::parse(&meta(), &pairs)
    }

    #[test]
    fn parses_everything_a_list_offers() {
        let q = parse("q=Oak+Lamp&o=-name&page=3&status=paid&active=no&category=4&created_from=2026-01-01&created_to=2026-01-31&year=2026&month=2").unwrap();
        assert_eq!(q.words, vec!["oak", "lamp"]);
        assert_eq!((q.sort.as_str(), q.descending), ("name", true));
        assert_eq!((q.offset, q.limit), (40, 20));
        assert_eq!(q.choice("status"), Some("paid"));
        assert_eq!(q.flag("active"), Some(false));
        assert_eq!(q.related("category"), Some(4));
        let (from, to) = q.date_range("created");
        assert_eq!(from.unwrap().to_string(), "2026-01-01 00:00:00");
        assert_eq!(to.unwrap().to_string(), "2026-02-01 00:00:00");
        let (start, end) = q.drill_range().unwrap();
        assert_eq!(
            (start.to_string().as_str(), end.to_string().as_str()),
            ("2026-02-01 00:00:00", "2026-03-01 00:00:00")
        );
        assert!(q.is_filtered());
        let plain = parse("").unwrap();
        assert_eq!(
            (plain.sort.as_str(), plain.descending, plain.page),
            ("created", true, 1)
        );
        assert!(!plain.is_filtered());
    }

    #[test]
    fn refuses_what_it_cannot_do_with_a_reason() {
        for bad in [
            "o=x",
            "o=secret_column",
            "status=lost",
            "active=maybe",
            "category=abc",
            "created_from=yesterday",
            "nope=1",
            "month=2",
            "year=2026&month=2&day=30",
            "page=0",
            "q=a&q=b",
        ] {
            assert!(
                matches!(parse(bad), Err(AppError::BadRequest(_))),
                "{bad} should be a 400"
            );
        }
        assert!(parse("o=id").is_ok(), "every list can be ordered by id");
        assert!(parse("status=&category=").unwrap().filters.is_empty());
    }

    #[test]
    fn drill_steps_stay_within_the_data() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let bounds = Some((at("2025-11-03 10:00:00"), at("2026-02-14 09:00:00")));
        let years = drill_steps(&DateDrill::default(), bounds);
        assert_eq!(
            years.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(),
            ["2026", "2025"]
        );
        let months = drill_steps(&years[1].0, bounds);
        assert_eq!(
            months.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(),
            ["November", "December"]
        );
        let days = drill_steps(
            &DateDrill {
                year: Some(2026),
                month: Some(2),
                day: None,
            },
            bounds,
        );
        assert_eq!(days.len(), 14);
        assert!(drill_steps(&DateDrill::default(), None).is_empty());
    }
}

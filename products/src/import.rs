//! Importing products from CSV, upserted by SKU: every row is planned as a
//! create, an update (naming what changes), a skip (nothing changes) or an
//! error, and a dry run stops there. The file is read in batches (one
//! query for a batch's existing products, one transaction to write it), so
//! a million-row file is never held in memory; running the same file twice
//! changes nothing the second time.
//!
//! Columns (a header row names them, in any order): `sku` (required),
//! `name`, `category` (slug or name), `price`, `stock`, `active`,
//! `description`, `slug`. A new product needs a name, a category and a
//! price; for an existing one, a missing column or an empty cell leaves
//! that value as it is.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Read;

use diesel::prelude::*;
use serde::Serialize;
use site_core::db::{write_transaction, DbConn};
use site_core::forms::Slug;
use site_core::money::{Currency, Money};
use site_core::schema::{products_category as c, products_product as p};

/// Rows read, planned and written together.
pub const BATCH: usize = 500;
/// Row reports kept for people to read; the counts cover every row.
pub const REPORTED: usize = 200;

const COLUMNS: [&str; 8] = [
    "sku",
    "name",
    "category",
    "price",
    "stock",
    "active",
    "description",
    "slug",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Create,
    Update,
    Skip,
    Error,
}

/// What happens (or would happen) to one row.
#[derive(Debug, Clone, Serialize)]
pub struct RowReport {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub sku: String,
    pub outcome: Outcome,
    /// What changes, or why the row is refused.
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub errors: u64,
    /// The first rows of each outcome (creates and skips are only counted
    /// past the first few).
    pub rows: Vec<RowReport>,
    pub dry_run: bool,
}

impl Report {
    pub fn total(&self) -> u64 {
        self.created + self.updated + self.skipped + self.errors
    }

    fn add(&mut self, row: RowReport) {
        match row.outcome {
            Outcome::Create => self.created += 1,
            Outcome::Update => self.updated += 1,
            Outcome::Skip => self.skipped += 1,
            Outcome::Error => self.errors += 1,
        }
        if self.rows.len() < REPORTED {
            self.rows.push(row);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not CSV we can read: {0}")]
    Csv(#[from] csv::Error),
    #[error("the header row has no {0:?} column (columns: sku, name, category, price, stock, active, description, slug)")]
    MissingColumn(&'static str),
    #[error("the header row has an unknown column {0:?} (columns: sku, name, category, price, stock, active, description, slug)")]
    UnknownColumn(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// One row as typed, by column.
struct Typed {
    line: u64,
    cells: HashMap<&'static str, String>,
}

impl Typed {
    /// A cell, or `None` when the column is absent or the cell empty.
    fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// A product as the import sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    name: String,
    slug: String,
    category_id: i64,
    price_minor: i64,
    stock: i64,
    is_active: bool,
    description: String,
}

#[derive(Queryable)]
struct Existing {
    id: i64,
    sku: String,
    name: String,
    slug: String,
    category_id: i64,
    price_minor: i64,
    stock: i64,
    is_active: bool,
    description: String,
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "on" => Ok(true),
        "0" | "false" | "no" | "n" | "off" => Ok(false),
        _ => Err(format!("active {raw:?}: use yes or no")),
    }
}

fn sku_hash(sku: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    sku.hash(&mut h);
    h.finish()
}

/// The categories, by slug and by lower-cased name.
fn categories(conn: &mut DbConn) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<(i64, String, String)> = c::table.select((c::id, c::slug, c::name)).load(conn)?;
    let mut out = HashMap::new();
    for (id, slug, name) in rows {
        out.insert(name.to_lowercase(), id);
        out.insert(slug, id);
    }
    Ok(out)
}

/// The plan for one row against what exists.
fn plan(
    row: &Typed,
    existing: Option<&Existing>,
    categories: &HashMap<String, i64>,
    currency: Currency,
) -> Result<Fields, String> {
    let mut problems = Vec::new();
    let category = match row.get("category") {
        Some(cat) => match categories
            .get(cat)
            .or_else(|| categories.get(&cat.to_lowercase()))
        {
            Some(id) => Some(*id),
            None => {
                problems.push(format!("no category {cat:?}"));
                None
            }
        },
        None => existing.map(|e| e.category_id),
    };
    let price = match row.get("price") {
        Some(raw) => match Money::parse(raw, currency) {
            Ok(m) => Some(m.minor()),
            Err(e) => {
                problems.push(format!("price {raw:?}: {e}"));
                None
            }
        },
        None => existing.map(|e| e.price_minor),
    };
    let stock = match row.get("stock") {
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (0..=1_000_000_000).contains(&n) => Some(n),
            _ => {
                problems.push(format!("stock {raw:?}: use a whole number, 0 or more"));
                None
            }
        },
        None => Some(existing.map_or(0, |e| e.stock)),
    };
    let active = match row.get("active") {
        Some(raw) => parse_bool(raw).map_err(|e| problems.push(e)).ok(),
        None => Some(existing.is_none_or(|e| e.is_active)),
    };
    let name = row
        .get("name")
        .map(str::to_string)
        .or_else(|| existing.map(|e| e.name.clone()));
    match &name {
        Some(n) if n.chars().count() > 200 => {
            problems.push("name: keep it under 200 characters".into())
        }
        Some(n) if n.chars().any(char::is_control) => {
            problems.push("name: printable characters only".into())
        }
        None => problems.push("a new product needs a name".into()),
        _ => {}
    }
    if existing.is_none() && row.get("category").is_none() {
        problems.push("a new product needs a category".into());
    }
    if existing.is_none() && row.get("price").is_none() {
        problems.push("a new product needs a price".into());
    }
    let slug = match row.get("slug") {
        Some(raw) => match Slug::parse(raw) {
            Ok(s) => Some(s.as_str().to_string()),
            Err(e) => {
                problems.push(format!("slug {raw:?}: {e}"));
                None
            }
        },
        None => match existing {
            Some(e) => Some(e.slug.clone()),
            None => name
                .as_deref()
                .map(|n| Slug::from_name(n).as_str().to_string()),
        },
    };
    let description = row
        .get("description")
        .map(str::to_string)
        .or_else(|| existing.map(|e| e.description.clone()))
        .unwrap_or_default();
    if description.chars().count() > 20_000 {
        problems.push("description: keep it under 20,000 characters".into());
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    match (name, slug, category, price, stock, active) {
        (
            Some(name),
            Some(slug),
            Some(category_id),
            Some(price_minor),
            Some(stock),
            Some(is_active),
        ) => Ok(Fields {
            name,
            slug,
            category_id,
            price_minor,
            stock,
            is_active,
            description,
        }),
        _ => Err("the row is incomplete".into()),
    }
}

/// What changes between `e` and `f`, as people read it.
fn changes(e: &Existing, f: &Fields, currency: Currency) -> Vec<String> {
    let money = |m: i64| Money::from_minor(m, currency).amount().to_string();
    let mut out = Vec::new();
    if e.name != f.name {
        out.push(format!("name {:?} → {:?}", e.name, f.name));
    }
    if e.slug != f.slug {
        out.push(format!("slug {} → {}", e.slug, f.slug));
    }
    if e.category_id != f.category_id {
        out.push("category".to_string());
    }
    if e.price_minor != f.price_minor {
        out.push(format!(
            "price {} → {}",
            money(e.price_minor),
            money(f.price_minor)
        ));
    }
    if e.stock != f.stock {
        out.push(format!("stock {} → {}", e.stock, f.stock));
    }
    if e.is_active != f.is_active {
        out.push(format!("active {} → {}", e.is_active, f.is_active));
    }
    if e.description != f.description {
        out.push("description".to_string());
    }
    out
}

/// Who is importing, for the audit log of each product written.
pub struct Importer<'a> {
    /// `None` on the command line.
    pub staff: Option<&'a site_core::admin::Staff>,
    pub label: &'a str,
}

/// Reads CSV from `input` and imports it (or, with `dry_run`, only plans
/// it). `progress` is called with the bytes read so far after each batch.
pub fn import(
    conn: &mut DbConn,
    input: impl Read,
    currency: Currency,
    dry_run: bool,
    who: &Importer<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(input);
    let header = reader.headers()?.clone();
    let mut columns: Vec<Option<&'static str>> = Vec::new();
    for h in header.iter() {
        let h = h.trim().trim_start_matches('\u{feff}').to_lowercase();
        match COLUMNS.iter().find(|c| **c == h) {
            Some(c) => columns.push(Some(c)),
            None if h.is_empty() => columns.push(None),
            None => return Err(ImportError::UnknownColumn(h)),
        }
    }
    if !columns.contains(&Some("sku")) {
        return Err(ImportError::MissingColumn("sku"));
    }
    let categories = categories(conn)?;
    let mut report = Report {
        dry_run,
        ..Report::default()
    };
    let mut seen: HashSet<u64> = HashSet::new();
    let mut batch: Vec<Typed> = Vec::with_capacity(BATCH);
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record)?;
        if more {
            let line = record.position().map_or(0, |p| p.line());
            let mut cells = HashMap::new();
            for (i, value) in record.iter().enumerate() {
                if let Some(Some(col)) = columns.get(i) {
                    cells.insert(*col, value.to_string());
                }
            }
            if cells.values().any(|v| !v.trim().is_empty()) {
                batch.push(Typed { line, cells });
            }
        }
        if batch.len() >= BATCH || (!more && !batch.is_empty()) {
            run_batch(
                conn,
                &batch,
                &categories,
                currency,
                dry_run,
                who,
                &mut seen,
                &mut report,
            )?;
            batch.clear();
            progress(reader.position().byte());
        }
        if !more {
            break;
        }
    }
    Ok(report)
}

/// Plans a batch and, unless it is a dry run, writes it in the same
/// transaction, with the rows it updates locked from the moment they are
/// read: a checkout selling one meanwhile waits, so its stock is never
/// overwritten with what this import read before.
#[allow(clippy::too_many_arguments)]
fn run_batch(
    conn: &mut DbConn,
    batch: &[Typed],
    categories: &HashMap<String, i64>,
    currency: Currency,
    dry_run: bool,
    who: &Importer<'_>,
    seen: &mut HashSet<u64>,
    report: &mut Report,
) -> Result<(), ImportError> {
    if dry_run {
        plan_batch(conn, batch, categories, currency, true, who, seen, report)
    } else {
        write_transaction(conn, |conn| {
            plan_batch(conn, batch, categories, currency, false, who, seen, report)
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_batch(
    conn: &mut DbConn,
    batch: &[Typed],
    categories: &HashMap<String, i64>,
    currency: Currency,
    dry_run: bool,
    who: &Importer<'_>,
    seen: &mut HashSet<u64>,
    report: &mut Report,
) -> Result<(), ImportError> {
    let skus: Vec<String> = batch
        .iter()
        .filter_map(|r| r.get("sku").map(str::to_string))
        .collect();
    let ids: Vec<i64> = p::table
        .filter(p::sku.eq_any(&skus))
        .select(p::id)
        .load(conn)?;
    // Rows that are variants, or have them, change what their parents
    // keep: the parents are locked first (as checkout does) and refreshed
    // after.
    let mut parents = Vec::new();
    if !dry_run {
        parents = crate::models::lock_families(conn, &ids)?;
        site_core::db::lock_rows(conn, "products_product", &ids)?;
    }
    let existing: HashMap<String, Existing> = p::table
        .filter(p::id.eq_any(&ids))
        .select((
            p::id,
            p::sku,
            p::name,
            p::slug,
            p::category_id,
            p::price_minor,
            p::stock,
            p::is_active,
            p::description,
        ))
        .load::<Existing>(conn)?
        .into_iter()
        .map(|e| (e.sku.clone(), e))
        .collect();
    let mut planned = Vec::with_capacity(batch.len());
    for row in batch {
        let report_row = |sku: &str, outcome, detail: String| RowReport {
            line: row.line,
            sku: sku.to_string(),
            outcome,
            detail,
        };
        let Some(sku) = row.get("sku") else {
            report.add(report_row("", Outcome::Error, "no SKU".into()));
            continue;
        };
        if sku.chars().count() > 64 || sku.chars().any(char::is_control) {
            report.add(report_row(
                sku,
                Outcome::Error,
                "SKU: at most 64 printable characters".into(),
            ));
            continue;
        }
        if !seen.insert(sku_hash(sku)) {
            report.add(report_row(
                sku,
                Outcome::Error,
                "this SKU appears earlier in the file".into(),
            ));
            continue;
        }
        let current = existing.get(sku);
        match plan(row, current, categories, currency) {
            Err(why) => report.add(report_row(sku, Outcome::Error, why)),
            Ok(fields) => match current {
                None => {
                    report.add(report_row(sku, Outcome::Create, fields.name.clone()));
                    planned.push((sku.to_string(), None, fields));
                }
                Some(e) => {
                    let changed = changes(e, &fields, currency);
                    if changed.is_empty() {
                        report.add(report_row(sku, Outcome::Skip, "unchanged".into()));
                    } else {
                        report.add(report_row(sku, Outcome::Update, changed.join("; ")));
                        planned.push((sku.to_string(), Some(e), fields));
                    }
                }
            },
        }
    }
    if dry_run || planned.is_empty() {
        return Ok(());
    }
    let now = site_core::now();
    for (sku, current, f) in &planned {
        let id = match current {
            Some(e) => {
                diesel::update(p::table.find(e.id))
                    .set((
                        p::name.eq(&f.name),
                        p::slug.eq(&f.slug),
                        p::category_id.eq(f.category_id),
                        p::price_minor.eq(f.price_minor),
                        p::stock.eq(f.stock),
                        p::is_active.eq(f.is_active),
                        p::description.eq(&f.description),
                        p::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                e.id
            }
            None => {
                diesel::insert_into(p::table)
                    .values((
                        p::sku.eq(sku),
                        p::name.eq(&f.name),
                        p::slug.eq(&f.slug),
                        p::category_id.eq(f.category_id),
                        p::price_minor.eq(f.price_minor),
                        p::currency.eq(currency.code()),
                        p::stock.eq(f.stock),
                        p::is_active.eq(f.is_active),
                        p::description.eq(&f.description),
                        p::image.eq(""),
                        p::created_at.eq(now),
                        p::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                p::table.filter(p::sku.eq(sku)).select(p::id).first(conn)?
            }
        };
        let detail = match current {
            Some(e) => changes(e, f, currency).join("; "),
            None => format!("created: {}", f.name),
        };
        audit(
            conn,
            who,
            id,
            &format!("{} ({sku})", f.name),
            current.is_none(),
            &detail,
        )?;
    }
    crate::models::refresh_parents(conn, &parents)?;
    let written: Vec<i64> = p::table
        .filter(p::sku.eq_any(planned.iter().map(|(sku, _, _)| sku.as_str())))
        .select(p::id)
        .load(conn)?;
    crate::search::refresh_terms(conn, crate::search::Scope::Products(&written))?;
    Ok(())
}

/// One history entry per product written.
fn audit(
    conn: &mut DbConn,
    who: &Importer<'_>,
    id: i64,
    repr: &str,
    created: bool,
    detail: &str,
) -> QueryResult<()> {
    use site_core::admin::audit::{write_as, FieldChange, LogAction, Record};
    let record = Record {
        object_id: id,
        repr,
        action: if created {
            LogAction::Add
        } else {
            LogAction::Change
        },
        action_name: who.label,
        changes: vec![FieldChange {
            field: "import".into(),
            label: "Import".into(),
            before: String::new(),
            after: detail.to_string(),
        }],
    };
    write_as(
        conn,
        who.staff.map(|s| s.id),
        who.staff.map_or("command line", |s| s.email.as_str()),
        "products",
        "product",
        &record,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(pairs: &[(&'static str, &str)]) -> Typed {
        Typed {
            line: 2,
            cells: pairs.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        }
    }

    fn cats() -> HashMap<String, i64> {
        HashMap::from([("tea".to_string(), 1), ("loose tea".to_string(), 1)])
    }

    #[test]
    fn a_new_product_needs_name_category_and_price() {
        let err = plan(&typed(&[("sku", "A")]), None, &cats(), Currency::Usd).unwrap_err();
        assert!(
            err.contains("needs a name")
                && err.contains("needs a category")
                && err.contains("needs a price"),
            "{err}"
        );
        let ok = plan(
            &typed(&[
                ("sku", "A"),
                ("name", "Green Tea"),
                ("category", "Loose Tea"),
                ("price", "4.50"),
            ]),
            None,
            &cats(),
            Currency::Usd,
        )
        .unwrap();
        assert_eq!(
            (ok.slug.as_str(), ok.price_minor, ok.stock, ok.is_active),
            ("green-tea", 450, 0, true)
        );
    }

    #[test]
    fn bad_cells_say_what_is_wrong() {
        let err = plan(
            &typed(&[
                ("sku", "A"),
                ("name", "X"),
                ("category", "coffee"),
                ("price", "1.234"),
                ("stock", "-1"),
                ("active", "maybe"),
            ]),
            None,
            &cats(),
            Currency::Usd,
        )
        .unwrap_err();
        for part in [
            "no category \"coffee\"",
            "price \"1.234\"",
            "stock \"-1\"",
            "active \"maybe\"",
        ] {
            assert!(err.contains(part), "{err} lacks {part}");
        }
    }

    #[test]
    fn an_update_keeps_what_the_row_leaves_out() {
        let e = Existing {
            id: 7,
            sku: "A".into(),
            name: "Green Tea".into(),
            slug: "green-tea".into(),
            category_id: 1,
            price_minor: 450,
            stock: 3,
            is_active: true,
            description: "Nice.".into(),
        };
        let f = plan(
            &typed(&[("sku", "A"), ("stock", "9"), ("price", "")]),
            Some(&e),
            &cats(),
            Currency::Usd,
        )
        .unwrap();
        assert_eq!(
            (f.stock, f.price_minor, f.description.as_str()),
            (9, 450, "Nice.")
        );
        assert_eq!(
            changes(&e, &f, Currency::Usd),
            vec!["stock 3 → 9".to_string()]
        );
    }
}

//! The change list: a model's rows with sorting, filters, search, the date
//! drill-down and pagination (counts capped, never a full count of a big
//! table), editable columns, and bulk actions on selected rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{
    cell_view, fingerprint_of, model_for, model_info, render, site, CellView, Choices, QueryString,
    Urls,
};
use crate::admin::query::{drill_steps, DateDrill};
use crate::admin::{
    FilterKind, ModelAdmin, ModelMeta, Perm, Row, Staff, Submission, Values, DELETE_SELECTED,
};
use crate::http::{redirect, AppError, Level, RequestContext};
use crate::tera::Context;

/// Where to go back to: the list with the same query.
pub(super) fn back(rq: &RequestContext, meta: &ModelMeta) -> Result<String, AppError> {
    Ok(format!(
        "{}{}",
        Urls::new(rq, meta).list()?,
        QueryString::from_request(rq).with(&[])
    ))
}

/// The fingerprint of a row's list-editable values.
pub(super) fn row_version(meta: &ModelMeta, editable: &Values) -> String {
    fingerprint_of(
        meta.fields
            .iter()
            .filter(|f| meta.list_editable.contains(&f.name)),
        editable,
    )
}

/// Counts stop here: past it a list says "more than 10,000".
pub const COUNT_CAP: i64 = 10_000;

/// At most this many rows can be acted on at once.
const MAX_SELECTED: usize = 1_000;

#[derive(Debug, Serialize)]
struct HeaderView {
    label: &'static str,
    numeric: bool,
    url: Option<String>,
    /// "ascending" / "descending" when the list is sorted by it.
    sorted: Option<&'static str>,
    editable: bool,
}

#[derive(Debug, Serialize)]
struct InputView {
    name: String,
    value: String,
    kind: &'static str,
    label: String,
    errors: Vec<String>,
}

#[derive(Debug, Serialize)]
struct RowView {
    id: i64,
    repr: String,
    url: String,
    /// A cell, or an input for a list-editable column.
    cells: Vec<(CellView, Option<InputView>)>,
    version: String,
    errors: Vec<String>,
}

#[derive(Debug, Serialize)]
struct FilterOption {
    label: String,
    url: String,
    selected: bool,
}

#[derive(Debug, Serialize)]
struct FilterView {
    key: &'static str,
    label: &'static str,
    date_range: bool,
    options: Vec<FilterOption>,
    from: String,
    to: String,
}

#[derive(Debug, Serialize)]
struct PageLink {
    number: i64,
    url: String,
    current: bool,
}

#[derive(Debug, Serialize)]
struct PageNav {
    /// Links, with `None` for a gap.
    links: Vec<Option<PageLink>>,
    previous: Option<String>,
    next: Option<String>,
    summary: String,
}

/// What one rendering of the list found in the database.
struct Loaded {
    /// The search matched word beginnings (no row had the words whole).
    prefix: bool,
    rows: Vec<Row>,
    count: i64,
    estimate: Option<i64>,
    page: i64,
    has_next: bool,
    choices: Choices,
    bounds: Option<(chrono::NaiveDateTime, chrono::NaiveDateTime)>,
}

fn load(
    conn: &mut crate::db::DbConn,
    model: &dyn ModelAdmin,
    mut q: crate::admin::ListQuery,
) -> Result<Loaded, AppError> {
    let meta = model.meta();
    let mut ids = model.matching_ids(conn, &q, COUNT_CAP)?;
    if ids.is_empty() && !q.words.is_empty() {
        // No row has every word whole: look for words they begin.
        q.prefix = true;
        ids = model.matching_ids(conn, &q, COUNT_CAP)?;
    }
    let count = ids.len() as i64;
    if !q.words.is_empty() && count < COUNT_CAP {
        // The search ran once; the page is taken from its matches.
        q.only = Some(ids);
    }
    if count < COUNT_CAP {
        let last = ((count + meta.per_page - 1) / meta.per_page).max(1);
        if q.page > last {
            q.page = last;
            q.offset = (last - 1) * meta.per_page;
        }
    }
    let mut fetch = q.clone();
    fetch.limit = meta.per_page + 1;
    let mut rows = model.list(conn, &fetch)?;
    let has_next = rows.len() as i64 > meta.per_page;
    rows.truncate(meta.per_page as usize);
    let mut choices = Choices::new();
    for f in &meta.filters {
        if matches!(f.kind, FilterKind::Related) {
            choices.insert(f.key, model.choices(conn, f.key)?);
        }
    }
    let estimate = if count >= COUNT_CAP && !q.is_filtered() {
        model.estimate(conn)?
    } else {
        None
    };
    let bounds = if meta.date_hierarchy.is_some() {
        model.date_bounds(conn)?
    } else {
        None
    };
    Ok(Loaded {
        prefix: q.prefix,
        rows,
        count,
        estimate,
        page: q.page,
        has_next,
        choices,
        bounds,
    })
}

fn group(n: i64) -> String {
    crate::money::Locale::default().count(n)
}

fn page_nav(meta: &ModelMeta, qs: &QueryString, l: &Loaded) -> PageNav {
    let per = meta.per_page;
    let exact = l.count < COUNT_CAP;
    let last = if exact {
        Some(((l.count + per - 1) / per).max(1))
    } else {
        None
    };
    let link = |n: i64| PageLink {
        number: n,
        url: qs.with(&[("page", Some(&n.to_string()))]),
        current: n == l.page,
    };
    let mut links = Vec::new();
    let upper = last.unwrap_or(l.page + if l.has_next { 2 } else { 0 });
    for n in 1..=upper {
        let near = (n - l.page).abs() <= 2;
        if n == 1 || Some(n) == last || near {
            links.push(Some(link(n)));
        } else if links.last().is_some_and(|x: &Option<PageLink>| x.is_some()) {
            links.push(None);
        }
        if n > l.page + 2 && last.is_some_and(|last| n < last) {
            // jump to the last page's link
            if links.last().is_some_and(|x| x.is_some()) {
                links.push(None);
            }
            if let Some(last) = last {
                links.push(Some(link(last)));
            }
            break;
        }
    }
    if !exact && l.has_next {
        links.push(None);
    }
    let shown_from = (l.page - 1) * per + 1;
    let shown_to = (l.page - 1) * per + l.rows.len() as i64;
    let total = if exact {
        format!("{} {}", group(l.count), plural(meta, l.count))
    } else {
        match l.estimate {
            Some(e) => format!(
                "about {} {}",
                group(e.max(COUNT_CAP)),
                meta.verbose_name_plural
            ),
            None => format!(
                "more than {} {}",
                group(COUNT_CAP),
                meta.verbose_name_plural
            ),
        }
    };
    let summary = if l.rows.is_empty() {
        if l.count == 0 {
            format!("0 {}", meta.verbose_name_plural)
        } else {
            format!("No {} on this page, of {total}", meta.verbose_name_plural)
        }
    } else {
        format!("{}–{} of {total}", group(shown_from), group(shown_to))
    };
    PageNav {
        links: if upper > 1 { links } else { Vec::new() },
        previous: (l.page > 1).then(|| qs.with(&[("page", Some(&(l.page - 1).to_string()))])),
        next: l
            .has_next
            .then(|| qs.with(&[("page", Some(&(l.page + 1).to_string()))])),
        summary,
    }
}

fn plural(meta: &ModelMeta, n: i64) -> &'static str {
    if n == 1 {
        meta.verbose_name
    } else {
        meta.verbose_name_plural
    }
}

/// What a re-rendered list shows for a row instead of the saved values.
#[derive(Default)]
pub(super) struct RowInput {
    pub raw: BTreeMap<String, String>,
    pub errors: BTreeMap<String, Vec<String>>,
    pub version: Option<String>,
    pub row_errors: Vec<String>,
}

pub(super) struct Listing<'a> {
    rq: &'a RequestContext,
    staff: &'a Staff,
    model: &'a Arc<dyn ModelAdmin>,
    qs: QueryString,
    query: crate::admin::ListQuery,
}

impl Listing<'_> {
    pub(super) async fn render(
        &self,
        inputs: BTreeMap<i64, RowInput>,
        status: StatusCode,
    ) -> Result<HttpResponse, AppError> {
        let rq = self.rq;
        let meta = self.model.meta();
        let model = self.model.clone();
        let q = self.query.clone();
        let l = rq.db(move |conn| load(conn, model.as_ref(), q)).await?;
        let site = site(rq)?;
        let urls = Urls::new(rq, meta);
        let editing =
            !meta.list_editable.is_empty() && meta.editable && self.staff.can(meta, Perm::Change);

        let headers: Vec<HeaderView> = meta
            .columns
            .iter()
            .map(|c| {
                let sorted = (self.query.sort == c.key).then_some(if self.query.descending {
                    "descending"
                } else {
                    "ascending"
                });
                let next = if sorted == Some("ascending") {
                    format!("-{}", c.key)
                } else {
                    c.key.to_string()
                };
                HeaderView {
                    label: c.label,
                    numeric: c.numeric,
                    url: c.sortable.then(|| self.qs.with(&[("o", Some(&next))])),
                    sorted,
                    editable: editing && meta.list_editable.contains(&c.key),
                }
            })
            .collect();

        let mut rows = Vec::with_capacity(l.rows.len());
        for row in &l.rows {
            let input = inputs.get(&row.id);
            let cells = meta
                .columns
                .iter()
                .zip(&row.cells)
                .map(|(col, cell)| {
                    let field = meta
                        .field(col.key)
                        .filter(|_| editing && meta.list_editable.contains(&col.key));
                    let edit = field.map(|f| {
                        let name = format!("form-{}-{}", row.id, f.name);
                        let value = input
                            .and_then(|i| i.raw.get(f.name).cloned())
                            .unwrap_or_else(|| {
                                f.to_input(
                                    row.editable.get(f.name),
                                    crate::money::MoneyFormat::of(&rq.config),
                                )
                            });
                        InputView {
                            errors: input
                                .and_then(|i| i.errors.get(f.name).cloned())
                                .unwrap_or_default(),
                            name,
                            value,
                            kind: match f.kind {
                                crate::admin::FieldKind::Int { .. } => "number",
                                _ => "text",
                            },
                            label: format!("{} of {}", f.label, row.repr),
                        }
                    });
                    (cell_view(rq, cell), edit)
                })
                .collect();
            rows.push(RowView {
                id: row.id,
                repr: row.repr.clone(),
                url: urls.change(row.id)?,
                cells,
                version: input
                    .and_then(|i| i.version.clone())
                    .unwrap_or_else(|| row_version(meta, &row.editable)),
                errors: input.map(|i| i.row_errors.clone()).unwrap_or_default(),
            });
        }

        let filters = self.filter_views(&l.choices);
        let drill = self.drill(&l)?;
        let mut actions: Vec<(&str, &str)> = Vec::new();
        if meta.deletable && self.staff.can(meta, Perm::Delete) {
            actions.push((DELETE_SELECTED, "Delete selected"));
        }
        for a in &meta.actions {
            if self.staff.can(meta, a.perm) {
                actions.push((a.name, a.label));
            }
        }
        let mut ctx = Context::new();
        ctx.insert("title", meta.verbose_name_plural);
        ctx.insert("model", &model_info(rq, self.staff, &site, meta)?);
        ctx.insert("headers", &headers);
        ctx.insert("rows", &rows);
        ctx.insert("editing", &editing);
        ctx.insert("actions", &actions);
        ctx.insert("filters", &filters);
        ctx.insert("drill", &drill);
        ctx.insert("nav", &page_nav(meta, &self.qs, &l));
        ctx.insert("search", &meta.search);
        ctx.insert("search_value", &self.query.search);
        ctx.insert("keep_for_search", &keep(&self.qs, &["q", "page"]));
        ctx.insert("query", &self.qs.encoded());
        ctx.insert(
            "export_url",
            &format!(
                "{}{}",
                rq.url("admin:export", &[("app", meta.app), ("model", meta.model)])?,
                self.qs.with(&[])
            ),
        );
        ctx.insert("is_filtered", &self.query.is_filtered());
        ctx.insert("word_beginnings", &(l.prefix && l.count > 0));
        let links = if self.staff.can(meta, Perm::Add) {
            self.model
                .list_links()
                .iter()
                .map(|(text, l)| Ok((text.clone(), super::link_url(rq, l)?)))
                .collect::<Result<Vec<_>, AppError>>()?
        } else {
            Vec::new()
        };
        ctx.insert("list_links", &links);
        ctx.insert("clear_url", &urls.list()?);
        render(rq, "admin/change_list.html", ctx, status)
    }

    fn filter_views(&self, choices: &Choices) -> Vec<FilterView> {
        let meta = self.model.meta();
        meta.filters
            .iter()
            .map(|f| {
                let current = self.qs.get(f.key);
                let all = FilterOption {
                    label: "All".into(),
                    url: self.qs.with(&[(f.key, None)]),
                    selected: current.is_none_or(str::is_empty),
                };
                let option = |value: String, label: String| FilterOption {
                    selected: current == Some(value.as_str()),
                    url: self.qs.with(&[(f.key, Some(&value))]),
                    label,
                };
                let options = match &f.kind {
                    FilterKind::Choices { choices } => std::iter::once(all)
                        .chain(
                            choices
                                .iter()
                                .map(|(v, l)| option(v.to_string(), l.to_string())),
                        )
                        .collect(),
                    FilterKind::Bool => vec![
                        all,
                        option("yes".into(), "Yes".into()),
                        option("no".into(), "No".into()),
                    ],
                    FilterKind::Related => std::iter::once(all)
                        .chain(
                            choices
                                .get(f.key)
                                .into_iter()
                                .flatten()
                                .map(|(id, l)| option(id.to_string(), l.clone())),
                        )
                        .collect(),
                    FilterKind::DateRange => Vec::new(),
                };
                FilterView {
                    key: f.key,
                    label: f.label,
                    date_range: matches!(f.kind, FilterKind::DateRange),
                    options,
                    from: self
                        .qs
                        .get(&format!("{}_from", f.key))
                        .unwrap_or("")
                        .to_string(),
                    to: self
                        .qs
                        .get(&format!("{}_to", f.key))
                        .unwrap_or("")
                        .to_string(),
                }
            })
            .collect()
    }

    fn drill(&self, l: &Loaded) -> Result<Option<serde_json::Value>, AppError> {
        let meta = self.model.meta();
        let Some(h) = &meta.date_hierarchy else {
            return Ok(None);
        };
        let d = self.query.date;
        let url_for = |d: &DateDrill| {
            let y = d.year.map(|v| v.to_string());
            let m = d.month.map(|v| v.to_string());
            let day = d.day.map(|v| v.to_string());
            self.qs.with(&[
                ("year", y.as_deref()),
                ("month", m.as_deref()),
                ("day", day.as_deref()),
            ])
        };
        let mut crumbs = vec![("All dates".to_string(), url_for(&DateDrill::default()))];
        if let Some(y) = d.year {
            let up = DateDrill {
                year: Some(y),
                ..Default::default()
            };
            crumbs.push((y.to_string(), url_for(&up)));
            if let (Some(m), Some((start, _))) = (d.month, d.range()) {
                let up = DateDrill {
                    month: Some(m),
                    ..up
                };
                crumbs.push((start.format("%B").to_string(), url_for(&up)));
            }
        }
        let steps: Vec<(String, String)> = drill_steps(&d, l.bounds)
            .into_iter()
            .map(|(step, label)| (label, url_for(&step)))
            .collect();
        Ok(Some(serde_json::json!({
            "label": h.label,
            "crumbs": crumbs,
            "steps": steps,
        })))
    }
}

/// The other query parameters, for a form that changes only some.
fn keep(qs: &QueryString, drop: &[&str]) -> Vec<(String, String)> {
    qs.0.iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .cloned()
        .collect()
}

pub(super) fn listing<'a>(
    rq: &'a RequestContext,
    staff: &'a Staff,
    model: &'a Arc<dyn ModelAdmin>,
) -> Result<Listing<'a>, AppError> {
    let qs = QueryString::from_request(rq);
    let query = crate::admin::ListQuery::parse(model.meta(), &qs.0)?;
    Ok(Listing {
        rq,
        staff,
        model,
        qs,
        query,
    })
}

pub async fn show(
    rq: RequestContext,
    staff: Staff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (app, model) = path.into_inner();
    let model = model_for(&rq, &staff, &app, &model)?;
    listing(&rq, &staff, &model)?
        .render(BTreeMap::new(), StatusCode::OK)
        .await
}

pub async fn submit(
    rq: RequestContext,
    staff: Staff,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (app, model) = path.into_inner();
    let model = model_for(&rq, &staff, &app, &model)?;
    let sub = Submission::read(&rq.req, payload, &Default::default()).await?;
    let action = sub.first("action").filter(|a| !a.is_empty());
    // No action chosen but rows edited: the edits are what was meant.
    if sub.has("_save") || (action.is_none() && sub.has("_row")) {
        return super::rows::save(&rq, &staff, &model, &sub).await;
    }
    let meta = model.meta();
    let Some(action) = action.map(str::to_string) else {
        rq.flash(
            Level::Warning,
            "Choose an action to run on the selected rows. Nothing was changed.",
        );
        return Ok(redirect(&back(&rq, meta)?));
    };
    let ids = sub.ids("_selected")?;
    if ids.is_empty() {
        rq.flash(
            Level::Warning,
            format!(
                "Select at least one {} first, then pick an action. Nothing was changed.",
                meta.verbose_name
            ),
        );
        return Ok(redirect(&back(&rq, meta)?));
    }
    if ids.len() > MAX_SELECTED {
        return Err(AppError::BadRequest(format!(
            "Select at most {MAX_SELECTED} rows at a time."
        )));
    }
    if action == DELETE_SELECTED {
        if !meta.deletable {
            return Err(AppError::BadRequest(format!(
                "{} cannot be deleted.",
                meta.verbose_name_plural
            )));
        }
        staff.require(meta, Perm::Delete)?;
        return super::delete::delete_selected(&rq, &staff, &model, ids, &sub).await;
    }
    super::actions::run(&rq, &staff, &model, &action, ids, &sub).await
}

pub async fn export(
    rq: RequestContext,
    staff: Staff,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (app, model) = path.into_inner();
    let model = model_for(&rq, &staff, &app, &model)?;
    let qs = QueryString::from_request(&rq);
    let query = crate::admin::ListQuery::parse(model.meta(), &qs.0)?;
    crate::admin::csv::export(&rq, model, query)
}

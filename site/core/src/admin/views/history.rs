//! An object's history, and the audit page of every change, filterable by
//! who, which model and when.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use super::index::{entry_view, visible_models, EntryView};
use super::{model_for, model_info, parse_id, render, site, QueryString, Urls};
use crate::admin::audit::{self, LogFilter};
use crate::admin::Staff;
use crate::http::{AppError, Paginator, RequestContext};
use crate::tera::Context;

type ObjectPath = web::Path<(String, String, String)>;

pub async fn history(
    rq: RequestContext,
    staff: Staff,
    path: ObjectPath,
) -> Result<HttpResponse, AppError> {
    let (app, model, id) = path.into_inner();
    let model = model_for(&rq, &staff, &app, &model)?;
    let id = parse_id(&id)?;
    let m = model.clone();
    let (obj, entries) = rq
        .db(move |conn| {
            let meta = m.meta();
            Ok((
                m.get(conn, id)?,
                audit::for_object(conn, meta.app, meta.model, id, 500)?,
            ))
        })
        .await?;
    let meta = model.meta();
    let repr = match (&obj, entries.first()) {
        (Some(o), _) => o.repr.clone(),
        (None, Some(e)) => e.object_repr.clone(),
        (None, None) => return Err(AppError::NotFound),
    };
    let entries: Vec<EntryView> = entries
        .iter()
        .map(|e| entry_view(&rq, e, meta.verbose_name))
        .collect();
    let mut ctx = Context::new();
    ctx.insert("title", &format!("History: {repr}"));
    ctx.insert("object_repr", &repr);
    let site = site(&rq)?;
    ctx.insert("model", &model_info(&rq, &staff, &site, meta)?);
    ctx.insert(
        "change_url",
        &obj.map(|o| Urls::new(&rq, meta).change(o.id)).transpose()?,
    );
    ctx.insert("entries", &entries);
    ctx.insert("show_object", &false);
    render(&rq, "admin/history.html", ctx, StatusCode::OK)
}

const LOG_PER_PAGE: i64 = 50;

#[derive(Debug, Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn date(qs: &QueryString, key: &str) -> Result<Option<NaiveDate>, AppError> {
    match qs.get(key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::BadRequest(format!("{key}={v:?}: enter a date as YYYY-MM-DD."))),
    }
}

pub async fn audit_log(rq: RequestContext, staff: Staff) -> Result<HttpResponse, AppError> {
    let site = site(&rq)?;
    let qs = QueryString::from_request(&rq);
    for (k, _) in &qs.0 {
        if !matches!(k.as_str(), "user" | "model" | "from" | "to" | "page") {
            return Err(AppError::BadRequest(format!(
                "The audit log has no filter {k:?}."
            )));
        }
    }
    let visible = visible_models(&staff, &site);
    let mut filter = LogFilter {
        visible: visible.clone(),
        ..LogFilter::default()
    };
    if let Some(u) = qs.get("user").filter(|v| !v.is_empty()) {
        filter.user_id = Some(
            u.parse()
                .map_err(|_| AppError::BadRequest(format!("user={u:?} is not an id.")))?,
        );
    }
    if let Some(m) = qs.get("model").filter(|v| !v.is_empty()) {
        let (app, model) = m.split_once('.').ok_or_else(|| {
            AppError::BadRequest(format!("model={m:?}: use app.model, as listed."))
        })?;
        if site.model(app, model).is_none() {
            return Err(AppError::BadRequest(format!("There is no model {m:?}.")));
        }
        filter.model = Some((app.to_string(), model.to_string()));
    }
    let from = date(&qs, "from")?;
    let to = date(&qs, "to")?;
    filter.from = from.and_then(|d| d.and_hms_opt(0, 0, 0));
    filter.until = to
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0));
    let page_number = Paginator::parse_number(qs.get("page"))?;
    let cap = super::changelist::COUNT_CAP;
    let f = filter.clone();
    let (count, entries, staff_users) = rq
        .db(move |conn| {
            use crate::schema::accounts_user as u;
            let count = audit::count(conn, &f, cap)?;
            let page = Paginator::new(LOG_PER_PAGE).page(page_number, count);
            let entries = audit::page(conn, &f, page.offset(), LOG_PER_PAGE)?;
            let staff_users: Vec<(i64, String)> = u::table
                .filter(u::is_staff.eq(true))
                .order(u::email)
                .select((u::id, u::email))
                .limit(500)
                .load(conn)?;
            Ok((count, entries, staff_users))
        })
        .await?;
    let page = Paginator::new(LOG_PER_PAGE).page(page_number, count);
    let entries: Vec<EntryView> = entries
        .iter()
        .map(|e| {
            let name = site
                .model(&e.app, &e.model)
                .map(|m| m.meta().verbose_name)
                .unwrap_or("");
            entry_view(&rq, e, name)
        })
        .collect();
    let users: Vec<Choice> = staff_users
        .into_iter()
        .map(|(id, email)| Choice {
            selected: filter.user_id == Some(id),
            value: id.to_string(),
            label: email,
        })
        .collect();
    let models: Vec<Choice> = site
        .models
        .iter()
        .map(|m| m.meta())
        .filter(|meta| {
            visible
                .as_ref()
                .is_none_or(|v| v.iter().any(|(a, m)| a == meta.app && m == meta.model))
        })
        .map(|meta| {
            let value = format!("{}.{}", meta.app, meta.model);
            Choice {
                selected: qs.get("model") == Some(value.as_str()),
                label: format!("{}: {}", site.app_name(meta.app), meta.verbose_name_plural),
                value,
            }
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("title", "Audit log");
    ctx.insert("show_object", &true);
    ctx.insert("entries", &entries);
    ctx.insert("users", &users);
    ctx.insert("models", &models);
    ctx.insert("from", &from.map(|d| d.to_string()).unwrap_or_default());
    ctx.insert("to", &to.map(|d| d.to_string()).unwrap_or_default());
    ctx.insert("page", &page);
    ctx.insert("capped", &(count >= cap));
    let keep = qs.with(&[]);
    let page_query = keep.trim_start_matches('?');
    ctx.insert(
        "page_query",
        &if page_query.is_empty() {
            String::new()
        } else {
            format!("{page_query}&")
        },
    );
    render(&rq, "admin/audit_log.html", ctx, StatusCode::OK)
}

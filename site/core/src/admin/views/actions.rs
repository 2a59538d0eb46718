//! Bulk actions on a change list's selected rows: an intermediate page
//! when the action asks for details per object, then one transaction that
//! runs it and writes an audit entry for each object it changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

use super::changelist::back;
use super::{display_value, load_choices, model_info, render, site, OwnedEnv, QueryString};
use crate::admin::audit::{self, LogAction};
use crate::admin::{ModelAdmin, SaveError, Staff, Submission};
use crate::db::write_transaction;
use crate::http::{redirect, AppError, Level, RequestContext};
use crate::tera::Context;

/// The objects of `ids` as (id, name), for confirmation pages.
pub async fn named(
    rq: &RequestContext,
    model: &Arc<dyn ModelAdmin>,
    ids: Vec<i64>,
) -> Result<Vec<(i64, String)>, AppError> {
    let m = model.clone();
    rq.db(move |conn| {
        let mut out = Vec::new();
        for id in ids {
            if let Some(obj) = m.get(conn, id)? {
                out.push((obj.id, obj.repr));
            }
        }
        Ok(out)
    })
    .await
}

pub(super) async fn run(
    rq: &RequestContext,
    staff: &Staff,
    model: &Arc<dyn ModelAdmin>,
    action: &str,
    ids: Vec<i64>,
    sub: &Submission,
) -> Result<HttpResponse, AppError> {
    let meta = model.meta();
    let spec = meta
        .action(action)
        .ok_or_else(|| AppError::BadRequest(format!("There is no action {action:?} here.")))?
        .clone();
    staff.require(meta, spec.perm)?;
    let objects = named(rq, model, ids).await?;
    if objects.is_empty() {
        rq.flash(
            Level::Warning,
            "Those rows no longer exist. Nothing was changed.",
        );
        return Ok(redirect(&back(rq, meta)?));
    }
    // Actions that ask for details per object: show their form first, and
    // check what came back before anything runs.
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !spec.fields.is_empty() {
        if !sub.has("_confirm") {
            return action_form(
                rq,
                staff,
                model,
                &spec,
                &objects,
                sub,
                &errors,
                StatusCode::OK,
            );
        }
        for (id, _) in &objects {
            for f in &spec.fields {
                let name = format!("{}-{id}", f.name);
                if let Err(e) = f.parse(
                    &sub.all(&name),
                    None,
                    crate::money::MoneyFormat::of(&rq.config),
                ) {
                    errors.entry(name).or_default().push(e);
                }
            }
        }
        if !errors.is_empty() {
            return action_form(
                rq,
                staff,
                model,
                &spec,
                &objects,
                sub,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    }
    let ids: Vec<i64> = objects.iter().map(|(id, _)| *id).collect();
    let m = model.clone();
    let owned = OwnedEnv::new(rq, staff)?;
    let input = sub.clone();
    let name = spec.name;
    let label = spec.label;
    let site = site(rq)?;
    let done = rq
        .db(move |conn| {
            let env = owned.env();
            let config = env.config;
            let meta = m.meta();
            let choices = load_choices(conn, m.as_ref(), &meta.fields)?;
            let outcome = write_transaction(conn, |conn| -> Result<String, SaveError> {
                m.lock(conn, &ids)?;
                let refused = site.action_refusals(conn, m.as_ref(), name, &ids)?;
                if !refused.is_empty() {
                    return Err(SaveError::Invalid {
                        fields: Vec::new(),
                        form: refused,
                    });
                }
                let mut before = Vec::new();
                for id in &ids {
                    before.push(m.get(conn, *id)?);
                }
                let message = m.run_action(&env, conn, name, &ids, &input)?;
                for (id, old) in ids.iter().zip(before) {
                    let Some(old) = old else { continue };
                    let new = m.get(conn, *id)?;
                    let changes = audit::diff(
                        &meta.fields,
                        Some(&old.values),
                        new.as_ref().map(|n| &n.values),
                        &|f, v| display_value(config, &choices, f, v),
                    );
                    if changes.is_empty() {
                        continue;
                    }
                    audit::write(
                        conn,
                        env.staff,
                        meta,
                        &audit::Record {
                            object_id: *id,
                            repr: new.as_ref().map(|n| n.repr.as_str()).unwrap_or(&old.repr),
                            action: LogAction::Action,
                            action_name: label,
                            changes,
                        },
                    )?;
                }
                Ok(message)
            });
            Ok(outcome)
        })
        .await?;
    match done {
        Ok(message) => {
            rq.flash(Level::Success, message);
            Ok(redirect(&back(rq, meta)?))
        }
        Err(SaveError::Invalid { fields, form }) if !spec.fields.is_empty() => {
            let mut errors = BTreeMap::new();
            for (k, v) in fields {
                errors.entry(k).or_insert_with(Vec::new).push(v);
            }
            let mut form_errors = form;
            form_errors.insert(0, "Nothing was changed.".into());
            errors.insert("__all__".into(), form_errors);
            action_form(
                rq,
                staff,
                model,
                &spec,
                &objects,
                sub,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(SaveError::Invalid { fields, form }) => {
            let mut all: Vec<String> = form;
            all.extend(fields.into_iter().map(|(_, m)| m));
            rq.flash(
                Level::Error,
                format!("Nothing was changed: {}", all.join(" ")),
            );
            Ok(redirect(&back(rq, meta)?))
        }
        Err(SaveError::Other(message)) => {
            rq.flash(Level::Error, format!("Nothing was changed: {message}"));
            Ok(redirect(&back(rq, meta)?))
        }
        Err(e) => Err(AppError::internal(e)),
    }
}

#[allow(clippy::too_many_arguments)]
fn action_form(
    rq: &RequestContext,
    staff: &Staff,
    model: &Arc<dyn ModelAdmin>,
    spec: &crate::admin::ActionSpec,
    objects: &[(i64, String)],
    sub: &Submission,
    errors: &BTreeMap<String, Vec<String>>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let meta = model.meta();
    let site = site(rq)?;
    #[derive(Serialize)]
    struct Input<'a> {
        field: &'a crate::admin::Field,
        name: String,
        value: String,
        errors: Vec<String>,
    }
    #[derive(Serialize)]
    struct Line<'a> {
        id: i64,
        repr: &'a str,
        inputs: Vec<Input<'a>>,
    }
    let lines: Vec<Line> = objects
        .iter()
        .map(|(id, repr)| Line {
            id: *id,
            repr,
            inputs: spec
                .fields
                .iter()
                .map(|f| {
                    let name = format!("{}-{id}", f.name);
                    Input {
                        field: f,
                        value: sub.first(&name).unwrap_or("").to_string(),
                        errors: errors.get(&name).cloned().unwrap_or_default(),
                        name,
                    }
                })
                .collect(),
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("title", spec.label);
    ctx.insert("model", &model_info(rq, staff, &site, meta)?);
    ctx.insert("action", spec);
    ctx.insert("lines", &lines);
    ctx.insert(
        "form_errors",
        &errors.get("__all__").cloned().unwrap_or_default(),
    );
    ctx.insert("query", &QueryString::from_request(rq).with(&[]));
    render(rq, "admin/action_form.html", ctx, status)
}

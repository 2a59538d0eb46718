//! Deleting: a confirmation page that says what goes with each object and
//! what protects it (or that it is deactivated instead), then the delete
//! and its audit entry in one transaction.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{
    display_value, load_choices, model_for, model_info, parse_id, render, site, QueryString, Urls,
};
use crate::admin::audit::{self, LogAction};
use crate::admin::{DeletePlan, Deleted, ModelAdmin, Perm, SaveError, Staff, Submission};
use crate::db::write_transaction;
use crate::http::{redirect, AppError, Level, RequestContext};
use crate::tera::Context;

type ObjectPath = web::Path<(String, String, String)>;

#[derive(Debug, Serialize)]
struct Planned {
    id: i64,
    repr: String,
    url: String,
    plan: DeletePlan,
}

fn deletable(
    rq: &RequestContext,
    staff: &Staff,
    app: &str,
    model: &str,
) -> Result<Arc<dyn ModelAdmin>, AppError> {
    let m = model_for(rq, staff, app, model)?;
    if !m.meta().deletable {
        return Err(AppError::NotFound);
    }
    staff.require(m.meta(), Perm::Delete)?;
    Ok(m)
}

async fn plans(
    rq: &RequestContext,
    staff: &Staff,
    model: &Arc<dyn ModelAdmin>,
    ids: Vec<i64>,
) -> Result<Vec<Planned>, AppError> {
    let m = model.clone();
    let site = site(rq)?;
    let who = staff.clone();
    let found = rq
        .db(move |conn| {
            let mut out = Vec::new();
            for id in ids {
                if let Some(obj) = m.get(conn, id)? {
                    let plan = site.delete_plan(&who, conn, m.as_ref(), id)?;
                    out.push((obj, plan));
                }
            }
            Ok(out)
        })
        .await?;
    let urls = Urls::new(rq, model.meta());
    found
        .into_iter()
        .map(|(obj, plan)| {
            Ok(Planned {
                id: obj.id,
                url: urls.change(obj.id)?,
                repr: obj.repr,
                plan,
            })
        })
        .collect()
}

fn confirm_page(
    rq: &RequestContext,
    staff: &Staff,
    model: &Arc<dyn ModelAdmin>,
    planned: &[Planned],
    post_to: &str,
    selected: bool,
) -> Result<HttpResponse, AppError> {
    let meta = model.meta();
    let site = site(rq)?;
    let protected = planned.iter().any(|p| !p.plan.protected_by.is_empty());
    let mut ctx = Context::new();
    ctx.insert("title", "Are you sure?");
    ctx.insert("model", &model_info(rq, staff, &site, meta)?);
    ctx.insert("planned", planned);
    ctx.insert("protected", &protected);
    ctx.insert("post_to", post_to);
    ctx.insert("selected", &selected);
    ctx.insert("list_url", &Urls::new(rq, meta).list()?);
    render(rq, "admin/delete_confirm.html", ctx, StatusCode::OK)
}

pub async fn confirm(
    rq: RequestContext,
    staff: Staff,
    path: ObjectPath,
) -> Result<HttpResponse, AppError> {
    let (app, model, id) = path.into_inner();
    let model = deletable(&rq, &staff, &app, &model)?;
    let id = parse_id(&id)?;
    let planned = plans(&rq, &staff, &model, vec![id]).await?;
    if planned.is_empty() {
        return Err(AppError::NotFound);
    }
    let post_to = Urls::new(&rq, model.meta()).object("admin:delete", id)?;
    confirm_page(&rq, &staff, &model, &planned, &post_to, false)
}

/// Deletes `ids` (or deactivates those whose plan says so), all or none,
/// each with its audit entry. `Err` carries why nothing was deleted.
async fn delete_all(
    rq: &RequestContext,
    staff: &Staff,
    model: &Arc<dyn ModelAdmin>,
    ids: Vec<i64>,
) -> Result<Result<(usize, usize), String>, AppError> {
    let m = model.clone();
    let who = staff.clone();
    let config = rq.config.clone();
    let site = site(rq)?;
    rq.db(move |conn| {
        let meta = m.meta();
        let choices = load_choices(conn, m.as_ref(), &meta.fields)?;
        let done = write_transaction(conn, |conn| -> Result<(usize, usize), SaveError> {
            let (mut removed, mut deactivated) = (0, 0);
            m.lock(conn, &ids)?;
            for id in &ids {
                let Some(before) = m.get(conn, *id)? else {
                    continue;
                };
                let plan = site.delete_plan(&who, conn, m.as_ref(), *id)?;
                if !plan.protected_by.is_empty() {
                    return Err(SaveError::Other(format!(
                        "“{}” cannot be deleted: {}",
                        before.repr,
                        plan.protected_by.join("; ")
                    )));
                }
                let outcome = m.delete(conn, *id, &plan)?;
                let after = match outcome {
                    Deleted::Removed => {
                        removed += 1;
                        None
                    }
                    Deleted::Deactivated => {
                        deactivated += 1;
                        m.get(conn, *id)?
                    }
                };
                let changes = audit::diff(
                    &meta.fields,
                    Some(&before.values),
                    after.as_ref().map(|a| &a.values),
                    &|f, v| display_value(&config, &choices, f, v),
                );
                audit::write(
                    conn,
                    &who,
                    meta,
                    &audit::Record {
                        object_id: *id,
                        repr: &before.repr,
                        action: if outcome == Deleted::Removed {
                            LogAction::Delete
                        } else {
                            LogAction::Change
                        },
                        action_name: if outcome == Deleted::Removed {
                            ""
                        } else {
                            "Deactivated instead of deleted"
                        },
                        changes,
                    },
                )?;
            }
            Ok((removed, deactivated))
        });
        match done {
            Ok(counts) => Ok(Ok(counts)),
            Err(SaveError::Other(why)) => Ok(Err(why)),
            Err(SaveError::Invalid { fields, form }) => Ok(Err(form
                .into_iter()
                .chain(fields.into_iter().map(|(_, m)| m))
                .collect::<Vec<_>>()
                .join(" "))),
            Err(e) => Err(AppError::internal(e)),
        }
    })
    .await
}

fn report(rq: &RequestContext, meta: &crate::admin::ModelMeta, removed: usize, deactivated: usize) {
    let name = |n: usize| {
        if n == 1 {
            meta.verbose_name
        } else {
            meta.verbose_name_plural
        }
    };
    let mut parts = Vec::new();
    if removed > 0 {
        parts.push(format!("{removed} {} deleted", name(removed)));
    }
    if deactivated > 0 {
        parts.push(format!(
            "{deactivated} {} deactivated instead (kept for the orders that refer to them)",
            name(deactivated)
        ));
    }
    if parts.is_empty() {
        rq.flash(
            Level::Info,
            "Nothing was deleted: those rows no longer exist.",
        );
    } else {
        rq.flash(Level::Success, format!("{}.", parts.join("; ")));
    }
}

pub async fn submit(
    rq: RequestContext,
    staff: Staff,
    path: ObjectPath,
) -> Result<HttpResponse, AppError> {
    let (app, model, id) = path.into_inner();
    let model = deletable(&rq, &staff, &app, &model)?;
    let id = parse_id(&id)?;
    let meta = model.meta();
    match delete_all(&rq, &staff, &model, vec![id]).await? {
        Ok((removed, deactivated)) => {
            report(&rq, meta, removed, deactivated);
            Ok(redirect(&Urls::new(&rq, meta).list()?))
        }
        Err(why) => {
            rq.flash(Level::Error, format!("Nothing was deleted. {why}"));
            Ok(redirect(&Urls::new(&rq, meta).change(id)?))
        }
    }
}

/// The "delete selected" action of a change list: a confirmation page,
/// then (with `_confirm`) the delete.
pub async fn delete_selected(
    rq: &RequestContext,
    staff: &Staff,
    model: &Arc<dyn ModelAdmin>,
    ids: Vec<i64>,
    sub: &Submission,
) -> Result<HttpResponse, AppError> {
    let meta = model.meta();
    let back = format!(
        "{}{}",
        Urls::new(rq, meta).list()?,
        QueryString::from_request(rq).with(&[])
    );
    if !sub.has("_confirm") {
        let planned = plans(rq, staff, model, ids).await?;
        return confirm_page(rq, staff, model, &planned, &back, true);
    }
    match delete_all(rq, staff, model, ids).await? {
        Ok((removed, deactivated)) => report(rq, meta, removed, deactivated),
        Err(why) => rq.flash(Level::Error, format!("Nothing was deleted. {why}")),
    }
    Ok(redirect(&back))
}

//! Saving add and change forms: parse once, save in one transaction with
//! its audit entry, and refuse (keeping what was typed) when the object
//! changed since the form was opened.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::change::{add_model, load_object, render_form, FormPage, Mode, ModelPath, ObjectPath};
use super::formsets::{self, FormsetState};
use super::{
    display_value, fingerprint, load_choices, model_for, name_search_refs, parse_id, Choices,
    OwnedEnv, Urls,
};
use crate::admin::audit::{self, LogAction};
use crate::admin::{
    AdminEnv, Field, FieldKind, FormsetChanges, ModelAdmin, Perm, SaveError, Staff, Submission,
    Value, Values,
};
use crate::db::write_transaction;
use crate::http::{redirect, AppError, Level, RequestContext};

/// A form parsed: the object's values and what each formset asks.
struct Parsed {
    values: Values,
    formsets: Vec<(&'static str, FormsetChanges)>,
}

type Errors = BTreeMap<String, Vec<String>>;

/// Parses the submitted fields and formsets; search references are
/// resolved against the database. Returns them or the errors by input.
async fn parse_fields(
    rq: &RequestContext,
    model: &Arc<dyn ModelAdmin>,
    sub: &Submission,
    adding: bool,
) -> Result<(Result<Parsed, Errors>, Choices), AppError> {
    let m = model.clone();
    let typed = sub.clone();
    let money = crate::money::MoneyFormat::of(&rq.config);
    rq.db(move |conn| {
        let meta = m.meta();
        let choices = load_choices(conn, m.as_ref(), &meta.fields)?;
        let mut values = Values::new();
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in meta
            .fields
            .iter()
            .filter(|f| f.editable() && (adding || !f.add_only))
        {
            let raw = typed.all(f.name);
            let parsed = match f.kind {
                FieldKind::Ref { search: true } => resolve(conn, m.as_ref(), f, &raw),
                _ => f.parse(&raw, choices.get(f.name).map(Vec::as_slice), money),
            };
            match parsed {
                Ok(v) => {
                    values.set(f.name, v);
                }
                Err(e) => errors.entry(f.name.to_string()).or_default().push(e),
            }
        }
        let formsets = formsets::parse(meta, &typed, money, &mut errors);
        Ok((
            if errors.is_empty() {
                Ok(Parsed { values, formsets })
            } else {
                Err(errors)
            },
            choices,
        ))
    })
    .await
}

/// Runs the model's work on the values off the async workers, before the
/// transaction: the values, or the errors to show.
#[allow(clippy::type_complexity)]
async fn prepare(
    rq: &RequestContext,
    model: &Arc<dyn ModelAdmin>,
    parsed: Parsed,
    sub: &Submission,
    adding: bool,
) -> Result<Result<Parsed, (Errors, Vec<String>)>, AppError> {
    let m = model.clone();
    let files = sub.clone();
    let config = rq.config.clone();
    let uploads = !sub.files.is_empty();
    // One upload decoded at a time, server-wide (see `images::DECODING`).
    let _turn = if uploads {
        Some(
            crate::images::DECODING
                .acquire()
                .await
                .map_err(AppError::internal)?,
        )
    } else {
        None
    };
    let prepared = web::block(move || {
        let mut parsed = parsed;
        m.prepare(&config, &mut parsed.values, &files, adding)
            .map(|()| parsed)
    })
    .await?;
    match prepared {
        Ok(parsed) => Ok(Ok(parsed)),
        Err(SaveError::Invalid { fields, form }) => Ok(Err((errors_of(fields), form))),
        Err(e) => Err(AppError::internal(e)),
    }
}

/// A search reference: an id, or words that find exactly one object.
fn resolve(
    conn: &mut crate::db::DbConn,
    model: &dyn ModelAdmin,
    f: &Field,
    raw: &[String],
) -> Result<Value, String> {
    let typed = raw.first().map(|s| s.trim()).unwrap_or("");
    if typed.is_empty() {
        return if f.required {
            Err("This field is required.".into())
        } else {
            Ok(Value::Null)
        };
    }
    let found = model
        .lookup(conn, f.name, typed)
        .map_err(|e| format!("The lookup failed: {e}"))?;
    match found.as_slice() {
        [] => Err(format!(
            "Nothing matches {typed:?}: type an id or more of the name."
        )),
        [(id, _)] => Ok(Value::Ref(*id)),
        several => Err(format!(
            "Several match {typed:?}: type the id of one ({}).",
            several
                .iter()
                .take(5)
                .map(|(id, l)| format!("{id}: {l}"))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}

/// Applies the formsets inside the save's transaction; what changed, for
/// the history. Rows the form named must be the object's own.
fn save_formsets(
    env: &AdminEnv<'_>,
    conn: &mut crate::db::DbConn,
    model: &dyn ModelAdmin,
    parent: i64,
    parsed: &Parsed,
    current: &FormsetState,
) -> Result<Vec<audit::FieldChange>, SaveError> {
    let mut changes = Vec::new();
    for (key, asked) in &parsed.formsets {
        let rows = current
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, r)| r.as_slice())
            .unwrap_or(&[]);
        let known = |id: &i64| rows.iter().any(|r| r.id == *id);
        if !asked.kept.iter().all(|(id, _)| known(id)) || !asked.deleted.iter().all(known) {
            return Err(SaveError::form(
                "Some rows of the form no longer exist: reload the page and try again.",
            ));
        }
        changes.extend(model.save_formset(env, conn, key, parent, asked, &parsed.values)?);
    }
    Ok(changes)
}

fn errors_of(fields: Vec<(String, String)>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in fields {
        out.entry(k).or_default().push(v);
    }
    out
}

/// Where a saved form leads, by the button pressed.
fn after_save(
    rq: &RequestContext,
    model: &dyn ModelAdmin,
    sub: &Submission,
    id: i64,
) -> Result<HttpResponse, AppError> {
    let urls = Urls::new(rq, model.meta());
    let to = if sub.has("_continue") {
        urls.change(id)?
    } else if sub.has("_addanother") {
        urls.add()?
    } else {
        urls.list()?
    };
    Ok(redirect(&to))
}

pub async fn add_submit(
    rq: RequestContext,
    staff: Staff,
    path: ModelPath,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (app, model) = path.into_inner();
    let model = add_model(&rq, &staff, &app, &model)?;
    let sub = Submission::read(&rq.req, payload, &Default::default()).await?;
    let (parsed, choices) = parse_fields(&rq, &model, &sub, true).await?;
    let reshow = |errors: &BTreeMap<String, Vec<String>>, form_errors: &[String]| {
        render_form(
            &rq,
            &staff,
            &model,
            FormPage {
                mode: Mode::Add,
                typed: Some(&sub),
                errors,
                form_errors,
                version: None,
                choices: &choices,
                initial: &Values::new(),
                inlines: Vec::new(),
                formsets: &FormsetState::new(),
                related_links: Vec::new(),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(errors) => return reshow(&errors, &[]),
    };
    let parsed = match prepare(&rq, &model, parsed, &sub, true).await? {
        Ok(p) => p,
        Err((errors, form)) => return reshow(&errors, &form),
    };
    let m = model.clone();
    let owned = OwnedEnv::new(&rq, &staff)?;
    let files = sub.clone();
    let saved_choices = choices.clone();
    let outcome = rq
        .db(move |conn| {
            let env = owned.env();
            let config = env.config;
            Ok(write_transaction(
                conn,
                |conn| -> Result<(i64, String), SaveError> {
                    let meta = m.meta();
                    let id = m.create(&env, conn, &parsed.values, &files)?;
                    let rows =
                        save_formsets(&env, conn, m.as_ref(), id, &parsed, &FormsetState::new())?;
                    let obj = m.get(conn, id)?.ok_or_else(|| {
                        SaveError::Other("the new object cannot be read back".into())
                    })?;
                    let mut saved_choices = saved_choices.clone();
                    name_search_refs(conn, m.as_ref(), &mut saved_choices, &[&obj.values])?;
                    let mut changes =
                        audit::diff(&meta.fields, None, Some(&obj.values), &|f, v| {
                            display_value(config, &saved_choices, f, v)
                        });
                    changes.extend(rows);
                    audit::write(
                        conn,
                        env.staff,
                        meta,
                        &audit::Record {
                            object_id: id,
                            repr: &obj.repr,
                            action: LogAction::Add,
                            action_name: "",
                            changes,
                        },
                    )?;
                    Ok((id, obj.repr))
                },
            ))
        })
        .await?;
    match outcome {
        Ok((id, repr)) => {
            let meta = model.meta();
            let more = if sub.has("_continue") {
                " You may edit it again below."
            } else if sub.has("_addanother") {
                " You may add another below."
            } else {
                ""
            };
            rq.flash(
                Level::Success,
                format!("The {} “{repr}” was added.{more}", meta.verbose_name),
            );
            after_save(&rq, model.as_ref(), &sub, id)
        }
        Err(SaveError::Invalid { fields, form }) => reshow(&errors_of(fields), &form),
        Err(SaveError::Other(message)) => reshow(&BTreeMap::new(), &[message]),
        Err(e) => Err(AppError::internal(e)),
    }
}

/// Why a change was not saved.
enum ChangeRefused {
    Invalid(BTreeMap<String, Vec<String>>, Vec<String>),
    /// Someone saved since the form was opened: the message, and the
    /// current version (saving again overwrites it knowingly).
    Conflict(String, String),
}

pub async fn change_submit(
    rq: RequestContext,
    staff: Staff,
    path: ObjectPath,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (app, model, id) = path.into_inner();
    let model = model_for(&rq, &staff, &app, &model)?;
    let id = parse_id(&id)?;
    let meta = model.meta();
    if !meta.editable {
        return Err(AppError::Forbidden(format!(
            "{} are read-only here.",
            meta.verbose_name_plural
        )));
    }
    staff.require(meta, Perm::Change)?;
    let sub = Submission::read(&rq.req, payload, &Default::default()).await?;
    let (parsed, choices) = parse_fields(&rq, &model, &sub, false).await?;
    let submitted_version = sub.first("_version").unwrap_or("").to_string();
    let outcome = match parsed {
        Err(errors) => Err(ChangeRefused::Invalid(errors, Vec::new())),
        Ok(parsed) => match prepare(&rq, &model, parsed, &sub, false).await? {
            Err((errors, form)) => Err(ChangeRefused::Invalid(errors, form)),
            Ok(parsed) => {
                let m = model.clone();
                let owned = OwnedEnv::new(&rq, &staff)?;
                let files = sub.clone();
                let saved_choices = choices.clone();
                let submitted_version = submitted_version.clone();
                rq.db(move |conn| {
                let env = owned.env();
            let config = env.config;
                let meta = m.meta();
                let done = write_transaction(conn, |conn| -> Result<Result<String, ChangeRefused>, SaveError> {
                    m.lock(conn, &[id])?;
                    let Some(before) = m.get(conn, id)? else {
                        return Err(SaveError::Db(diesel::result::Error::NotFound));
                    };
                    let rows_before = formsets::load(conn, m.as_ref(), id)?;
                    let current = fingerprint(meta, &before, &rows_before);
                    let values = &parsed.values;
                    if current != submitted_version {
                        let differs: Vec<String> = meta
                            .fields
                            .iter()
                            .filter(|f| f.editable() && !f.add_only)
                            .filter(|f| before.values.get(f.name) != values.get(f.name))
                            .map(|f| {
                                format!(
                                    "{}: {}",
                                    f.label,
                                    display_value(config, &saved_choices, f, before.values.get(f.name))
                                )
                            })
                            .collect();
                        let message = format!(
                            "Someone else saved this {} after you opened it, so your changes were not saved. \
                             Its current values{} Check the form and save again to keep yours.",
                            meta.verbose_name,
                            if differs.is_empty() {
                                " match what you typed.".to_string()
                            } else {
                                format!(" that differ from yours are: {}.", differs.join("; "))
                            }
                        );
                        return Ok(Err(ChangeRefused::Conflict(message, current)));
                    }
                    // Any error rolls the whole save back: nothing half-written.
                    m.update(&env, conn, id, values, &files)?;
                    let rows = save_formsets(&env, conn, m.as_ref(), id, &parsed, &rows_before)?;
                    let after = m.get(conn, id)?.ok_or(SaveError::Db(diesel::result::Error::NotFound))?;
                    let mut saved_choices = saved_choices.clone();
                    name_search_refs(conn, m.as_ref(), &mut saved_choices, &[&before.values, &after.values])?;
                    let mut changes = audit::diff(&meta.fields, Some(&before.values), Some(&after.values), &|f, v| {
                        display_value(config, &saved_choices, f, v)
                    });
                    changes.extend(rows);
                    if !changes.is_empty() {
                        audit::write(
                            conn,
                            env.staff,
                            meta,
                            &audit::Record {
                                object_id: id,
                                repr: &after.repr,
                                action: LogAction::Change,
                                action_name: "",
                                changes,
                            },
                        )?;
                    }
                    Ok(Ok(after.repr))
                });
                Ok(match done {
                    Ok(inner) => inner,
                    Err(SaveError::Invalid { fields, form }) => {
                        Err(ChangeRefused::Invalid(errors_of(fields), form))
                    }
                    Err(SaveError::Db(diesel::result::Error::NotFound)) => return Err(AppError::NotFound),
                    Err(SaveError::Other(message)) => {
                        Err(ChangeRefused::Invalid(BTreeMap::new(), vec![message]))
                    }
                    Err(e) => return Err(AppError::internal(e)),
                })
            })
            .await?
            }
        },
    };
    match outcome {
        Ok(repr) => {
            let more = if sub.has("_continue") {
                " You may edit it again below."
            } else if sub.has("_addanother") {
                " You may add another below."
            } else {
                ""
            };
            rq.flash(
                Level::Success,
                format!("The {} “{repr}” was changed.{more}", meta.verbose_name),
            );
            after_save(&rq, model.as_ref(), &sub, id)
        }
        Err(refused) => {
            let loaded = load_object(&rq, &staff, &model, id).await?;
            let (errors, form_errors, version, status) = match refused {
                ChangeRefused::Invalid(errors, form) => (
                    errors,
                    form,
                    submitted_version,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                ChangeRefused::Conflict(message, current) => (
                    BTreeMap::new(),
                    vec![message],
                    current,
                    StatusCode::CONFLICT,
                ),
            };
            render_form(
                &rq,
                &staff,
                &model,
                FormPage {
                    mode: Mode::Change(&loaded.obj),
                    typed: Some(&sub),
                    errors: &errors,
                    form_errors: &form_errors,
                    version: Some(version),
                    choices: &choices,
                    initial: &Values::new(),
                    inlines: loaded.inlines,
                    formsets: &loaded.formsets,
                    related_links: loaded.links,
                },
                status,
            )
        }
    }
}

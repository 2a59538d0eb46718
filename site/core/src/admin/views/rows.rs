//! Saving a change list's editable columns: every row parses and none
//! changed since the list was shown, or nothing is saved.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use super::changelist::{back, listing, row_version, RowInput};
use super::{display_value, Choices, OwnedEnv};
use crate::admin::audit::{self, LogAction};
use crate::admin::{ModelAdmin, Perm, SaveError, Staff, Submission, Values};
use crate::db::write_transaction;
use crate::http::{redirect, AppError, Level, RequestContext};

/// A row the model refused: its field errors and its own errors.
type Refusal = (i64, Vec<(String, String)>, Vec<String>);

/// Saves the list-editable columns of the rows on the page.
pub(super) async fn save(
    rq: &RequestContext,
    staff: &Staff,
    model: &Arc<dyn ModelAdmin>,
    sub: &Submission,
) -> Result<HttpResponse, AppError> {
    let meta = model.meta();
    if meta.list_editable.is_empty() || !meta.editable {
        return Err(AppError::BadRequest(
            "This list has no editable columns.".into(),
        ));
    }
    staff.require(meta, Perm::Change)?;
    let ids = sub.ids("_row")?;
    let fields: Vec<crate::admin::Field> = meta
        .fields
        .iter()
        .filter(|f| meta.list_editable.contains(&f.name))
        .cloned()
        .collect();
    let mut inputs: BTreeMap<i64, RowInput> = BTreeMap::new();
    let mut parsed: Vec<(i64, String, Values)> = Vec::new();
    let mut invalid = false;
    for id in &ids {
        let mut input = RowInput {
            version: sub
                .first(&format!("form-{id}-_version"))
                .map(str::to_string),
            ..RowInput::default()
        };
        let mut values = Values::new();
        for f in &fields {
            let raw = sub.all(&format!("form-{id}-{}", f.name));
            input
                .raw
                .insert(f.name.to_string(), raw.first().cloned().unwrap_or_default());
            match f.parse(&raw, None, crate::money::MoneyFormat::of(&rq.config)) {
                Ok(v) => {
                    values.set(f.name, v);
                }
                Err(e) => {
                    invalid = true;
                    input.errors.entry(f.name.to_string()).or_default().push(e);
                }
            }
        }
        parsed.push((*id, input.version.clone().unwrap_or_default(), values));
        inputs.insert(*id, input);
    }
    let listing = listing(rq, staff, model)?;
    if invalid {
        rq.flash(
            Level::Error,
            "Some values are not valid: correct them below. Nothing was saved.",
        );
        return listing
            .render(inputs, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    }
    let m = model.clone();
    let owned = OwnedEnv::new(rq, staff)?;
    let outcome = rq
        .db(move |conn| {
            let env = owned.env();
            let config = env.config;
            let meta = m.meta();
            Ok(write_transaction(
                conn,
                |conn| -> Result<usize, RowsFailed> {
                    let mut conflicts = Vec::new();
                    let mut staged = Vec::new();
                    // Every row at once, in the order other writers lock.
                    let ids: Vec<i64> = parsed.iter().map(|(id, _, _)| *id).collect();
                    m.lock(conn, &ids)?;
                    for (id, version, values) in &parsed {
                        let Some(before) = m.get(conn, *id)? else {
                            conflicts.push((*id, "It was deleted meanwhile.".to_string(), None));
                            continue;
                        };
                        let mut current = Values::new();
                        for f in &fields {
                            if let Some(v) = before.values.get(f.name) {
                                current.set(f.name, v.clone());
                            }
                        }
                        let now = row_version(meta, &current);
                        if &now != version {
                            let shown: Vec<String> = fields
                                .iter()
                                .map(|f| {
                                    format!(
                                        "{} is now {}",
                                        f.label.to_lowercase(),
                                        display_value(
                                            config,
                                            &Choices::new(),
                                            f,
                                            current.get(f.name)
                                        )
                                    )
                                })
                                .collect();
                            conflicts.push((
                                *id,
                                format!(
                                    "Someone else changed it while you were editing ({}). \
                                 Check your values and save again.",
                                    shown.join(", ")
                                ),
                                Some(now),
                            ));
                            continue;
                        }
                        if &current != values {
                            staged.push((*id, before, values.clone()));
                        }
                    }
                    if !conflicts.is_empty() {
                        return Err(RowsFailed::Conflicts(conflicts));
                    }
                    let mut refused = Vec::new();
                    let mut changed = 0;
                    for (id, before, values) in staged {
                        match m.update_row(&env, conn, id, &values) {
                            Ok(()) => {}
                            Err(SaveError::Invalid { fields, form }) => {
                                refused.push((id, fields, form));
                                continue;
                            }
                            Err(e) => return Err(e.into()),
                        }
                        let after = m.get(conn, id)?;
                        let changes = audit::diff(
                            &fields,
                            Some(&before.values),
                            after.as_ref().map(|a| &a.values),
                            &|f, v| display_value(config, &Choices::new(), f, v),
                        );
                        if !changes.is_empty() {
                            changed += 1;
                            audit::write(
                                conn,
                                env.staff,
                                meta,
                                &audit::Record {
                                    object_id: id,
                                    repr: &before.repr,
                                    action: LogAction::Change,
                                    action_name: "",
                                    changes,
                                },
                            )?;
                        }
                    }
                    if !refused.is_empty() {
                        // Rolls back the rows already saved: all or nothing.
                        return Err(RowsFailed::Refused(refused));
                    }
                    Ok(changed)
                },
            ))
        })
        .await?;
    match outcome {
        Ok(n) => {
            if n == 0 {
                rq.flash(Level::Info, "No values were changed.");
            } else if n == 1 {
                rq.flash(
                    Level::Success,
                    format!("1 {} was changed.", meta.verbose_name),
                );
            } else {
                rq.flash(
                    Level::Success,
                    format!("{n} {} were changed.", meta.verbose_name_plural),
                );
            }
            Ok(redirect(&back(rq, meta)?))
        }
        Err(RowsFailed::Conflicts(conflicts)) => {
            for (id, message, version) in conflicts {
                let input = inputs.entry(id).or_default();
                input.row_errors.push(message);
                if version.is_some() {
                    input.version = version;
                }
            }
            rq.flash(
                Level::Error,
                "Nothing was saved: some rows changed while you were editing. They are marked below.",
            );
            listing.render(inputs, StatusCode::CONFLICT).await
        }
        Err(RowsFailed::Refused(refused)) => {
            for (id, fields, form) in refused {
                let input = inputs.entry(id).or_default();
                for (name, message) in fields {
                    input.errors.entry(name).or_default().push(message);
                }
                input.row_errors.extend(form);
            }
            rq.flash(
                Level::Error,
                "Some values are not valid: correct them below. Nothing was saved.",
            );
            listing
                .render(inputs, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(RowsFailed::Save(e)) => Err(AppError::internal(e)),
    }
}

/// Why the rows of a list were not saved (nothing was).
#[derive(Debug)]
enum RowsFailed {
    /// (row, why, its current version).
    Conflicts(Vec<(i64, String, Option<String>)>),
    /// Rows the model refused: (row, field errors, row errors).
    Refused(Vec<Refusal>),
    Save(SaveError),
}

impl From<diesel::result::Error> for RowsFailed {
    fn from(e: diesel::result::Error) -> Self {
        RowsFailed::Save(SaveError::Db(e))
    }
}

impl From<SaveError> for RowsFailed {
    fn from(e: SaveError) -> Self {
        RowsFailed::Save(e)
    }
}

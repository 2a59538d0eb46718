//! Formsets: rows of another table edited inside an object's form (a
//! product's images). Saved rows are `key-ID-field`, blank rows
//! `key-newN-field` (and `key-newN-file`), the picked row `key-pick`, a
//! deleted row's box `key-ID-DELETE`; `key-rows` lists the saved rows the
//! form showed.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::admin::{
    Field, FieldKind, FormsetChanges, FormsetRow, ModelAdmin, ModelMeta, Pick, Submission, Values,
};
use crate::db::DbConn;
use crate::money::MoneyFormat;

/// Every formset's saved rows of one object.
pub type FormsetState = Vec<(&'static str, Vec<FormsetRow>)>;

pub fn load(
    conn: &mut DbConn,
    model: &dyn ModelAdmin,
    parent: i64,
) -> diesel::QueryResult<FormsetState> {
    model
        .meta()
        .formsets
        .iter()
        .map(|spec| Ok((spec.key, model.formset_rows(conn, spec.key, parent)?)))
        .collect()
}

fn on(sub: &Submission, name: &str) -> bool {
    sub.first(name)
        .is_some_and(|v| matches!(v.trim(), "on" | "1" | "true" | "yes"))
}

/// Parses every formset of the form; errors are keyed by input name.
pub fn parse(
    meta: &ModelMeta,
    sub: &Submission,
    money: MoneyFormat,
    errors: &mut BTreeMap<String, Vec<String>>,
) -> Vec<(&'static str, FormsetChanges)> {
    let mut out = Vec::new();
    for spec in &meta.formsets {
        let key = spec.key;
        let mut changes = FormsetChanges::default();
        let parse_row = |prefix: &str, errors: &mut BTreeMap<String, Vec<String>>| {
            let mut values = Values::new();
            for f in &spec.fields {
                let name = format!("{prefix}-{}", f.name);
                match f.parse(&sub.all(&name), None, money) {
                    Ok(v) => {
                        values.set(f.name, v);
                    }
                    Err(e) => errors.entry(name).or_default().push(e),
                }
            }
            values
        };
        for raw in sub.all(&format!("{key}-rows")) {
            let Ok(id) = raw.trim().parse::<i64>() else {
                errors
                    .entry("__all__".into())
                    .or_default()
                    .push(format!("{raw:?} is not a row of {}.", spec.title));
                continue;
            };
            let prefix = format!("{key}-{id}");
            if on(sub, &format!("{prefix}-DELETE")) {
                changes.deleted.push(id);
            } else {
                let values = parse_row(&prefix, errors);
                changes.kept.push((id, values));
            }
        }
        for n in 0..spec.extra {
            let prefix = format!("{key}-new{n}");
            let used = match spec.upload {
                Some(_) => sub.file(&format!("{prefix}-file")).is_some(),
                None => spec.fields.iter().any(|f| {
                    sub.first(&format!("{prefix}-{}", f.name))
                        .is_some_and(|v| !v.trim().is_empty())
                }),
            };
            if used {
                let values = parse_row(&prefix, errors);
                changes.added.push((n, values));
            }
        }
        changes.pick = match sub.first(&format!("{key}-pick")).map(str::trim) {
            Some(p) if p.starts_with("new") => p[3..]
                .parse()
                .ok()
                .filter(|n| changes.added.iter().any(|(i, _)| i == n))
                .map(Pick::New),
            Some(p) => p
                .parse()
                .ok()
                .filter(|id| changes.kept.iter().any(|(k, _)| k == id))
                .map(Pick::Saved),
            None => None,
        };
        out.push((key, changes));
    }
    out
}

#[derive(Debug, Serialize)]
pub struct InputView {
    name: String,
    id: String,
    label: String,
    kind: &'static str,
    value: String,
    checked: bool,
    errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct RowView {
    id: String,
    /// A blank row for adding.
    new: bool,
    label: String,
    preview: Option<String>,
    inputs: Vec<InputView>,
    picked: bool,
    deleted: bool,
    /// Errors of a new row's file.
    file_errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct FormsetView {
    key: &'static str,
    title: &'static str,
    description: &'static str,
    columns: Vec<&'static str>,
    pick: Option<(&'static str, &'static str)>,
    upload: Option<(&'static str, &'static str)>,
    rows: Vec<RowView>,
    new_rows: Vec<RowView>,
}

fn input(
    f: &Field,
    name: String,
    what: &str,
    value: String,
    checked: bool,
    errors: &BTreeMap<String, Vec<String>>,
) -> InputView {
    InputView {
        id: format!("id_{name}"),
        errors: errors.get(&name).cloned().unwrap_or_default(),
        name,
        label: format!("{} of {what}", f.label),
        kind: match f.kind {
            FieldKind::Bool => "checkbox",
            FieldKind::Int { .. } => "number",
            _ => "text",
        },
        value,
        checked,
    }
}

/// The formsets as the form shows them: saved rows (what was typed, when
/// the form comes back) and blank rows.
pub fn views(
    meta: &ModelMeta,
    state: &FormsetState,
    typed: Option<&Submission>,
    errors: &BTreeMap<String, Vec<String>>,
    money: MoneyFormat,
    can_edit: bool,
) -> Vec<FormsetView> {
    meta.formsets
        .iter()
        .map(|spec| {
            let saved: &[FormsetRow] = state
                .iter()
                .find(|(k, _)| *k == spec.key)
                .map(|(_, rows)| rows.as_slice())
                .unwrap_or(&[]);
            let picked_typed = typed.and_then(|s| s.first(&format!("{}-pick", spec.key)));
            let rows = saved
                .iter()
                .map(|row| {
                    let prefix = format!("{}-{}", spec.key, row.id);
                    RowView {
                        id: row.id.to_string(),
                        new: false,
                        label: row.label.clone(),
                        preview: row.preview.clone(),
                        picked: match picked_typed {
                            Some(p) => p == row.id.to_string(),
                            None => row.picked,
                        },
                        deleted: typed.is_some_and(|s| on(s, &format!("{prefix}-DELETE"))),
                        file_errors: Vec::new(),
                        inputs: spec
                            .fields
                            .iter()
                            .map(|f| {
                                let name = format!("{prefix}-{}", f.name);
                                let value = match typed {
                                    Some(s) => s.first(&name).unwrap_or("").to_string(),
                                    None => f.to_input(row.values.get(f.name), money),
                                };
                                let checked = match typed {
                                    Some(s) => on(s, &name),
                                    None => value == "on",
                                };
                                input(f, name, &row.label, value, checked, errors)
                            })
                            .collect(),
                    }
                })
                .collect();
            let new_rows = if can_edit {
                (0..spec.extra)
                    .map(|n| {
                        let prefix = format!("{}-new{n}", spec.key);
                        let what = format!("new row {}", n + 1);
                        RowView {
                            id: format!("new{n}"),
                            new: true,
                            label: what.clone(),
                            preview: None,
                            picked: picked_typed == Some(&format!("new{n}")),
                            deleted: false,
                            file_errors: errors
                                .get(&format!("{prefix}-file"))
                                .cloned()
                                .unwrap_or_default(),
                            inputs: spec
                                .fields
                                .iter()
                                .map(|f| {
                                    let name = format!("{prefix}-{}", f.name);
                                    let value = typed
                                        .and_then(|s| s.first(&name))
                                        .unwrap_or("")
                                        .to_string();
                                    input(f, name, &what, value, false, errors)
                                })
                                .collect(),
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            FormsetView {
                key: spec.key,
                title: spec.title,
                description: spec.description,
                columns: spec.fields.iter().map(|f| f.label).collect(),
                pick: spec.pick_one,
                upload: spec.upload,
                rows,
                new_rows,
            }
        })
        .collect()
}

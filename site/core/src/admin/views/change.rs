//! Add and change forms: built from the model's fields and fieldsets,
//! parsed once into values, saved in one transaction with the audit entry,
//! and refused with a clear message when someone else saved the object
//! since the form was opened.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::formsets::{self, FormsetState};
use super::{
    cell_view, display_value, fingerprint, link_url, load_choices, model_for, model_info,
    name_search_refs, parse_id, render, site, CellView, Choices, Urls,
};
use crate::admin::{Field, FieldKind, ModelAdmin, Object, Perm, Staff, Submission, Value, Values};
use crate::http::{redirect, AppError, RequestContext};
use crate::tera::Context;

pub(super) type ModelPath = web::Path<(String, String)>;
pub(super) type ObjectPath = web::Path<(String, String, String)>;

/// One field as the form shows it.
#[derive(Debug, Serialize)]
struct FieldView<'a> {
    field: &'a Field,
    widget: &'static str,
    value: String,
    checked: bool,
    choices: Vec<ChoiceView>,
    /// For read-only fields and the current object of a search reference.
    display: String,
    errors: Vec<String>,
    readonly: bool,
    /// Ids of the help and error texts, for `aria-describedby`.
    described_by: String,
    maxlength: Option<usize>,
    /// The field a slug is prefilled from.
    slug_from: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct ChoiceView {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug, Serialize)]
struct FieldsetView<'a> {
    title: Option<&'static str>,
    description: &'static str,
    fields: Vec<FieldView<'a>>,
}

#[derive(Debug, Serialize)]
struct InlineView {
    title: String,
    columns: Vec<crate::admin::Column>,
    rows: Vec<(Option<String>, Vec<CellView>)>,
    more: Option<(String, String)>,
}

/// What the form is showing: a new object, or a saved one.
pub(super) enum Mode<'a> {
    Add,
    Change(&'a Object),
}

/// Everything a form page needs besides the model.
pub(super) struct FormPage<'a> {
    pub mode: Mode<'a>,
    /// What was typed (a re-shown form) by field name; `None`: the saved
    /// or initial values.
    pub typed: Option<&'a Submission>,
    pub errors: &'a BTreeMap<String, Vec<String>>,
    pub form_errors: &'a [String],
    pub version: Option<String>,
    pub choices: &'a Choices,
    pub initial: &'a Values,
    pub inlines: Vec<crate::admin::InlineTable>,
    /// Saved rows of the formsets (none when adding).
    pub formsets: &'a FormsetState,
    /// Links other apps add to the object's page (capture its payment).
    pub related_links: Vec<(String, crate::admin::Link)>,
}

fn widget(f: &Field) -> &'static str {
    match f.kind {
        FieldKind::Text { .. } | FieldKind::Slug { .. } => "text",
        FieldKind::LongText { .. } => "textarea",
        FieldKind::Email => "email",
        FieldKind::Int { .. } => "number",
        FieldKind::Money => "money",
        FieldKind::Bool => "checkbox",
        FieldKind::Choice { .. } => "select",
        FieldKind::Ref { search: false } => "select",
        FieldKind::Ref { search: true } => "lookup",
        FieldKind::Refs => "checkboxes",
        FieldKind::DateTime => "text",
        FieldKind::Password => "password",
    }
}

pub(super) fn render_form(
    rq: &RequestContext,
    staff: &Staff,
    model: &Arc<dyn ModelAdmin>,
    page: FormPage<'_>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let meta = model.meta();
    let site = site(rq)?;
    let urls = Urls::new(rq, meta);
    let can_edit = match page.mode {
        Mode::Add => meta.addable && staff.can(meta, Perm::Add),
        Mode::Change(_) => meta.editable && staff.can(meta, Perm::Change),
    };
    let saved: Option<&Values> = match page.mode {
        Mode::Change(obj) => Some(&obj.values),
        Mode::Add => Some(page.initial),
    };
    let field_view = with_lifetime(|f: &Field| {
        let readonly = f.readonly || !can_edit;
        let current = saved.and_then(|v| v.get(f.name));
        let typed = page.typed.filter(|_| !readonly);
        let value = match typed {
            _ if matches!(f.kind, FieldKind::Password) => String::new(),
            Some(sub) => sub.first(f.name).unwrap_or("").to_string(),
            None => f.to_input(current, crate::money::MoneyFormat::of(&rq.config)),
        };
        let checked = match typed {
            Some(sub) => sub.first(f.name).is_some_and(|v| !v.is_empty()),
            None => matches!(current, Some(Value::Bool(true))),
        };
        let selected: Vec<String> = match (typed, current) {
            (Some(sub), _) => sub.all(f.name),
            (None, Some(Value::Refs(ids))) => ids.iter().map(i64::to_string).collect(),
            (None, Some(v)) => vec![f.to_input(Some(v), crate::money::MoneyFormat::of(&rq.config))],
            (None, None) => Vec::new(),
        };
        let choices = match &f.kind {
            FieldKind::Choice { choices } => choices
                .iter()
                .map(|(v, l)| ChoiceView {
                    selected: selected.iter().any(|s| s == v),
                    value: v.to_string(),
                    label: l.to_string(),
                })
                .collect(),
            FieldKind::Ref { search: false } | FieldKind::Refs => page
                .choices
                .get(f.name)
                .into_iter()
                .flatten()
                .map(|(id, l)| ChoiceView {
                    selected: selected.iter().any(|s| *s == id.to_string()),
                    value: id.to_string(),
                    label: l.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let errors = page.errors.get(f.name).cloned().unwrap_or_default();
        let described_by = [
            (!f.help.is_empty()).then(|| format!("help_{}", f.name)),
            matches!(f.kind, FieldKind::Ref { search: true }).then(|| format!("lookup_{}", f.name)),
            (!errors.is_empty()).then(|| format!("err_{}", f.name)),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        FieldView {
            field: f,
            widget: widget(f),
            value,
            checked,
            choices,
            display: display_value(&rq.config, page.choices, f, current),
            errors,
            readonly,
            described_by,
            maxlength: match f.kind {
                FieldKind::Text { max } | FieldKind::LongText { max, .. } => Some(max),
                FieldKind::Slug { .. } => Some(100),
                _ => None,
            },
            slug_from: match f.kind {
                FieldKind::Slug { from } => Some(from),
                _ => None,
            },
        }
    });
    let fieldsets: Vec<FieldsetView> = meta
        .fieldsets_or_default()
        .iter()
        .map(|fs| FieldsetView {
            title: fs.title,
            description: fs.description,
            fields: fs
                .fields
                .iter()
                .filter_map(|name| meta.field(name))
                .filter(|f| match page.mode {
                    Mode::Add => !f.readonly,
                    Mode::Change(_) => !f.add_only,
                })
                .map(field_view)
                .collect(),
        })
        .filter(|fs| !fs.fields.is_empty())
        .collect();
    let mut inlines: Vec<InlineView> = Vec::new();
    for t in &page.inlines {
        let mut rows = Vec::new();
        for (link, cells) in &t.rows {
            rows.push((
                link.as_ref().map(|l| link_url(rq, l)).transpose()?,
                cells.iter().map(|c| cell_view(rq, c)).collect(),
            ));
        }
        inlines.push(InlineView {
            title: t.title.clone(),
            columns: t.columns.clone(),
            rows,
            more: t
                .more
                .as_ref()
                .map(|(text, l)| Ok::<_, AppError>((text.clone(), link_url(rq, l)?)))
                .transpose()?,
        });
    }
    let mut ctx = Context::new();
    ctx.insert("model", &model_info(rq, staff, &site, meta)?);
    ctx.insert("fieldsets", &fieldsets);
    ctx.insert("inlines", &inlines);
    ctx.insert("can_edit", &can_edit);
    ctx.insert("form_errors", page.form_errors);
    ctx.insert(
        "has_errors",
        &(!page.errors.is_empty() || !page.form_errors.is_empty()),
    );
    ctx.insert("version", &page.version);
    match page.mode {
        Mode::Add => {
            ctx.insert("title", &format!("Add {}", meta.verbose_name));
            ctx.insert("action_url", &urls.add()?);
            ctx.insert("adding", &true);
        }
        Mode::Change(obj) => {
            ctx.insert(
                "title",
                &format!(
                    "{} {}",
                    if can_edit { "Change" } else { "View" },
                    meta.verbose_name
                ),
            );
            ctx.insert("object_repr", &obj.repr);
            ctx.insert("object_id", &obj.id);
            ctx.insert("action_url", &urls.change(obj.id)?);
            ctx.insert("history_url", &urls.object("admin:history", obj.id)?);
            ctx.insert(
                "delete_url",
                &(meta.deletable && staff.can(meta, Perm::Delete))
                    .then(|| urls.object("admin:delete", obj.id))
                    .transpose()?,
            );
            ctx.insert("adding", &false);
            let actions: Vec<(&str, &str)> = model
                .object_actions(obj)
                .into_iter()
                .filter_map(|name| meta.action(name))
                .filter(|a| staff.can(meta, a.perm))
                .map(|a| (a.name, a.label))
                .collect();
            ctx.insert("object_actions", &actions);
            let links = model
                .object_links(obj)
                .iter()
                .chain(&page.related_links)
                .map(|(text, l)| Ok((text.clone(), link_url(rq, l)?)))
                .collect::<Result<Vec<_>, AppError>>()?;
            ctx.insert("object_links", &links);
            ctx.insert("list_url", &urls.list()?);
        }
    }
    let formset_views = formsets::views(
        meta,
        page.formsets,
        page.typed,
        page.errors,
        crate::money::MoneyFormat::of(&rq.config),
        can_edit,
    );
    ctx.insert(
        "multipart",
        &meta.formsets.iter().any(|f| f.upload.is_some()),
    );
    ctx.insert("formsets", &formset_views);
    ctx.insert("currency_code", rq.config.currency.code());
    render(rq, "admin/change_form.html", ctx, status)
}

/// Ties a closure's argument and result lifetimes together (closures
/// cannot spell that themselves).
fn with_lifetime<'a, F: Fn(&'a Field) -> FieldView<'a>>(f: F) -> F {
    f
}

/// Reads `?field=value` from the URL as initial values of a new object.
fn initial_from_query(rq: &RequestContext, model: &dyn ModelAdmin) -> Values {
    let mut initial = model.initial();
    let meta = model.meta();
    for (k, v) in url::form_urlencoded::parse(rq.req.query_string().as_bytes()) {
        if let Some(f) = meta.field(&k).filter(|f| f.editable()) {
            if let Ok(value) = f.parse(
                &[v.into_owned()],
                None,
                crate::money::MoneyFormat::of(&rq.config),
            ) {
                initial.set(f.name, value);
            }
        }
    }
    initial
}

pub async fn add_form(
    rq: RequestContext,
    staff: Staff,
    path: ModelPath,
) -> Result<HttpResponse, AppError> {
    let (app, model) = path.into_inner();
    let model = add_model(&rq, &staff, &app, &model)?;
    let m = model.clone();
    let choices = rq
        .db(move |conn| Ok(load_choices(conn, m.as_ref(), &m.meta().fields)?))
        .await?;
    let initial = initial_from_query(&rq, model.as_ref());
    render_form(
        &rq,
        &staff,
        &model,
        FormPage {
            mode: Mode::Add,
            typed: None,
            errors: &BTreeMap::new(),
            form_errors: &[],
            version: None,
            choices: &choices,
            initial: &initial,
            inlines: Vec::new(),
            formsets: &FormsetState::new(),
            related_links: Vec::new(),
        },
        StatusCode::OK,
    )
}

pub(super) fn add_model(
    rq: &RequestContext,
    staff: &Staff,
    app: &str,
    model: &str,
) -> Result<Arc<dyn ModelAdmin>, AppError> {
    let s = site(rq)?;
    let m = s.model(app, model).cloned().ok_or(AppError::NotFound)?;
    if !m.meta().addable {
        return Err(AppError::NotFound);
    }
    staff.require(m.meta(), Perm::Add)?;
    Ok(m)
}

/// A saved object with what its page shows besides its fields.
pub(super) struct Loaded {
    pub obj: Object,
    pub choices: Choices,
    pub inlines: Vec<crate::admin::InlineTable>,
    pub formsets: FormsetState,
    /// Links other apps add to its page.
    pub links: Vec<(String, crate::admin::Link)>,
}

/// Loads the object, its choices, its inline tables and its formsets.
pub(super) async fn load_object(
    rq: &RequestContext,
    staff: &Staff,
    model: &Arc<dyn ModelAdmin>,
    id: i64,
) -> Result<Loaded, AppError> {
    let m = model.clone();
    let site = site(rq)?;
    let who = staff.clone();
    rq.db(move |conn| {
        let obj = m.get(conn, id)?.ok_or(AppError::NotFound)?;
        let mut choices = load_choices(conn, m.as_ref(), &m.meta().fields)?;
        name_search_refs(conn, m.as_ref(), &mut choices, &[&obj.values])?;
        let inlines = site.inlines(&who, conn, m.as_ref(), &obj)?;
        let formsets = formsets::load(conn, m.as_ref(), id)?;
        let links = site.related_links(&who, conn, m.meta(), id)?;
        Ok(Loaded {
            obj,
            choices,
            inlines,
            formsets,
            links,
        })
    })
    .await
}

pub async fn change_form(
    rq: RequestContext,
    staff: Staff,
    path: ObjectPath,
) -> Result<HttpResponse, AppError> {
    let (app, model, id) = path.into_inner();
    let model = model_for(&rq, &staff, &app, &model)?;
    let id = parse_id(&id)?;
    let loaded = load_object(&rq, &staff, &model, id).await?;
    let version = fingerprint(model.meta(), &loaded.obj, &loaded.formsets);
    render_form(
        &rq,
        &staff,
        &model,
        FormPage {
            mode: Mode::Change(&loaded.obj),
            typed: None,
            errors: &BTreeMap::new(),
            form_errors: &[],
            version: Some(version),
            choices: &loaded.choices,
            initial: &Values::new(),
            inlines: loaded.inlines,
            formsets: &loaded.formsets,
            related_links: loaded.links,
        },
        StatusCode::OK,
    )
}

/// `/admin/app/model/ID/` is the change page, as in Django.
pub async fn object_redirect(
    rq: RequestContext,
    staff: Staff,
    path: ObjectPath,
) -> Result<HttpResponse, AppError> {
    let (app, model, id) = path.into_inner();
    let model = model_for(&rq, &staff, &app, &model)?;
    Ok(redirect(
        &Urls::new(&rq, model.meta()).change(parse_id(&id)?)?,
    ))
}

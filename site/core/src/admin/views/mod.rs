//! The admin's generic pages. Every handler here runs behind the guard on
//! the `/admin` scope and takes the [`Staff`] it put on the request.

mod actions;
mod change;
mod changelist;
mod delete;
mod formsets;
mod history;
mod index;
mod rows;
mod save;

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    AdminEnv, AdminSite, Cell, Field, FieldKind, Link, ModelAdmin, ModelMeta, Object, Perm, Staff,
    Value,
};
use crate::config::Config;
use crate::db::DbConn;
use crate::http::{AppError, RequestContext};
use crate::money::Money;
use crate::templates::Renderer;
use crate::urls::Route;

pub const ROUTES: &[Route] = &[
    ("admin:index", "/admin/"),
    ("admin:log", "/admin/log/"),
    ("admin:app", "/admin/{app}/"),
    ("admin:changelist", "/admin/{app}/{model}/"),
    ("admin:add", "/admin/{app}/{model}/add/"),
    ("admin:export", "/admin/{app}/{model}/export/"),
    ("admin:object", "/admin/{app}/{model}/{id}/"),
    ("admin:change", "/admin/{app}/{model}/{id}/change/"),
    ("admin:delete", "/admin/{app}/{model}/{id}/delete/"),
    ("admin:history", "/admin/{app}/{model}/{id}/history/"),
];

/// A resource for a named admin route, registered inside the `/admin`
/// scope (its path relative to it).
pub fn resource(routes: &[Route], name: &'static str) -> actix_web::Resource {
    let path = routes
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("route {name:?} is not in the route table"));
    let relative = path
        .strip_prefix("/admin")
        .unwrap_or_else(|| panic!("admin route {name:?} must be under /admin/"));
    web::resource(relative).name(name)
}

/// The generic pages, inside the guarded scope (after the apps' own).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("").to(|| async { crate::http::redirect("/admin/") }))
        .service(resource(ROUTES, "admin:index").route(web::get().to(index::index)))
        .service(resource(ROUTES, "admin:log").route(web::get().to(history::audit_log)))
        .service(resource(ROUTES, "admin:app").route(web::get().to(index::app_index)))
        .service(
            resource(ROUTES, "admin:changelist")
                .route(web::get().to(changelist::show))
                .route(web::post().to(changelist::submit)),
        )
        .service(
            resource(ROUTES, "admin:add")
                .route(web::get().to(change::add_form))
                .route(web::post().to(save::add_submit)),
        )
        .service(resource(ROUTES, "admin:export").route(web::get().to(changelist::export)))
        .service(resource(ROUTES, "admin:object").route(web::get().to(change::object_redirect)))
        .service(
            resource(ROUTES, "admin:change")
                .route(web::get().to(change::change_form))
                .route(web::post().to(save::change_submit)),
        )
        .service(
            resource(ROUTES, "admin:delete")
                .route(web::get().to(delete::confirm))
                .route(web::post().to(delete::submit)),
        )
        .service(resource(ROUTES, "admin:history").route(web::get().to(history::history)));
}

/// The registered admin (app data).
pub fn site(rq: &RequestContext) -> Result<web::Data<AdminSite>, AppError> {
    rq.req
        .app_data::<web::Data<AdminSite>>()
        .cloned()
        .ok_or_else(|| AppError::internal("the admin site is not registered"))
}

/// The model named in the URL, if it exists and the staff member may see it.
pub fn model_for(
    rq: &RequestContext,
    staff: &Staff,
    app: &str,
    model: &str,
) -> Result<Arc<dyn ModelAdmin>, AppError> {
    let site = site(rq)?;
    let m = site.model(app, model).cloned().ok_or(AppError::NotFound)?;
    staff.require(m.meta(), Perm::View)?;
    Ok(m)
}

pub fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

/// URLs of a model's pages.
pub struct Urls<'a> {
    rq: &'a RequestContext,
    app: &'a str,
    model: &'a str,
}

impl<'a> Urls<'a> {
    pub fn new(rq: &'a RequestContext, meta: &'a ModelMeta) -> Urls<'a> {
        Urls {
            rq,
            app: meta.app,
            model: meta.model,
        }
    }

    pub fn list(&self) -> Result<String, AppError> {
        self.rq.url(
            "admin:changelist",
            &[("app", self.app), ("model", self.model)],
        )
    }

    pub fn add(&self) -> Result<String, AppError> {
        self.rq
            .url("admin:add", &[("app", self.app), ("model", self.model)])
    }

    pub fn object(&self, name: &str, id: i64) -> Result<String, AppError> {
        self.rq.url(
            name,
            &[
                ("app", self.app),
                ("model", self.model),
                ("id", &id.to_string()),
            ],
        )
    }

    pub fn change(&self, id: i64) -> Result<String, AppError> {
        self.object("admin:change", id)
    }
}

/// What templates need of a model.
#[derive(Debug, Serialize)]
pub struct ModelInfo {
    pub app: &'static str,
    pub app_name: String,
    pub model: &'static str,
    pub name: &'static str,
    pub name_plural: &'static str,
    pub list_url: String,
    pub add_url: Option<String>,
    pub app_url: String,
    pub can_change: bool,
    pub can_delete: bool,
}

pub fn model_info(
    rq: &RequestContext,
    staff: &Staff,
    site: &AdminSite,
    meta: &ModelMeta,
) -> Result<ModelInfo, AppError> {
    let urls = Urls::new(rq, meta);
    Ok(ModelInfo {
        app: meta.app,
        app_name: site.app_name(meta.app).to_string(),
        model: meta.model,
        name: meta.verbose_name,
        name_plural: meta.verbose_name_plural,
        list_url: urls.list()?,
        add_url: (meta.addable && staff.can(meta, Perm::Add))
            .then(|| urls.add())
            .transpose()?,
        app_url: rq.url("admin:app", &[("app", meta.app)])?,
        can_change: meta.editable && staff.can(meta, Perm::Change),
        can_delete: meta.deletable && staff.can(meta, Perm::Delete),
    })
}

/// A cell ready to print.
#[derive(Debug, Serialize)]
pub struct CellView {
    pub kind: &'static str,
    pub text: String,
    pub href: Option<String>,
    pub flag: Option<bool>,
}

/// The URL of a link a model gave.
pub fn link_url(rq: &RequestContext, link: &Link) -> Result<String, AppError> {
    match link {
        Link::Change { app, model, id } => rq.url(
            "admin:change",
            &[("app", app), ("model", model), ("id", &id.to_string())],
        ),
        Link::List { app, model, query } => {
            let list = rq.url("admin:changelist", &[("app", app), ("model", model)])?;
            Ok(if query.is_empty() {
                list
            } else {
                format!("{list}?{query}")
            })
        }
        Link::Route { name, args } => {
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            rq.url(name, &args)
        }
    }
}

pub fn cell_view(rq: &RequestContext, cell: &Cell) -> CellView {
    let plain = |kind, text: String| CellView {
        kind,
        text,
        href: None,
        flag: None,
    };
    match cell {
        Cell::Text(t) => plain("text", t.clone()),
        Cell::Int(n) => plain("num", n.to_string()),
        Cell::Money(minor) => plain(
            "num",
            Money::from_minor(*minor, rq.config.currency).format(rq.config.locale),
        ),
        Cell::Bool(b) => CellView {
            kind: "bool",
            text: if *b { "Yes" } else { "No" }.into(),
            href: None,
            flag: Some(*b),
        },
        Cell::DateTime(t) => plain(
            "date",
            t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "—".into()),
        ),
        Cell::Status(value, label) => CellView {
            kind: "status",
            text: label.clone(),
            href: Some(value.clone()),
            flag: None,
        },
        Cell::Image(url) => CellView {
            kind: "image",
            text: String::new(),
            href: Some(url.clone()),
            flag: None,
        },
        Cell::Link(text, link) => CellView {
            kind: "link",
            text: text.clone(),
            href: link_url(rq, link).ok(),
            flag: None,
        },
    }
}

/// The choices of every `Ref`/`Refs` field and `Related` filter of a
/// model, loaded once per page (one query each).
pub type Choices = HashMap<&'static str, Vec<(i64, String)>>;

pub fn load_choices(
    conn: &mut DbConn,
    model: &dyn ModelAdmin,
    fields: &[Field],
) -> diesel::QueryResult<Choices> {
    let mut out = HashMap::new();
    for f in fields {
        if matches!(f.kind, FieldKind::Ref { search: false } | FieldKind::Refs) {
            out.insert(f.name, model.choices(conn, f.name)?);
        }
    }
    Ok(out)
}

/// Adds to `choices` the names of the objects that search references in
/// `values` point to (asking the model, one lookup each), so pages and the
/// history show "ada@example.com" rather than "#42".
pub fn name_search_refs(
    conn: &mut DbConn,
    model: &dyn ModelAdmin,
    choices: &mut Choices,
    values: &[&super::Values],
) -> diesel::QueryResult<()> {
    for f in &model.meta().fields {
        if !matches!(f.kind, FieldKind::Ref { search: true }) {
            continue;
        }
        for v in values {
            if let Some(Value::Ref(id)) = v.get(f.name) {
                let known = choices.entry(f.name).or_default();
                if !known.iter().any(|(k, _)| k == id) {
                    known.extend(model.lookup(conn, f.name, &format!("#{id}"))?);
                }
            }
        }
    }
    Ok(())
}

/// A value as history and read-only pages show it (also off the request,
/// inside `rq.db`).
pub fn display_value(
    config: &crate::config::Config,
    choices: &Choices,
    field: &Field,
    value: Option<&Value>,
) -> String {
    field.display(
        value,
        choices.get(field.name).map(Vec::as_slice),
        crate::money::MoneyFormat::of(config),
    )
}

/// A digest of the object's editable values: a form carries it, and a
/// save is refused when the object no longer matches it (someone else
/// saved in between).
pub fn fingerprint(meta: &ModelMeta, obj: &Object, formsets: &formsets::FormsetState) -> String {
    let mut parts = fingerprint_of(
        meta.fields.iter().filter(|f| f.editable() && !f.add_only),
        &obj.values,
    );
    for (key, rows) in formsets {
        let spec = meta.formsets.iter().find(|s| s.key == *key);
        for row in rows {
            parts.push_str(&format!("|{key}:{}:{}:", row.id, row.picked));
            if let Some(spec) = spec {
                parts.push_str(&fingerprint_of(spec.fields.iter(), &row.values));
            }
        }
    }
    if formsets.is_empty() {
        return parts;
    }
    hex::encode(&Sha256::digest(parts.as_bytes())[..16])
}

/// The digest of `fields`' values in `values`.
pub fn fingerprint_of<'f>(
    fields: impl Iterator<Item = &'f Field>,
    values: &super::Values,
) -> String {
    let mut h = Sha256::new();
    for f in fields {
        h.update(f.name.as_bytes());
        h.update([0]);
        h.update(
            serde_json::to_string(&values.get(f.name))
                .unwrap_or_default()
                .as_bytes(),
        );
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

/// Query strings of a list, kept across its links and forms.
#[derive(Debug, Clone, Default)]
pub struct QueryString(pub Vec<(String, String)>);

impl QueryString {
    pub fn from_request(rq: &RequestContext) -> QueryString {
        QueryString(
            url::form_urlencoded::parse(rq.req.query_string().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// This query with `changes` applied (`None` removes the key); the page
    /// number goes unless it is one of the changes.
    pub fn with(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .0
            .iter()
            .filter(|(k, _)| k != "page" && !changes.iter().any(|(c, _)| c == k))
            .cloned()
            .collect();
        for (k, v) in changes {
            if let Some(v) = v {
                pairs.push((k.to_string(), v.to_string()));
            }
        }
        encode(&pairs)
    }

    pub fn encoded(&self) -> String {
        encode(&self.0)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn encode(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let mut s = url::form_urlencoded::Serializer::for_suffix(String::from("?"), 1);
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The renderer, owned, for work off the request (emails, widgets).
pub fn renderer(rq: &RequestContext) -> Result<Arc<Renderer>, AppError> {
    Ok(rq
        .req
        .app_data::<web::Data<Renderer>>()
        .cloned()
        .ok_or_else(|| AppError::internal("no renderer"))?
        .into_inner())
}

/// What a model's handlers need beside the connection, owned so that it
/// can move into the database thread (`.env()` lends it as `AdminEnv`).
pub struct OwnedEnv {
    renderer: Arc<Renderer>,
    config: web::Data<Config>,
    staff: Staff,
}

impl OwnedEnv {
    pub fn new(rq: &RequestContext, staff: &Staff) -> Result<Self, AppError> {
        Ok(Self {
            renderer: renderer(rq)?,
            config: rq.config.clone(),
            staff: staff.clone(),
        })
    }

    pub fn env(&self) -> AdminEnv<'_> {
        AdminEnv {
            renderer: &self.renderer,
            config: &self.config,
            staff: &self.staff,
        }
    }
}

/// Admin pages are never cached: they show live data to one person.
pub fn no_store(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    res
}

/// The apps and models a staff member may see, for the index and the
/// navigation.
#[derive(Debug, Serialize)]
pub struct AppSection {
    pub label: &'static str,
    pub name: &'static str,
    pub url: String,
    pub models: Vec<ModelInfo>,
}

pub fn visible_apps(
    rq: &RequestContext,
    staff: &Staff,
    site: &AdminSite,
    only: Option<&str>,
) -> Result<Vec<AppSection>, AppError> {
    let mut out = Vec::new();
    for (label, name) in &site.app_names {
        if only.is_some_and(|o| o != *label) {
            continue;
        }
        let mut models = Vec::new();
        for m in site.models.iter().filter(|m| m.meta().app == *label) {
            let meta = m.meta();
            if staff.can_view(meta) || staff.can(meta, Perm::Add) {
                models.push(model_info(rq, staff, site, meta)?);
            }
        }
        if !models.is_empty() {
            out.push(AppSection {
                label,
                name,
                url: rq.url("admin:app", &[("app", label)])?,
                models,
            });
        }
    }
    Ok(out)
}

/// Renders an admin page (never cached).
pub fn render(
    rq: &RequestContext,
    template: &str,
    ctx: crate::tera::Context,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    Ok(no_store(rq.render_status(template, ctx, status)?))
}

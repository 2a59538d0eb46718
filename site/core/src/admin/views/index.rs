//! The admin index (dashboard, models by app, recent actions) and each
//! app's page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::{render, site, visible_apps};
use crate::admin::audit::{self, LogEntry, LogFilter};
use crate::admin::dashboard::{Panel, WidgetEnv};
use crate::admin::Staff;
use crate::http::{AppError, RequestContext};
use crate::tera::Context;

/// An audit entry as lists show it.
#[derive(Debug, Serialize)]
pub struct EntryView {
    pub id: i64,
    pub time: String,
    pub who: String,
    pub action: &'static str,
    pub action_kind: &'static str,
    pub action_name: String,
    pub model: String,
    pub object: String,
    /// The object's page, while it exists.
    pub url: Option<String>,
    pub changes: Vec<audit::FieldChange>,
}

pub fn entry_view(rq: &RequestContext, e: &LogEntry, model_name: &str) -> EntryView {
    let url = (e.action != audit::LogAction::Delete)
        .then(|| {
            rq.url(
                "admin:change",
                &[
                    ("app", &e.app),
                    ("model", &e.model),
                    ("id", &e.object_id.to_string()),
                ],
            )
            .ok()
        })
        .flatten();
    EntryView {
        id: e.id,
        time: e.action_time.format("%Y-%m-%d %H:%M:%S").to_string(),
        who: e.user_email.clone(),
        action: e.action.label(),
        action_kind: e.action.as_str(),
        action_name: e.action_name.clone(),
        model: model_name.to_string(),
        object: e.object_repr.clone(),
        url,
        changes: e.changes(),
    }
}

/// The (app, model) pairs whose history `staff` may read.
pub fn visible_models(
    staff: &Staff,
    site: &crate::admin::AdminSite,
) -> Option<Vec<(String, String)>> {
    if staff.is_superuser {
        return None;
    }
    Some(
        site.models
            .iter()
            .map(|m| m.meta())
            .filter(|meta| staff.can_view(meta))
            .map(|meta| (meta.app.to_string(), meta.model.to_string()))
            .collect(),
    )
}

pub async fn index(rq: RequestContext, staff: Staff) -> Result<HttpResponse, AppError> {
    let site = site(&rq)?;
    let apps = visible_apps(&rq, &staff, &site, None)?;
    let widgets: Vec<_> = site
        .widgets
        .iter()
        .filter(|w| staff.has(&w.permission()))
        .cloned()
        .collect();
    let env = WidgetEnv {
        renderer: super::renderer(&rq)?,
        config: rq.config.get_ref().clone(),
    };
    let filter = LogFilter {
        visible: visible_models(&staff, &site),
        ..LogFilter::default()
    };
    let (panels, recent) = rq
        .db(move |conn| {
            let mut panels: Vec<Panel> = widgets
                .iter()
                .map(|w| w.load(conn, &env))
                .collect::<Result<_, _>>()?;
            // Charts first, then the lists of what needs doing.
            panels.sort_by_key(|p| !matches!(p, Panel::Chart { .. }));
            Ok((panels, audit::page(conn, &filter, 0, 10)?))
        })
        .await?;
    let recent: Vec<EntryView> = recent
        .iter()
        .map(|e| {
            let name = site
                .model(&e.app, &e.model)
                .map(|m| m.meta().verbose_name)
                .unwrap_or("");
            entry_view(&rq, e, name)
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("title", "Administration");
    ctx.insert("apps", &apps);
    ctx.insert("panels", &panels);
    ctx.insert("recent", &recent);
    render(&rq, "admin/index.html", ctx, StatusCode::OK)
}

pub async fn app_index(
    rq: RequestContext,
    staff: Staff,
    app: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let site = site(&rq)?;
    let apps = visible_apps(&rq, &staff, &site, Some(&app))?;
    let Some(section) = apps.first() else {
        return Err(AppError::NotFound);
    };
    let mut ctx = Context::new();
    ctx.insert("title", &section.name);
    ctx.insert("apps", &apps);
    render(&rq, "admin/app_index.html", ctx, StatusCode::OK)
}

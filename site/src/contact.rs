//! The contact form (`/contact/`): a message to the shop's staff address,
//! queued in the outbox. Each client address may send a few messages per
//! few minutes (`MailSendLimit`), so the form cannot flood the inbox.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use site_core::forms::{required_multiline, required_text, Email, FormState};
use site_core::http::auth::current_user;
use site_core::http::{redirect, Level, MailSendLimit, RequestContext, MAIL_LIMITED};
use site_core::mail::{outbox, Email as Message};
use site_core::tera::Context;
use site_core::AppError;

pub const ROUTES: &[site_core::urls::Route] = &[("site:contact", "/contact/")];

/// The site's own pages: the contact form, the health probes, metrics.
pub struct SiteApp;

const SITE_ROUTES: &[site_core::urls::Route] = &[
    ROUTES[0],
    crate::health::ROUTES[0],
    crate::health::ROUTES[1],
    crate::metrics::ROUTES[0],
];

impl site_core::app::App for SiteApp {
    fn label(&self) -> &'static str {
        "site"
    }

    fn verbose_name(&self) -> &'static str {
        "Site"
    }

    fn routes(&self) -> &'static [site_core::urls::Route] {
        SITE_ROUTES
    }

    fn templates(&self) -> Option<site_core::templates::TemplateSource> {
        Some(site_core::template_source!())
    }

    fn configure(&self, cfg: &mut web::ServiceConfig) {
        configure(cfg);
        crate::health::configure(cfg);
        crate::metrics::configure(cfg);
    }

    fn context_processors(&self) -> Vec<Box<dyn site_core::templates::ContextProcessor>> {
        vec![Box::new(crate::demo::Banner)]
    }

    fn jobs(&self) -> Vec<site_core::app::Job> {
        // It does nothing unless SHOP_DEMO is set.
        vec![crate::demo::job()]
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        site_core::urls::resource(ROUTES, "site:contact")
            .route(web::get().to(form))
            .route(web::post().to(submit)),
    );
}

async fn form(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let email = current_user(&rq.session)
        .map(|u| u.email)
        .unwrap_or_default();
    rq.render_form(
        "site/contact.html",
        &FormState::initial(&[("email", &email)]),
        StatusCode::OK,
    )
}

async fn submit(
    rq: RequestContext,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let mut form = FormState::new(body.into_inner());
    let name = form.field("name", required_text(100));
    let email = form.field("email", Email::parse);
    let subject = form.field("subject", required_text(150));
    let message = form.field("message", required_multiline(5000));
    let (Some(name), Some(email), Some(subject), Some(message)) = (name, email, subject, message)
    else {
        return rq.render_form("site/contact.html", &form, StatusCode::UNPROCESSABLE_ENTITY);
    };
    if !MailSendLimit::allow(&rq).await {
        form.add_non_field_error(MAIL_LIMITED);
        return rq.render_form("site/contact.html", &form, StatusCode::TOO_MANY_REQUESTS);
    }
    let mut ctx = Context::new();
    ctx.insert("name", &name);
    ctx.insert("email", email.as_str());
    ctx.insert("subject", &subject);
    ctx.insert("message", &message);
    ctx.insert("site_url", &rq.config.site_url);
    let mail = Message::render(
        &rq.renderer,
        "site/email/contact",
        &rq.config.staff_email,
        format!("Contact form: {subject}"),
        &ctx,
    )?;
    rq.db(move |conn| Ok(outbox::enqueue(conn, &mail)?)).await?;
    rq.flash(
        Level::Success,
        "Thank you for your message. We will answer by email as soon as we can.",
    );
    Ok(redirect(&rq.url("site:contact", &[])?))
}

//! Users: argon2id password hashes, sign in and out, and what the command
//! line needs to create staff.

pub mod models;
pub mod password;
mod views;

use actix_web::web;
use site_core::templates::TemplateSource;
use site_core::urls::{resource, Route};

pub use models::{NewUser, User, UserError};

pub const ROUTES: &[Route] = &[
    ("accounts:login", "/accounts/login/"),
    ("accounts:logout", "/accounts/logout/"),
];

pub fn templates() -> TemplateSource {
    site_core::template_source!()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource(ROUTES, "accounts:login")
            .route(web::get().to(views::login_form))
            .route(web::post().to(views::login_submit)),
    )
    .service(resource(ROUTES, "accounts:logout").route(web::post().to(views::logout)));
}

/// Puts `current_user` (or nothing) into every page's context.
pub struct CurrentUser;

impl site_core::templates::ContextProcessor for CurrentUser {
    fn process(&self, req: &actix_web::HttpRequest, ctx: &mut site_core::tera::Context) {
        use actix_session::SessionExt;
        ctx.insert(
            "current_user",
            &site_core::http::auth::current_user(&req.get_session()),
        );
    }
}

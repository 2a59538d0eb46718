//! Users and what they do with their account: registration with email
//! verification, login (throttled, with optional two-factor codes),
//! password change and reset, profile and avatar, address book, data
//! export and deletion; groups and per-model permissions (checked through
//! `site_core::http::auth::has_perm`).

pub mod address;
pub mod admin;
pub mod avatar;
pub mod demo;
pub mod models;
pub mod password;
pub mod permissions;
pub mod throttle;
pub mod tokens;
pub mod twofactor;
pub mod validators;
mod views;

use actix_web::web;
use site_core::templates::TemplateSource;
use site_core::urls::{resource, Route};

pub use address::Address;
pub use models::{NewUser, User, UserError};

pub const ROUTES: &[Route] = &[
    ("accounts:login", "/accounts/login/"),
    ("accounts:login_2fa", "/accounts/login/code/"),
    ("accounts:logout", "/accounts/logout/"),
    ("accounts:register", "/accounts/register/"),
    ("accounts:verify", "/accounts/verify/{token}/"),
    ("accounts:verify_resend", "/accounts/verify/"),
    ("accounts:password_change", "/accounts/password/"),
    ("accounts:password_reset", "/accounts/password-reset/"),
    (
        "accounts:password_reset_sent",
        "/accounts/password-reset/sent/",
    ),
    (
        "accounts:password_reset_confirm",
        "/accounts/password-reset/{token}/",
    ),
    ("accounts:profile", "/accounts/profile/"),
    ("accounts:email_change", "/accounts/profile/email/"),
    ("accounts:avatar", "/accounts/profile/avatar/"),
    ("accounts:two_factor", "/accounts/two-factor/"),
    ("accounts:delete", "/accounts/delete/"),
    ("accounts:export", "/accounts/export/"),
    ("accounts:addresses", "/accounts/addresses/"),
    ("accounts:address_edit", "/accounts/addresses/{id}/"),
    (
        "accounts:address_delete",
        "/accounts/addresses/{id}/delete/",
    ),
    (
        "accounts:address_default",
        "/accounts/addresses/{id}/default/",
    ),
];

pub fn templates() -> TemplateSource {
    site_core::template_source!()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use views::*;
    cfg.service(
        resource(ROUTES, "accounts:login")
            .route(web::get().to(auth::login_form))
            .route(web::post().to(auth::login_submit)),
    )
    .service(
        resource(ROUTES, "accounts:login_2fa")
            .route(web::get().to(auth::code_form))
            .route(web::post().to(auth::code_submit)),
    )
    .service(resource(ROUTES, "accounts:logout").route(web::post().to(auth::logout)))
    .service(
        resource(ROUTES, "accounts:register")
            .route(web::get().to(register::form))
            .route(web::post().to(register::submit)),
    )
    .service(resource(ROUTES, "accounts:verify_resend").route(web::post().to(register::resend)))
    .service(
        resource(ROUTES, "accounts:verify")
            .route(web::get().to(register::verify_form))
            .route(web::post().to(register::verify)),
    )
    .service(
        resource(ROUTES, "accounts:password_change")
            .route(web::get().to(passwords::change_form))
            .route(web::post().to(passwords::change_submit)),
    )
    .service(
        resource(ROUTES, "accounts:password_reset")
            .route(web::get().to(passwords::reset_form))
            .route(web::post().to(passwords::reset_submit)),
    )
    .service(
        resource(ROUTES, "accounts:password_reset_sent")
            .route(web::get().to(passwords::reset_sent)),
    )
    .service(
        resource(ROUTES, "accounts:password_reset_confirm")
            .route(web::get().to(passwords::confirm_form))
            .route(web::post().to(passwords::confirm_submit)),
    )
    .service(
        resource(ROUTES, "accounts:profile")
            .route(web::get().to(profile::show))
            .route(web::post().to(profile::update_name)),
    )
    .service(resource(ROUTES, "accounts:email_change").route(web::post().to(profile::change_email)))
    .service(resource(ROUTES, "accounts:avatar").route(web::post().to(profile::upload_avatar)))
    .service(
        resource(ROUTES, "accounts:two_factor")
            .route(web::get().to(two_factor::show))
            .route(web::post().to(two_factor::submit)),
    )
    .service(
        resource(ROUTES, "accounts:delete")
            .route(web::get().to(profile::delete_form))
            .route(web::post().to(profile::delete_submit)),
    )
    .service(resource(ROUTES, "accounts:export").route(web::get().to(profile::export)))
    .service(
        resource(ROUTES, "accounts:addresses")
            .route(web::get().to(addresses::list))
            .route(web::post().to(addresses::create)),
    )
    .service(
        resource(ROUTES, "accounts:address_edit")
            .route(web::get().to(addresses::edit_form))
            .route(web::post().to(addresses::edit_submit)),
    )
    .service(resource(ROUTES, "accounts:address_delete").route(web::post().to(addresses::delete)))
    .service(
        resource(ROUTES, "accounts:address_default").route(web::post().to(addresses::make_default)),
    );
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

/// The accounts app; [`AccountsApp::new`] with the shop's settings.
#[derive(Default)]
pub struct AccountsApp {
    failures: throttle::Failures,
}

impl AccountsApp {
    /// Failed logins are counted in Redis when `config` has it.
    pub fn new(config: &site_core::Config) -> AccountsApp {
        AccountsApp {
            failures: throttle::Failures::new(config),
        }
    }
}

impl site_core::app::App for AccountsApp {
    fn label(&self) -> &'static str {
        "accounts"
    }

    fn verbose_name(&self) -> &'static str {
        "Accounts"
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn admin_routes(&self) -> &'static [Route] {
        admin::ROUTES
    }

    fn templates(&self) -> Option<TemplateSource> {
        Some(templates())
    }

    fn configure(&self, cfg: &mut web::ServiceConfig) {
        configure(cfg);
    }

    fn configure_admin(&self, cfg: &mut web::ServiceConfig) {
        admin::configure(cfg);
    }

    fn admin_models(&self) -> Vec<std::sync::Arc<dyn site_core::admin::ModelAdmin>> {
        admin::models(self.failures.clone())
    }

    fn context_processors(&self) -> Vec<Box<dyn site_core::templates::ContextProcessor>> {
        vec![Box::new(CurrentUser)]
    }

    fn jobs(&self) -> Vec<site_core::app::Job> {
        vec![site_core::app::Job::new(
            "accounts.prune_login_failures",
            std::time::Duration::from_secs(3600),
            |env| Ok(throttle::prune(&mut *env.db.get()?, site_core::now())?),
        )]
    }
}

//! Payments: providers behind one trait, a demo card provider, and the
//! payment records. An order is marked paid only by a successful charge, and
//! one order is charged at most once.

pub mod admin;
pub mod admin_refund;
pub mod admin_transfer;
mod cancel;
pub mod demo;
pub mod domain;
pub mod forms;
pub mod holds;
pub mod models;
pub mod refunds;
mod views;

use actix_web::web;
use site_core::templates::TemplateSource;
use site_core::urls::{resource, Route};

pub use domain::{
    Card, ChargeOutcome, ChargeRequest, DemoCardProvider, PaymentProvider, ProviderError,
};
pub use models::{Payment, PaymentStatus};

pub const ROUTES: &[Route] = &[
    ("payments:pay", "/payments/{public_id}/"),
    // Cancelling may refund, so the payments app answers it.
    ("payments:cancel", "/orders/{public_id}/cancel/"),
];

/// The payments app's admin pages (on orders).
pub const ADMIN_ROUTES: &[Route] = &[admin_refund::ROUTES[0], admin_transfer::ROUTES[0]];

pub fn templates() -> TemplateSource {
    site_core::template_source!()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource(ROUTES, "payments:pay")
            .route(web::get().to(views::pay_form))
            .route(web::post().to(views::pay_submit)),
    )
    .service(
        resource(ROUTES, "payments:cancel")
            .route(web::get().to(cancel::confirm))
            .route(web::post().to(cancel::cancel)),
    );
}

pub struct PaymentsApp;

impl site_core::app::App for PaymentsApp {
    fn label(&self) -> &'static str {
        "payments"
    }

    fn verbose_name(&self) -> &'static str {
        "Payments"
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn templates(&self) -> Option<TemplateSource> {
        Some(templates())
    }

    fn configure(&self, cfg: &mut web::ServiceConfig) {
        configure(cfg);
    }

    fn admin_routes(&self) -> &'static [Route] {
        ADMIN_ROUTES
    }

    fn configure_admin(&self, cfg: &mut web::ServiceConfig) {
        admin_refund::configure(cfg);
        admin_transfer::configure(cfg);
    }

    fn permissions(&self) -> Vec<site_core::app::PermissionSpec> {
        vec![
            site_core::app::PermissionSpec::new(admin_refund::PERMISSION, "Can refund payments"),
            site_core::app::PermissionSpec::new(
                admin_transfer::PERMISSION,
                "Can record bank transfers received",
            ),
        ]
    }

    fn admin_models(&self) -> Vec<std::sync::Arc<dyn site_core::admin::ModelAdmin>> {
        vec![
            std::sync::Arc::new(admin::PaymentAdmin::default()),
            std::sync::Arc::new(admin::TransactionAdmin::default()),
        ]
    }

    fn admin_related(&self) -> Vec<std::sync::Arc<dyn site_core::admin::Related>> {
        vec![std::sync::Arc::new(admin::PaymentsOfOrders)]
    }

    fn jobs(&self) -> Vec<site_core::app::Job> {
        vec![site_core::app::Job::new(
            "release-unpaid-orders",
            std::time::Duration::from_secs(60),
            |env| {
                holds::release_unpaid_orders(
                    &env.db,
                    chrono::TimeDelta::minutes(env.config.order_hold_minutes),
                    chrono::TimeDelta::days(env.config.bank_transfer_days),
                )
            },
        )]
    }
}

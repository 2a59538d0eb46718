//! Payments: providers behind one trait, the bundled demo gateway (Demo
//! Pay, with hosted pages and signed webhooks), and the payment records. An
//! order is marked paid only by a successful charge, and one order is
//! charged at most once, however often a form or a webhook arrives.

pub mod admin;
pub mod admin_capture;
pub mod admin_refund;
pub mod admin_transfer;
mod cancel;
pub mod demo;
pub mod domain;
pub mod forms;
pub mod gateway;
mod gateway_pages;
pub mod holds;
pub mod models;
pub mod refunds;
mod views;
pub mod webhooks;

use actix_web::web;
use site_core::templates::TemplateSource;
use site_core::urls::{resource, Route};

pub use domain::{
    Answer, BeginRequest, Card, ChargeOutcome, Lookup, PaymentProvider, ProviderError,
    RefundOutcome, RefundRequest, WebhookError, WebhookEvent,
};
pub use gateway::DemoGateway;
pub use models::{Payment, PaymentStatus};

pub const ROUTES: &[Route] = &[
    ("payments:pay", "/payments/{public_id}/"),
    ("payments:return", "/payments/{public_id}/return/"),
    ("payments:webhook", "/payments/webhooks/{provider}/"),
    // The demo gateway's hosted page (it plays another service).
    ("payments:gateway", "/demo-pay/{token}/"),
    // Cancelling may refund, so the payments app answers it.
    ("payments:cancel", "/orders/{public_id}/cancel/"),
];

/// The payments app's admin pages (on orders).
pub const ADMIN_ROUTES: &[Route] = &[
    admin_refund::ROUTES[0],
    admin_transfer::ROUTES[0],
    admin_capture::ROUTES[0],
    admin_capture::ROUTES[1],
];

pub fn templates() -> TemplateSource {
    site_core::template_source!()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource(ROUTES, "payments:pay")
            .route(web::get().to(views::pay_form))
            .route(web::post().to(views::pay_submit)),
    )
    .service(resource(ROUTES, "payments:return").route(web::get().to(views::payment_return)))
    .service(
        resource(ROUTES, "payments:webhook")
            .app_data(web::PayloadConfig::new(webhooks::MAX_BODY))
            .route(web::post().to(webhooks::receive)),
    )
    .service(
        resource(ROUTES, "payments:gateway")
            .route(web::get().to(gateway_pages::page))
            .route(web::post().to(gateway_pages::submit)),
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
        admin_capture::configure(cfg);
    }

    fn permissions(&self) -> Vec<site_core::app::PermissionSpec> {
        vec![
            site_core::app::PermissionSpec::new(admin_refund::PERMISSION, "Can refund payments"),
            site_core::app::PermissionSpec::new(
                admin_transfer::PERMISSION,
                "Can record bank transfers and cash received",
            ),
            site_core::app::PermissionSpec::new(
                admin_capture::PERMISSION,
                "Can capture and void card payments",
            ),
        ]
    }

    fn admin_models(&self) -> Vec<std::sync::Arc<dyn site_core::admin::ModelAdmin>> {
        vec![
            std::sync::Arc::new(admin::PaymentAdmin::default()),
            std::sync::Arc::new(admin::TransactionAdmin::default()),
            std::sync::Arc::new(admin::WebhookEventAdmin::default()),
        ]
    }

    fn admin_related(&self) -> Vec<std::sync::Arc<dyn site_core::admin::Related>> {
        vec![std::sync::Arc::new(admin::PaymentsOfOrders)]
    }

    fn csrf_exempt(&self) -> &'static [&'static str] {
        // Signed by the provider instead (see `webhooks`).
        &["/payments/webhooks/"]
    }

    fn tasks(&self) -> Vec<site_core::jobs::Task> {
        vec![webhooks::task()]
    }

    fn jobs(&self) -> Vec<site_core::app::Job> {
        use site_core::app::Job;
        vec![
            // The demo gateway's own work, as its service would do it.
            Job::new(
                "payments.send_demo_webhooks",
                std::time::Duration::from_secs(2),
                |env| {
                    gateway::deliver_due(
                        &env.db,
                        &gateway::webhook_url(&env.config.site_url),
                        &gateway::webhook_key(&env.secret),
                    )
                },
            ),
            Job::new(
                "payments.expire_demo_payments",
                std::time::Duration::from_secs(60),
                |env| Ok(gateway::expire(&mut *env.db.get()?, site_core::now())?),
            ),
            site_core::app::Job::new(
                "payments.release_unpaid_orders",
                std::time::Duration::from_secs(60),
                |env| {
                    holds::release_unpaid_orders(
                        &env.db,
                        chrono::TimeDelta::minutes(env.config.order_hold_minutes),
                        chrono::TimeDelta::days(env.config.bank_transfer_days),
                    )
                },
            ),
        ]
    }
}

//! Payments: providers behind one trait, a demo card provider, and the
//! payment records. An order is marked paid only by a successful charge, and
//! one order is charged at most once.

pub mod domain;
pub mod forms;
pub mod models;
mod views;

use actix_web::web;
use site_core::templates::TemplateSource;
use site_core::urls::{resource, Route};

pub use domain::{
    Card, ChargeOutcome, ChargeRequest, DemoCardProvider, PaymentProvider, ProviderError,
};
pub use models::{Payment, PaymentStatus};

pub const ROUTES: &[Route] = &[("payments:pay", "/payments/{public_id}/")];

pub fn templates() -> TemplateSource {
    site_core::template_source!()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource(ROUTES, "payments:pay")
            .route(web::get().to(views::pay_form))
            .route(web::post().to(views::pay_submit)),
    );
}

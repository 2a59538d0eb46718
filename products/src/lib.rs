//! The catalogue: categories and products, their pages, search, and the
//! demo catalogue the shop seeds itself with.

pub mod cache;
pub mod demo;
pub mod domain;
pub mod models;
mod views;

use actix_web::web;
use site_core::templates::TemplateSource;
use site_core::urls::{resource, Route};

pub use cache::CatalogueCache;
pub use models::{Category, Product};

pub const ROUTES: &[Route] = &[
    ("products:home", "/"),
    ("products:list", "/products/"),
    ("products:detail", "/products/{id}/"),
    ("products:category", "/products/category/{slug}/"),
];

pub fn templates() -> TemplateSource {
    site_core::template_source!()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(ROUTES, "products:home").route(web::get().to(views::home)))
        .service(resource(ROUTES, "products:list").route(web::get().to(views::list)))
        .service(resource(ROUTES, "products:category").route(web::get().to(views::category)))
        .service(resource(ROUTES, "products:detail").route(web::get().to(views::detail)));
}

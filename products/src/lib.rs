//! The catalogue: categories and products, their pages, search, and the
//! demo catalogue the shop seeds itself with.

pub mod admin;
mod admin_import;
pub mod admin_reviews;
pub mod admin_types;
pub mod cache;
pub mod demo;
mod demo_art;
pub mod domain;
pub mod facets;
pub mod images;
pub mod import;
pub mod models;
pub mod reviews;
pub mod search;
pub mod sitemap;
pub mod tree;
pub mod variants;
pub mod views;

use std::sync::Arc;

use actix_web::web;
use site_core::admin::ModelAdmin;
use site_core::templates::TemplateSource;
use site_core::urls::{resource, Route};

pub use cache::CatalogueCache;
pub use models::{Category, Product};

pub const ROUTES: &[Route] = &[
    ("products:home", "/"),
    ("products:list", "/products/"),
    ("products:detail", "/products/{id}/{slug}/"),
    // The short form (links made before slugs, typed by hand): redirects.
    ("products:detail_by_id", "/products/{id}/"),
    ("products:review", "/products/{id}/{slug}/review/"),
    ("products:category", "/products/category/{slug}/"),
    ("products:robots", "/robots.txt"),
    ("products:sitemap", "/sitemap.xml"),
    ("products:sitemap_pages", "/sitemap-pages.xml"),
    ("products:sitemap_products", "/sitemap-products-{n}.xml"),
];

pub fn templates() -> TemplateSource {
    site_core::template_source!()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(ROUTES, "products:home").route(web::get().to(views::home)))
        .service(resource(ROUTES, "products:list").route(web::get().to(views::list)))
        .service(resource(ROUTES, "products:category").route(web::get().to(views::category)))
        .service(resource(ROUTES, "products:detail").route(web::get().to(views::detail)))
        .service(
            resource(ROUTES, "products:detail_by_id").route(web::get().to(views::detail_by_id)),
        )
        .service(resource(ROUTES, "products:review").route(web::post().to(views::review)))
        .service(resource(ROUTES, "products:robots").route(web::get().to(sitemap::robots)))
        .service(resource(ROUTES, "products:sitemap").route(web::get().to(sitemap::index)))
        .service(resource(ROUTES, "products:sitemap_pages").route(web::get().to(sitemap::pages)))
        .service(
            resource(ROUTES, "products:sitemap_products").route(web::get().to(sitemap::products)),
        );
}

/// The catalogue app, with the listing cache every worker shares.
pub struct ProductsApp {
    cache: web::Data<CatalogueCache>,
}

impl ProductsApp {
    pub fn new(config: &site_core::Config) -> Self {
        ProductsApp {
            cache: web::Data::new(CatalogueCache::new(std::time::Duration::from_secs(
                config.catalogue_cache_seconds,
            ))),
        }
    }
}

impl site_core::app::App for ProductsApp {
    fn label(&self) -> &'static str {
        "products"
    }

    fn verbose_name(&self) -> &'static str {
        "Catalogue"
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn templates(&self) -> Option<TemplateSource> {
        Some(templates())
    }

    fn configure(&self, cfg: &mut web::ServiceConfig) {
        // The admin's guard counts staff writes on the catalogue's counter.
        cfg.app_data(self.cache.clone())
            .app_data(web::Data::new(self.cache.changes().clone()));
        configure(cfg);
    }

    fn admin_routes(&self) -> &'static [Route] {
        admin_import::ROUTES
    }

    fn configure_admin(&self, cfg: &mut web::ServiceConfig) {
        admin_import::configure(cfg);
    }

    fn admin_models(&self) -> Vec<Arc<dyn ModelAdmin>> {
        vec![
            Arc::new(admin::CategoryAdmin::default()),
            Arc::new(admin::ProductAdmin::default()),
            Arc::new(admin_reviews::ReviewAdmin::default()),
            Arc::new(admin_types::ProductTypeAdmin::default()),
        ]
    }

    fn account_hooks(&self) -> Vec<Arc<dyn site_core::hooks::AccountHook>> {
        vec![Arc::new(reviews::ReviewsOfCustomer)]
    }

    fn admin_widgets(&self) -> Vec<Arc<dyn site_core::admin::dashboard::Widget>> {
        vec![Arc::new(admin::LowStock)]
    }
}

//! The cart: for guests it lives in the session, for customers in the
//! database too (see `saved`). Lines hold product ids and
//! quantities; prices always come fresh from the catalogue.

pub mod domain;
pub mod saved;
mod views;

use std::sync::Arc;

use actix_web::web;
use site_core::app::PermissionSpec;
use site_core::templates::TemplateSource;
use site_core::urls::{resource, Route};

pub use domain::{Cart, CartError, PricedCart, PricedLine};
pub use saved::CartFollowsCustomer;

pub const ROUTES: &[Route] = &[
    ("cart:detail", "/cart/"),
    ("cart:add", "/cart/add/{product_id}/"),
    ("cart:update", "/cart/update/{product_id}/"),
    ("cart:remove", "/cart/remove/{product_id}/"),
];

pub fn templates() -> TemplateSource {
    site_core::template_source!()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(ROUTES, "cart:detail").route(web::get().to(views::detail)))
        .service(resource(ROUTES, "cart:add").route(web::post().to(views::add)))
        .service(resource(ROUTES, "cart:update").route(web::post().to(views::update)))
        .service(resource(ROUTES, "cart:remove").route(web::post().to(views::remove)));
}

/// Puts `cart_count` (items in the cart) into every page's context.
pub struct CartBadge;

impl site_core::templates::ContextProcessor for CartBadge {
    fn process(&self, req: &actix_web::HttpRequest, ctx: &mut site_core::tera::Context) {
        use actix_session::SessionExt;
        ctx.insert("cart_count", &Cart::load(&req.get_session()).item_count());
    }
}

pub struct CartApp;

impl site_core::app::App for CartApp {
    fn label(&self) -> &'static str {
        "cart"
    }

    fn verbose_name(&self) -> &'static str {
        "Carts"
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

    fn context_processors(&self) -> Vec<Box<dyn site_core::templates::ContextProcessor>> {
        vec![Box::new(CartBadge)]
    }

    fn account_hooks(&self) -> Vec<Arc<dyn site_core::hooks::AccountHook>> {
        vec![Arc::new(CartFollowsCustomer)]
    }

    fn admin_related(&self) -> Vec<Arc<dyn site_core::admin::Related>> {
        vec![Arc::new(saved::CartsHoldProducts)]
    }

    fn permissions(&self) -> Vec<PermissionSpec> {
        ["view", "add", "change", "delete"]
            .iter()
            .map(|a| PermissionSpec::new(format!("cart.{a}_line"), format!("Can {a} cart line")))
            .collect()
    }
}

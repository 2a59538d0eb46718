//! Checkout and orders: placing an order is one transaction that copies the
//! cart into order lines, takes the stock, and is idempotent per form.

pub mod account;
pub mod admin;
pub mod admin_shipping;
pub mod admin_taxes;
pub mod admin_vouchers;
pub mod checkout;
pub mod dashboard;
pub mod demo;
pub mod domain;
pub mod emails;
pub mod events;
pub mod forms;
pub mod invoices;
pub mod models;
pub mod payment_method;
pub mod pricing;
pub mod refunds;
pub mod shipping;
pub mod taxes;
mod views;
pub mod vouchers;

use std::sync::Arc;

use actix_web::web;
use site_core::templates::TemplateSource;
use site_core::urls::{resource, Route};

pub use account::OrdersOfCustomer;
pub use domain::{CheckoutDetails, OrderStatus};
pub use models::{place_order, CheckoutRequest, Order, OrderLine, PlaceOrderError, Placed};

pub const ROUTES: &[Route] = &[
    ("orders:checkout", "/orders/checkout/"),
    ("orders:lookup", "/orders/lookup/"),
    ("orders:checkout_shipping", "/orders/checkout/shipping/"),
    ("orders:checkout_review", "/orders/checkout/review/"),
    ("orders:checkout_voucher", "/orders/checkout/voucher/"),
    (
        "orders:checkout_voucher_remove",
        "/orders/checkout/voucher/remove/",
    ),
    ("orders:detail", "/orders/{public_id}/"),
    ("orders:invoice", "/orders/{public_id}/invoice/"),
    ("orders:history", "/accounts/orders/"),
    ("orders:history_detail", "/accounts/orders/{id}/"),
];

pub fn templates() -> TemplateSource {
    site_core::template_source!()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource(ROUTES, "orders:checkout")
            .route(web::get().to(views::checkout_form))
            .route(web::post().to(views::checkout_submit)),
    )
    .service(
        resource(ROUTES, "orders:checkout_shipping")
            .route(web::get().to(views::shipping_form))
            .route(web::post().to(views::shipping_submit)),
    )
    .service(
        resource(ROUTES, "orders:checkout_review")
            .route(web::get().to(views::review_form))
            .route(web::post().to(views::place)),
    )
    .service(
        resource(ROUTES, "orders:checkout_voucher").route(web::post().to(views::voucher_apply)),
    )
    .service(
        resource(ROUTES, "orders:checkout_voucher_remove")
            .route(web::post().to(views::voucher_remove)),
    )
    .service(
        resource(ROUTES, "orders:lookup")
            .route(web::get().to(views::lookup_form))
            .route(web::post().to(views::lookup)),
    )
    .service(resource(ROUTES, "orders:detail").route(web::get().to(views::detail)))
    .service(resource(ROUTES, "orders:invoice").route(web::get().to(views::invoice)))
    .service(resource(ROUTES, "orders:history").route(web::get().to(views::history)))
    .service(resource(ROUTES, "orders:history_detail").route(web::get().to(views::history_detail)));
}

/// The orders app; it keeps the order lookup's per-client allowance.
pub struct OrdersApp {
    lookup_limit: web::Data<views::LookupLimit>,
}

impl Default for OrdersApp {
    fn default() -> Self {
        OrdersApp {
            lookup_limit: web::Data::new(views::LookupLimit::default()),
        }
    }
}

impl site_core::app::App for OrdersApp {
    fn label(&self) -> &'static str {
        "orders"
    }

    fn verbose_name(&self) -> &'static str {
        "Orders"
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn templates(&self) -> Option<TemplateSource> {
        Some(templates())
    }

    fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.lookup_limit.clone());
        configure(cfg);
    }

    fn account_hooks(&self) -> Vec<Arc<dyn site_core::hooks::AccountHook>> {
        vec![Arc::new(OrdersOfCustomer)]
    }

    fn admin_related(&self) -> Vec<Arc<dyn site_core::admin::Related>> {
        vec![Arc::new(account::OrdersKeepTheirRecords)]
    }

    fn admin_models(&self) -> Vec<Arc<dyn site_core::admin::ModelAdmin>> {
        vec![
            Arc::new(admin::OrderAdmin::default()),
            Arc::new(admin_shipping::ShippingMethodAdmin::default()),
            Arc::new(admin_vouchers::VoucherAdmin::default()),
            Arc::new(admin_taxes::TaxRateAdmin::default()),
        ]
    }

    fn admin_widgets(&self) -> Vec<Arc<dyn site_core::admin::dashboard::Widget>> {
        vec![
            Arc::new(dashboard::SalesPerDay),
            Arc::new(dashboard::OrdersByStatus),
            Arc::new(dashboard::WaitingToShip),
        ]
    }
}

//! Integration tests through the real HTTP stack, on SQLite, or on
//! PostgreSQL when `TEST_DATABASE_URL` is set. One binary, one link.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod admin;
mod admin_accounts;
mod admin_edits;
mod admin_images;
mod admin_import;
mod admin_orders;
mod capture;
mod cart;
mod cash_on_delivery;
mod catalogue;
mod checkout;
mod cli;
mod concurrency;
mod customers;
mod demo;
mod emails;
mod facets;
mod holds;
mod invoices;
mod jobs;
mod mail;
mod passwords;
mod payments;
mod platform;
mod profile;
mod redis_sessions;
mod refunds;
mod registration;
mod restart;
mod reviews;
mod scale_out;
mod search;
mod seo;
mod shared_cache;
mod shipping;
mod taxes;
mod two_factor;
mod variants;
mod vouchers;
mod webhooks;

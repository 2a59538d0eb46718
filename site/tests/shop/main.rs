//! Integration tests through the real HTTP stack, on SQLite, or on
//! PostgreSQL when `TEST_DATABASE_URL` is set. One binary, one link.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod cart;
mod catalogue;
mod checkout;
mod cli;
mod concurrency;
mod holds;
mod payments;
mod platform;

//! The migrations are embedded in the binary (`embed_migrations!` in
//! `db.rs`), which cargo does not know to watch: without this, a new
//! migration folder is left out of the build until some Rust file of this
//! crate changes, and the shop starts on a schema missing it.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}

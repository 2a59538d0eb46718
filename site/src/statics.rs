//! Serves the embedded static files: hashed names are cached for a year.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use site_core::statics::StaticFiles;
use site_core::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{path:.*}", web::get().to(serve));
}

async fn serve(
    files: web::Data<StaticFiles>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (file, immutable) = files.lookup(&path).ok_or(AppError::NotFound)?;
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, file.content_type.as_str()))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(file.bytes))
}

//! The CSV import page of the product admin: upload a file, read the dry
//! run's plan (create / update / skip / error for each row), then import
//! it. The upload is spooled to disk (`var/imports/`), never held whole in
//! memory, and removed once imported (or after a day).

use std::path::{Path, PathBuf};

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use site_core::admin::submission::Limits;
use site_core::admin::{Perm, Staff, Submission};
use site_core::http::{AppError, RequestContext};
use site_core::tera::Context;

use crate::admin::ProductAdmin;
use crate::import::{import, ImportError, Importer, Report};

pub const ROUTES: &[site_core::urls::Route] =
    &[("admin:product_import", "/admin/products/product/import/")];

/// Largest file the page takes (the command line takes any size).
const MAX_UPLOAD: u64 = 50 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        site_core::admin::views::resource(ROUTES, "admin:product_import")
            .route(web::get().to(form))
            .route(web::post().to(submit)),
    );
}

fn allowed(staff: &Staff) -> Result<(), AppError> {
    let admin = ProductAdmin::default();
    use site_core::admin::ModelAdmin;
    staff.require(admin.meta(), Perm::Add)?;
    staff.require(admin.meta(), Perm::Change)
}

fn spool_dir(rq: &RequestContext) -> PathBuf {
    rq.config.var_dir.join("imports")
}

/// Spooled files older than a day are abandoned dry runs.
fn clear_old(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 24 * 3600);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn page(
    rq: &RequestContext,
    report: Option<&Report>,
    token: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut ctx = Context::new();
    ctx.insert("title", "Import products");
    ctx.insert("report", &report);
    ctx.insert("token", &token);
    ctx.insert("error", &error);
    ctx.insert("max_mb", &(MAX_UPLOAD / (1024 * 1024)));
    ctx.insert("shown", &crate::import::REPORTED);
    let mut res = rq.render_status("admin/products/import.html", ctx, status)?;
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

pub async fn form(rq: RequestContext, staff: Staff) -> Result<HttpResponse, AppError> {
    allowed(&staff)?;
    clear_old(&spool_dir(&rq));
    page(&rq, None, None, None, StatusCode::OK)
}

/// Runs the import of the spooled file `path` on the blocking pool.
async fn run(
    rq: &RequestContext,
    staff: &Staff,
    path: PathBuf,
    dry_run: bool,
) -> Result<Result<Report, ImportError>, AppError> {
    let db = rq.db.get_ref().clone();
    let currency = rq.config.currency;
    let who = staff.clone();
    web::block(move || -> Result<Result<Report, ImportError>, AppError> {
        let file = std::fs::File::open(&path).map_err(AppError::internal)?;
        let mut conn = db.get()?;
        let importer = Importer {
            staff: Some(&who),
            label: "Imported from CSV",
        };
        Ok(import(
            &mut conn,
            std::io::BufReader::new(file),
            currency,
            dry_run,
            &importer,
            &mut |_| {},
        ))
    })
    .await?
}

pub async fn submit(
    rq: RequestContext,
    staff: Staff,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    allowed(&staff)?;
    let dir = spool_dir(&rq);
    let limits = Limits {
        max_file_bytes: MAX_UPLOAD,
        spool_dir: Some(dir.clone()),
    };
    let sub = Submission::read(&rq.req, payload, &limits).await?;
    // Confirming a dry run: import the file it planned.
    if let Some(token) = sub.first("token") {
        sub.discard_files();
        let valid = token.len() == 24 && token.bytes().all(|b| b.is_ascii_alphanumeric());
        let path = dir.join(format!("{token}.csv"));
        if !valid || !path.exists() {
            return page(
                &rq,
                None,
                None,
                Some("That upload is gone (imports are kept a day): upload the file again.".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        let outcome = run(&rq, &staff, path.clone(), false).await?;
        let _ = std::fs::remove_file(&path);
        return match outcome {
            Ok(report) => page(&rq, Some(&report), None, None, StatusCode::OK),
            Err(e) => page(
                &rq,
                None,
                None,
                Some(e.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        };
    }
    let Some(upload) = sub.file("file") else {
        sub.discard_files();
        return page(
            &rq,
            None,
            None,
            Some("Choose a CSV file to upload.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let site_core::admin::submission::UploadData::Disk { path: spooled, .. } = &upload.data else {
        return Err(AppError::internal("the upload was not spooled"));
    };
    let token = site_core::random_token(24);
    let path = dir.join(format!("{token}.csv"));
    std::fs::rename(spooled, &path).map_err(AppError::internal)?;
    sub.discard_files();
    match run(&rq, &staff, path.clone(), true).await? {
        Ok(report) => {
            let importable = report.created + report.updated > 0;
            if !importable {
                let _ = std::fs::remove_file(&path);
            }
            page(
                &rq,
                Some(&report),
                importable.then_some(token.as_str()),
                None,
                StatusCode::OK,
            )
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            page(
                &rq,
                None,
                None,
                Some(e.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

//! What search engines read: `/robots.txt` (keep out of the admin, the
//! cart, checkout and accounts; where the sitemap is) and `/sitemap.xml`,
//! a sitemap index. The shop's own pages and categories are one file; the
//! products are files of `PER_FILE` ids each (the protocol's limit per
//! file), so a catalogue of a million products is twenty files, each one
//! range read of the primary key.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use site_core::http::{AppError, RequestContext};
use site_core::schema::{products_category as c, products_product as p};

/// Product ids per sitemap file (the sitemap protocol allows 50,000 URLs).
pub const PER_FILE: i64 = 50_000;

fn site_url(rq: &RequestContext) -> String {
    rq.config.site_url.trim_end_matches('/').to_string()
}

/// Escapes text for XML (URLs may carry `&`).
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn answer(content_type: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // Search engines come back daily; an hour is fresh enough.
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

pub async fn robots(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let body = format!(
        "User-agent: *\n\
         Disallow: /admin/\n\
         Disallow: /cart/\n\
         Disallow: /orders/\n\
         Disallow: /accounts/\n\
         Disallow: /payments/\n\
         Disallow: /demo-pay/\n\
         \n\
         Sitemap: {}/sitemap.xml\n",
        site_url(&rq)
    );
    Ok(answer("text/plain; charset=utf-8", body))
}

/// How many product files the catalogue needs (by its highest id).
fn product_files(conn: &mut site_core::DbConn) -> QueryResult<i64> {
    let highest: Option<i64> = p::table.select(diesel::dsl::max(p::id)).first(conn)?;
    Ok(highest.map_or(0, |h| (h + PER_FILE - 1) / PER_FILE))
}

pub async fn index(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let files = rq.db(|conn| Ok(product_files(conn)?)).await?;
    let base = site_url(&rq);
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    body.push_str(&format!(
        "  <sitemap><loc>{}</loc></sitemap>\n",
        xml(&format!("{base}/sitemap-pages.xml"))
    ));
    for n in 1..=files {
        body.push_str(&format!(
            "  <sitemap><loc>{}</loc></sitemap>\n",
            xml(&format!("{base}/sitemap-products-{n}.xml"))
        ));
    }
    body.push_str("</sitemapindex>\n");
    Ok(answer("application/xml; charset=utf-8", body))
}

fn urlset(urls: impl IntoIterator<Item = (String, Option<NaiveDateTime>)>) -> String {
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (loc, modified) in urls {
        body.push_str("  <url><loc>");
        body.push_str(&xml(&loc));
        body.push_str("</loc>");
        if let Some(at) = modified {
            body.push_str(&format!("<lastmod>{}</lastmod>", at.format("%Y-%m-%d")));
        }
        body.push_str("</url>\n");
    }
    body.push_str("</urlset>\n");
    body
}

/// The home page, the catalogue and every category.
pub async fn pages(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let slugs: Vec<String> = rq
        .db(|conn| Ok(c::table.order(c::slug).select(c::slug).load(conn)?))
        .await?;
    let base = site_url(&rq);
    let mut urls = vec![
        (format!("{base}/"), None),
        (format!("{base}/products/"), None),
    ];
    for slug in slugs {
        let path = rq.url("products:category", &[("slug", &slug)])?;
        urls.push((format!("{base}{path}"), None));
    }
    Ok(answer("application/xml; charset=utf-8", urlset(urls)))
}

/// The products with ids in file `n`'s range, on sale, with when each
/// last changed.
pub async fn products(rq: RequestContext, n: web::Path<String>) -> Result<HttpResponse, AppError> {
    let n: i64 = n.parse().map_err(|_| AppError::NotFound)?;
    let rows = rq
        .db(move |conn| {
            if n < 1 || n > product_files(conn)? {
                return Err(AppError::NotFound);
            }
            let (low, high) = ((n - 1) * PER_FILE + 1, n * PER_FILE);
            Ok(p::table
                .filter(p::id.between(low, high))
                .filter(p::is_active.eq(true))
                .filter(p::parent_id.is_null())
                .order(p::id)
                .select((p::id, p::slug, p::updated_at))
                .load::<(i64, String, NaiveDateTime)>(conn)?)
        })
        .await?;
    let base = site_url(&rq);
    let mut urls = Vec::with_capacity(rows.len());
    for (id, slug, updated) in rows {
        let path = crate::views::product_url(&rq, id, &slug)?;
        urls.push((format!("{base}{path}"), Some(updated)));
    }
    Ok(answer("application/xml; charset=utf-8", urlset(urls)))
}

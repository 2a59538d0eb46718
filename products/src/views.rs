//! Catalogue pages: parse the request, ask the models, render.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use site_core::http::{Paginator, RequestContext};
use site_core::tera::Context;
use site_core::AppError;

use crate::domain::{parse_flag, parse_query, Listing, SortOrder};
use crate::models::{Category, Product};

pub const PER_PAGE: i64 = 24;
const HOME_NEWEST: i64 = 8;
const RELATED: i64 = 4;

pub async fn home(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let (categories, newest) = rq
        .db(|conn| Ok((Category::all(conn)?, Product::newest(conn, HOME_NEWEST)?)))
        .await?;
    let mut ctx = Context::new();
    ctx.insert("categories", &categories);
    ctx.insert(
        "products",
        &newest.iter().map(|(p, c)| p.view(c)).collect::<Vec<_>>(),
    );
    rq.render("products/home.html", ctx)
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    page: Option<String>,
    sort: Option<String>,
    q: Option<String>,
    category: Option<String>,
    in_stock: Option<String>,
}

pub async fn list(
    rq: RequestContext,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    listing(rq, params.into_inner(), None).await
}

pub async fn category(
    rq: RequestContext,
    slug: web::Path<String>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    listing(rq, params.into_inner(), Some(slug.into_inner())).await
}

/// The product list and a category's page share everything but where the
/// category comes from: the path (unknown is 404) or `?category=` (400).
async fn listing(
    rq: RequestContext,
    params: ListParams,
    path_slug: Option<String>,
) -> Result<HttpResponse, AppError> {
    let sort = SortOrder::parse(params.sort.as_deref())?;
    let query = parse_query(params.q.as_deref())?;
    let in_stock_only = parse_flag("in_stock", params.in_stock.as_deref())?;
    let page_number = Paginator::parse_number(params.page.as_deref())?;
    let from_path = path_slug.is_some();
    let slug = path_slug.or(params.category.clone().filter(|s| !s.trim().is_empty()));

    let q = query.clone();
    let (categories, current, page, rows) = rq
        .db(move |conn| {
            let categories = Category::all(conn)?;
            let current = match &slug {
                None => None,
                Some(s) => Some(
                    categories
                        .iter()
                        .find(|c| &c.slug == s)
                        .cloned()
                        .ok_or_else(|| {
                            if from_path {
                                AppError::NotFound
                            } else {
                                AppError::BadRequest(format!("There is no category {s:?}."))
                            }
                        })?,
                ),
            };
            let listing = Listing {
                query: q,
                category_id: current.as_ref().map(|c| c.id),
                in_stock_only,
                sort,
            };
            let count = Product::listing_count(conn, &listing)?;
            let page = Paginator::new(PER_PAGE).page(page_number, count);
            let rows = Product::listing_page(conn, &listing, page.offset(), PER_PAGE)?;
            Ok((categories, current, page, rows))
        })
        .await?;

    // Links to other pages keep every other parameter.
    let mut keep = url::form_urlencoded::Serializer::new(String::new());
    if let Some(q) = &query {
        keep.append_pair("q", q);
    }
    if params.sort.as_deref().is_some_and(|s| !s.is_empty()) {
        keep.append_pair("sort", sort.key());
    }
    if let (Some(c), false) = (&current, from_path) {
        keep.append_pair("category", &c.slug);
    }
    if in_stock_only {
        keep.append_pair("in_stock", "1");
    }
    let mut page_query = keep.finish();
    if !page_query.is_empty() {
        page_query.push('&');
    }

    let mut ctx = Context::new();
    ctx.insert("categories", &categories);
    ctx.insert("category", &current);
    ctx.insert(
        "products",
        &rows.iter().map(|(p, c)| p.view(c)).collect::<Vec<_>>(),
    );
    ctx.insert("page", &page);
    ctx.insert("page_query", &page_query);
    ctx.insert("search_query", &query.unwrap_or_default());
    ctx.insert("sort", sort.key());
    ctx.insert(
        "sort_options",
        &SortOrder::ALL
            .iter()
            .map(|(_, k, label)| (k, label))
            .collect::<Vec<_>>(),
    );
    ctx.insert("in_stock", &in_stock_only);
    rq.render("products/list.html", ctx)
}

pub async fn detail(rq: RequestContext, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    // Like Django's <int:id>: anything but a number is simply not a page.
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let (product, category, related) = rq
        .db(move |conn| {
            let (product, category) = Product::find_active(conn, id)?;
            let related = Product::related(conn, &product, RELATED)?;
            Ok((product, category, related))
        })
        .await?;
    let mut ctx = Context::new();
    ctx.insert("product", &product.view(&category));
    ctx.insert("category", &category);
    ctx.insert(
        "related",
        &related
            .iter()
            .map(|p| p.view(&category))
            .collect::<Vec<_>>(),
    );
    ctx.insert(
        "max_quantity",
        &product.stock.clamp(1, site_core::forms::Quantity::MAX),
    );
    rq.render("products/detail.html", ctx)
}

//! Catalogue pages: parse the request, ask the models, render.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use site_core::forms::FormState;
use site_core::http::{redirect, Level};
use site_core::http::{Paginator, RequestContext};
use site_core::tera::Context;
use site_core::AppError;

use crate::cache::CatalogueCache;
use crate::domain::{parse_flag, parse_price, parse_query, Listing, SortOrder};
use crate::models::{listing_cards, newest_cards, CardRow, Category, Product, LOW_STOCK};
use crate::reviews::{self, ReviewForm};
use crate::tree::Tree;
use site_core::cache::SharedCache;
use site_core::db::DbConn;

/// What a card in a grid shows, ready to print: links and prices are made
/// here once rather than by template calls per card.
#[derive(Debug, Serialize)]
pub struct ProductCard {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub image_url: String,
    /// The card and large sizes, for screens that show it bigger.
    pub srcset: Option<String>,
    pub price: String,
    /// The lowest of its variants' prices.
    pub from: bool,
    pub in_stock: bool,
    pub low_stock: bool,
    pub stock: i64,
    pub category_name: String,
    pub rating: Option<crate::reviews::Rating>,
}

/// A category link in a list or sidebar.
#[derive(Debug, Serialize)]
pub struct CategoryLink<'a> {
    pub id: i64,
    pub name: &'a str,
    pub url: String,
    /// The category being shown (highlighted in the sidebar).
    pub active: bool,
    /// How deep it sits in the tree (the sidebar indents by it, up to 4).
    pub depth: usize,
    /// An ancestor of the category being shown.
    pub on_path: bool,
}

/// One step of a breadcrumb trail.
#[derive(Debug, Serialize)]
pub struct Crumb<'a> {
    pub name: &'a str,
    pub url: String,
}

/// Builds cards and links for one request.
struct Cards<'a> {
    rq: &'a RequestContext,
    placeholder: String,
}

impl<'a> Cards<'a> {
    fn new(rq: &'a RequestContext) -> Self {
        let placeholder = rq
            .renderer
            .statics()
            .url("img/placeholder.svg")
            .unwrap_or_default();
        Cards { rq, placeholder }
    }

    fn card(&self, row: &CardRow, category_name: &str) -> Result<ProductCard, AppError> {
        let in_stock = row.stock > 0;
        Ok(ProductCard {
            id: row.id,
            name: row.name.clone(),
            url: product_url(self.rq, row.id, &row.slug)?,
            image_url: if row.image.is_empty() {
                self.placeholder.clone()
            } else {
                format!("/media/{}", row.image)
            },
            // An uploaded picture has a large size beside its card size.
            srcset: row
                .image
                .strip_suffix("-card.jpg")
                .map(|base| format!("/media/{base}-card.jpg 480w, /media/{base}-large.jpg 1200w")),
            price: row.price().format(self.rq.renderer.locale()),
            from: row.has_variants,
            in_stock,
            // A parent's stock is spread over its variants.
            low_stock: in_stock && !row.has_variants && row.stock <= LOW_STOCK,
            stock: row.stock,
            category_name: category_name.to_string(),
            rating: crate::reviews::Rating::of(row.rating_count, row.rating_sum),
        })
    }

    fn cards(&self, rows: &[(CardRow, String)]) -> Result<Vec<ProductCard>, AppError> {
        rows.iter().map(|(row, cat)| self.card(row, cat)).collect()
    }

    fn link<'c>(&self, c: &'c Category) -> Result<CategoryLink<'c>, AppError> {
        Ok(CategoryLink {
            id: c.id,
            name: &c.name,
            url: self.rq.url("products:category", &[("slug", &c.slug)])?,
            active: false,
            depth: 0,
            on_path: false,
        })
    }

    /// The top-level categories.
    fn roots<'c>(&self, tree: &Tree<'c>) -> Result<Vec<CategoryLink<'c>>, AppError> {
        tree.roots().iter().map(|c| self.link(c)).collect()
    }

    /// The sidebar: the top level, opened down to `current`.
    fn branch<'c>(
        &self,
        tree: &Tree<'c>,
        current: Option<i64>,
    ) -> Result<Vec<CategoryLink<'c>>, AppError> {
        tree.branch(current)
            .into_iter()
            .map(|e| {
                Ok(CategoryLink {
                    active: e.current,
                    depth: e.depth.min(4),
                    on_path: e.on_path,
                    ..self.link(e.category)?
                })
            })
            .collect()
    }

    /// "Products", then each of `path`'s categories.
    fn crumbs<'c>(&self, path: &[&'c Category]) -> Result<Vec<Crumb<'c>>, AppError> {
        let mut crumbs = vec![Crumb {
            name: "Products",
            url: self.rq.url("products:list", &[])?,
        }];
        for c in path {
            crumbs.push(Crumb {
                name: &c.name,
                url: self.rq.url("products:category", &[("slug", &c.slug)])?,
            });
        }
        Ok(crumbs)
    }
}

pub const PER_PAGE: i64 = 24;
const HOME_NEWEST: i64 = 8;
const RELATED: i64 = 4;
/// Products a search that found nothing offers instead.
const NO_RESULTS_SUGGESTIONS: i64 = 4;

/// The list's own query parameters; any other may name an attribute.
const LIST_PARAMS: [&str; 7] = [
    "page",
    "sort",
    "q",
    "category",
    "in_stock",
    "min_price",
    "max_price",
];

/// The attribute values a URL asks for, as a listing filters by them:
/// parameters named after an attribute (its slug), values as typed
/// (compared without case).
/// Others (campaign tags) are ignored. Reads the names only when there
/// are such parameters.
fn chosen_options(
    conn: &mut site_core::db::DbConn,
    wanted: &[(String, String)],
) -> Result<Vec<(String, Vec<String>)>, AppError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let names = crate::facets::attribute_names(conn)?;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (key, value) in wanted {
        let Some(name) = names.iter().find(|n| crate::facets::slug(n) == *key) else {
            continue;
        };
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, values))
                if !values
                    .iter()
                    .any(|v| v.to_lowercase() == value.to_lowercase()) =>
            {
                values.push(value.clone())
            }
            Some(_) => {}
            None => out.push((name.clone(), vec![value.clone()])),
        }
    }
    Ok(out)
}

/// A group of choices in the sidebar ("Size": 40, 41, 42).
#[derive(Debug, Serialize)]
struct FacetView {
    title: String,
    choices: Vec<Choice>,
}

#[derive(Debug, Serialize)]
struct Choice {
    label: String,
    /// How many products it leaves (or adds); none when not counted.
    count: Option<i64>,
    /// The list with it chosen, or without it when it is.
    href: String,
    active: bool,
}

struct FacetInput<'a> {
    found: &'a crate::facets::Found,
    categories: &'a [Category],
    options: &'a [(String, Vec<String>)],
    /// The list's parameters but price and attribute values.
    base: &'a [(&'a str, &'a str)],
    /// The attribute values chosen, as URL parameters.
    chosen: &'a [(&'a str, &'a str)],
    search: bool,
    price: (Option<i64>, Option<i64>),
    price_shown: (&'a str, &'a str),
    unit: i64,
    currency: site_core::money::Currency,
    locale: site_core::money::Locale,
}

fn facet_views(f: FacetInput<'_>) -> Vec<FacetView> {
    use crate::facets::{band_bounds, slug, BANDS};
    use site_core::money::Money;
    let href = |pairs: &[(&str, &str)]| match encode_query(pairs) {
        found if found.is_empty() => "?".to_string(),
        found => format!("?{found}"),
    };
    let priced: Vec<(&str, &str)> = [
        ("min_price", f.price_shown.0),
        ("max_price", f.price_shown.1),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let mut out = Vec::new();

    // Which categories a search's products are in (a list's are the
    // category tree above).
    if let (Some(counts), true) = (&f.found.counts, f.search) {
        if counts.categories.len() > 1 {
            let mut rows: Vec<(&Category, i64)> = counts
                .categories
                .iter()
                .filter_map(|(id, n)| f.categories.iter().find(|c| c.id == *id).map(|c| (c, *n)))
                .collect();
            rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
            let choices = rows
                .into_iter()
                .take(10)
                .map(|(c, n)| {
                    let mut pairs: Vec<(&str, &str)> = f
                        .base
                        .iter()
                        .copied()
                        .filter(|(k, _)| *k != "category")
                        .collect();
                    pairs.push(("category", &c.slug));
                    pairs.extend(priced.iter().copied());
                    pairs.extend(f.chosen.iter().copied());
                    Choice {
                        label: c.name.clone(),
                        count: Some(n),
                        href: href(&pairs),
                        active: false,
                    }
                })
                .collect();
            out.push(FacetView {
                title: "Category".into(),
                choices,
            });
        }
    }

    // Price bands.
    let amount = |minor: i64| {
        Money::from_minor(minor, f.currency)
            .format(f.locale)
            .replace(".00", "")
    };
    let bands: Vec<Choice> = BANDS
        .iter()
        .enumerate()
        .filter_map(|(i, band)| {
            let (low, high) = band_bounds(*band, f.unit);
            let count = f.found.bands.map(|b| b[i]);
            let active = f.price == (low, high);
            if count == Some(0) && !active {
                return None;
            }
            let label = match (low, high) {
                (None, Some(h)) => format!("Under {}", amount(h + 1)),
                (Some(l), Some(h)) => format!("{} to {}", amount(l), amount(h + 1)),
                (Some(l), None) => format!("{} and over", amount(l)),
                (None, None) => "Any price".into(),
            };
            let (lo, hi) = (
                low.map(|l| Money::from_minor(l, f.currency).amount().to_string()),
                high.map(|h| Money::from_minor(h, f.currency).amount().to_string()),
            );
            let mut pairs: Vec<(&str, &str)> = f.base.to_vec();
            let owned: Vec<(&str, String)> = if active {
                Vec::new()
            } else {
                [("min_price", lo), ("max_price", hi)]
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect()
            };
            pairs.extend(owned.iter().map(|(k, v)| (*k, v.as_str())));
            pairs.extend(f.chosen.iter().copied());
            Some(Choice {
                label,
                count,
                href: href(&pairs),
                active,
            })
        })
        .collect();
    if !bands.is_empty() {
        out.push(FacetView {
            title: "Price band".into(),
            choices: bands,
        });
    }

    // Attribute values: each toggles, the others kept.
    let mut names: Vec<&String> = f.found.options.keys().collect();
    for (name, _) in f.options {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for name in names {
        let key = slug(name);
        // What was asked, as typed, compared without case.
        let chosen_here: Vec<String> = f
            .options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.iter().map(|v| v.to_lowercase()).collect())
            .unwrap_or_default();
        let mut values: Vec<(String, Option<i64>)> = f
            .found
            .options
            .get(name)
            .map(|v| {
                v.iter()
                    .map(|(value, n)| (value.clone(), n.filter(|_| f.found.counted)))
                    .collect()
            })
            .unwrap_or_default();
        // A chosen value nothing has any more still shows, to undo it.
        if let Some((_, asked)) = f.options.iter().find(|(n, _)| n == name) {
            for c in asked {
                if !values
                    .iter()
                    .any(|(v, _)| v.to_lowercase() == c.to_lowercase())
                {
                    values.push((c.clone(), Some(0)));
                }
            }
        }
        let choices = values
            .into_iter()
            .map(|(value, count)| {
                let lower = value.to_lowercase();
                let active = chosen_here.contains(&lower);
                let mut pairs: Vec<(&str, &str)> = f.base.to_vec();
                pairs.extend(priced.iter().copied());
                pairs.extend(
                    f.chosen
                        .iter()
                        .copied()
                        .filter(|(k, v)| !(active && *k == key && v.to_lowercase() == lower)),
                );
                if !active {
                    pairs.push((key.as_str(), value.as_str()));
                }
                let href = href(&pairs);
                Choice {
                    label: value,
                    count,
                    href,
                    active,
                }
            })
            .collect();
        out.push(FacetView {
            title: name.clone(),
            choices,
        });
    }
    out
}

fn cache(rq: &RequestContext) -> Result<web::Data<CatalogueCache>, AppError> {
    rq.req
        .app_data::<web::Data<CatalogueCache>>()
        .cloned()
        .ok_or_else(|| AppError::internal("the catalogue cache is not registered"))
}

pub async fn home(rq: RequestContext) -> Result<HttpResponse, AppError> {
    let cache = cache(&rq)?;
    let shared = SharedCache::of(&rq);
    cache.fetch_shared(shared.as_ref(), None).await;
    let (categories, newest) = {
        let cache = cache.clone();
        rq.db(move |conn| Ok((cache.categories(conn)?, newest_cards(conn, HOME_NEWEST)?)))
            .await?
    };
    cache.share(shared.as_ref()).await;
    let cards = Cards::new(&rq);
    let mut ctx = Context::new();
    ctx.insert("categories", &cards.roots(&Tree::new(&categories))?);
    ctx.insert("products", &cards.cards(&newest)?);
    ctx.insert(
        "canonical",
        &format!("{}/", rq.config.site_url.trim_end_matches('/')),
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
    min_price: Option<String>,
    max_price: Option<String>,
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
    let query = parse_query(params.q.as_deref())?;
    // A search lists its best matches first unless asked otherwise.
    let sort = match SortOrder::parse(params.sort.as_deref())? {
        SortOrder::Newest
            if query.is_some() && params.sort.as_deref().is_none_or(str::is_empty) =>
        {
            SortOrder::Relevance
        }
        other => other,
    };
    let in_stock_only = parse_flag("in_stock", params.in_stock.as_deref())?;
    let currency = rq.config.currency;
    let mut min_price = parse_price("min_price", params.min_price.as_deref(), currency)?;
    let mut max_price = parse_price("max_price", params.max_price.as_deref(), currency)?;
    // "From 50 to 20" means between them.
    if let (Some(low), Some(high)) = (min_price, max_price) {
        if low > high {
            (min_price, max_price) = (Some(high), Some(low));
        }
    }
    let page_number = Paginator::parse_number(params.page.as_deref())?;
    let from_path = path_slug.is_some();
    let slug = path_slug.or(params.category.clone().filter(|s| !s.trim().is_empty()));

    // Parameters that are not the list's own may be attribute values
    // (`colour=black&size=42`); which are is known once the attribute
    // names are read (only when there are such parameters).
    let wanted: Vec<(String, String)> =
        url::form_urlencoded::parse(rq.req.query_string().as_bytes())
            .filter(|(k, v)| !LIST_PARAMS.contains(&k.as_ref()) && !v.trim().is_empty())
            .map(|(k, v)| (k.to_lowercase(), v.trim().to_string()))
            .collect();
    let unit = crate::facets::band_unit(currency);
    let q = query.clone();
    let cache = cache(&rq)?;
    let shared = SharedCache::of(&rq);
    let counted = query.is_none().then_some((slug.as_deref(), in_stock_only));
    cache.fetch_shared(shared.as_ref(), counted).await;
    let computing = cache.clone();
    let (
        categories,
        current,
        page,
        (rows, kept_grid, grid_key, generation, listing_key),
        (estimated, over),
        prefix,
        instead,
        (options, found, corrected),
    ) = rq
        .db(move |conn| {
            let cache = computing;
            let categories = cache.categories(conn)?;
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
            let within = current
                .as_ref()
                .map(|c| Tree::new(&categories).descendants(c.id))
                .unwrap_or_default();
            let mut listing = Listing {
                query: q,
                category_id: current.as_ref().map(|c| c.id),
                within,
                in_stock_only,
                min_price,
                max_price,
                sort,
                options: chosen_options(conn, &wanted)?,
                ..Listing::default()
            };
            let mut count = cache.count(conn, &mut listing)?;
            // Nothing for what was typed: try what was probably meant.
            let mut corrected = None;
            if let (0, Some(typed)) = (count.n, &listing.query) {
                if let Some(meant) = crate::search::suggest(conn, typed)? {
                    let mut again = listing.clone();
                    (again.query, again.prefix, again.only) = (Some(meant.clone()), false, None);
                    let found = cache.count(conn, &mut again)?;
                    if found.n > 0 {
                        (listing, count, corrected) = (again, found, Some(meant));
                    }
                }
            }
            let page = Paginator::new(PER_PAGE).page(page_number, count.n);
            // The page's cards as rendered a moment ago, else its rows.
            let generation = cache.generation();
            let listing_key = listing.cache_key();
            let key = format!("{listing_key}|cards|{}", page.offset());
            let kept = cache.fragment(&key);
            let mut rows = match kept {
                Some(_) => Vec::new(),
                // No more than the page says it shows (pages of a
                // listing counted to the cap stop there).
                None => listing_cards(
                    conn,
                    &listing,
                    page.offset(),
                    (page.end_index - page.offset()).clamp(0, PER_PAGE),
                    // Counted to the cap: the true end is further on.
                    (!count.over).then_some(count.n),
                )?,
            };
            // Black asked for: the black variant's picture, if it has one.
            let ids: Vec<i64> = rows.iter().map(|(r, _)| r.id).collect();
            let pictures = crate::facets::chosen_pictures(conn, &ids, &listing.options)?;
            for (row, _) in &mut rows {
                if let Some(picture) = pictures.get(&row.id) {
                    row.image.clone_from(picture);
                }
            }
            // Nothing found: something to look at instead (one query, only
            // on an empty page).
            let instead = if count.n == 0 {
                newest_cards(conn, NO_RESULTS_SUGGESTIONS)?
            } else {
                Vec::new()
            };
            let found = cache.facets(conn, &listing, count, unit)?;
            Ok((
                categories,
                current,
                page,
                (rows, kept, key, generation, listing_key),
                (count.estimated, count.over),
                listing.prefix,
                instead,
                (listing.options, found, corrected),
            ))
        })
        .await?;
    cache.share(shared.as_ref()).await;

    // Links to other pages keep every other parameter.
    let shown_price = |minor: Option<i64>| -> String {
        minor
            .map(|m| {
                site_core::money::Money::from_minor(m, currency)
                    .amount()
                    .to_string()
            })
            .unwrap_or_default()
    };
    let (min_shown, max_shown) = (shown_price(min_price), shown_price(max_price));
    let mut kept: Vec<(&str, &str)> = Vec::new();
    if let Some(q) = &query {
        kept.push(("q", q));
    }
    if params.sort.as_deref().is_some_and(|s| !s.is_empty()) {
        kept.push(("sort", sort.key()));
    }
    if let (Some(c), false) = (&current, from_path) {
        kept.push(("category", &c.slug));
    }
    if in_stock_only {
        kept.push(("in_stock", "1"));
    }
    let option_pairs: Vec<(String, String)> = options
        .iter()
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |v| (crate::facets::slug(name), v.clone()))
        })
        .collect();
    let chosen: Vec<(&str, &str)> = option_pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let facet_base = kept.clone();
    let mut unpriced = kept.clone();
    unpriced.extend(chosen.iter().copied());
    let priceless = encode_query(&unpriced);
    if !min_shown.is_empty() {
        kept.push(("min_price", &min_shown));
    }
    if !max_shown.is_empty() {
        kept.push(("max_price", &max_shown));
    }
    kept.extend(chosen.iter().copied());
    let mut page_query = encode_query(&kept);
    if !page_query.is_empty() {
        page_query.push('&');
    }

    // One URL per listing for search engines: sorting and filtering do not
    // make another page, and `?category=` is the category's own page. A
    // search is its words (and page) only.
    let base = rq.config.site_url.trim_end_matches('/');
    let own_path = match &current {
        Some(c) => rq.url("products:category", &[("slug", &c.slug)])?,
        None => rq.url("products:list", &[])?,
    };
    let mut canonical_query: Vec<(&str, &str)> = Vec::new();
    if let Some(q) = &query {
        canonical_query.push(("q", q));
    }
    let page_text = page.number.to_string();
    if page.number > 1 {
        canonical_query.push(("page", &page_text));
    }
    let canonical = match encode_query(&canonical_query) {
        found if found.is_empty() => format!("{base}{own_path}"),
        found => format!("{base}{own_path}?{found}"),
    };

    let cards = Cards::new(&rq);
    let mut ctx = Context::new();
    ctx.insert("canonical", &canonical);
    let tree = Tree::new(&categories);
    let sort_given = params.sort.as_deref().is_some_and(|s| !s.is_empty());
    // The sidebar and the phone's filter panel: the same for every shopper
    // of this listing, so kept rendered like its cards.
    // What was typed too: a corrected search's panels keep the words.
    let panels_key = format!(
        "{listing_key}|panels|{}|{}|{:?}",
        u8::from(sort_given),
        u8::from(from_path),
        query
    );
    let kept_panels = cache
        .fragment(&format!("{panels_key}|aside"))
        .zip(cache.fragment(&format!("{panels_key}|phone")));
    let (aside, phone) = match kept_panels {
        Some(both) => both,
        None => {
            let facets = facet_views(FacetInput {
                found: &found,
                categories: &categories,
                options: &options,
                base: &facet_base,
                chosen: &chosen,
                search: query.is_some(),
                price: (min_price, max_price),
                price_shown: (&min_shown, &max_shown),
                unit,
                currency,
                locale: rq.renderer.locale(),
            });
            let mut panel = Context::new();
            panel.insert(
                "categories",
                &cards.branch(&tree, current.as_ref().map(|c| c.id))?,
            );
            panel.insert("category", &current);
            panel.insert("facets", &facets);
            panel.insert("search_query", query.as_deref().unwrap_or_default());
            panel.insert("in_stock", &in_stock_only);
            panel.insert("sort_given", &sort_given);
            panel.insert("sort", sort.key());
            panel.insert("chosen_options", &chosen);
            panel.insert("min_price", &min_shown);
            panel.insert("max_price", &max_shown);
            panel.insert("any_price_query", &priceless);
            let aside: std::sync::Arc<str> =
                rq.renderer.render("products/_aside.html", &panel)?.into();
            let phone: std::sync::Arc<str> =
                rq.renderer.render("products/_filter.html", &panel)?.into();
            cache.keep_fragment(format!("{panels_key}|aside"), aside.clone(), generation);
            cache.keep_fragment(format!("{panels_key}|phone"), phone.clone(), generation);
            (aside, phone)
        }
    };
    ctx.insert("aside", aside.as_ref());
    ctx.insert("filter_panel", phone.as_ref());
    // A category's trail: Products, its ancestors (the page's own name ends
    // the trail, unlinked, in the template).
    if let Some(c) = &current {
        ctx.insert("crumbs", &cards.crumbs(&tree.ancestors(c.id))?);
    }
    ctx.insert("category", &current);
    let grid = match kept_grid {
        Some(html) => html,
        None => {
            let mut cards_ctx = Context::new();
            cards_ctx.insert("products", &cards.cards(&rows)?);
            let html: std::sync::Arc<str> = rq
                .renderer
                .render("products/_grid.html", &cards_ctx)?
                .into();
            cache.keep_fragment(grid_key, html.clone(), generation);
            html
        }
    };
    ctx.insert("grid", grid.as_ref());
    ctx.insert("page", &page);
    ctx.insert("page_query", &page_query);
    ctx.insert("search_query", query.as_deref().unwrap_or_default());
    ctx.insert("sort", sort.key());
    ctx.insert(
        "sort_options",
        &SortOrder::ALL
            .iter()
            .filter(|(o, _, _)| *o != SortOrder::Relevance || query.is_some())
            .map(|(_, k, label)| (k, label))
            .collect::<Vec<_>>(),
    );
    ctx.insert("corrected", &corrected);
    ctx.insert("in_stock", &in_stock_only);
    ctx.insert("min_price", &min_shown);
    ctx.insert("max_price", &max_shown);
    ctx.insert("estimated", &estimated);
    ctx.insert("over", &over);
    ctx.insert("word_beginnings", &prefix);
    ctx.insert("instead", &cards.cards(&instead)?);
    // An empty page offers to drop what narrowed it: the category, the
    // stock filter.
    let mut widen: Vec<(String, String)> = Vec::new();
    if page.count == 0 {
        let q = query.as_deref().unwrap_or("");
        let link = |path: String, in_stock: bool| -> String {
            let mut pairs = Vec::new();
            if !q.is_empty() {
                pairs.push(("q", q));
            }
            if in_stock {
                pairs.push(("in_stock", "1"));
            }
            match encode_query(&pairs) {
                found if found.is_empty() => path,
                found => format!("{path}?{found}"),
            }
        };
        if current.is_some() {
            let label = if q.is_empty() {
                "Look through every category".to_string()
            } else {
                format!("Search every category for “{q}”")
            };
            widen.push((label, link(rq.url("products:list", &[])?, in_stock_only)));
        }
        if in_stock_only {
            widen.push((
                "Include products that are sold out".to_string(),
                link(own_path.clone(), false),
            ));
        }
    }
    ctx.insert("widen", &widen);
    ctx.insert(
        "chosen_count",
        &(chosen.len() + usize::from(min_price.is_some() || max_price.is_some())),
    );
    ctx.insert("in_stock_count", &found.counts.as_ref().map(|c| c.in_stock));
    ctx.insert("chosen_options", &chosen);
    rq.render("products/list.html", ctx)
}

/// What a product page tells search engines and link previews: its
/// canonical URL, a description, a picture, and schema.org `Product`
/// (with its `Offer`) and `BreadcrumbList` as JSON-LD.
#[derive(Clone, serde::Serialize)]
struct Seo {
    /// Shown unescaped (`safe`): built here from the site's URL and a
    /// reversed route, never from what a user typed.
    canonical: String,
    description: String,
    image: Option<String>,
    json_ld: String,
}

fn seo(
    rq: &RequestContext,
    product: &Product,
    trail: &[Crumb<'_>],
    images: &[crate::images::ProductImage],
    variants: &[crate::variants::Variant],
) -> Result<Seo, AppError> {
    let base = rq.config.site_url.trim_end_matches('/');
    let canonical = format!("{base}{}", product_url(rq, product.id, &product.slug)?);
    let text: String = product
        .description
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let description = if text.chars().count() > 160 {
        let cut: String = text.chars().take(157).collect();
        format!("{}…", cut.trim_end())
    } else if text.is_empty() {
        format!("{} from Demo Shop.", product.name)
    } else {
        text
    };
    let image = images
        .first()
        .map(|i| format!("{base}/media/{}", i.large_path));
    let price = product.price();
    let availability = |in_stock: bool| {
        if in_stock {
            "https://schema.org/InStock"
        } else {
            "https://schema.org/OutOfStock"
        }
    };
    // One offer per variant, priced and stocked as it is.
    let offers = if variants.is_empty() {
        serde_json::json!({
            "@type": "Offer",
            "price": price.amount().to_string(),
            "priceCurrency": price.currency().code(),
            "availability": availability(product.stock > 0),
            "url": canonical,
        })
    } else {
        let high = variants.iter().map(|v| v.price).max_by_key(|m| m.minor());
        serde_json::json!({
            "@type": "AggregateOffer",
            "lowPrice": price.amount().to_string(),
            "highPrice": high.unwrap_or(price).amount().to_string(),
            "priceCurrency": price.currency().code(),
            "offerCount": variants.len(),
            "offers": variants.iter().map(|v| serde_json::json!({
                "@type": "Offer",
                "sku": v.sku,
                "name": v.label,
                "price": v.price.amount().to_string(),
                "priceCurrency": v.price.currency().code(),
                "availability": availability(v.in_stock),
                "url": format!("{canonical}?variant={}", v.id),
            })).collect::<Vec<_>>(),
        })
    };
    let ld = serde_json::json!([
        {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": product.name,
            "sku": product.sku,
            "description": description,
            "image": image.iter().collect::<Vec<_>>(),
            "url": canonical,
            "offers": offers,
            "aggregateRating": crate::reviews::Rating::of(product.rating_count, product.rating_sum)
                .map(|r| serde_json::json!({
                    "@type": "AggregateRating",
                    "ratingValue": r.average,
                    "reviewCount": r.count,
                    "bestRating": 5,
                    "worstRating": 1,
                })),
        },
        {
            "@context": "https://schema.org",
            "@type": "BreadcrumbList",
            "itemListElement": trail
                .iter()
                .map(|c| (c.name, format!("{base}{}", c.url)))
                .chain([(product.name.as_str(), canonical.clone())])
                .enumerate()
                .map(|(i, (name, item))| serde_json::json!({
                    "@type": "ListItem", "position": i + 1, "name": name, "item": item,
                }))
                .collect::<Vec<_>>(),
        },
    ]);
    let mut ld = ld;
    if let Some(product) = ld[0].as_object_mut() {
        if product["aggregateRating"].is_null() {
            product.remove("aggregateRating");
        }
    }
    // Inside <script>: no "</script>" or "<!--" may come out of a name.
    let json_ld = ld
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    Ok(Seo {
        canonical,
        description,
        image,
        json_ld,
    })
}

/// A product page's URL: its id, then its slug for people and search
/// engines to read.
pub fn product_url(rq: &RequestContext, id: i64, slug: &str) -> Result<String, AppError> {
    // A product saved without a slug still has a page.
    let slug = if slug.is_empty() { "-" } else { slug };
    rq.url(
        "products:detail",
        &[("id", &id.to_string()), ("slug", slug)],
    )
}

/// 301 to `to`, keeping the request's query string (campaign tags on an
/// old link).
fn permanent_redirect(rq: &RequestContext, to: &str) -> HttpResponse {
    let location = match rq.req.query_string() {
        "" => to.to_string(),
        q => format!("{to}?{q}"),
    };
    HttpResponse::MovedPermanently()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

/// `k=v&k=v`, encoded.
fn encode_query(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// `/products/<id>/`: the product's page moved under its slug.
pub async fn detail_by_id(
    rq: RequestContext,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let product = rq
        .db(move |conn| Ok(Product::find_active(conn, id)?.0))
        .await?;
    Ok(permanent_redirect(
        &rq,
        &product_url(&rq, id, &product.slug)?,
    ))
}

pub async fn detail(
    rq: RequestContext,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, slug) = path.into_inner();
    // Like Django's <int:id>: anything but a number is simply not a page.
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    product_page(rq, id, Some(slug), None).await
}

/// Where the signed-in shopper stands with reviewing a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum ReviewState {
    SignedOut,
    NotBought,
    Reviewed,
    CanReview,
}

/// `POST /products/<id>/<slug>/review/`: a buyer's review.
pub async fn review(
    rq: RequestContext,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let id: i64 = path.0.parse().map_err(|_| AppError::NotFound)?;
    let Some(user) = site_core::http::auth::current_user(&rq.session) else {
        let here = rq.url("products:detail_by_id", &[("id", &id.to_string())])?;
        let login = rq.url("accounts:login", &[])?;
        let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
        return Ok(redirect(&format!("{login}?next={next}")));
    };
    let parsed = ReviewForm::parse(
        form.get("rating").map(String::as_str),
        form.get("title").map(String::as_str),
        form.get("body").map(String::as_str),
    );
    let posted = match parsed {
        Ok(review) => {
            // One trip: the review, and the slug of the page to go back to.
            let (saved, slug) = rq
                .db(move |conn| {
                    let saved = match reviews::submit(conn, id, user.id, &review) {
                        Ok(_) => Ok(()),
                        Err(reviews::SubmitError::Db(e)) => return Err(e.into()),
                        Err(refused) => Err(refused.to_string()),
                    };
                    Ok((saved, Product::find_active(conn, id)?.0.slug))
                })
                .await?;
            let back = format!("{}#reviews", product_url(&rq, id, &slug)?);
            match saved {
                Ok(()) => {
                    // The reviewer sees it at once, not after the cache.
                    cache(&rq)?.changes().note();
                    rq.flash(Level::Success, "Thank you: your review is on the page.")
                }
                Err(reason) => rq.flash(Level::Error, reason),
            }
            return Ok(redirect(&back));
        }
        Err(errors) => {
            let mut state = FormState::new(form.into_inner());
            for (field, message) in errors {
                state.add_error(field, message);
            }
            state
        }
    };
    product_page(rq, id, None, Some(posted)).await
}

/// What a product page shows every shopper alike: read in one trip, and
/// kept for the catalogue cache's TTL (`CatalogueCache::product_page`).
pub struct ProductPage {
    product: Product,
    category: Category,
    /// Its variants on sale (empty unless `has_variants`).
    variants: Vec<crate::variants::Variant>,
    related: Vec<CardRow>,
    /// Its own pictures, and those of each variant that has some.
    images: Vec<crate::images::ProductImage>,
    variant_images: HashMap<i64, Vec<crate::images::ProductImage>>,
    /// Its category's ancestors, outermost first.
    above: Vec<Category>,
    /// The newest visible reviews.
    shown: Vec<reviews::Review>,
    /// What search engines are told of the page with no variant picked,
    /// made once.
    seo: std::sync::OnceLock<Seo>,
}

/// A product id's page, or, for a variant, its product's (to redirect to).
pub enum Loaded {
    Page(Box<ProductPage>),
    VariantOf(i64, String),
}

impl ProductPage {
    fn load(conn: &mut DbConn, id: i64, cache: &CatalogueCache) -> Result<Loaded, AppError> {
        let (product, category) = Product::find_active(conn, id)?;
        if let Some(parent) = product.parent_id {
            let (parent, _) = Product::find_active(conn, parent)?;
            return Ok(Loaded::VariantOf(parent.id, parent.slug));
        }
        let variants = if product.has_variants {
            crate::variants::of_product(conn, id, false)?
        } else {
            Vec::new()
        };
        let related = Product::related(conn, &product, RELATED)?;
        let images = crate::images::ProductImage::for_product(conn, id)?;
        let mut variant_images: HashMap<i64, Vec<crate::images::ProductImage>> = HashMap::new();
        if !variants.is_empty() {
            let ids: Vec<i64> = variants.iter().map(|v| v.id).collect();
            for image in crate::images::ProductImage::for_products(conn, &ids)? {
                variant_images
                    .entry(image.product_id)
                    .or_default()
                    .push(image);
            }
        }
        // Only a nested category needs the (cached) list for its trail.
        let above: Vec<Category> = match category.parent_id {
            Some(_) => {
                let all = cache.categories(conn)?;
                Tree::new(&all)
                    .ancestors(category.id)
                    .into_iter()
                    .cloned()
                    .collect()
            }
            None => Vec::new(),
        };
        // Reviews cost a query only where there are some to show.
        let shown = if product.rating_count > 0 {
            reviews::shown(conn, id, reviews::SHOWN)?
        } else {
            Vec::new()
        };
        Ok(Loaded::Page(Box::new(ProductPage {
            product,
            category,
            variants,
            related,
            images,
            variant_images,
            above,
            shown,
            seo: std::sync::OnceLock::new(),
        })))
    }
}

/// The product page; `slug` (when given) must be the product's own, and
/// `posted` is a review form to show again with its errors.
async fn product_page(
    rq: RequestContext,
    id: i64,
    slug: Option<String>,
    posted: Option<FormState>,
) -> Result<HttpResponse, AppError> {
    let cache = cache(&rq)?;
    let user = site_core::http::auth::current_user(&rq.session).map(|u| u.id);
    let picked: Option<i64> = url::form_urlencoded::parse(rq.req.query_string().as_bytes())
        .find(|(k, _)| k == "variant")
        .and_then(|(_, v)| v.parse().ok());
    // A guest's page, kept a moment ago, needs no trip to the database's
    // threads at all.
    let kept = user
        .is_none()
        .then(|| cache.kept_product_page(id))
        .flatten();
    let loaded = match kept {
        Some(page) => (page, None, ReviewState::SignedOut),
        None => {
            rq.db(move |conn| {
                let page = cache.product_page(id, || ProductPage::load(conn, id, &cache))?;
                if let Loaded::VariantOf(..) = page.as_ref() {
                    return Ok((page, None, ReviewState::SignedOut));
                }
                // What only this shopper sees: whether they may review it.
                let (mine, state) = match user {
                    None => (None, ReviewState::SignedOut),
                    Some(user) => match reviews::of_user(conn, user, id)? {
                        Some(r) => (Some(r), ReviewState::Reviewed),
                        None if reviews::bought(conn, user, id)? => (None, ReviewState::CanReview),
                        None => (None, ReviewState::NotBought),
                    },
                };
                Ok((page, mine, state))
            })
            .await?
        }
    };
    let (page, mine, state) = loaded;
    let page = match page.as_ref() {
        Loaded::Page(page) => page.as_ref(),
        // A variant's page is its product's, with it picked.
        Loaded::VariantOf(parent, slug) => {
            let to = format!("{}?variant={id}", product_url(&rq, *parent, slug)?);
            return Ok(redirect(&to));
        }
    };
    let ProductPage {
        product,
        category,
        variants,
        related,
        images,
        variant_images,
        above,
        shown,
        seo: seo_once,
    } = page;
    // The picked variant (from the URL, else the only one): its price,
    // stock, SKU and pictures (if it has its own) are the page's.
    let chosen =
        picked
            .and_then(|v| variants.iter().find(|x| x.id == v))
            .or(match variants.as_slice() {
                [only] => Some(only),
                _ => None,
            });
    let images = chosen
        .and_then(|v| variant_images.get(&v.id))
        .unwrap_or(images);
    // A renamed product's old slug, or a mistyped one: one URL per page.
    let own = if product.slug.is_empty() {
        "-"
    } else {
        product.slug.as_str()
    };
    if slug.as_deref().is_some_and(|s| s != own) {
        return Ok(permanent_redirect(
            &rq,
            &product_url(&rq, id, &product.slug)?,
        ));
    }
    let cards = Cards::new(&rq);
    let related: Vec<ProductCard> = related
        .iter()
        .map(|r| cards.card(r, &category.name))
        .collect::<Result<_, _>>()?;
    let path: Vec<&Category> = above.iter().chain([category]).collect();
    let crumbs = cards.crumbs(&path)?;
    let mut ctx = Context::new();
    let made;
    let seo: &Seo = match (chosen, seo_once.get()) {
        (None, Some(kept)) => kept,
        _ => {
            made = seo(&rq, product, &crumbs, images, variants)?;
            if chosen.is_none() {
                let _ = seo_once.set(made.clone());
            }
            &made
        }
    };
    ctx.insert("seo", seo);
    ctx.insert("crumbs", &crumbs);
    ctx.insert("reviews", &shown);
    ctx.insert("my_review", &mine);
    ctx.insert("review_state", &state);
    ctx.insert(
        "review_form",
        &posted.unwrap_or_else(|| FormState::new(HashMap::new())),
    );
    ctx.insert(
        "review_url",
        &rq.url("products:review", &[("id", &id.to_string()), ("slug", own)])?,
    );
    let here: String =
        url::form_urlencoded::byte_serialize(product_url(&rq, id, &product.slug)?.as_bytes())
            .collect();
    ctx.insert(
        "login_url",
        &format!("{}?next={here}", rq.url("accounts:login", &[])?),
    );
    ctx.insert("product", &product.view(category));
    ctx.insert(
        "varied_prices",
        &variants
            .iter()
            .any(|v| v.price.minor() != product.price_minor),
    );
    ctx.insert("variants", &variants);
    ctx.insert("low_stock", &LOW_STOCK);
    ctx.insert("chosen", &chosen);
    ctx.insert("images", &images);
    ctx.insert("category", &category);
    ctx.insert("related", &related);
    ctx.insert(
        "max_quantity",
        &chosen
            .map_or(product.stock, |v| v.stock)
            .clamp(1, site_core::forms::Quantity::MAX),
    );
    rq.render("products/detail.html", ctx)
}

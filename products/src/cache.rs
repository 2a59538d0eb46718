//! A short-lived cache of what every listing reads and staff rarely change:
//! the category list and listing counts. Entries expire after the TTL
//! (`SHOP_CATALOGUE_CACHE_SECONDS`), so every app server sees a change
//! within it without any invalidation messages; a TTL of zero turns the
//! cache off. A search is kept by its words and filters, like a listing.
//!
//! Two tiers: this process's memory, then, with `REDIS_URL`, Redis
//! ([`SharedCache`]), so what one server counted the others reuse: at a
//! million products a count costs far more than the round trip. A page
//! fills the memory tier from Redis before its database work
//! ([`CatalogueCache::fetch_shared`]) and shares what it computed after
//! ([`CatalogueCache::share`]). Values keep the time they were computed
//! across tiers, so no copy outlives the TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use site_core::cache::{Changes, SharedCache};
use site_core::db::DbConn;

use crate::domain::{Listing, COUNT_CAP};
use crate::facets::Found;
use crate::models::{Category, Product};
use crate::views::Loaded;
use site_core::AppError;

type CountKey = (Option<i64>, bool);

/// A listing's size: exact, or an estimate of a catalogue too large to
/// count on every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub n: i64,
    pub estimated: bool,
    /// More than `n` (the cap): counting further would read every match
    /// of a filter no index answers alone; pages stop at the cap.
    #[serde(default)]
    pub over: bool,
}

impl Count {
    pub fn exact(n: i64) -> Self {
        Count {
            n,
            estimated: false,
            over: false,
        }
    }

    /// More than the cap: counted no further.
    pub fn over_cap() -> Self {
        Count {
            n: COUNT_CAP,
            estimated: false,
            over: true,
        }
    }

    /// Too many to count or show every page of.
    pub fn uncounted(&self) -> bool {
        self.estimated || self.over
    }
}

/// What is kept of a category's (or the whole list's) listing: its size,
/// and its facets once a page has counted them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Listed {
    count: Count,
    #[serde(default)]
    facets: Option<Arc<Found>>,
}

/// A value in memory: when it was computed (and from the catalogue as it
/// was after how many changes, `Changes::generation`), and whether Redis
/// has it.
#[derive(Clone)]
struct Entry<T> {
    at: Instant,
    generation: u64,
    value: T,
    shared: bool,
}

impl<T> Entry<T> {
    /// A value computed here from the catalogue at `generation` (taken
    /// before reading it).
    fn new(value: T, generation: u64) -> Self {
        Entry {
            at: Instant::now(),
            generation,
            value,
            shared: false,
        }
    }

    /// A value another server computed `age` ago.
    fn from_shared(value: T, age: Duration, generation: u64) -> Option<Self> {
        Some(Entry {
            at: Instant::now().checked_sub(age)?,
            generation,
            value,
            shared: true,
        })
    }
}

/// How many product pages' data one process keeps (the most used ones):
/// a few megabytes, however large the catalogue.
const PAGES_KEPT: usize = 4096;
/// How many rendered fragments of listing pages one process keeps (a
/// page's cards, about 15 KB; its sidebar and filter panel, about 5 KB).
const FRAGMENTS_KEPT: usize = 1024;

const CATEGORIES: &str = "catalogue:categories";

/// The Redis name of a listing's count: by category slug (a page knows the
/// slug before it has the categories), or `all`.
fn count_name(slug: Option<&str>, in_stock_only: bool) -> String {
    format!(
        "catalogue:count:{}:{}",
        slug.map_or("all".to_string(), |s| format!("c-{s}")),
        u8::from(in_stock_only)
    )
}

pub struct CatalogueCache {
    ttl: Duration,
    categories: Mutex<Option<Entry<Arc<Vec<Category>>>>>,
    counts: Mutex<HashMap<CountKey, Entry<Listed>>>,
    /// What product pages show every shopper alike, by product id; kept
    /// in this process only (a page costs a few indexed reads to build).
    pages: quick_cache::sync::Cache<i64, Entry<Arc<Loaded>>>,
    /// Parts of listing pages as rendered HTML (a page's cards, its
    /// sidebar), named after `Listing::cache_key`: the same for every
    /// shopper, and most of a listing's rendering.
    fragments: quick_cache::sync::Cache<String, Entry<Arc<str>>>,
    /// Searches and listings narrowed by price or attribute values, by
    /// `Listing::cache_key`: their count, a search's ranked matches, and
    /// their facets once counted.
    narrowed: quick_cache::sync::Cache<String, Entry<Arc<Narrowed>>>,
    changes: Changes,
}

/// What a search or a narrowed listing found.
#[derive(Clone)]
struct Narrowed {
    count: Count,
    only: Option<Arc<Vec<i64>>>,
    prefix: bool,
    dense: bool,
    facets: Option<Arc<Found>>,
}

impl CatalogueCache {
    pub fn new(ttl: Duration) -> Self {
        CatalogueCache {
            ttl,
            categories: Mutex::new(None),
            counts: Mutex::new(HashMap::new()),
            pages: quick_cache::sync::Cache::new(PAGES_KEPT),
            fragments: quick_cache::sync::Cache::new(FRAGMENTS_KEPT),
            narrowed: quick_cache::sync::Cache::new(FRAGMENTS_KEPT),
            changes: Changes::default(),
        }
    }

    fn fresh<T>(&self, e: &Entry<T>) -> bool {
        e.at.elapsed() < self.ttl && e.generation == self.generation()
    }

    /// What counts the changes to the catalogue (registered as app data,
    /// for the admin's guard to count staff writes).
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// How many changes the catalogue has seen: take it before reading
    /// what is to be kept.
    pub fn generation(&self) -> u64 {
        self.changes.generation()
    }

    /// Part of a listing page as rendered before, when still fresh.
    pub fn fragment(&self, key: &str) -> Option<Arc<str>> {
        self.fragments
            .get(key)
            .filter(|e| self.fresh(e))
            .map(|e| e.value)
    }

    /// Keeps part of a listing page as rendered from what the database
    /// held when this process's catalogue was at `generation`.
    pub fn keep_fragment(&self, key: String, html: Arc<str>, generation: u64) {
        if !self.ttl.is_zero() {
            self.fragments.insert(key, Entry::new(html, generation));
        }
    }

    /// The shared part of product `id`'s page, from memory when it is
    /// fresh, else built by `load` (and kept, unless the cache is off).
    pub fn product_page(
        &self,
        id: i64,
        load: impl FnOnce() -> Result<Loaded, AppError>,
    ) -> Result<Arc<Loaded>, AppError> {
        if let Some(kept) = self.kept_product_page(id) {
            return Ok(kept);
        }
        let generation = self.generation();
        let page = Arc::new(load()?);
        if !self.ttl.is_zero() {
            self.pages.insert(id, Entry::new(page.clone(), generation));
        }
        Ok(page)
    }

    /// A product page's data as kept a moment ago, if it still is.
    pub fn kept_product_page(&self, id: i64) -> Option<Arc<Loaded>> {
        self.pages
            .get(&id)
            .filter(|e| self.fresh(e))
            .map(|e| e.value)
    }

    fn cached_categories(&self) -> Option<Arc<Vec<Category>>> {
        let held = self.categories.lock().unwrap_or_else(|e| e.into_inner());
        held.as_ref()
            .filter(|e| self.fresh(e))
            .map(|e| e.value.clone())
    }

    fn cached_count(&self, key: &CountKey) -> Option<Count> {
        let held = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        held.get(key)
            .filter(|e| self.fresh(e))
            .map(|e| e.value.count)
    }

    /// Fills this process's tier from Redis with what it lacks: the
    /// categories, and the count of the listing of category `slug` (all
    /// products when `None`) a page is about to show. Searches have no
    /// count to fetch (`count: None`).
    pub async fn fetch_shared(
        &self,
        shared: Option<&SharedCache>,
        count: Option<(Option<&str>, bool)>,
    ) {
        let Some(shared) = shared.filter(|_| !self.ttl.is_zero()) else {
            return;
        };
        let mut categories = self.cached_categories();
        if categories.is_none() {
            if let Some(Some((cats, age))) = shared
                .get::<Vec<Category>>(&[CATEGORIES.to_string()])
                .await
                .pop()
            {
                let cats = Arc::new(cats);
                if let Some(entry) = Entry::from_shared(cats.clone(), age, self.generation()) {
                    if self.fresh(&entry) {
                        *self.categories.lock().unwrap_or_else(|e| e.into_inner()) = Some(entry);
                        categories = Some(cats);
                    }
                }
            }
        }
        let (Some((slug, in_stock)), Some(categories)) = (count, categories) else {
            return;
        };
        let category_id = match slug {
            None => None,
            Some(s) => match categories.iter().find(|c| c.slug == s) {
                Some(c) => Some(c.id),
                None => return,
            },
        };
        let key = (category_id, in_stock);
        if self.cached_count(&key).is_some() {
            return;
        }
        if let Some(Some((n, age))) = shared
            .get::<Listed>(&[count_name(slug, in_stock)])
            .await
            .pop()
        {
            if let Some(entry) =
                Entry::from_shared(n, age, self.generation()).filter(|e| self.fresh(e))
            {
                self.counts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, entry);
            }
        }
    }

    /// Puts in Redis what this process computed and has not shared yet.
    pub async fn share(&self, shared: Option<&SharedCache>) {
        let Some(shared) = shared.filter(|_| !self.ttl.is_zero()) else {
            return;
        };
        let categories = {
            let mut held = self.categories.lock().unwrap_or_else(|e| e.into_inner());
            held.as_mut().and_then(|e| {
                let new = !e.shared && self.fresh(e);
                e.shared = true;
                new.then(|| (e.value.clone(), e.at.elapsed()))
            })
        };
        let counts: Vec<(CountKey, Listed, Duration)> = {
            let mut held = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            held.iter_mut()
                .filter(|(_, e)| !e.shared && self.fresh(e))
                .map(|(k, e)| {
                    e.shared = true;
                    (*k, e.value.clone(), e.at.elapsed())
                })
                .collect()
        };
        if let Some((cats, age)) = &categories {
            shared
                .put(&[(CATEGORIES.to_string(), cats.as_ref(), *age)], self.ttl)
                .await;
        }
        if counts.is_empty() {
            return;
        }
        let Some(cats) = categories.map(|c| c.0).or_else(|| self.cached_categories()) else {
            return;
        };
        let named: Vec<(String, Listed, Duration)> = counts
            .into_iter()
            .filter_map(|((category, in_stock), n, age)| {
                let slug = match category {
                    None => None,
                    Some(id) => Some(cats.iter().find(|c| c.id == id)?.slug.as_str()),
                };
                Some((count_name(slug, in_stock), n, age))
            })
            .collect();
        shared.put(&named, self.ttl).await;
    }

    /// All categories, ordered by name.
    pub fn categories(&self, conn: &mut DbConn) -> QueryResult<Arc<Vec<Category>>> {
        if let Some(cats) = self.cached_categories() {
            return Ok(cats);
        }
        let generation = self.generation();
        let cats = Arc::new(Category::all(conn)?);
        if !self.ttl.is_zero() {
            *self.categories.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Entry::new(cats.clone(), generation));
        }
        Ok(cats)
    }

    /// How many products a listing has. A search is counted by finding
    /// its matches once (see `Product::search_once`, which also narrows
    /// the listing to them); the whole catalogue is estimated past the cap;
    /// a category is counted from its index; anything narrowed further
    /// (in stock, a price, attribute values) up to the cap only.
    pub fn count(&self, conn: &mut DbConn, listing: &mut Listing) -> QueryResult<Count> {
        if listing.query.is_some() || listing.priced() {
            let key = listing.cache_key();
            if let Some(e) = self.narrowed.get(&key).filter(|e| self.fresh(e)) {
                let found = &e.value;
                listing.only = found.only.clone();
                (listing.prefix, listing.dense) = (found.prefix, found.dense);
                return Ok(found.count);
            }
            let generation = self.generation();
            let count = if listing.query.is_some() {
                match Product::search_once(conn, listing)? {
                    Some(n) => Count::exact(n),
                    None => Count::over_cap(),
                }
            } else {
                Product::capped_count(conn, listing)?
            };
            listing.dense = count.over;
            if !self.ttl.is_zero() {
                let found = Narrowed {
                    count,
                    only: listing.only.clone(),
                    prefix: listing.prefix,
                    dense: listing.dense,
                    facets: None,
                };
                self.narrowed
                    .insert(key, Entry::new(Arc::new(found), generation));
            }
            return Ok(count);
        }
        let key = (listing.category_id, listing.in_stock_only);
        if let Some(n) = self.cached_count(&key) {
            return Ok(n);
        }
        let generation = self.generation();
        let n = if listing.is_everything() {
            let (n, estimated) = Product::everything_count(conn, listing)?;
            Count {
                n,
                estimated,
                over: false,
            }
        } else if listing.in_stock_only {
            Product::capped_count(conn, listing)?
        } else {
            Count::exact(Product::listing_count(conn, listing)?)
        };
        if !self.ttl.is_zero() {
            self.counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(
                    key,
                    Entry::new(
                        Listed {
                            count: n,
                            facets: None,
                        },
                        generation,
                    ),
                );
        }
        Ok(n)
    }

    /// The facets of `listing` (of `count` products): kept with the count
    /// of a category or the whole list (and shared through Redis with it),
    /// counted afresh for a search or a narrowed list.
    pub fn facets(
        &self,
        conn: &mut DbConn,
        listing: &Listing,
        count: Count,
        unit: i64,
    ) -> QueryResult<Arc<Found>> {
        let compute = |conn: &mut DbConn| {
            crate::facets::found(conn, listing, count.n, count.uncounted(), unit)
        };
        if self.ttl.is_zero() {
            return Ok(Arc::new(compute(conn)?));
        }
        if listing.query.is_some() || listing.priced() {
            // Kept with the count, as old as it.
            let key = listing.cache_key();
            let held = self.narrowed.get(&key).filter(|e| self.fresh(e));
            if let Some(found) = held.as_ref().and_then(|e| e.value.facets.clone()) {
                return Ok(found);
            }
            let found = Arc::new(compute(conn)?);
            if let Some(e) = held {
                let value = Arc::new(Narrowed {
                    facets: Some(found.clone()),
                    ..e.value.as_ref().clone()
                });
                self.narrowed.insert(key, Entry { value, ..e });
            }
            return Ok(found);
        }
        let key = (listing.category_id, listing.in_stock_only);
        {
            let held = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(found) = held
                .get(&key)
                .filter(|e| self.fresh(e))
                .and_then(|e| e.value.facets.clone())
            {
                return Ok(found);
            }
        }
        let generation = self.generation();
        let found = Arc::new(compute(conn)?);
        let mut held = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match held.get_mut(&key).filter(|e| self.fresh(e)) {
            // Kept with the count, as old as it; shared again with them.
            Some(e) => {
                e.value.facets = Some(found.clone());
                e.shared = false;
            }
            None => {
                held.insert(
                    key,
                    Entry::new(
                        Listed {
                            count,
                            facets: Some(found.clone()),
                        },
                        generation,
                    ),
                );
            }
        }
        Ok(found)
    }
}

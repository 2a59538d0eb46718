//! A short-lived cache of what every listing reads and staff rarely change:
//! the category list and listing counts. Entries expire after the TTL
//! (`SHOP_CATALOGUE_CACHE_SECONDS`), so every app server sees a change
//! within it without any invalidation messages; a TTL of zero turns the
//! cache off. Searches are never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::QueryResult;
use site_core::db::DbConn;

use crate::domain::Listing;
use crate::models::{Category, Product};

type CountKey = (Option<i64>, bool);

/// A listing's size: exact, or an estimate of a catalogue too large to
/// count on every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub n: i64,
    pub estimated: bool,
}

pub struct CatalogueCache {
    ttl: Duration,
    categories: Mutex<Option<(Instant, Arc<Vec<Category>>)>>,
    counts: Mutex<HashMap<CountKey, (Instant, Count)>>,
}

impl CatalogueCache {
    pub fn new(ttl: Duration) -> Self {
        CatalogueCache {
            ttl,
            categories: Mutex::new(None),
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn fresh(&self, at: Instant) -> bool {
        at.elapsed() < self.ttl
    }

    /// All categories, ordered by name.
    pub fn categories(&self, conn: &mut DbConn) -> QueryResult<Arc<Vec<Category>>> {
        if let Some((at, cats)) = self
            .categories
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if self.fresh(*at) {
                return Ok(cats.clone());
            }
        }
        let cats = Arc::new(Category::all(conn)?);
        if !self.ttl.is_zero() {
            *self.categories.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), cats.clone()));
        }
        Ok(cats)
    }

    /// How many products a listing has. A search is counted by finding
    /// its matches once (see `Product::search_once`, which also narrows
    /// the listing to them); the whole catalogue is estimated past the cap.
    pub fn count(&self, conn: &mut DbConn, listing: &mut Listing) -> QueryResult<Count> {
        let exact = |n| Count {
            n,
            estimated: false,
        };
        if listing.query.is_some() {
            return Ok(match Product::search_once(conn, listing)? {
                Some(n) => exact(n),
                None => exact(Product::listing_count(conn, listing)?),
            });
        }
        let key = (listing.category_id, listing.in_stock_only);
        if let Some((at, n)) = self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            if self.fresh(*at) {
                return Ok(*n);
            }
        }
        let n = if listing.is_everything() {
            let (n, estimated) = Product::everything_count(conn, listing)?;
            Count { n, estimated }
        } else {
            exact(Product::listing_count(conn, listing)?)
        };
        if !self.ttl.is_zero() {
            self.counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, (Instant::now(), n));
        }
        Ok(n)
    }
}

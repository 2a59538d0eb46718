//! The cache app servers share: Redis, when `REDIS_URL` is set, behind
//! each cache's own memory tier (the catalogue's, `products::cache`):
//! what one server computed (a listing's count at a million products, the
//! category list) the others reuse until it expires, instead of each
//! computing it once per period. Every value carries the time it was
//! computed, so a value read from Redis into a local cache is no fresher
//! than it was: the TTL bounds how stale any server's copy is.
//!
//! A cache must never make a page fail: Redis errors and slow answers
//! (over 250 ms) are logged and the caller computes the value itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::http::RequestContext;

/// How many times the catalogue this app shows has been changed through
/// it: a staff member's write in the admin (counted by the admin's guard
/// once it succeeded), a posted review. Memory caches keep the number they
/// were computed under and drop a value computed before a change, so
/// whoever made it sees it on the next page; other app servers see it
/// within their TTL. One per app (the catalogue registers it as app data),
/// so apps in one process, as tests run, do not drop each other's.
#[derive(Clone, Default)]
pub struct Changes(Arc<AtomicU64>);

impl Changes {
    /// Marks a change.
    pub fn note(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// How many changes there have been.
    pub fn generation(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// How long a page waits for the cache before computing the value itself.
const PATIENCE: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct SharedCache {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

#[derive(Serialize, Deserialize)]
struct Stamped<T> {
    /// When the value was computed, in Unix milliseconds.
    at_ms: u128,
    value: T,
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl SharedCache {
    /// The shared tier, when the shop has Redis.
    pub fn of(rq: &RequestContext) -> Option<SharedCache> {
        Some(SharedCache {
            conn: rq.redis()?,
            prefix: format!("{}cache:", rq.config.redis_prefix),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The values under `names` (one round trip), each with how long ago it
    /// was computed; `None` for a value missing, expired or unreadable.
    pub async fn get<T: DeserializeOwned>(&self, names: &[String]) -> Vec<Option<(T, Duration)>> {
        let none = || names.iter().map(|_| None).collect();
        if names.is_empty() {
            return none();
        }
        let keys: Vec<String> = names.iter().map(|n| self.key(n)).collect();
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("MGET");
        cmd.arg(&keys);
        let found = match tokio::time::timeout(
            PATIENCE,
            cmd.query_async::<Vec<Option<String>>>(&mut conn),
        )
        .await
        {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "shared cache: Redis did not answer; computing here");
                return none();
            }
            Err(_) => {
                tracing::warn!("shared cache: Redis was slow; computing here");
                return none();
            }
        };
        let now = unix_ms();
        found
            .into_iter()
            .map(|v| {
                let s: Stamped<T> = serde_json::from_str(&v?).ok()?;
                let age = now.saturating_sub(s.at_ms);
                Some((
                    s.value,
                    Duration::from_millis(age.try_into().unwrap_or(u64::MAX)),
                ))
            })
            .collect()
    }

    /// Stores each `(name, value, age)` until it is `ttl` old.
    pub async fn put<T: Serialize>(&self, entries: &[(String, T, Duration)], ttl: Duration) {
        let now = unix_ms();
        let mut pipe = redis::pipe();
        let mut any = false;
        for (name, value, age) in entries {
            let Some(left) = ttl.checked_sub(*age).filter(|d| !d.is_zero()) else {
                continue;
            };
            let stamped = Stamped {
                at_ms: now.saturating_sub(age.as_millis()),
                value,
            };
            let Ok(json) = serde_json::to_string(&stamped) else {
                continue;
            };
            pipe.cmd("SET")
                .arg(self.key(name))
                .arg(json)
                .arg("PX")
                .arg(left.as_millis().max(1) as u64)
                .ignore();
            any = true;
        }
        if !any {
            return;
        }
        let mut conn = self.conn.clone();
        match tokio::time::timeout(PATIENCE, pipe.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "shared cache: Redis did not store"),
            Err(_) => tracing::warn!("shared cache: Redis was slow to store"),
        }
    }
}

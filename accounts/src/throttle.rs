//! Login throttling: after too many failed logins for one account, or from
//! one client address, within a window, logins are refused for a while,
//! with the same message whether or not the account exists.
//!
//! Failures are counted where every app server sees the same count (a
//! per-process limiter would give an attacker one allowance per process):
//! in Redis when the shop has it (REDIS_URL), as a sorted set of failure
//! times per account and per client address that expires with the window,
//! so a guess costs no database write; otherwise, and whenever Redis does
//! not answer, as rows in the database. The admin shows and clears both.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use site_core::db::DbConn;
use site_core::http::{AppError, RequestContext};
use site_core::schema::accounts_login_failure as f;

/// Failures allowed per account in the window.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failures allowed per client address in the window (higher: many people
/// can share one address).
pub const CLIENT_LIMIT: i64 = 20;
pub const WINDOW_MINUTES: i64 = 15;

pub fn window() -> TimeDelta {
    TimeDelta::minutes(WINDOW_MINUTES)
}

/// Counts a password (or code) attempt for `account` from `client`, then
/// says whether it may go ahead: in Redis when the shop has it, else in
/// the database ([`attempt`]).
pub async fn attempt_for(
    rq: &RequestContext,
    account: &str,
    client: &str,
) -> Result<bool, AppError> {
    if let Some(conn) = rq.redis() {
        match count_in_redis(conn, &rq.config.redis_prefix, account, client).await {
            Ok((by_account, by_client)) => {
                return Ok(by_account <= ACCOUNT_LIMIT && by_client <= CLIENT_LIMIT)
            }
            Err(e) => {
                tracing::warn!(error = %e, "Redis did not count a login attempt; counting in the database")
            }
        }
    }
    let (account, client) = (account.to_string(), client.to_string());
    rq.db(move |conn| Ok(attempt(conn, &account, &client)?))
        .await
}

/// A success (or a new password) forgets the account's failures: in
/// Redis here; the database's are cleared by [`clear_account`] in the
/// caller's own transaction.
pub async fn forget(rq: &RequestContext, account: &str) {
    let Some(mut conn) = rq.redis() else { return };
    let key = account_key(&rq.config.redis_prefix, account);
    let deleted = tokio::time::timeout(
        Duration::from_secs(1),
        redis::cmd("DEL").arg(&key).query_async::<i64>(&mut conn),
    )
    .await;
    if !matches!(deleted, Ok(Ok(_))) {
        tracing::warn!("Redis did not clear an account's failed logins");
    }
}

fn account_key(prefix: &str, account: &str) -> String {
    format!("{prefix}login-failures:account:{account}")
}

fn client_key(prefix: &str, client: &str) -> String {
    format!("{prefix}login-failures:client:{client}")
}

/// Adds one failure now to the account's and the client's sets, drops
/// those older than the window, and returns how many are left in each:
/// one atomic round trip.
async fn count_in_redis(
    mut conn: redis::aio::ConnectionManager,
    prefix: &str,
    account: &str,
    client: &str,
) -> anyhow::Result<(i64, i64)> {
    let now = chrono::Utc::now().timestamp_micros();
    let since = now - window().num_microseconds().unwrap_or(i64::MAX);
    // Two failures in the same microsecond are still two.
    let member = format!("{now}-{}", rand::random::<u32>());
    let mut pipe = redis::pipe();
    pipe.atomic();
    for key in [account_key(prefix, account), client_key(prefix, client)] {
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(since)
            .ignore()
            .cmd("ZADD")
            .arg(&key)
            .arg(now)
            .arg(&member)
            .ignore()
            .cmd("ZCARD")
            .arg(&key)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(WINDOW_MINUTES * 60)
            .ignore();
    }
    let counted = tokio::time::timeout(
        Duration::from_secs(1),
        pipe.query_async::<(i64, i64)>(&mut conn),
    )
    .await
    .map_err(|_| anyhow::anyhow!("no answer within 1 s"))??;
    Ok(counted)
}

/// What the admin reads and clears (synchronously, on the blocking pool):
/// the database's failures, and Redis's when the shop has it.
#[derive(Clone, Default)]
pub struct Failures {
    redis: Option<Arc<(redis::Client, String)>>,
}

impl Failures {
    pub fn new(config: &site_core::Config) -> Failures {
        let redis = config
            .redis_url
            .as_deref()
            .and_then(|url| redis::Client::open(url).ok())
            .map(|client| Arc::new((client, config.redis_prefix.clone())));
        Failures { redis }
    }

    fn redis(&self) -> Option<(redis::Connection, &str)> {
        let (client, prefix) = self.redis.as_deref()?;
        match client.get_connection_with_timeout(Duration::from_secs(1)) {
            Ok(conn) => Some((conn, prefix)),
            Err(e) => {
                tracing::warn!(error = %e, "Redis did not answer; showing the database's failed logins only");
                None
            }
        }
    }

    /// Failed logins in the window for each of `accounts` (those with
    /// any): the database's and Redis's together.
    pub fn failures_of(
        &self,
        conn: &mut DbConn,
        accounts: &[String],
    ) -> QueryResult<Vec<(String, i64)>> {
        let mut found = failures_of(conn, accounts)?;
        let Some((mut redis, prefix)) = self.redis().filter(|_| !accounts.is_empty()) else {
            return Ok(found);
        };
        let since = (chrono::Utc::now() - window()).timestamp_micros();
        let mut pipe = redis::pipe();
        for account in accounts {
            pipe.cmd("ZCOUNT")
                .arg(account_key(prefix, account))
                .arg(since)
                .arg("+inf");
        }
        match pipe.query::<Vec<i64>>(&mut redis) {
            Ok(counts) => {
                for (account, n) in accounts.iter().zip(counts).filter(|(_, n)| *n > 0) {
                    match found.iter_mut().find(|(a, _)| a == account) {
                        Some((_, total)) => *total += n,
                        None => found.push((account.clone(), n)),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "Redis did not count failed logins"),
        }
        Ok(found)
    }

    /// Clears the failures of `accounts` in both places (one Redis
    /// round trip for all of them); how many of them had any.
    pub fn clear_accounts(&self, conn: &mut DbConn, accounts: &[String]) -> QueryResult<usize> {
        let mut had: Vec<bool> = accounts
            .iter()
            .map(|a| Ok(clear_account(conn, a)? > 0))
            .collect::<QueryResult<_>>()?;
        if let Some((mut redis, prefix)) = self.redis().filter(|_| !accounts.is_empty()) {
            let mut pipe = redis::pipe();
            for account in accounts {
                pipe.cmd("DEL").arg(account_key(prefix, account));
            }
            match pipe.query::<Vec<i64>>(&mut redis) {
                Ok(deleted) => {
                    for (any, n) in had.iter_mut().zip(deleted) {
                        *any |= n > 0;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "Redis did not clear failed logins"),
            }
        }
        Ok(had.into_iter().filter(|any| *any).count())
    }
}

/// Counts an attempt in the database (see [`attempt_for`]). The attempt
/// is recorded before the check and before the (slow) password hash, so
/// parallel guesses cannot all slip in under the limit; a success clears
/// it ([`clear_account`]).
pub fn attempt(conn: &mut DbConn, account: &str, client: &str) -> QueryResult<bool> {
    diesel::insert_into(f::table)
        .values((
            f::account.eq(account),
            f::client.eq(client),
            f::failed_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    let since = site_core::now() - window();
    let by_account: i64 = f::table
        .filter(f::account.eq(account))
        .filter(f::failed_at.gt(since))
        .count()
        .get_result(conn)?;
    if by_account > ACCOUNT_LIMIT {
        return Ok(false);
    }
    let by_client: i64 = f::table
        .filter(f::client.eq(client))
        .filter(f::failed_at.gt(since))
        .count()
        .get_result(conn)?;
    Ok(by_client <= CLIENT_LIMIT)
}

/// A successful login (or a password reset) clears the account's count.
pub fn clear_account(conn: &mut DbConn, account: &str) -> QueryResult<usize> {
    diesel::delete(f::table.filter(f::account.eq(account))).execute(conn)
}

/// Deletes failures older than the window (the hourly job).
pub fn prune(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(f::table.filter(f::failed_at.le(now - window()))).execute(conn)
}

/// Whether an account with `failures` in the window is refused logins.
pub fn locked(failures: i64) -> bool {
    failures >= ACCOUNT_LIMIT
}

/// Failed logins in the window for each of `accounts` (those with any),
/// in one query.
pub fn failures_of(conn: &mut DbConn, accounts: &[String]) -> QueryResult<Vec<(String, i64)>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let since = site_core::now() - window();
    f::table
        .filter(f::account.eq_any(accounts))
        .filter(f::failed_at.gt(since))
        .group_by(f::account)
        .select((f::account, diesel::dsl::count_star()))
        .load(conn)
}

//! Login throttling: after too many failed logins for one account, or from
//! one client address, within a window, logins are refused for a while,
//! with the same message whether or not the account exists.
//!
//! Failures are rows in the database rather than counters in memory, so
//! every server process (and a restart) sees the same count: a per-process
//! limiter would give an attacker one allowance per process.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use site_core::db::DbConn;
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
/// says whether it may go ahead. The attempt is recorded before the check
/// and before the (slow) password hash, so parallel guesses cannot all
/// slip in under the limit; a success clears it ([`clear_account`]).
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

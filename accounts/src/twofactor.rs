//! Two-factor authentication with time-based one-time codes (TOTP, as in
//! any authenticator app) and single-use recovery codes, shown once and
//! stored only as SHA-256 hashes (they are random, so a fast hash is safe).

use diesel::prelude::*;
use sha2::{Digest, Sha256};
use site_core::db::DbConn;
use site_core::schema::accounts_recovery_code as rc;
use totp_rs::{Algorithm, Secret, TOTP};

pub const ISSUER: &str = "Demo Shop";
pub const RECOVERY_CODES: usize = 10;

/// A fresh base32 secret for enrolment.
pub fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

pub fn totp(secret_b32: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some(ISSUER.to_string()),
        account.to_string(),
    )
    .ok()
}

/// Whether `code` is the current code (or the one just before or after,
/// for clocks a little apart).
pub fn check_code(secret_b32: &str, account: &str, code: &str) -> bool {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    totp(secret_b32, account)
        .and_then(|t| t.check_current(&code).ok())
        .unwrap_or(false)
}

/// The time step (of 30 s) `code` belongs to, among the current one and
/// its neighbours.
fn matching_step(secret_b32: &str, account: &str, code: &str, now: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret_b32, account)?;
    let step = now / 30;
    [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|s| {
            let expected = totp.generate(s * 30);
            subtle_eq(expected.as_bytes(), code.as_bytes())
        })
        .map(|s| s as i64)
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Accepts `code` for the user at most once: the step it belongs to must
/// be later than the last one used (a conditional UPDATE, so two logins
/// racing with one code cannot both pass).
pub fn use_code(
    conn: &mut DbConn,
    user: &crate::User,
    secret_b32: &str,
    code: &str,
) -> QueryResult<bool> {
    use site_core::schema::accounts_user as u;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let Some(step) = matching_step(secret_b32, &user.email, code, now) else {
        return Ok(false);
    };
    let n = diesel::update(
        u::table
            .find(user.id)
            .filter(u::totp_last_step.is_null().or(u::totp_last_step.lt(step))),
    )
    .set(u::totp_last_step.eq(Some(step)))
    .execute(conn)?;
    Ok(n == 1)
}

fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

fn digest(code: &str) -> String {
    hex::encode(Sha256::digest(normalise(code).as_bytes()))
}

/// Replaces the user's recovery codes with new ones; returns them, to
/// show once.
pub fn new_recovery_codes(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<String>> {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let t = site_core::random_token(10).to_lowercase();
            format!("{}-{}", &t[..5], &t[5..])
        })
        .collect();
    diesel::delete(rc::table.filter(rc::user_id.eq(user_id))).execute(conn)?;
    for c in &codes {
        diesel::insert_into(rc::table)
            .values((rc::user_id.eq(user_id), rc::code_hash.eq(digest(c))))
            .execute(conn)?;
    }
    Ok(codes)
}

/// Uses up a recovery code: true if it was one of the user's unused codes.
pub fn use_recovery_code(conn: &mut DbConn, user_id: i64, code: &str) -> QueryResult<bool> {
    if normalise(code).len() != 10 {
        return Ok(false);
    }
    let n = diesel::update(
        rc::table
            .filter(rc::user_id.eq(user_id))
            .filter(rc::code_hash.eq(digest(code)))
            .filter(rc::used_at.is_null()),
    )
    .set(rc::used_at.eq(Some(site_core::now())))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn remaining_recovery_codes(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    rc::table
        .filter(rc::user_id.eq(user_id))
        .filter(rc::used_at.is_null())
        .count()
        .get_result(conn)
}

pub fn clear_recovery_codes(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(rc::table.filter(rc::user_id.eq(user_id))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_code_checks_and_junk_does_not() {
        let s = new_secret();
        let t = totp(&s, "ada@example.com").unwrap();
        let code = t.generate_current().unwrap();
        assert!(check_code(&s, "ada@example.com", &code));
        assert!(!check_code(&s, "ada@example.com", "12345"));
        assert!(!check_code(&s, "ada@example.com", "abcdef"));
        assert!(t.get_url().starts_with("otpauth://totp/"));
    }

    #[test]
    fn codes_match_their_step_and_neighbours_only() {
        let s = new_secret();
        let t = totp(&s, "a@example.com").unwrap();
        let now = 1_800_000_000u64;
        let code = t.generate(now);
        assert_eq!(
            matching_step(&s, "a@example.com", &code, now),
            Some((now / 30) as i64)
        );
        assert!(
            matching_step(&s, "a@example.com", &code, now + 30).is_some(),
            "a clock a little behind"
        );
        assert_eq!(matching_step(&s, "a@example.com", &code, now + 120), None);
    }

    #[test]
    fn recovery_codes_normalise() {
        assert_eq!(digest("ABCDE-fghij"), digest("abcdefghij"));
        assert_ne!(digest("abcdefghij"), digest("abcdefghik"));
    }
}

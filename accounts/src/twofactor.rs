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
    fn recovery_codes_normalise() {
        assert_eq!(digest("ABCDE-fghij"), digest("abcdefghij"));
        assert_ne!(digest("abcdefghij"), digest("abcdefghik"));
    }
}

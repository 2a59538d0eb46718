//! The links accounts emails: email verification and password reset,
//! signed with the site's key (`site_core::signing`).
//!
//! A reset link signs the user's password hash and last login, so it stops
//! working once the password changes (which also makes it single-use) or
//! the user logs in. A verification link signs the address it confirms and
//! the account's current and pending address, so only the latest email
//! change request's link works, and none after the address changed.

use diesel::prelude::*;
use site_core::db::DbConn;
use site_core::signing::{Signer, TokenError};

use crate::models::User;

const RESET: &str = "accounts.password-reset";
const VERIFY: &str = "accounts.verify-email";

fn reset_state(user: &User) -> String {
    format!(
        "{}|{}|{}",
        user.password_hash,
        user.last_login
            .map(|t| t.and_utc().timestamp())
            .unwrap_or(0),
        user.is_active
    )
}

pub fn reset_token(signer: &Signer, user: &User, valid_minutes: i64) -> String {
    let expires = site_core::now().and_utc().timestamp() + valid_minutes * 60;
    signer.sign(RESET, &user.id.to_string(), expires, &reset_state(user))
}

/// The user a reset token is for, if it is still good.
pub fn check_reset(signer: &Signer, conn: &mut DbConn, token: &str) -> Result<User, TokenError> {
    let mut found = None;
    signer.unsign(
        RESET,
        token,
        site_core::now().and_utc().timestamp(),
        |payload| {
            let id: i64 = payload.parse().ok()?;
            let user = User::find(conn, id).optional().ok()??;
            let state = reset_state(&user);
            found = Some(user);
            Some(state)
        },
    )?;
    found.filter(|u| u.is_active).ok_or(TokenError::Invalid)
}

fn verify_state(user: &User) -> String {
    format!(
        "{}|{}",
        user.email,
        user.pending_email.as_deref().unwrap_or("")
    )
}

pub fn verify_token(signer: &Signer, user: &User, email: &str, valid_days: i64) -> String {
    let expires = site_core::now().and_utc().timestamp() + valid_days * 86_400;
    let payload = format!("{}-{}", user.id, hex::encode(email));
    signer.sign(VERIFY, &payload, expires, &verify_state(user))
}

/// The user and the address a verification token confirms.
pub fn check_verify(
    signer: &Signer,
    conn: &mut DbConn,
    token: &str,
) -> Result<(User, String), TokenError> {
    let mut found = None;
    signer.unsign(
        VERIFY,
        token,
        site_core::now().and_utc().timestamp(),
        |payload| {
            let (id, email_hex) = payload.split_once('-')?;
            let email = String::from_utf8(hex::decode(email_hex).ok()?).ok()?;
            let user = User::find(conn, id.parse().ok()?).optional().ok()??;
            let state = verify_state(&user);
            found = Some((user, email));
            Some(state)
        },
    )?;
    found.ok_or(TokenError::Invalid)
}

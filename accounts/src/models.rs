//! The user, and the queries that use it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use site_core::db::DbConn;
use site_core::forms::Email;
use site_core::schema::accounts_user as u;

use crate::password;
use crate::validators::{self, UserAttributes};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = u)]
pub struct User {
    pub id: i64,
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub date_joined: NaiveDateTime,
    pub last_login: Option<NaiveDateTime>,
    pub email_verified: bool,
    pub avatar: String,
    #[serde(skip)]
    pub totp_secret: Option<String>,
    #[serde(skip)]
    pub totp_last_step: Option<i64>,
    pub pending_email: Option<String>,
    #[serde(skip)]
    pub auth_version: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user with the email {0} already exists")]
    Exists(String),
    #[error("{}", .0.join(" "))]
    WeakPassword(Vec<String>),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub password: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// Staff made on the command line need no verification link.
    pub email_verified: bool,
}

fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

impl User {
    pub fn by_email(conn: &mut DbConn, email: &Email) -> QueryResult<User> {
        u::table
            .filter(u::email.eq(email.as_str()))
            .select(User::as_select())
            .first(conn)
    }

    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<User> {
        u::table.find(id).select(User::as_select()).first(conn)
    }

    pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
        u::table.count().get_result(conn)
    }

    /// Active superusers: a shop without one has nobody to run it.
    pub fn count_superusers(conn: &mut DbConn) -> QueryResult<i64> {
        u::table
            .filter(u::is_superuser.eq(true))
            .filter(u::is_active.eq(true))
            .count()
            .get_result(conn)
    }

    pub fn attributes(&self) -> UserAttributes<'_> {
        UserAttributes {
            email: &self.email,
            first_name: &self.first_name,
            last_name: &self.last_name,
        }
    }

    /// "Ada Lovelace", or the email when no name is set.
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name);
        let name = name.trim();
        if name.is_empty() {
            self.email.clone()
        } else {
            name.to_string()
        }
    }

    /// Creates a user after checking the password rules. CPU-heavy (the
    /// hash): call it off the async workers.
    pub fn create(conn: &mut DbConn, new: &NewUser<'_>) -> Result<User, UserError> {
        let problems = validators::validate(
            new.password,
            &UserAttributes {
                email: new.email.as_str(),
                first_name: new.first_name,
                last_name: new.last_name,
            },
        );
        if !problems.is_empty() {
            return Err(UserError::WeakPassword(problems));
        }
        let hash = password::hash(new.password).map_err(|e| UserError::Hash(e.to_string()))?;
        let inserted = diesel::insert_into(u::table)
            .values((
                u::email.eq(new.email.as_str()),
                u::password_hash.eq(hash),
                u::first_name.eq(new.first_name),
                u::last_name.eq(new.last_name),
                u::is_active.eq(true),
                u::is_staff.eq(new.is_staff || new.is_superuser),
                u::is_superuser.eq(new.is_superuser),
                u::date_joined.eq(site_core::now()),
                u::email_verified.eq(new.email_verified),
                u::avatar.eq(""),
            ))
            .execute(conn);
        match inserted {
            Err(e) if is_unique_violation(&e) => Err(UserError::Exists(new.email.to_string())),
            other => {
                other?;
                Ok(User::by_email(conn, new.email)?)
            }
        }
    }

    /// A customer from the registration form, with a password already
    /// checked and hashed; `None` if the email is taken.
    pub fn create_with_hash(
        conn: &mut DbConn,
        email: &Email,
        hash: &str,
        first_name: &str,
        last_name: &str,
    ) -> QueryResult<Option<User>> {
        // In a savepoint: a unique violation must not poison an enclosing
        // PostgreSQL transaction.
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(u::table)
                .values((
                    u::email.eq(email.as_str()),
                    u::password_hash.eq(hash),
                    u::first_name.eq(first_name),
                    u::last_name.eq(last_name),
                    u::is_active.eq(true),
                    u::is_staff.eq(false),
                    u::is_superuser.eq(false),
                    u::date_joined.eq(site_core::now()),
                    u::email_verified.eq(false),
                    u::avatar.eq(""),
                ))
                .execute(conn)
        });
        match inserted {
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e),
            Ok(_) => User::by_email(conn, email).map(Some),
        }
    }

    /// A staff superuser (what `site createsuperuser` makes).
    pub fn create_superuser(
        conn: &mut DbConn,
        email: &Email,
        password: &str,
    ) -> Result<User, UserError> {
        User::create(
            conn,
            &NewUser {
                email,
                password,
                first_name: "",
                last_name: "",
                is_staff: true,
                is_superuser: true,
                email_verified: true,
            },
        )
    }

    /// The candidate if it is active and `password_text` is its password.
    /// Runs exactly one hash verification whether or not there is a
    /// candidate, so timing does not tell whether the email has an account.
    /// CPU-heavy and needs no connection: call it off the async workers,
    /// without holding a pooled connection.
    pub fn verify(candidate: Option<User>, password_text: &str) -> Option<User> {
        let stored = candidate
            .as_ref()
            .map(|u| u.password_hash.as_str())
            .unwrap_or_else(|| password::dummy_hash());
        let ok = password::verify(password_text, stored);
        candidate.filter(|u| ok && u.is_active)
    }

    /// Records the login; rehashes the password when the hashing
    /// parameters changed since it was stored (`rehash` is the new hash,
    /// computed by the caller off the async workers).
    pub fn record_login(conn: &mut DbConn, id: i64, rehash: Option<String>) -> QueryResult<usize> {
        if let Some(h) = rehash {
            diesel::update(u::table.find(id))
                .set(u::password_hash.eq(h))
                .execute(conn)?;
        }
        diesel::update(u::table.find(id))
            .set(u::last_login.eq(Some(site_core::now())))
            .execute(conn)
    }

    /// Stores a new password hash (already checked against the rules) and
    /// ends every session of the user: the caller signs its own session
    /// back in if it should stay.
    pub fn set_password_hash(conn: &mut DbConn, id: i64, hash: &str) -> QueryResult<()> {
        diesel::update(u::table.find(id))
            .set(u::password_hash.eq(hash))
            .execute(conn)?;
        site_core::http::auth::end_sessions(conn, id)?;
        Ok(())
    }

    /// Like [`User::set_password_hash`], only if the stored hash is still
    /// `old`; false if it changed meanwhile.
    pub fn replace_password_hash(
        conn: &mut DbConn,
        id: i64,
        old: &str,
        new: &str,
    ) -> QueryResult<bool> {
        let n = diesel::update(u::table.find(id).filter(u::password_hash.eq(old)))
            .set(u::password_hash.eq(new))
            .execute(conn)?;
        if n == 1 {
            site_core::http::auth::end_sessions(conn, id)?;
        }
        Ok(n == 1)
    }

    pub fn set_name(conn: &mut DbConn, id: i64, first: &str, last: &str) -> QueryResult<usize> {
        diesel::update(u::table.find(id))
            .set((u::first_name.eq(first), u::last_name.eq(last)))
            .execute(conn)
    }

    pub fn set_avatar(conn: &mut DbConn, id: i64, path: &str) -> QueryResult<usize> {
        diesel::update(u::table.find(id))
            .set(u::avatar.eq(path))
            .execute(conn)
    }

    /// Confirms `email` for the user: their address becomes `email` (an
    /// email change) and counts as verified. `Ok(false)` if another
    /// account took the address meanwhile.
    pub fn confirm_email(conn: &mut DbConn, id: i64, email: &str) -> QueryResult<bool> {
        // In a savepoint: a unique violation must not poison an enclosing
        // PostgreSQL transaction.
        let outcome = conn.transaction(|conn| {
            diesel::update(u::table.find(id))
                .set((
                    u::email.eq(email),
                    u::email_verified.eq(true),
                    u::pending_email.eq(None::<String>),
                ))
                .execute(conn)
        });
        match outcome {
            Ok(n) => Ok(n == 1),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Records the address an email change waits to confirm (which makes
    /// earlier change links void).
    pub fn set_pending_email(conn: &mut DbConn, id: i64, email: &str) -> QueryResult<usize> {
        diesel::update(u::table.find(id))
            .set(u::pending_email.eq(Some(email)))
            .execute(conn)
    }

    pub fn email_taken(conn: &mut DbConn, email: &Email) -> QueryResult<bool> {
        Ok(u::table
            .filter(u::email.eq(email.as_str()))
            .count()
            .get_result::<i64>(conn)?
            > 0)
    }

    /// Turns two-factor on, only if it is off; false if it was on.
    pub fn enable_totp(conn: &mut DbConn, id: i64, secret: &str) -> QueryResult<bool> {
        let n = diesel::update(u::table.find(id).filter(u::totp_secret.is_null()))
            .set((u::totp_secret.eq(secret), u::totp_last_step.eq(None::<i64>)))
            .execute(conn)?;
        Ok(n == 1)
    }

    pub fn set_totp_secret(conn: &mut DbConn, id: i64, secret: Option<&str>) -> QueryResult<usize> {
        diesel::update(u::table.find(id))
            .set(u::totp_secret.eq(secret))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        site_core::http::auth::end_sessions(conn, id)?;
        diesel::delete(u::table.find(id)).execute(conn)
    }
}

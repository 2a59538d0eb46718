//! The user, and the queries that use it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use site_core::db::DbConn;
use site_core::forms::Email;
use site_core::schema::accounts_user as u;

use crate::password;

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
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user with the email {0} already exists")]
    Exists(String),
    #[error("the password must be at least {0} characters long")]
    PasswordTooShort(usize),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

pub const MIN_PASSWORD_LEN: usize = 8;

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub password: &'a str,
    pub is_staff: bool,
    pub is_superuser: bool,
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

    pub fn create(conn: &mut DbConn, new: &NewUser<'_>) -> Result<User, UserError> {
        if new.password.chars().count() < MIN_PASSWORD_LEN {
            return Err(UserError::PasswordTooShort(MIN_PASSWORD_LEN));
        }
        let hash = password::hash(new.password).map_err(|e| UserError::Hash(e.to_string()))?;
        let inserted = diesel::insert_into(u::table)
            .values((
                u::email.eq(new.email.as_str()),
                u::password_hash.eq(hash),
                u::first_name.eq(""),
                u::last_name.eq(""),
                u::is_active.eq(true),
                u::is_staff.eq(new.is_staff || new.is_superuser),
                u::is_superuser.eq(new.is_superuser),
                u::date_joined.eq(site_core::now()),
            ))
            .execute(conn);
        match inserted {
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Err(UserError::Exists(new.email.to_string())),
            other => {
                other?;
                Ok(User::by_email(conn, new.email)?)
            }
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
                is_staff: true,
                is_superuser: true,
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

    pub fn record_login(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::update(u::table.find(id))
            .set(u::last_login.eq(Some(site_core::now())))
            .execute(conn)
    }
}

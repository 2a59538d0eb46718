//! The address book: a customer's saved postal addresses, one of them the
//! default that checkout fills in.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use site_core::address::PostalAddress;
use site_core::address_columns;
use site_core::db::{write_transaction, DbConn};
use site_core::schema::accounts_address as a;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, PartialEq, Eq)]
#[diesel(table_name = a)]
pub struct Address {
    pub id: i64,
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
    pub is_default: bool,
    pub created_at: NaiveDateTime,
}

/// A customer may keep this many addresses.
pub const MAX_ADDRESSES: i64 = 20;

impl Address {
    /// The customer's addresses, the default first.
    pub fn list_for(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Address>> {
        a::table
            .filter(a::user_id.eq(user_id))
            .order((a::is_default.desc(), a::id))
            .select(Address::as_select())
            .load(conn)
    }

    /// One of the customer's addresses; another customer's is NotFound.
    pub fn find_for(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<Address> {
        a::table
            .filter(a::user_id.eq(user_id))
            .filter(a::id.eq(id))
            .select(Address::as_select())
            .first(conn)
    }

    pub fn fields(&self) -> PostalAddress {
        let saved = PostalAddress {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            address: self.address.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
        };
        // Addresses saved before countries were a choice hold a name.
        saved.clone().with_country_code().unwrap_or(saved)
    }

    /// Saves a new address; the first one (or one asked to be) becomes the
    /// default. `Ok(None)` when the book is full.
    pub fn create(
        conn: &mut DbConn,
        user_id: i64,
        f: &PostalAddress,
        make_default: bool,
    ) -> QueryResult<Option<i64>> {
        write_transaction(conn, |conn| {
            let existing: i64 = a::table
                .filter(a::user_id.eq(user_id))
                .count()
                .get_result(conn)?;
            if existing >= MAX_ADDRESSES {
                return Ok(None);
            }
            let is_default = make_default || existing == 0;
            if is_default {
                clear_default(conn, user_id)?;
            }
            diesel::insert_into(a::table)
                .values((
                    a::user_id.eq(user_id),
                    address_columns!(a, f),
                    a::is_default.eq(is_default),
                    a::created_at.eq(site_core::now()),
                ))
                .execute(conn)?;
            a::table
                .filter(a::user_id.eq(user_id))
                .order(a::id.desc())
                .select(a::id)
                .first(conn)
                .map(Some)
        })
    }

    /// Saves the address unless the customer already has the same one
    /// (what checkout's "save this address" does).
    pub fn save_if_new(conn: &mut DbConn, user_id: i64, f: &PostalAddress) -> QueryResult<()> {
        let known = Address::list_for(conn, user_id)?
            .iter()
            .any(|a| a.fields() == *f);
        if !known {
            Address::create(conn, user_id, f, false)?;
        }
        Ok(())
    }

    /// Changes one of the customer's addresses; false if it is not theirs.
    pub fn update(
        conn: &mut DbConn,
        user_id: i64,
        id: i64,
        f: &PostalAddress,
        make_default: bool,
    ) -> QueryResult<bool> {
        write_transaction(conn, |conn| {
            Address::find_for(conn, user_id, id)?;
            if make_default {
                clear_default(conn, user_id)?;
            }
            let mine = a::table.filter(a::user_id.eq(user_id)).filter(a::id.eq(id));
            diesel::update(mine)
                .set(address_columns!(a, f))
                .execute(conn)?;
            if make_default {
                diesel::update(mine)
                    .set(a::is_default.eq(true))
                    .execute(conn)?;
            }
            Ok(true)
        })
        .or_else(|e| match e {
            diesel::result::Error::NotFound => Ok(false),
            e => Err(e),
        })
    }

    /// Deletes one of the customer's addresses; if it was the default, the
    /// oldest remaining one becomes the default.
    pub fn delete(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<bool> {
        write_transaction(conn, |conn| {
            let n = diesel::delete(a::table.filter(a::user_id.eq(user_id)).filter(a::id.eq(id)))
                .execute(conn)?;
            let has_default: i64 = a::table
                .filter(a::user_id.eq(user_id))
                .filter(a::is_default.eq(true))
                .count()
                .get_result(conn)?;
            if n == 1 && has_default == 0 {
                let oldest: Option<i64> = a::table
                    .filter(a::user_id.eq(user_id))
                    .order(a::id)
                    .select(a::id)
                    .first(conn)
                    .optional()?;
                if let Some(o) = oldest {
                    diesel::update(a::table.find(o))
                        .set(a::is_default.eq(true))
                        .execute(conn)?;
                }
            }
            Ok(n == 1)
        })
    }
}

fn clear_default(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::update(
        a::table
            .filter(a::user_id.eq(user_id))
            .filter(a::is_default.eq(true)),
    )
    .set(a::is_default.eq(false))
    .execute(conn)
}

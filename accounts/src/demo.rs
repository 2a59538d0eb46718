//! Demo customers, so the seeded shop has accounts behind some orders.

use diesel::prelude::*;
use site_core::db::DbConn;
use site_core::schema::accounts_user as u;

const FIRST: [&str; 12] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus",
    "Radia", "Tim",
];
const LAST: [&str; 12] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Berners-Lee",
];

/// A demo customer: id, email, first and last name.
pub type Customer = (i64, String, String, String);

/// Creates `n` verified customers (`customer1@example.com`, ...) who all
/// share one password, hashed once (every hash takes a moment); returns
/// them.
pub fn seed_customers(
    conn: &mut DbConn,
    n: usize,
    password: &str,
) -> Result<Vec<Customer>, crate::UserError> {
    let hash =
        crate::password::hash(password).map_err(|e| crate::UserError::Hash(e.to_string()))?;
    let now = site_core::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|i| {
                (
                    u::email.eq(format!("customer{}@example.com", i + 1)),
                    u::password_hash.eq(hash.clone()),
                    u::first_name.eq(FIRST[i % FIRST.len()]),
                    u::last_name.eq(LAST[(i / FIRST.len()) % LAST.len()]),
                    u::is_active.eq(true),
                    u::is_staff.eq(false),
                    u::is_superuser.eq(false),
                    u::date_joined.eq(now - chrono::TimeDelta::days(400 - (*i as i64 % 400))),
                    u::email_verified.eq(true),
                    u::avatar.eq(""),
                )
            })
            .collect();
        site_core::insert_many!(conn, u::table, &rows)?;
    }
    Ok(u::table
        .filter(u::email.like("customer%@example.com"))
        .filter(u::is_staff.eq(false))
        .order(u::id)
        .select((u::id, u::email, u::first_name, u::last_name))
        .load(conn)?)
}

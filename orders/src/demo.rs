//! Demo orders over the past year, so the admin, its dashboard and its
//! lists have something real to show (and a million-row benchmark has
//! orders to page through). Deterministic; written in multi-row INSERTs.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use site_core::db::{write_transaction, DbConn};
use site_core::money::Currency;
use site_core::schema::{orders_line as l, orders_order as o, products_product as p};

use crate::domain::{OrderStatus, CARRIERS};

/// Orders written per statement.
const BATCH: usize = 500;
/// Products the demo orders choose from.
const SAMPLE: i64 = 5000;

const CITIES: [(&str, &str, &str); 8] = [
    ("London", "SW1A 1AA", "GB"),
    ("Paris", "75001", "FR"),
    ("Berlin", "10115", "DE"),
    ("Madrid", "28001", "ES"),
    ("Rome", "00118", "IT"),
    ("Amsterdam", "1011", "NL"),
    ("Dublin", "D01", "IE"),
    ("Lisbon", "1100-148", "PT"),
];
const STREETS: [&str; 6] = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Park Avenue",
    "Market Square",
];
const GUESTS: [(&str, &str); 8] = [
    ("Sam", "Rivers"),
    ("Alex", "Morgan"),
    ("Jo", "Fischer"),
    ("Kim", "Laurent"),
    ("Lee", "Rossi"),
    ("Max", "Jansen"),
    ("Pat", "Murphy"),
    ("Ray", "Silva"),
];

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A customer a demo order may belong to: id, email, first and last name.
pub type Customer = (i64, String, String, String);

/// Where an order `age` old stands, from the hash `h`.
fn status_for(age: TimeDelta, h: u64) -> OrderStatus {
    let roll = h % 100;
    if age < TimeDelta::days(1) {
        match roll {
            0..30 => OrderStatus::Pending,
            30..92 => OrderStatus::Paid,
            _ => OrderStatus::Cancelled,
        }
    } else if age < TimeDelta::days(5) {
        match roll {
            0..30 => OrderStatus::Paid,
            30..93 => OrderStatus::Shipped,
            _ => OrderStatus::Cancelled,
        }
    } else {
        match roll {
            0..2 => OrderStatus::Shipped,
            2..10 => OrderStatus::Cancelled,
            _ => OrderStatus::Delivered,
        }
    }
}

struct DemoOrder {
    public_id: String,
    key: String,
    user_id: Option<i64>,
    email: String,
    first: String,
    last: String,
    address: String,
    postal: &'static str,
    city: &'static str,
    country: &'static str,
    status: OrderStatus,
    total: i64,
    created: NaiveDateTime,
    paid: Option<NaiveDateTime>,
    carrier: &'static str,
    tracking: String,
    shipped: Option<NaiveDateTime>,
    delivered: Option<NaiveDateTime>,
    cancelled: Option<NaiveDateTime>,
    /// (product id, name, sku, unit price, quantity)
    lines: Vec<(i64, String, String, i64, i64)>,
}

/// Writes `count` orders placed over the `days` before `now`, a third by
/// `customers`, the rest by guests; `progress` gets the number written.
pub fn seed(
    conn: &mut DbConn,
    count: usize,
    days: i64,
    now: NaiveDateTime,
    customers: &[Customer],
    currency: Currency,
    progress: &dyn Fn(u64),
) -> QueryResult<usize> {
    // What a shopper could buy: single products and variants, not the
    // parents they are chosen on.
    let catalogue: Vec<(i64, String, String, i64)> = p::table
        .filter(p::has_variants.eq(false))
        .order(p::id)
        .limit(SAMPLE)
        .select((p::id, p::name, p::sku, p::price_minor))
        .load(conn)?;
    if catalogue.is_empty() || count == 0 {
        return Ok(0);
    }
    let span = TimeDelta::days(days.max(1)).num_seconds();
    let mut written = 0;
    while written < count {
        let end = (written + BATCH).min(count);
        let batch: Vec<DemoOrder> = (written..end)
            .map(|i| {
                let h = mix(i as u64 ^ 0xD3A0);
                // Newer orders are more frequent: the shop is growing.
                let back =
                    ((span as f64) * (1.0 - ((i as f64 + 0.5) / count as f64).sqrt())) as i64;
                let created = now - TimeDelta::seconds(back.max(60));
                let age = now - created;
                let status = status_for(age, h >> 7);
                let customer = h
                    .is_multiple_of(3)
                    .then(|| customers.get((h >> 20) as usize % customers.len().max(1)))
                    .flatten();
                let (user_id, email, first, last) = match customer {
                    Some(c) => (Some(c.0), c.1.clone(), c.2.clone(), c.3.clone()),
                    None => {
                        let (f, l) = GUESTS[(h >> 11) as usize % GUESTS.len()];
                        (
                            None,
                            format!(
                                "{}.{}{}@example.com",
                                f.to_lowercase(),
                                l.to_lowercase(),
                                i % 997
                            ),
                            f.to_string(),
                            l.to_string(),
                        )
                    }
                };
                let (city, postal, country) = CITIES[(h >> 17) as usize % CITIES.len()];
                let mut lines: Vec<(i64, String, String, i64, i64)> = Vec::new();
                for k in 0..(1 + (h >> 23) % 3) {
                    let (pid, name, sku, price) =
                        &catalogue[((h >> (26 + k * 5)) as usize + i * 7) % catalogue.len()];
                    if lines.iter().any(|(id, ..)| id == pid) {
                        continue;
                    }
                    lines.push((
                        *pid,
                        name.clone(),
                        sku.clone(),
                        *price,
                        1 + ((h >> (40 + k)) % 3) as i64,
                    ));
                }
                let total = lines.iter().map(|(_, _, _, price, q)| price * q).sum();
                let paid = (status != OrderStatus::Pending
                    && (status != OrderStatus::Cancelled || h.is_multiple_of(2)))
                .then(|| created + TimeDelta::minutes(3));
                let shipped = matches!(status, OrderStatus::Shipped | OrderStatus::Delivered)
                    .then(|| created + TimeDelta::hours(20));
                DemoOrder {
                    public_id: format!("{:016x}{:016x}", mix(i as u64), mix(i as u64 ^ 0xA5A5)),
                    key: format!("demo-order-{i}"),
                    user_id,
                    email,
                    first,
                    last,
                    address: format!(
                        "{} {}",
                        1 + (h >> 30) % 120,
                        STREETS[(h >> 37) as usize % STREETS.len()]
                    ),
                    postal,
                    city,
                    country,
                    status,
                    total,
                    created,
                    paid,
                    carrier: if shipped.is_some() {
                        CARRIERS[(h >> 45) as usize % (CARRIERS.len() - 1)].0
                    } else {
                        ""
                    },
                    tracking: if shipped.is_some() {
                        format!("TRK{:012}", h % 1_000_000_000_000)
                    } else {
                        String::new()
                    },
                    shipped,
                    delivered: (status == OrderStatus::Delivered)
                        .then(|| created + TimeDelta::days(3)),
                    cancelled: (status == OrderStatus::Cancelled)
                        .then(|| created + TimeDelta::hours(2)),
                    lines,
                }
            })
            .collect();
        write_transaction(conn, |conn| -> QueryResult<()> {
            let rows: Vec<_> = batch
                .iter()
                .map(|d| {
                    (
                        o::public_id.eq(&d.public_id),
                        o::idempotency_key.eq(&d.key),
                        o::user_id.eq(d.user_id),
                        o::email.eq(&d.email),
                        o::first_name.eq(&d.first),
                        o::last_name.eq(&d.last),
                        o::address.eq(&d.address),
                        o::postal_code.eq(d.postal),
                        o::city.eq(d.city),
                        o::country.eq(d.country),
                        o::status.eq(d.status),
                        o::currency.eq(currency.code()),
                        o::total_minor.eq(d.total),
                        o::created_at.eq(d.created),
                        o::updated_at.eq(d
                            .cancelled
                            .or(d.delivered)
                            .or(d.shipped)
                            .or(d.paid)
                            .unwrap_or(d.created)),
                        (
                            o::paid_at.eq(d.paid),
                            o::carrier.eq(d.carrier),
                            o::tracking_number.eq(&d.tracking),
                            o::shipped_at.eq(d.shipped),
                            o::delivered_at.eq(d.delivered),
                            o::cancelled_at.eq(d.cancelled),
                            // Demo orders were placed before shipping.
                            o::subtotal_minor.eq(d.total),
                        ),
                    )
                })
                .collect();
            site_core::insert_many!(conn, o::table, &rows)?;
            let ids: Vec<(i64, String)> = o::table
                .filter(o::public_id.eq_any(batch.iter().map(|d| d.public_id.as_str())))
                .select((o::id, o::public_id))
                .load(conn)?;
            let id_of: std::collections::HashMap<&str, i64> = ids
                .iter()
                .map(|(id, public)| (public.as_str(), *id))
                .collect();
            let lines: Vec<_> = batch
                .iter()
                .flat_map(|d| {
                    let order_id = id_of.get(d.public_id.as_str()).copied().unwrap_or_default();
                    d.lines.iter().map(move |(pid, name, sku, price, q)| {
                        (
                            l::order_id.eq(order_id),
                            l::product_id.eq(Some(*pid)),
                            l::product_name.eq(name.as_str()),
                            l::sku.eq(sku.as_str()),
                            l::unit_price_minor.eq(*price),
                            l::quantity.eq(*q),
                            l::line_total_minor.eq(price * q),
                        )
                    })
                })
                .collect();
            site_core::insert_many!(conn, l::table, &lines)?;
            let mut paid: Vec<(i64, NaiveDateTime)> = batch
                .iter()
                .filter_map(|d| Some((*id_of.get(d.public_id.as_str())?, d.paid?)))
                .collect();
            paid.sort_by_key(|(id, at)| (*at, *id));
            crate::invoices::assign_many(conn, &paid)?;
            Ok(())
        })?;
        written = end;
        progress(written as u64);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_orders_have_moved_on() {
        let statuses: Vec<OrderStatus> = (0..200)
            .map(|h| status_for(TimeDelta::days(30), mix(h)))
            .collect();
        assert!(statuses.contains(&OrderStatus::Delivered));
        assert!(
            !statuses.contains(&OrderStatus::Pending),
            "unpaid orders expire"
        );
        let fresh: Vec<OrderStatus> = (0..200)
            .map(|h| status_for(TimeDelta::hours(2), mix(h)))
            .collect();
        assert!(fresh.contains(&OrderStatus::Pending) && fresh.contains(&OrderStatus::Paid));
    }
}

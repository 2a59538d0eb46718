//! The orders app's panels on the admin dashboard: sales per day for the
//! last 30 days, orders by status, and paid orders waiting to ship.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use site_core::admin::dashboard::{bar_chart, Bar, Panel, Widget, WidgetEnv};
use site_core::db::DbConn;
use site_core::schema::orders_order as o;

use crate::domain::OrderStatus;
use crate::emails::short_ref;

const DAYS: i64 = 30;

/// Today, the first day of the window, and the moment it starts.
fn window() -> (NaiveDate, NaiveDate, NaiveDateTime) {
    let today = site_core::now().date();
    let first = today - Duration::days(DAYS - 1);
    (today, first, first.and_time(NaiveTime::MIN))
}

/// Revenue of the orders paid on each of the last 30 days (cancelled ones
/// left out), from the (paid_at, status, total) index.
pub struct SalesPerDay;

impl Widget for SalesPerDay {
    fn permission(&self) -> String {
        "orders.view_order".into()
    }

    fn load(&self, conn: &mut DbConn, env: &WidgetEnv) -> QueryResult<Panel> {
        let (today, first, start) = window();
        let paid: Vec<(Option<chrono::NaiveDateTime>, OrderStatus, i64)> = o::table
            .filter(o::paid_at.ge(start))
            .select((o::paid_at, o::status, o::total_minor))
            .load(conn)?;
        let mut per_day = vec![0i64; DAYS as usize];
        for (at, status, total) in paid {
            let Some(at) = at else { continue };
            if status == OrderStatus::Cancelled {
                continue;
            }
            let day = (at.date() - first).num_days();
            if (0..DAYS).contains(&day) {
                per_day[day as usize] += total;
            }
        }
        let total: i64 = per_day.iter().sum();
        let bars = per_day
            .iter()
            .enumerate()
            .map(|(i, minor)| {
                let day: NaiveDate = first + Duration::days(i as i64);
                let d = day.format("%Y-%m-%d").to_string();
                Bar {
                    label: day.format("%-d %b").to_string(),
                    text: env.money(*minor),
                    value: *minor,
                    href: Some(format!(
                        "{}?paid_from={d}&paid_to={d}",
                        env.url("admin:changelist", &[("app", "orders"), ("model", "order")])
                    )),
                }
            })
            .collect();
        Ok(Panel::Chart {
            title: "Sales, last 30 days".into(),
            summary: format!(
                "Revenue per day of the orders paid from {} to {}: {} in all.",
                first.format("%-d %B"),
                today.format("%-d %B %Y"),
                env.money(total)
            ),
            chart: bar_chart(bars, 100, &|v| env.money(v)),
        })
    }
}

/// Where the orders of the last 30 days stand (counting every order ever
/// placed would read the whole table on each visit).
pub struct OrdersByStatus;

impl Widget for OrdersByStatus {
    fn permission(&self) -> String {
        "orders.view_order".into()
    }

    fn load(&self, conn: &mut DbConn, env: &WidgetEnv) -> QueryResult<Panel> {
        let (_, first, start) = window();
        let counts: Vec<(OrderStatus, i64)> = o::table
            .filter(o::created_at.ge(start))
            .group_by(o::status)
            .select((o::status, diesel::dsl::count_star()))
            .load(conn)?;
        let list = env.url("admin:changelist", &[("app", "orders"), ("model", "order")]);
        let since = first.format("%Y-%m-%d");
        let bars: Vec<Bar> = OrderStatus::ALL
            .iter()
            .map(|s| {
                let n = counts
                    .iter()
                    .find(|(c, _)| c == s)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                Bar {
                    label: s.label().into(),
                    text: n.to_string(),
                    value: n,
                    href: Some(format!("{list}?status={}&created_from={since}", s.as_str())),
                }
            })
            .collect();
        let total: i64 = bars.iter().map(|b| b.value).sum();
        Ok(Panel::Chart {
            title: "Orders of the last 30 days, by status".into(),
            summary: format!(
                "{total} orders placed since {}: {}.",
                first.format("%-d %B"),
                bars.iter()
                    .map(|b| format!("{} {}", b.value, b.label.to_lowercase()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            chart: bar_chart(bars, 1, &|v| v.to_string()),
        })
    }
}

/// Paid orders, oldest first: what the warehouse should pack next.
pub struct WaitingToShip;

const SHOWN: i64 = 8;

impl Widget for WaitingToShip {
    fn permission(&self) -> String {
        "orders.view_order".into()
    }

    fn load(&self, conn: &mut DbConn, env: &WidgetEnv) -> QueryResult<Panel> {
        let paid = || o::table.filter(o::status.eq(OrderStatus::Paid));
        let waiting: i64 = paid().select(o::id).limit(1000).load::<i64>(conn)?.len() as i64;
        type Waiting = (i64, String, String, String, i64, Option<NaiveDateTime>);
        let rows: Vec<Waiting> = paid()
            .order((o::created_at.asc(), o::id.asc()))
            .limit(SHOWN)
            .select((
                o::id,
                o::public_id,
                o::first_name,
                o::last_name,
                o::total_minor,
                o::paid_at,
            ))
            .load(conn)?;
        let list = env.url("admin:changelist", &[("app", "orders"), ("model", "order")]);
        Ok(Panel::Table {
            title: if waiting >= 1000 {
                "Waiting to be shipped (1,000 or more)".into()
            } else {
                format!("Waiting to be shipped ({waiting})")
            },
            columns: vec![
                "Order".into(),
                "Customer".into(),
                "Total".into(),
                "Paid (UTC)".into(),
            ],
            rows: rows
                .into_iter()
                .map(|(id, public_id, first, last, total, paid_at)| {
                    vec![
                        (
                            short_ref(&public_id),
                            Some(env.url(
                                "admin:change",
                                &[
                                    ("app", "orders"),
                                    ("model", "order"),
                                    ("id", &id.to_string()),
                                ],
                            )),
                        ),
                        (format!("{first} {last}"), None),
                        (env.money(total), None),
                        (
                            paid_at
                                .map(|t| t.format("%-d %b %H:%M").to_string())
                                .unwrap_or_default(),
                            None,
                        ),
                    ]
                })
                .collect(),
            empty: "Nothing is waiting: every paid order has shipped.".into(),
            more: (waiting > SHOWN)
                .then(|| ("All paid orders".to_string(), format!("{list}?status=paid"))),
        })
    }
}

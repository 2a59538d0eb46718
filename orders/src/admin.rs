//! Orders in the staff admin: the list with status, customer and totals,
//! each order with its lines (and, from the payments app, its payments),
//! and the status actions: mark shipped (carrier and tracking number,
//! emailed to the customer), mark delivered, cancel (stock returns, the
//! customer is told). Every status change goes through
//! `Order::transition`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use site_core::admin::{
    in_order_of, ActionSpec, AdminEnv, Cell, Column, DateHierarchy, Field, Fieldset, Filter,
    InlineTable, Link, ListQuery, ModelAdmin, ModelMeta, Object, Perm, Row, SaveError, Submission,
    Value, Values,
};
use site_core::db::search::{self, Dialect};
use site_core::db::{DbConn, MultiBackend};
use site_core::mail::outbox;
use site_core::schema::{accounts_user as u, orders_line as l, orders_order as o};

use crate::domain::{OrderStatus, CARRIERS};
use crate::emails::{order_cancelled, order_shipped, short_ref};
use crate::events::{self, Actor, EventKind};
use crate::models::{Move, MoveError, Order, OrderLine};

pub struct OrderAdmin {
    meta: ModelMeta,
}

fn statuses() -> Vec<(&'static str, &'static str)> {
    OrderStatus::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .collect()
}

impl Default for OrderAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("orders", "order", "order", "orders");
        meta.columns = vec![
            Column::new("reference", "Order"),
            Column::new("customer", "Customer"),
            Column::new("status", "Status"),
            Column::new("items", "Items").numeric(),
            Column::new("total", "Total").sortable().numeric(),
            Column::new("created", "Placed (UTC)").sortable(),
            Column::new("tracking", "Tracking"),
        ];
        meta.filters = vec![
            Filter::choices("status", "Status", statuses()),
            Filter::boolean("registered", "Registered customer"),
            Filter::date_range("created", "Placed"),
            Filter::date_range("paid", "Paid"),
        ];
        meta.search = Some("order reference, email or name");
        meta.date_hierarchy = Some(DateHierarchy {
            field: "created",
            label: "Placed",
        });
        meta.default_sort = "-created";
        meta.fields = vec![
            Field::text("reference", "Reference", 8).readonly(),
            Field::choice("status", "Status", statuses()).readonly(),
            Field::money("subtotal", "Subtotal").readonly(),
            Field::text("shipping_method", "Delivery", 200).readonly(),
            Field::money("shipping", "Delivery charge").readonly(),
            Field::money("discount", "Discount").readonly(),
            Field::money("tax", "Tax").readonly(),
            Field::bool("tax_included", "Tax included in prices").readonly(),
            Field::text("voucher_code", "Voucher", 50).readonly(),
            Field::money("total", "Total").readonly(),
            Field::datetime("created_at", "Placed"),
            Field::datetime("paid_at", "Paid"),
            Field::choice("payment_method", "Paid by", payment_methods()).readonly(),
            Field::text("customer", "Customer account", 300).readonly(),
            Field::email("email", "Email"),
            Field::text("first_name", "First name", 100),
            Field::text("last_name", "Last name", 100),
            Field::text("address", "Address", 200),
            Field::text("postal_code", "Postal code", 20),
            Field::text("city", "City", 100),
            Field::choice("country", "Country", site_core::country::choices()),
            Field::choice("carrier", "Carrier", CARRIERS.to_vec())
                .optional()
                .readonly(),
            Field::text("tracking_number", "Tracking number", 64).readonly(),
            Field::datetime("shipped_at", "Shipped"),
            Field::datetime("delivered_at", "Delivered"),
            Field::datetime("cancelled_at", "Cancelled"),
        ];
        meta.fieldsets = vec![
            Fieldset::new(
                None,
                &[
                    "reference",
                    "status",
                    "created_at",
                    "paid_at",
                    "payment_method",
                ],
            ),
            Fieldset::new(
                Some("Price"),
                &[
                    "subtotal",
                    "shipping_method",
                    "shipping",
                    "voucher_code",
                    "discount",
                    "tax",
                    "tax_included",
                    "total",
                ],
            ),
            Fieldset::new(
                Some("Customer"),
                &["customer", "email", "first_name", "last_name"],
            ),
            Fieldset::new(
                Some("Shipping address"),
                &["address", "postal_code", "city", "country"],
            )
            .description("Correct the address here before the order ships."),
            Fieldset::new(
                Some("Shipping"),
                &[
                    "carrier",
                    "tracking_number",
                    "shipped_at",
                    "delivered_at",
                    "cancelled_at",
                ],
            ),
        ];
        meta.actions = vec![
            ActionSpec::new("mark_shipped", "Mark shipped", Perm::Change).asking(
                "Each order needs its carrier and tracking number; the customer gets them by email.",
                vec![
                    Field::choice("carrier", "Carrier", CARRIERS.to_vec()),
                    Field::text("tracking_number", "Tracking number", 64),
                ],
            ),
            ActionSpec::new("mark_delivered", "Mark delivered", Perm::Change),
            ActionSpec::new("cancel", "Cancel", Perm::Change),
            ActionSpec::new("add_note", "Add a note", Perm::Change).asking(
                "Notes go on the order's timeline for staff; customers do not see them.",
                vec![Field::long_text("note", "Note", 2_000)],
            ),
        ];
        meta.addable = false;
        meta.deletable = false;
        OrderAdmin { meta }
    }
}

fn filtered(q: &ListQuery, dialect: Dialect) -> o::BoxedQuery<'static, MultiBackend> {
    let mut query = o::table.into_boxed::<MultiBackend>();
    if let Some(s) = q.choice("status").and_then(OrderStatus::parse) {
        query = query.filter(o::status.eq(s));
    }
    match q.flag("registered") {
        Some(true) => query = query.filter(o::user_id.is_not_null()),
        Some(false) => query = query.filter(o::user_id.is_null()),
        None => {}
    }
    query = site_core::admin_between!(query, o::created_at, q.date_range("created"));
    query = site_core::admin_between!(query, o::paid_at, q.date_range("paid"));
    query = site_core::admin_between!(query, o::created_at, q.drill_range().unzip());
    if let Some(after) = q.after_id {
        query = query.filter(o::id.gt(after));
    }
    site_core::admin_text_search!(query, q, dialect, &search::ORDERS, o::id)
}

fn repr(order: &Order) -> String {
    format!(
        "{} ({} {})",
        short_ref(&order.public_id),
        order.first_name,
        order.last_name
    )
    .replace(" ( )", "")
}

fn when(t: Option<NaiveDateTime>) -> Value {
    t.map(Value::DateTime).unwrap_or(Value::Null)
}

impl ModelAdmin for OrderAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// Three queries: the page's ids from an index, those orders, and
    /// their item counts.
    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let ids: Vec<i64> = site_core::admin_order!(filtered(q, Dialect::of(conn)), q, o::id, {
            "total" => o::total_minor,
            "created" => o::created_at,
        })
        .select(o::id)
        .offset(q.offset)
        .limit(q.limit)
        .load(conn)?;
        let orders: Vec<Order> = o::table
            .filter(o::id.eq_any(&ids))
            .select(Order::as_select())
            .load(conn)?;
        let items: Vec<(i64, Option<i64>)> = l::table
            .filter(l::order_id.eq_any(&ids))
            .group_by(l::order_id)
            .select((
                l::order_id,
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>(
                    "CAST(SUM(quantity) AS BIGINT)",
                ),
            ))
            .load(conn)?;
        Ok(in_order_of(&ids, orders, |o| o.id)
            .into_iter()
            .map(|order| {
                let count = items
                    .iter()
                    .find(|(id, _)| *id == order.id)
                    .and_then(|(_, n)| *n)
                    .unwrap_or(0);
                let customer = format!("{} {}", order.first_name, order.last_name)
                    .trim()
                    .to_string();
                Row {
                    id: order.id,
                    repr: repr(&order),
                    cells: vec![
                        Cell::Text(short_ref(&order.public_id)),
                        Cell::Text(if customer.is_empty() {
                            order.email.clone()
                        } else {
                            format!("{customer} · {}", order.email)
                        }),
                        Cell::Status(order.status.as_str().into(), order.status.label().into()),
                        Cell::Int(count),
                        Cell::Money(order.total_minor),
                        Cell::DateTime(Some(order.created_at)),
                        Cell::Text(order.tracking_number.clone()),
                    ],
                    editable: Values::new(),
                }
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q, Dialect::of(conn))
            .select(o::id)
            .limit(cap)
            .load::<i64>(conn)
    }

    fn estimate(&self, conn: &mut DbConn) -> QueryResult<Option<i64>> {
        site_core::db::estimate_rows(conn, "orders_order")
    }

    fn date_bounds(
        &self,
        conn: &mut DbConn,
    ) -> QueryResult<Option<(NaiveDateTime, NaiveDateTime)>> {
        site_core::admin_date_bounds!(conn, o::table, o::created_at, o::created_at)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(order) = o::table
            .find(id)
            .select(Order::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let customer = match order.user_id {
            Some(uid) => u::table
                .find(uid)
                .select(u::email)
                .first::<String>(conn)
                .optional()?
                .map(|email| format!("{email} (account #{uid})"))
                .unwrap_or_else(|| format!("account #{uid}")),
            None => "Guest".into(),
        };
        let paid_by = crate::payment_method::of(conn, order.id)?;
        Ok(Some(Object {
            id,
            repr: repr(&order),
            values: Values::new()
                .with("reference", Value::Text(short_ref(&order.public_id)))
                .with("status", Value::Text(order.status.as_str().into()))
                .with("subtotal", Value::Money(order.subtotal_minor))
                .with(
                    "shipping_method",
                    Value::Text(order.shipping_method.clone()),
                )
                .with("shipping", Value::Money(order.shipping_minor))
                .with("discount", Value::Money(order.discount_minor))
                .with("tax", Value::Money(order.tax_minor))
                .with("tax_included", Value::Bool(order.tax_included))
                .with("voucher_code", Value::Text(order.voucher_code.clone()))
                .with("total", Value::Money(order.total_minor))
                .with("created_at", Value::DateTime(order.created_at))
                .with("paid_at", when(order.paid_at))
                .with("payment_method", Value::Text(paid_by.as_str().into()))
                .with("public_id", Value::Text(order.public_id.clone()))
                .with("customer", Value::Text(customer))
                .with("email", Value::Text(order.email))
                .with("first_name", Value::Text(order.first_name))
                .with("last_name", Value::Text(order.last_name))
                .with("address", Value::Text(order.address))
                .with("postal_code", Value::Text(order.postal_code))
                .with("city", Value::Text(order.city))
                .with(
                    "country",
                    // Orders placed before countries were a choice hold a name.
                    Value::Text(
                        site_core::country::Country::parse(&order.country)
                            .map(|c| c.code.to_string())
                            .unwrap_or(order.country),
                    ),
                )
                .with("carrier", Value::Text(order.carrier))
                .with("tracking_number", Value::Text(order.tracking_number))
                .with("shipped_at", when(order.shipped_at))
                .with("delivered_at", when(order.delivered_at))
                .with("cancelled_at", when(order.cancelled_at)),
        }))
    }

    fn update(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        v: &Values,
        _files: &Submission,
    ) -> Result<(), SaveError> {
        let status: OrderStatus = o::table.find(id).select(o::status).first(conn)?;
        if !matches!(status, OrderStatus::Pending | OrderStatus::Paid) {
            return Err(SaveError::form(format!(
                "This order is {}: its customer and address can no longer be changed.",
                status.label().to_lowercase()
            )));
        }
        diesel::update(o::table.find(id))
            .set((
                o::email.eq(v.text("email")?),
                o::first_name.eq(v.text("first_name")?),
                o::last_name.eq(v.text("last_name")?),
                o::address.eq(v.text("address")?),
                o::postal_code.eq(v.text("postal_code")?),
                o::city.eq(v.text("city")?),
                o::country.eq(v.text("country")?),
                o::updated_at.eq(site_core::now()),
            ))
            .execute(conn)?;
        Ok(())
    }

    fn inlines(&self, conn: &mut DbConn, obj: &Object) -> QueryResult<Vec<InlineTable>> {
        let lines: Vec<OrderLine> = l::table
            .filter(l::order_id.eq(obj.id))
            .order(l::id.asc())
            .select(OrderLine::as_select())
            .load(conn)?;
        let lines_table = InlineTable {
            title: "Lines".into(),
            columns: vec![
                Column::new("product", "Product"),
                Column::new("sku", "SKU"),
                Column::new("price", "Unit price").numeric(),
                Column::new("quantity", "Quantity").numeric(),
                Column::new("total", "Total").numeric(),
                Column::new("discount", "Discount").numeric(),
                Column::new("tax", "Tax").numeric(),
            ],
            rows: lines
                .into_iter()
                .map(|line| {
                    (
                        line.product_id
                            .map(|id| Link::change("products", "product", id)),
                        vec![
                            Cell::Text(line.product_name),
                            Cell::Text(line.sku),
                            Cell::Money(line.unit_price_minor),
                            Cell::Int(line.quantity),
                            Cell::Money(line.line_total_minor),
                            Cell::Money(line.discount_minor),
                            Cell::Money(line.tax_minor),
                        ],
                    )
                })
                .collect(),
            more: None,
            lists: None,
        };
        let timeline = InlineTable {
            title: "Timeline".into(),
            columns: vec![
                Column::new("at", "When (UTC)"),
                Column::new("what", "What happened"),
                Column::new("customer", "The customer sees"),
                Column::new("who", "Who"),
            ],
            rows: events::for_order(conn, obj.id)?
                .into_iter()
                .map(|e| {
                    (
                        None,
                        vec![
                            Cell::DateTime(Some(e.created_at)),
                            Cell::Text(e.message),
                            Cell::Text(if e.customer_message.is_empty() {
                                "—".into()
                            } else {
                                e.customer_message
                            }),
                            Cell::Text(e.actor),
                        ],
                    )
                })
                .collect(),
            more: None,
            lists: None,
        };
        Ok(vec![lines_table, timeline])
    }

    fn run_action(
        &self,
        env: &AdminEnv<'_>,
        conn: &mut DbConn,
        action: &str,
        ids: &[i64],
        input: &Submission,
    ) -> Result<String, SaveError> {
        let orders: Vec<Order> = o::table
            .filter(o::id.eq_any(ids))
            .order(o::id.asc())
            .select(Order::as_select())
            .load(conn)?;
        let actor = Actor::Staff {
            id: env.staff.id,
            email: &env.staff.email,
        };
        if action == "add_note" {
            for order in &orders {
                let note = input
                    .first(&format!("note-{}", order.id))
                    .unwrap_or("")
                    .trim();
                if note.is_empty() {
                    return Err(SaveError::form(format!(
                        "Order {}: write the note.",
                        short_ref(&order.public_id)
                    )));
                }
                events::record(conn, order.id, EventKind::Note, note, "", actor)?;
            }
            return Ok(match orders.len() {
                1 => "The note was added to the order's timeline.".to_string(),
                n => format!("The note was added to {n} orders' timelines."),
            });
        }
        let to = match action {
            "mark_shipped" => OrderStatus::Shipped,
            "mark_delivered" => OrderStatus::Delivered,
            "cancel" => OrderStatus::Cancelled,
            other => return Err(SaveError::Other(format!("no action {other:?}"))),
        };
        // All or nothing: say which orders cannot move, before any does.
        let mut paid_by = Vec::with_capacity(orders.len());
        for order in &orders {
            paid_by.push(crate::payment_method::of(conn, order.id)?);
        }
        let refused: Vec<String> = orders
            .iter()
            .zip(&paid_by)
            .filter_map(|(order, method)| {
                let moved = if method.pays_on_delivery() {
                    order.status.transition_paying_on_delivery(to)
                } else {
                    order.status.transition(to)
                };
                moved
                    .err()
                    .map(|e| format!("Order {}: {e}.", short_ref(&order.public_id)))
            })
            .collect();
        if !refused.is_empty() {
            return Err(SaveError::Invalid {
                fields: Vec::new(),
                form: refused,
            });
        }
        let site_url = &env.config.site_url;
        let mut moved = 0;
        for order in &orders {
            let field = |name: &str| {
                input
                    .first(&format!("{name}-{}", order.id))
                    .unwrap_or("")
                    .trim()
                    .to_string()
            };
            let (carrier, tracking) = (field("carrier"), field("tracking_number"));
            let mv = match to {
                OrderStatus::Shipped => Move::Ship {
                    carrier: &carrier,
                    tracking_number: &tracking,
                },
                OrderStatus::Delivered => Move::Deliver,
                _ => Move::Cancel,
            };
            let done = Order::transition_by(conn, order.id, order.status, &mv, actor).map_err(
                |e| match e {
                    MoveError::Db(e) => SaveError::Db(e),
                    MoveError::NotAllowed(e) => SaveError::form(e.to_string()),
                },
            )?;
            if !done {
                return Err(SaveError::form(format!(
                    "Order {} changed while you were working: nothing was changed. Try again.",
                    short_ref(&order.public_id)
                )));
            }
            moved += 1;
            let after = Order::find(conn, order.id)?;
            let lines = after.lines(conn)?;
            let email = match to {
                OrderStatus::Shipped => Some(order_shipped(env.renderer, site_url, &after, &lines)),
                OrderStatus::Cancelled => Some(order_cancelled(
                    env.renderer,
                    site_url,
                    &after,
                    &lines,
                    order.status == OrderStatus::Paid,
                )),
                _ => None,
            };
            if let Some(email) = email {
                let email =
                    email.map_err(|e| SaveError::Other(format!("rendering the email: {e}")))?;
                outbox::enqueue(conn, &email)?;
            }
        }
        let what = match to {
            OrderStatus::Shipped => "marked shipped; each customer was emailed the tracking number",
            OrderStatus::Delivered => "marked delivered",
            _ => "cancelled; their stock is back on sale and each customer was told",
        };
        let mut message = if moved == 1 {
            format!("1 order was {what}.")
        } else {
            format!("{moved} orders were {what}.")
        };
        let refunds: Vec<String> = orders
            .iter()
            .filter(|o| to == OrderStatus::Cancelled && o.status == OrderStatus::Paid)
            .map(|o| short_ref(&o.public_id))
            .collect();
        if !refunds.is_empty() {
            message.push_str(&format!(
                " Their customers were told they will be refunded: open {} and use Refund.",
                refunds.join(", ")
            ));
        }
        Ok(message)
    }

    fn object_links(&self, obj: &Object) -> Vec<(String, Link)> {
        let Some(Value::Text(public_id)) = obj.values.get("public_id") else {
            return Vec::new();
        };
        let mut links = vec![(
            "View on site".to_string(),
            Link::route("orders:detail", &[("public_id", public_id)]),
        )];
        let status = match obj.values.get("status") {
            Some(Value::Text(s)) => OrderStatus::parse(s),
            _ => None,
        };
        let unpaid = !matches!(obj.values.get("paid_at"), Some(Value::DateTime(_)));
        let on_delivery = paid_on_delivery(obj);
        let record = match status {
            Some(OrderStatus::Pending) if on_delivery => Some("Record cash received"),
            Some(OrderStatus::Pending) => Some("Record a bank transfer"),
            Some(OrderStatus::Shipped | OrderStatus::Delivered) if on_delivery && unpaid => {
                Some("Record cash received")
            }
            _ => None,
        };
        if let Some(label) = record {
            // The payments app's page (it records the money).
            links.push((
                label.to_string(),
                Link::route("admin:order_transfer", &[("id", &obj.id.to_string())]),
            ));
        }
        if matches!(obj.values.get("paid_at"), Some(Value::DateTime(_))) {
            links.push((
                "Invoice".to_string(),
                Link::route("orders:invoice", &[("public_id", public_id)]),
            ));
            // The payments app's page (it moves the money).
            links.push((
                "Refund".to_string(),
                Link::route("admin:order_refund", &[("id", &obj.id.to_string())]),
            ));
        }
        links
    }

    fn object_actions(&self, obj: &Object) -> Vec<&'static str> {
        let status = match obj.values.get("status") {
            Some(Value::Text(s)) => OrderStatus::parse(s),
            _ => None,
        };
        match status {
            // Paid on delivery: it ships first.
            Some(OrderStatus::Pending) if paid_on_delivery(obj) => {
                vec!["mark_shipped", "cancel", "add_note"]
            }
            Some(OrderStatus::Pending) => vec!["cancel", "add_note"],
            Some(OrderStatus::Paid) => vec!["mark_shipped", "cancel", "add_note"],
            Some(OrderStatus::Shipped) => vec!["mark_delivered", "add_note"],
            _ => vec!["add_note"],
        }
    }
}

fn paid_on_delivery(obj: &Object) -> bool {
    matches!(obj.values.get("payment_method"), Some(Value::Text(m)) if m == crate::payment_method::PaymentMethod::CashOnDelivery.as_str())
}

fn payment_methods() -> Vec<(&'static str, &'static str)> {
    crate::payment_method::PaymentMethod::ALL
        .iter()
        .map(|m| (m.as_str(), m.label()))
        .collect()
}

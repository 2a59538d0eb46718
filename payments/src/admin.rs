//! Payments and their transactions in the staff admin: read-only records of
//! what the provider was asked and answered. Also shows an order's
//! payments on its admin page.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use site_core::admin::{
    in_order_of, Cell, Column, DateHierarchy, Field, Filter, InlineTable, Link, ListQuery,
    ModelAdmin, ModelMeta, Object, Related, Row, Value, Values,
};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::{orders_order as o, payments_payment as p, payments_transaction as t};

use crate::models::{Payment, PaymentStatus, Transaction, TransactionStatus};

fn short_ref(public_id: &str) -> String {
    orders::emails::short_ref(public_id)
}

pub struct PaymentAdmin {
    meta: ModelMeta,
}

impl Default for PaymentAdmin {
    fn default() -> Self {
        let statuses: Vec<(&'static str, &'static str)> = PaymentStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect();
        let mut meta = ModelMeta::new("payments", "payment", "payment", "payments").read_only();
        meta.columns = vec![
            Column::new("id", "Payment").sortable(),
            Column::new("order", "Order"),
            Column::new("status", "Status"),
            Column::new("amount", "Amount").sortable().numeric(),
            Column::new("provider", "Provider"),
            Column::new("card", "Card"),
            Column::new("created", "Started (UTC)").sortable(),
        ];
        meta.filters = vec![
            Filter::choices("status", "Status", statuses.clone()),
            Filter::date_range("created", "Started"),
        ];
        meta.search = Some("the last four digits of the card");
        meta.date_hierarchy = Some(DateHierarchy {
            field: "created",
            label: "Started",
        });
        meta.fields = vec![
            Field::text("order", "Order", 100).readonly(),
            Field::choice("status", "Status", statuses).readonly(),
            Field::money("amount", "Amount").readonly(),
            Field::text("provider", "Provider", 50).readonly(),
            Field::text("card_last4", "Card (last four digits)", 4).readonly(),
            Field::text("idempotency_key", "Idempotency key", 100).readonly(),
            Field::datetime("created_at", "Started"),
            Field::datetime("updated_at", "Last changed"),
        ];
        PaymentAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> p::BoxedQuery<'static, MultiBackend> {
    let mut query = p::table.into_boxed::<MultiBackend>();
    if let Some(s) = q.choice("status").and_then(PaymentStatus::parse) {
        query = query.filter(p::status.eq(s));
    }
    query = site_core::admin_between!(query, p::created_at, q.date_range("created"));
    query = site_core::admin_between!(query, p::created_at, q.drill_range().unzip());
    if let Some(after) = q.after_id {
        query = query.filter(p::id.gt(after));
    }
    site_core::admin_search_like!(query, q, p::table, [p::card_last4])
}

/// A payment's cells: id, status, amount, provider, card, when.
fn payment_cells(pay: Payment) -> Vec<Cell> {
    vec![
        Cell::Text(format!("#{}", pay.id)),
        Cell::Status(pay.status.as_str().into(), pay.status.label().into()),
        Cell::Money(pay.amount_minor),
        Cell::Text(pay.provider),
        Cell::Text(if pay.card_last4.is_empty() {
            String::new()
        } else {
            format!("•••• {}", pay.card_last4)
        }),
        Cell::DateTime(Some(pay.created_at)),
    ]
}

fn payment_row(pay: Payment, public_id: &str) -> Row {
    let (id, order_id) = (pay.id, pay.order_id);
    let mut cells = payment_cells(pay);
    cells.insert(
        1,
        Cell::Link(
            short_ref(public_id),
            Link::change("orders", "order", order_id),
        ),
    );
    Row {
        id,
        repr: format!("Payment {id} for order {}", short_ref(public_id)),
        cells,
        editable: Values::new(),
    }
}

impl ModelAdmin for PaymentAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let ids: Vec<i64> = site_core::admin_order!(filtered(q), q, p::id, {
            "amount" => p::amount_minor,
            "created" => p::created_at,
        })
        .select(p::id)
        .offset(q.offset)
        .limit(q.limit)
        .load(conn)?;
        let rows: Vec<(Payment, String)> = p::table
            .inner_join(o::table)
            .filter(p::id.eq_any(&ids))
            .select((Payment::as_select(), o::public_id))
            .load(conn)?;
        Ok(in_order_of(&ids, rows, |(pay, _)| pay.id)
            .into_iter()
            .map(|(pay, public_id)| payment_row(pay, &public_id))
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(p::id).limit(cap).load::<i64>(conn)
    }

    fn date_bounds(
        &self,
        conn: &mut DbConn,
    ) -> QueryResult<Option<(NaiveDateTime, NaiveDateTime)>> {
        site_core::admin_date_bounds!(conn, p::table, p::created_at, p::id)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some((pay, public_id)) = p::table
            .inner_join(o::table)
            .filter(p::id.eq(id))
            .select((Payment::as_select(), o::public_id))
            .first::<(Payment, String)>(conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(Some(Object {
            id,
            repr: format!("Payment {} for order {}", pay.id, short_ref(&public_id)),
            values: Values::new()
                .with("order", Value::Text(short_ref(&public_id)))
                .with("status", Value::Text(pay.status.as_str().into()))
                .with("amount", Value::Money(pay.amount_minor))
                .with("provider", Value::Text(pay.provider))
                .with("card_last4", Value::Text(pay.card_last4))
                .with("idempotency_key", Value::Text(pay.idempotency_key))
                .with("created_at", Value::DateTime(pay.created_at))
                .with("updated_at", Value::DateTime(pay.updated_at)),
        }))
    }

    fn inlines(&self, conn: &mut DbConn, obj: &Object) -> QueryResult<Vec<InlineTable>> {
        let txs: Vec<Transaction> = t::table
            .filter(t::payment_id.eq(obj.id))
            .order(t::id.asc())
            .select(Transaction::as_select())
            .load(conn)?;
        Ok(vec![transactions_table("Transactions", txs)])
    }
}

fn transaction_cells(tx: Transaction) -> Vec<Cell> {
    vec![
        Cell::Text(tx.kind.as_str().into()),
        Cell::Status(
            match tx.status {
                TransactionStatus::Approved => "succeeded".into(),
                TransactionStatus::Declined => "failed".into(),
                TransactionStatus::Pending => "processing".into(),
            },
            tx.status.as_str().into(),
        ),
        Cell::Money(tx.amount_minor),
        Cell::Text(tx.reference),
        Cell::Text(tx.message),
        Cell::DateTime(Some(tx.created_at)),
    ]
}

fn transactions_table(title: &str, txs: Vec<Transaction>) -> InlineTable {
    InlineTable {
        title: title.into(),
        columns: vec![
            Column::new("kind", "Kind"),
            Column::new("status", "Answer"),
            Column::new("amount", "Amount").numeric(),
            Column::new("reference", "Provider reference"),
            Column::new("message", "Message"),
            Column::new("created", "When (UTC)"),
        ],
        rows: txs
            .into_iter()
            .map(|tx| {
                (
                    Some(Link::change("payments", "transaction", tx.id)),
                    transaction_cells(tx),
                )
            })
            .collect(),
        more: None,
        lists: Some(("payments", "transaction")),
    }
}

pub struct TransactionAdmin {
    meta: ModelMeta,
}

impl Default for TransactionAdmin {
    fn default() -> Self {
        let answers: Vec<(&'static str, &'static str)> = TransactionStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str()))
            .collect();
        let mut meta = ModelMeta::new(
            "payments",
            "transaction",
            "payment transaction",
            "payment transactions",
        )
        .read_only();
        meta.columns = vec![
            Column::new("kind", "Kind"),
            Column::new("status", "Answer"),
            Column::new("amount", "Amount").numeric(),
            Column::new("reference", "Provider reference"),
            Column::new("message", "Message"),
            Column::new("created", "When (UTC)").sortable(),
        ];
        meta.filters = vec![Filter::choices("status", "Answer", answers.clone())];
        meta.search = Some("the provider reference");
        meta.fields = vec![
            Field::text("payment", "Payment", 20).readonly(),
            Field::text("kind", "Kind", 20).readonly(),
            Field::choice("status", "Answer", answers).readonly(),
            Field::money("amount", "Amount").readonly(),
            Field::text("reference", "Provider reference", 200).readonly(),
            Field::text("message", "Message", 500).readonly(),
            Field::datetime("created_at", "When"),
        ];
        TransactionAdmin { meta }
    }
}

fn transactions_filtered(q: &ListQuery) -> t::BoxedQuery<'static, MultiBackend> {
    let mut query = t::table.into_boxed::<MultiBackend>();
    if let Some(s) = q.choice("status").and_then(TransactionStatus::parse) {
        query = query.filter(t::status.eq(s));
    }
    if let Some(after) = q.after_id {
        query = query.filter(t::id.gt(after));
    }
    site_core::admin_search_like!(query, q, t::table, [t::reference])
}

impl ModelAdmin for TransactionAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let txs: Vec<Transaction> = site_core::admin_order!(transactions_filtered(q), q, t::id, {
            "created" => t::created_at,
        })
        .offset(q.offset)
        .limit(q.limit)
        .select(Transaction::as_select())
        .load(conn)?;
        Ok(txs
            .into_iter()
            .map(|tx| Row {
                id: tx.id,
                repr: format!("{} {} for payment {}", tx.kind, tx.status, tx.payment_id),
                editable: Values::new(),
                cells: transaction_cells(tx),
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        transactions_filtered(q)
            .select(t::id)
            .limit(cap)
            .load::<i64>(conn)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(tx) = t::table
            .find(id)
            .select(Transaction::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(Some(Object {
            id,
            repr: format!("{} {} for payment {}", tx.kind, tx.status, tx.payment_id),
            values: Values::new()
                .with("payment", Value::Text(format!("#{}", tx.payment_id)))
                .with("kind", Value::Text(tx.kind.as_str().into()))
                .with("status", Value::Text(tx.status.as_str().into()))
                .with("amount", Value::Money(tx.amount_minor))
                .with("reference", Value::Text(tx.reference))
                .with("message", Value::Text(tx.message))
                .with("created_at", Value::DateTime(tx.created_at)),
        }))
    }

    fn object_links(&self, obj: &Object) -> Vec<(String, Link)> {
        match obj.values.get("payment") {
            Some(Value::Text(p)) => p
                .trim_start_matches('#')
                .parse()
                .map(|id| {
                    vec![(
                        "Its payment".into(),
                        Link::change("payments", "payment", id),
                    )]
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// Whether the order counts as paid by an authorization that was then
/// released uncaptured (its latest payment is voided): it paid for nothing.
fn released_before_capture(conn: &mut DbConn, order_id: i64) -> QueryResult<bool> {
    let voided = Payment::for_order(conn, order_id)?
        .pop()
        .is_some_and(|p| p.status() == PaymentStatus::Voided);
    if !voided {
        return Ok(false);
    }
    let paid: Option<chrono::NaiveDateTime> =
        o::table.find(order_id).select(o::paid_at).first(conn)?;
    Ok(paid.is_some())
}

/// An order's payments, on its admin page.
pub struct PaymentsOfOrders;

impl Related for PaymentsOfOrders {
    /// An order whose payment is still being processed (or whose answer
    /// was lost) is not cancelled from under it: the charge may yet
    /// succeed, and the customer would have paid for a cancelled order
    /// whose stock is back on sale.
    fn refuse_action(
        &self,
        conn: &mut DbConn,
        app: &str,
        model: &str,
        action: &str,
        id: i64,
    ) -> QueryResult<Option<String>> {
        if (app, model) != ("orders", "order") || !matches!(action, "cancel" | "mark_shipped") {
            return Ok(None);
        }
        let live = Payment::live(conn, id)?.map(|p| p.status());
        let reason = match (action, live) {
            (_, Some(PaymentStatus::Succeeded)) => return Ok(None),
            ("cancel", Some(PaymentStatus::Authorized)) => {
                "its card payment is authorized, not captured: use Void payment, which \
                 releases the money held on the card and cancels the order."
            }
            (_, Some(PaymentStatus::Authorized)) => {
                "its card payment is only authorized: capture it (Capture payment) before \
                 the order ships."
            }
            ("cancel", Some(_)) => {
                "its payment is still being processed. Cancel it once the payment has \
                 failed (or refund it once it has succeeded)."
            }
            ("mark_shipped", None) if released_before_capture(conn, id)? => {
                "its card authorization was released before it was captured, so nothing \
                 was paid: cancel the order (the customer may order again)."
            }
            _ => return Ok(None),
        };
        let public_id: String = o::table.find(id).select(o::public_id).first(conn)?;
        Ok(Some(format!(
            "Order {}: {reason}",
            orders::emails::short_ref(&public_id)
        )))
    }

    /// Capture or void an authorized payment.
    fn links(
        &self,
        conn: &mut DbConn,
        app: &str,
        model: &str,
        id: i64,
    ) -> QueryResult<Vec<site_core::admin::RelatedLink>> {
        if (app, model) != ("orders", "order") {
            return Ok(Vec::new());
        }
        match Payment::live(conn, id)? {
            Some(live) if live.status() == PaymentStatus::Authorized => {
                Ok(crate::admin_capture::links(id))
            }
            _ => Ok(Vec::new()),
        }
    }

    fn inlines(
        &self,
        conn: &mut DbConn,
        app: &str,
        model: &str,
        id: i64,
    ) -> QueryResult<Vec<InlineTable>> {
        if (app, model) != ("orders", "order") {
            return Ok(Vec::new());
        }
        let payments: Vec<Payment> = p::table
            .filter(p::order_id.eq(id))
            .order(p::id.asc())
            .select(Payment::as_select())
            .load(conn)?;
        Ok(vec![InlineTable {
            title: "Payments".into(),
            columns: vec![
                Column::new("id", "Payment"),
                Column::new("status", "Status"),
                Column::new("amount", "Amount").numeric(),
                Column::new("provider", "Provider"),
                Column::new("card", "Card"),
                Column::new("created", "Started (UTC)"),
            ],
            rows: payments
                .into_iter()
                .map(|pay| {
                    (
                        Some(Link::change("payments", "payment", pay.id)),
                        payment_cells(pay),
                    )
                })
                .collect(),
            more: None,
            lists: Some(("payments", "payment")),
        }])
    }
}

/// Webhook events the payment service sent: read-only, so staff can see
/// what it said, when each was processed, and any note about it.
pub struct WebhookEventAdmin {
    meta: ModelMeta,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = site_core::schema::payments_webhook_event)]
struct WebhookEventRow {
    id: i64,
    provider: String,
    event_id: String,
    kind: String,
    payload: String,
    received_at: NaiveDateTime,
    processed_at: Option<NaiveDateTime>,
    attempts: i64,
    last_error: String,
}

const EVENT_STATES: &[(&str, &str)] =
    &[("waiting", "Not processed yet"), ("processed", "Processed")];

impl Default for WebhookEventAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new(
            "payments",
            "webhookevent",
            "webhook event",
            "webhook events",
        )
        .read_only();
        meta.columns = vec![
            Column::new("kind", "Event"),
            Column::new("state", "State"),
            Column::new("provider", "Provider"),
            Column::new("event_id", "Event id"),
            Column::new("received", "Received (UTC)").sortable(),
            Column::new("attempts", "Attempts").numeric(),
            Column::new("note", "Note"),
        ];
        meta.filters = vec![Filter::choices("state", "State", EVENT_STATES.to_vec())];
        meta.search = Some("the event id");
        meta.fields = vec![
            Field::text("provider", "Provider", 50).readonly(),
            Field::text("event_id", "Event id", 200).readonly(),
            Field::text("kind", "Event", 100).readonly(),
            Field::datetime("received_at", "Received"),
            Field::datetime("processed_at", "Processed"),
            Field::text("attempts", "Processing attempts", 20).readonly(),
            Field::text("last_error", "Note", 500).readonly(),
            Field::text("payload", "What the provider sent", 5000).readonly(),
        ];
        WebhookEventAdmin { meta }
    }
}

fn events_filtered(
    q: &ListQuery,
) -> site_core::schema::payments_webhook_event::BoxedQuery<'static, MultiBackend> {
    use site_core::schema::payments_webhook_event as e;
    let mut query = e::table.into_boxed::<MultiBackend>();
    match q.choice("state") {
        Some("waiting") => query = query.filter(e::processed_at.is_null()),
        Some("processed") => query = query.filter(e::processed_at.is_not_null()),
        _ => {}
    }
    if let Some(after) = q.after_id {
        query = query.filter(e::id.gt(after));
    }
    site_core::admin_search_like!(query, q, e::table, [e::event_id])
}

impl ModelAdmin for WebhookEventAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        use site_core::schema::payments_webhook_event as e;
        let events: Vec<WebhookEventRow> = site_core::admin_order!(events_filtered(q), q, e::id, {
            "received" => e::received_at,
        })
        .offset(q.offset)
        .limit(q.limit)
        .select(WebhookEventRow::as_select())
        .load(conn)?;
        Ok(events
            .into_iter()
            .map(|ev| Row {
                id: ev.id,
                repr: format!("{} {}", ev.kind, ev.event_id),
                editable: Values::new(),
                cells: vec![
                    Cell::Text(ev.kind),
                    match ev.processed_at {
                        Some(_) => Cell::Status("succeeded".into(), "Processed".into()),
                        None => Cell::Status("processing".into(), "Not processed yet".into()),
                    },
                    Cell::Text(ev.provider),
                    Cell::Text(ev.event_id),
                    Cell::DateTime(Some(ev.received_at)),
                    Cell::Int(ev.attempts),
                    Cell::Text(ev.last_error),
                ],
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        use site_core::schema::payments_webhook_event as e;
        events_filtered(q)
            .select(e::id)
            .limit(cap)
            .load::<i64>(conn)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        use site_core::schema::payments_webhook_event as e;
        let Some(ev) = e::table
            .find(id)
            .select(WebhookEventRow::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        Ok(Some(Object {
            id,
            repr: format!("{} {}", ev.kind, ev.event_id),
            values: Values::new()
                .with("provider", Value::Text(ev.provider))
                .with("event_id", Value::Text(ev.event_id))
                .with("kind", Value::Text(ev.kind))
                .with("received_at", Value::DateTime(ev.received_at))
                .with(
                    "processed_at",
                    ev.processed_at.map_or(Value::Null, Value::DateTime),
                )
                .with("attempts", Value::Text(ev.attempts.to_string()))
                .with("last_error", Value::Text(ev.last_error))
                .with("payload", Value::Text(ev.payload)),
        }))
    }
}

/// The order's page in the admin, where the payment pages send staff back.
pub(crate) fn order_change_url(
    rq: &site_core::http::RequestContext,
    order_id: i64,
) -> Result<String, site_core::AppError> {
    rq.url(
        "admin:change",
        &[
            ("app", "orders"),
            ("model", "order"),
            ("id", &order_id.to_string()),
        ],
    )
}

//! Outgoing email in the admin: every message with its status, attempts and
//! last error, searchable, and a "retry" action for those that failed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::outbox::{OutboxMessage, Status};
use crate::admin::{
    ActionSpec, AdminEnv, Cell, Column, DateHierarchy, DeletePlan, Deleted, Field, Filter,
    ListQuery, ModelAdmin, ModelMeta, Object, Perm, Row, SaveError, Submission, Value, Values,
};
use crate::db::{DbConn, MultiBackend};
use crate::schema::core_outbox as o;

pub struct OutboxAdmin {
    meta: ModelMeta,
}

impl Default for OutboxAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("core", "outbox", "outgoing email", "outgoing emails");
        meta.columns = vec![
            Column::new("recipient", "To").sortable(),
            Column::new("subject", "Subject"),
            Column::new("status", "Status"),
            Column::new("attempts", "Attempts").numeric(),
            Column::new("created", "Queued (UTC)").sortable(),
            Column::new("last_error", "Last error"),
        ];
        let statuses: Vec<_> = Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect();
        meta.filters = vec![Filter::choices("status", "Status", statuses.clone())];
        meta.search = Some("recipient or subject");
        meta.date_hierarchy = Some(DateHierarchy {
            field: "created",
            label: "Queued",
        });
        meta.default_sort = "-id";
        meta.fields = vec![
            Field::text("recipient", "To", 254).readonly(),
            Field::text("subject", "Subject", 500).readonly(),
            Field::choice("status", "Status", statuses).readonly(),
            Field::int("attempts", "Attempts", 0, 1000).readonly(),
            Field::long_text("last_error", "Last error", 5000).readonly(),
            Field::datetime("created_at", "Queued"),
            Field::datetime("next_attempt_at", "Next attempt"),
            Field::datetime("sent_at", "Sent"),
            Field::text("message_id", "Message-ID", 200).readonly(),
        ];
        meta.actions = vec![ActionSpec::new("retry", "Retry sending", Perm::Change)];
        meta.addable = false;
        meta.editable = false;
        OutboxAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> o::BoxedQuery<'static, MultiBackend> {
    let mut query = o::table.into_boxed::<MultiBackend>();
    if let Some(s) = q.choice("status").and_then(Status::parse) {
        query = query.filter(o::status.eq(s));
    }
    query = crate::admin_between!(query, o::created_at, q.drill_range().unzip());
    if let Some(after) = q.after_id {
        query = query.filter(o::id.gt(after));
    }
    crate::admin_search_like!(query, q, o::table, [o::recipient, o::subject])
}

fn row(m: OutboxMessage) -> Row {
    Row {
        id: m.id,
        repr: format!("{} to {}", m.subject, m.recipient),
        cells: vec![
            Cell::Text(m.recipient),
            Cell::Text(m.subject),
            Cell::Status(m.status.as_str().into(), m.status.label().into()),
            Cell::Int(i64::from(m.attempts)),
            Cell::DateTime(Some(m.created_at)),
            Cell::Text(m.last_error),
        ],
        editable: Values::new(),
    }
}

fn when(t: Option<NaiveDateTime>) -> Value {
    t.map(Value::DateTime).unwrap_or(Value::Null)
}

impl ModelAdmin for OutboxAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let query = crate::admin_order!(filtered(q), q, o::id, {
            "recipient" => o::recipient,
            "created" => o::created_at,
        });
        Ok(query
            .offset(q.offset)
            .limit(q.limit)
            .select(OutboxMessage::as_select())
            .load(conn)?
            .into_iter()
            .map(row)
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(o::id).limit(cap).load::<i64>(conn)
    }

    fn date_bounds(
        &self,
        conn: &mut DbConn,
    ) -> QueryResult<Option<(NaiveDateTime, NaiveDateTime)>> {
        crate::admin_date_bounds!(conn, o::table, o::created_at, o::id)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(m) = o::table
            .find(id)
            .select(OutboxMessage::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let values = Values::new()
            .with("recipient", Value::Text(m.recipient.clone()))
            .with("subject", Value::Text(m.subject.clone()))
            .with("status", Value::Text(m.status.as_str().into()))
            .with("attempts", Value::Int(i64::from(m.attempts)))
            .with("last_error", Value::Text(m.last_error.clone()))
            .with("created_at", Value::DateTime(m.created_at))
            .with("next_attempt_at", Value::DateTime(m.next_attempt_at))
            .with("sent_at", when(m.sent_at))
            .with("message_id", Value::Text(m.message_id.clone()));
        Ok(Some(Object {
            id,
            repr: format!("{} to {}", m.subject, m.recipient),
            values,
        }))
    }

    fn delete(&self, conn: &mut DbConn, id: i64, _: &DeletePlan) -> Result<Deleted, SaveError> {
        diesel::delete(o::table.find(id)).execute(conn)?;
        Ok(Deleted::Removed)
    }

    fn run_action(
        &self,
        _env: &AdminEnv<'_>,
        conn: &mut DbConn,
        action: &str,
        ids: &[i64],
        _input: &Submission,
    ) -> Result<String, SaveError> {
        if action != "retry" {
            return Err(SaveError::Other(format!("no action {action:?}")));
        }
        let mut queued = 0;
        for id in ids {
            if super::outbox::retry(conn, *id)? {
                queued += 1;
            }
        }
        Ok(crate::admin::retry_message(
            queued,
            ids.len(),
            "message",
            "messages",
            "queued again",
        ))
    }

    fn object_actions(&self, obj: &Object) -> Vec<&'static str> {
        match obj.values.get("status") {
            Some(Value::Text(s)) if s == Status::Failed.as_str() => vec!["retry"],
            _ => Vec::new(),
        }
    }
}

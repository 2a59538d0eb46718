//! The audit trail: every add, change, delete and bulk action in the admin
//! writes who, when, which object and each changed field's before and
//! after, in the same transaction as the change itself.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Field, ModelMeta, Staff, Value, Values};
use crate::db::{DbConn, MultiBackend};
use crate::schema::admin_log as l;

crate::text_enum! {
    /// What kind of change an entry records.
    pub enum LogAction {
        Add = "add",
        Change = "change",
        Delete = "delete",
        Action = "action",
    }
}

impl LogAction {
    pub fn label(self) -> &'static str {
        match self {
            LogAction::Add => "Added",
            LogAction::Change => "Changed",
            LogAction::Delete => "Deleted",
            LogAction::Action => "Action",
        }
    }
}

/// One field's change, as people read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub label: String,
    pub before: String,
    pub after: String,
}

impl FieldChange {
    /// What happened to a formset's rows ("added picture 4"), for the
    /// history: no before, only what was done.
    pub fn row_note(field: &str, label: &str, after: String) -> FieldChange {
        FieldChange {
            field: field.into(),
            label: label.into(),
            before: String::new(),
            after,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = l)]
pub struct LogEntry {
    pub id: i64,
    pub action_time: NaiveDateTime,
    pub user_id: Option<i64>,
    pub user_email: String,
    pub app: String,
    pub model: String,
    pub object_id: i64,
    pub object_repr: String,
    pub action: LogAction,
    pub action_name: String,
    pub changes: String,
}

impl LogEntry {
    pub fn changes(&self) -> Vec<FieldChange> {
        serde_json::from_str(&self.changes).unwrap_or_default()
    }
}

/// What happened to one object.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub object_id: i64,
    pub repr: &'a str,
    pub action: LogAction,
    /// The action's label, for bulk actions ("Mark shipped").
    pub action_name: &'a str,
    pub changes: Vec<FieldChange>,
}

/// Writes an entry; call it inside the transaction of the change.
pub fn write(
    conn: &mut DbConn,
    staff: &Staff,
    meta: &ModelMeta,
    record: &Record<'_>,
) -> QueryResult<()> {
    write_as(
        conn,
        Some(staff.id),
        &staff.email,
        meta.app,
        meta.model,
        record,
    )
}

/// Writes an entry for a change made by `user_id` (named `who`), or by
/// an operator on the command line (`None`).
pub fn write_as(
    conn: &mut DbConn,
    user_id: Option<i64>,
    who: &str,
    app: &str,
    model: &str,
    record: &Record<'_>,
) -> QueryResult<()> {
    let changes = serde_json::to_string(&record.changes).unwrap_or_else(|_| "[]".into());
    diesel::insert_into(l::table)
        .values((
            l::action_time.eq(crate::now()),
            l::user_id.eq(user_id),
            l::user_email.eq(who),
            l::app.eq(app),
            l::model.eq(model),
            l::object_id.eq(record.object_id),
            l::object_repr.eq(record.repr),
            l::action.eq(record.action),
            l::action_name.eq(record.action_name),
            l::changes.eq(changes),
        ))
        .execute(conn)?;
    Ok(())
}

/// The fields whose shown value differs between `before` and `after`
/// (either may be absent: an add, a delete), in field order.
pub fn diff(
    fields: &[Field],
    before: Option<&Values>,
    after: Option<&Values>,
    show: &dyn Fn(&Field, Option<&Value>) -> String,
) -> Vec<FieldChange> {
    fields
        .iter()
        .filter_map(|f| {
            let b = before.and_then(|v| v.get(f.name));
            let a = after.and_then(|v| v.get(f.name));
            if b == a || (b.is_none() && a.is_none()) {
                return None;
            }
            let (before, after) = (
                before.map(|_| show(f, b)).unwrap_or_default(),
                after.map(|_| show(f, a)).unwrap_or_default(),
            );
            (before != after).then(|| FieldChange {
                field: f.name.to_string(),
                label: f.label.to_string(),
                before,
                after,
            })
        })
        .collect()
}

/// The history of one object, newest first.
pub fn for_object(
    conn: &mut DbConn,
    app: &str,
    model: &str,
    object_id: i64,
    limit: i64,
) -> QueryResult<Vec<LogEntry>> {
    l::table
        .filter(l::app.eq(app))
        .filter(l::model.eq(model))
        .filter(l::object_id.eq(object_id))
        .order(l::id.desc())
        .limit(limit)
        .select(LogEntry::as_select())
        .load(conn)
}

/// What the audit page filters by.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub user_id: Option<i64>,
    pub model: Option<(String, String)>,
    pub from: Option<NaiveDateTime>,
    /// Exclusive.
    pub until: Option<NaiveDateTime>,
    /// Only these (app, model) pairs: what the viewer may see.
    pub visible: Option<Vec<(String, String)>>,
}

fn filtered(f: &LogFilter) -> l::BoxedQuery<'static, MultiBackend> {
    let mut q = l::table.into_boxed::<MultiBackend>();
    if let Some(u) = f.user_id {
        q = q.filter(l::user_id.eq(u));
    }
    if let Some((app, model)) = &f.model {
        q = q
            .filter(l::app.eq(app.clone()))
            .filter(l::model.eq(model.clone()));
    }
    if let Some(from) = f.from {
        q = q.filter(l::action_time.ge(from));
    }
    if let Some(until) = f.until {
        q = q.filter(l::action_time.lt(until));
    }
    if let Some(visible) = &f.visible {
        let mut allowed: Box<
            dyn BoxableExpression<l::table, MultiBackend, SqlType = diesel::sql_types::Bool>,
        > = Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0"));
        for (app, model) in visible {
            allowed = Box::new(allowed.or(l::app.eq(app.clone()).and(l::model.eq(model.clone()))));
        }
        q = q.filter(allowed);
    }
    q
}

/// A page of the audit log, newest first.
pub fn page(
    conn: &mut DbConn,
    f: &LogFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<LogEntry>> {
    filtered(f)
        .order(l::id.desc())
        .offset(offset)
        .limit(limit)
        .select(LogEntry::as_select())
        .load(conn)
}

/// How many entries match, counting no further than `cap`.
pub fn count(conn: &mut DbConn, f: &LogFilter, cap: i64) -> QueryResult<i64> {
    Ok(filtered(f)
        .select(l::id)
        .limit(cap)
        .load::<i64>(conn)?
        .len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_only_what_changed_as_shown() {
        let fields = vec![
            Field::text("name", "Name", 50),
            Field::int("stock", "Stock", 0, 10),
            Field::bool("active", "Active"),
        ];
        let before = Values::new()
            .with("name", Value::Text("Oak Lamp".into()))
            .with("stock", Value::Int(3))
            .with("active", Value::Bool(true));
        let after = before.clone().with("stock", Value::Int(2));
        let show = |_: &Field, v: Option<&Value>| match v {
            Some(Value::Int(n)) => n.to_string(),
            Some(Value::Text(t)) => t.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => String::new(),
        };
        let changes = diff(&fields, Some(&before), Some(&after), &show);
        assert_eq!(
            changes,
            vec![FieldChange {
                field: "stock".into(),
                label: "Stock".into(),
                before: "3".into(),
                after: "2".into()
            }]
        );
        let added = diff(&fields, None, Some(&after), &show);
        assert_eq!(added.len(), 3);
        assert!(added.iter().all(|c| c.before.is_empty()));
        let deleted = diff(&fields, Some(&before), None, &show);
        assert!(deleted
            .iter()
            .all(|c| c.after.is_empty() && !c.before.is_empty()));
    }
}

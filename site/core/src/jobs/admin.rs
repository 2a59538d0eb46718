//! Background jobs in the admin: what waits, what runs and on which
//! worker, what failed and why, with "Retry now" for failed and retrying
//! jobs. Staff delete a failed job they have dealt with by other means.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{JobRow, Status};
use crate::admin::{
    ActionSpec, AdminEnv, Cell, Column, DateHierarchy, DeletePlan, Deleted, Field, Filter,
    ListQuery, ModelAdmin, ModelMeta, Object, Perm, Row, SaveError, Submission, Value, Values,
};
use crate::db::{DbConn, MultiBackend};
use crate::schema::core_job as j;

/// "Retrying" in the status filter: waiting again after an error.
const RETRYING: &str = "retrying";

pub struct JobAdmin {
    meta: ModelMeta,
}

impl Default for JobAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("core", "job", "background job", "background jobs");
        meta.columns = vec![
            Column::new("kind", "Job").sortable(),
            Column::new("status", "Status"),
            Column::new("attempts", "Attempts").numeric(),
            Column::new("run_at", "Runs at (UTC)").sortable(),
            Column::new("last_error", "Last error"),
            Column::new("created", "Queued (UTC)").sortable(),
        ];
        let mut statuses: Vec<_> = Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect();
        statuses.push((RETRYING, "Retrying"));
        meta.filters = vec![Filter::choices("status", "Status", statuses)];
        meta.search = Some("job name or arguments");
        meta.date_hierarchy = Some(DateHierarchy {
            field: "created",
            label: "Queued",
        });
        meta.default_sort = "-id";
        let states: Vec<_> = Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect();
        meta.fields = vec![
            Field::text("kind", "Job", 200).readonly(),
            Field::long_text("payload", "Arguments", 10_000).readonly(),
            Field::choice("status", "Status", states).readonly(),
            Field::int("attempts", "Attempts", 0, i64::from(i32::MAX)).readonly(),
            Field::int("max_attempts", "Attempts allowed", 0, i64::from(i32::MAX)).readonly(),
            Field::int(
                "every_seconds",
                "Runs every (seconds)",
                0,
                i64::from(i32::MAX),
            )
            .readonly(),
            Field::datetime("run_at", "Runs at"),
            Field::text("claimed_by", "Last run by (worker)", 200).readonly(),
            Field::datetime("claimed_until", "Held until"),
            Field::long_text("last_error", "Last error", 10_000).readonly(),
            Field::datetime("created_at", "Queued"),
            Field::datetime("failed_at", "Failed"),
        ];
        meta.actions = vec![ActionSpec::new("retry", "Retry now", Perm::Change)];
        meta.addable = false;
        meta.editable = false;
        JobAdmin { meta }
    }
}

fn filtered(q: &ListQuery) -> j::BoxedQuery<'static, MultiBackend> {
    let mut query = j::table.into_boxed::<MultiBackend>();
    match q.choice("status") {
        Some(RETRYING) => {
            query = query
                .filter(j::status.eq(Status::Pending))
                .filter(j::last_error.ne(""))
        }
        Some(s) => {
            if let Some(s) = Status::parse(s) {
                query = query.filter(j::status.eq(s));
            }
        }
        None => {}
    }
    query = crate::admin_between!(query, j::created_at, q.drill_range().unzip());
    if let Some(after) = q.after_id {
        query = query.filter(j::id.gt(after));
    }
    crate::admin_search_like!(query, q, j::table, [j::kind, j::payload])
}

fn repr(job: &JobRow) -> String {
    if job.recurring() {
        format!("{} (recurring)", job.kind)
    } else {
        format!("{} {}", job.kind, job.payload)
    }
}

fn row(job: JobRow) -> Row {
    let (state, label) = if job.retrying() {
        (RETRYING, "Retrying")
    } else {
        (job.status.as_str(), job.status.label())
    };
    Row {
        id: job.id,
        repr: repr(&job),
        cells: vec![
            Cell::Text(repr(&job)),
            Cell::Status(state.into(), label.into()),
            Cell::Int(i64::from(job.attempts)),
            Cell::DateTime(Some(job.run_at)),
            Cell::Text(job.last_error),
            Cell::DateTime(Some(job.created_at)),
        ],
        editable: Values::new(),
    }
}

fn when(t: Option<NaiveDateTime>) -> Value {
    t.map(Value::DateTime).unwrap_or(Value::Null)
}

impl ModelAdmin for JobAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let query = crate::admin_order!(filtered(q), q, j::id, {
            "kind" => j::kind,
            "run_at" => j::run_at,
            "created" => j::created_at,
        });
        Ok(query
            .offset(q.offset)
            .limit(q.limit)
            .select(JobRow::as_select())
            .load(conn)?
            .into_iter()
            .map(row)
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(j::id).limit(cap).load::<i64>(conn)
    }

    fn date_bounds(
        &self,
        conn: &mut DbConn,
    ) -> QueryResult<Option<(NaiveDateTime, NaiveDateTime)>> {
        crate::admin_date_bounds!(conn, j::table, j::created_at, j::id)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(job) = j::table
            .find(id)
            .select(JobRow::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let values = Values::new()
            .with("kind", Value::Text(job.kind.clone()))
            .with("payload", Value::Text(job.payload.clone()))
            .with("status", Value::Text(job.status.as_str().into()))
            .with("attempts", Value::Int(i64::from(job.attempts)))
            .with(
                "max_attempts",
                if job.recurring() {
                    Value::Null
                } else {
                    Value::Int(i64::from(job.max_attempts))
                },
            )
            .with(
                "every_seconds",
                job.every_seconds
                    .map(|s| Value::Int(i64::from(s)))
                    .unwrap_or(Value::Null),
            )
            .with("run_at", Value::DateTime(job.run_at))
            .with("claimed_by", Value::Text(job.claimed_by.clone()))
            .with("claimed_until", when(job.claimed_until))
            .with("last_error", Value::Text(job.last_error.clone()))
            .with("created_at", Value::DateTime(job.created_at))
            .with("failed_at", when(job.failed_at));
        Ok(Some(Object {
            id,
            repr: repr(&job),
            values,
        }))
    }

    fn delete(&self, conn: &mut DbConn, id: i64, _: &DeletePlan) -> Result<Deleted, SaveError> {
        // Only a failed job: a waiting one is work the shop still owes
        // (an email, a webhook), and a recurring one is part of the shop.
        let gone = diesel::delete(
            j::table
                .find(id)
                .filter(j::status.eq(Status::Failed))
                .filter(j::every_seconds.is_null()),
        )
        .execute(conn)?;
        if gone == 0 {
            return Err(SaveError::Other(
                "Only a failed job can be deleted, once it has been dealt with: a waiting or \
                 running job is work the shop still owes, and a recurring one is part of the shop."
                    .into(),
            ));
        }
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
        let queued = super::retry(conn, ids)?;
        Ok(crate::admin::retry_message(
            queued,
            ids.len(),
            "job",
            "jobs",
            "queued to run now",
        ))
    }

    fn object_actions(&self, obj: &Object) -> Vec<&'static str> {
        let failed = matches!(obj.values.get("status"), Some(Value::Text(s)) if s == Status::Failed.as_str());
        let retrying = matches!(obj.values.get("status"), Some(Value::Text(s)) if s == Status::Pending.as_str())
            && matches!(obj.values.get("last_error"), Some(Value::Text(e)) if !e.is_empty());
        if failed || retrying {
            vec!["retry"]
        } else {
            Vec::new()
        }
    }
}

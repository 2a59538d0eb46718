//! The staff admin: Django's admin, with what it lacks. Each app declares
//! its models (a [`ModelAdmin`] in the app's `admin.rs`) and this module
//! gives them the pages: an index, change lists with sorting, filters,
//! search, a date drill-down and capped counts, add/change forms with
//! field errors and edit-conflict detection, delete with a confirmation
//! that lists what goes and what protects, bulk actions, CSV export, and a
//! history of every change written in the same transaction as the change.
//!
//! The whole `/admin` scope is guarded once ([`guard`]): handlers receive a
//! [`Staff`] with its permissions loaded, never checking login themselves.

pub mod audit;
pub mod csv;
pub mod dashboard;
pub mod fields;
pub mod guard;
mod macros;
mod meta;
pub mod query;
pub mod submission;
pub mod views;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::config::Config;
use crate::db::DbConn;
use crate::templates::Renderer;

pub use fields::{Field, FieldKind, Value, Values};
pub use guard::Staff;
pub use macros::in_order_of;
pub use meta::*;
pub use query::{FilterValue, ListQuery};
pub use submission::Submission;

/// A saved object as the admin sees it.
#[derive(Debug, Clone)]
pub struct Object {
    pub id: i64,
    /// How it is named on pages and in the history ("Oak Lamp (DEMO-00042)").
    pub repr: String,
    pub values: Values,
}

/// One row of a change list.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub repr: String,
    /// One per column, in column order.
    pub cells: Vec<Cell>,
    /// The current values of the list-editable fields.
    pub editable: Values,
}

/// The "activate" / "deactivate" actions models with an active flag share:
/// the flag the action sets.
pub fn activation(action: &str) -> Result<bool, SaveError> {
    match action {
        "activate" => Ok(true),
        "deactivate" => Ok(false),
        other => Err(SaveError::Other(format!("no action {other:?}"))),
    }
}

/// What an activation action says it did to `n` objects.
pub fn activation_message(n: usize, singular: &str, plural: &str, active: bool) -> String {
    let verb = if active { "activated" } else { "deactivated" };
    match n {
        0 => format!("Those {plural} were already {verb}."),
        1 => format!("1 {singular} was {verb}."),
        n => format!("{n} {plural} were {verb}."),
    }
}

/// What a "retry" action says after queueing `queued` of `asked` failed
/// objects again ("2 messages were queued again; 1 had not failed and was
/// left as it was.").
pub fn retry_message(
    queued: usize,
    asked: usize,
    singular: &str,
    plural: &str,
    done: &str,
) -> String {
    let were = |n: usize| if n == 1 { "was" } else { "were" };
    let noun = |n: usize| if n == 1 { singular } else { plural };
    match (queued, asked.saturating_sub(queued)) {
        (0, _) => format!("None of those {plural} had failed, so none was queued again."),
        (n, 0) => format!("{n} {} {} {done}.", noun(n), were(n)),
        (n, s) => format!(
            "{n} {} {} {done}; {s} had not failed and {} left as {}.",
            noun(n),
            were(n),
            were(s),
            if s == 1 { "it was" } else { "they were" }
        ),
    }
}

/// What deleting an object would do, for the confirmation page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeletePlan {
    /// What is deleted with it ("3 images").
    pub cascades: Vec<String>,
    /// Why it cannot be deleted at all ("42 products are in this category").
    pub protected_by: Vec<String>,
    /// Deleting it would lose history others rely on, so it is
    /// deactivated instead (a product that has been ordered), and why.
    pub deactivates_instead: Option<String>,
}

impl DeletePlan {
    /// Adds what another app found.
    pub fn merge(&mut self, other: DeletePlan) {
        self.cascades.extend(other.cascades);
        self.protected_by.extend(other.protected_by);
        if self.deactivates_instead.is_none() {
            self.deactivates_instead = other.deactivates_instead;
        }
    }
}

/// A saved row of a formset, as the form shows it.
#[derive(Debug, Clone)]
pub struct FormsetRow {
    pub id: i64,
    /// How people recognise it ("photo 2").
    pub label: String,
    /// A picture of it (a thumbnail URL).
    pub preview: Option<String>,
    pub values: Values,
    /// Whether it is the picked one (the main image).
    pub picked: bool,
}

/// Which row the form picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Saved(i64),
    /// The n-th new row.
    New(usize),
}

/// What a submitted formset asks for, parsed.
#[derive(Debug, Clone, Default)]
pub struct FormsetChanges {
    /// Saved rows kept, with their submitted values.
    pub kept: Vec<(i64, Values)>,
    pub deleted: Vec<i64>,
    /// New rows (index among the blank rows, values); their files were
    /// handled by `ModelAdmin::prepare`.
    pub added: Vec<(usize, Values)>,
    pub pick: Option<Pick>,
}

/// What another app keeps about objects of upstream models: the orders
/// that bought a product, the carts holding it, an order's payments. The
/// upstream admin shows it (delete plans, tables on the change page)
/// without knowing the downstream app. Registered through
/// `App::admin_related`.
pub trait Related: Send + Sync + 'static {
    /// What refers to object `id` of `app.model`, as a plan to merge into
    /// its delete plan.
    fn delete_plan(
        &self,
        _conn: &mut DbConn,
        _app: &str,
        _model: &str,
        _id: i64,
    ) -> diesel::QueryResult<DeletePlan> {
        Ok(DeletePlan::default())
    }

    /// Why `action` may not run on object `id` of `app.model` now (an
    /// order whose payment is still being processed cannot be cancelled).
    /// Asked inside the action's transaction, with the row locked.
    fn refuse_action(
        &self,
        _conn: &mut DbConn,
        _app: &str,
        _model: &str,
        _action: &str,
        _id: i64,
    ) -> diesel::QueryResult<Option<String>> {
        Ok(None)
    }

    /// Links for the change page of object `id` of `app.model`, each to a
    /// page of this app, shown to staff who hold its permission (`None`:
    /// any staff who may view the object).
    fn links(
        &self,
        _conn: &mut DbConn,
        _app: &str,
        _model: &str,
        _id: i64,
    ) -> diesel::QueryResult<Vec<RelatedLink>> {
        Ok(Vec::new())
    }

    /// Tables for the change page of object `id` of `app.model`.
    fn inlines(
        &self,
        _conn: &mut DbConn,
        _app: &str,
        _model: &str,
        _id: i64,
    ) -> diesel::QueryResult<Vec<InlineTable>> {
        Ok(Vec::new())
    }
}

/// A link another app adds to an object's admin page.
pub struct RelatedLink {
    pub text: String,
    pub link: Link,
    /// The permission its page requires.
    pub permission: Option<&'static str>,
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Removed,
    Deactivated,
}

/// Why a save did not happen; the form is shown again.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Messages for fields (by name) and for the form as a whole.
    #[error("the form has errors")]
    Invalid {
        fields: Vec<(String, String)>,
        form: Vec<String>,
    },
    #[error(transparent)]
    Missing(#[from] fields::MissingField),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error("{0}")]
    Other(String),
}

impl SaveError {
    pub fn field(name: &str, message: impl Into<String>) -> SaveError {
        SaveError::Invalid {
            fields: vec![(name.to_string(), message.into())],
            form: Vec::new(),
        }
    }

    pub fn form(message: impl Into<String>) -> SaveError {
        SaveError::Invalid {
            fields: Vec::new(),
            form: vec![message.into()],
        }
    }

    /// A unique index refused the write: the message for `field`, or the
    /// error itself.
    pub fn unique(e: diesel::result::Error, field: &str, message: &str) -> SaveError {
        match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => SaveError::field(field, message),
            other => SaveError::Db(other),
        }
    }
}

/// A read-only table on a change page (an order's lines).
#[derive(Debug, Clone)]
pub struct InlineTable {
    pub title: String,
    pub columns: Vec<Column>,
    /// Each row: an optional link for its first cell, then the cells.
    pub rows: Vec<(Option<Link>, Vec<Cell>)>,
    /// "All 230 products" and where they are listed, when there are more.
    pub more: Option<(String, Link)>,
    /// The model (app, model) whose rows it lists when that is not the
    /// page's own: only staff who may view that model see the table.
    pub lists: Option<(&'static str, &'static str)>,
}

/// What handlers give a model beside the connection.
pub struct AdminEnv<'a> {
    pub renderer: &'a Renderer,
    pub config: &'a Config,
    pub staff: &'a Staff,
}

/// A model in the admin. The generic pages call these; each app
/// implements them with its own typed queries.
///
/// Lists must run a fixed number of queries whatever the page size, and
/// use an index for every filter, sort and search they offer.
pub trait ModelAdmin: Send + Sync + 'static {
    fn meta(&self) -> &ModelMeta;

    /// The rows of one page: `q.offset`, at most `q.limit`.
    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> diesel::QueryResult<Vec<Row>>;

    /// The ids of the rows that match, at most `cap` of them, in any
    /// order: their number is the list's count (past the cap it shows as
    /// "more than"), and a search pages through them rather than searching
    /// again (see `ListQuery::only`).
    fn matching_ids(
        &self,
        conn: &mut DbConn,
        q: &ListQuery,
        cap: i64,
    ) -> diesel::QueryResult<Vec<i64>>;

    /// Roughly how many objects there are in all, cheaply (shown when an
    /// unfiltered list passes the cap).
    fn estimate(&self, _conn: &mut DbConn) -> diesel::QueryResult<Option<i64>> {
        Ok(None)
    }

    /// The choices of a `Related` filter, a `Ref` or a `Refs` field.
    fn choices(&self, _conn: &mut DbConn, _key: &str) -> diesel::QueryResult<Vec<(i64, String)>> {
        Ok(Vec::new())
    }

    /// For a search reference field: the objects `words` find (at most a
    /// few), so a typed name resolves to one id.
    fn lookup(
        &self,
        _conn: &mut DbConn,
        _field: &str,
        _words: &str,
    ) -> diesel::QueryResult<Vec<(i64, String)>> {
        Ok(Vec::new())
    }

    /// The earliest and latest value of the date hierarchy's field.
    fn date_bounds(
        &self,
        _conn: &mut DbConn,
    ) -> diesel::QueryResult<Option<(NaiveDateTime, NaiveDateTime)>> {
        Ok(None)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> diesel::QueryResult<Option<Object>>;

    /// Locks objects `ids` for the rest of the transaction before they
    /// are changed or deleted. A model whose writes also lock other rows
    /// (a variant's product) locks those first here, in the order every
    /// other writer takes them, so that the two cannot deadlock.
    fn lock(&self, conn: &mut DbConn, ids: &[i64]) -> diesel::QueryResult<()> {
        let m = self.meta();
        crate::db::lock_rows(conn, &format!("{}_{}", m.app, m.model), ids)
    }

    /// Work on parsed values before the save's transaction, without a
    /// connection (hashing a new password, resizing uploaded images). It
    /// may add values for `create`/`update`/`save_formset` to read.
    fn prepare(
        &self,
        _config: &Config,
        _values: &mut Values,
        _files: &Submission,
        _adding: bool,
    ) -> Result<(), SaveError> {
        Ok(())
    }

    /// The saved rows of formset `key` of object `parent`.
    fn formset_rows(
        &self,
        _conn: &mut DbConn,
        _key: &str,
        _parent: i64,
    ) -> diesel::QueryResult<Vec<FormsetRow>> {
        Ok(Vec::new())
    }

    /// Applies a formset's changes to object `parent` (inside the save's
    /// transaction); returns what changed, for the history. `values` are
    /// the form's (with what `prepare` added).
    fn save_formset(
        &self,
        _env: &AdminEnv<'_>,
        _conn: &mut DbConn,
        _key: &str,
        _parent: i64,
        _changes: &FormsetChanges,
        _values: &Values,
    ) -> Result<Vec<audit::FieldChange>, SaveError> {
        Ok(Vec::new())
    }

    /// Adds an object from parsed form values; returns its id.
    fn create(
        &self,
        _env: &AdminEnv<'_>,
        _conn: &mut DbConn,
        _values: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        Err(SaveError::form(
            "Objects of this kind cannot be added here.",
        ))
    }

    /// Saves the submitted (editable, non-readonly) values over object `id`.
    fn update(
        &self,
        _env: &AdminEnv<'_>,
        _conn: &mut DbConn,
        _id: i64,
        _values: &Values,
        _files: &Submission,
    ) -> Result<(), SaveError> {
        Err(SaveError::form(
            "Objects of this kind cannot be changed here.",
        ))
    }

    /// Saves list-editable values of one row (a subset of the fields).
    fn update_row(
        &self,
        env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        values: &Values,
    ) -> Result<(), SaveError> {
        self.update(env, conn, id, values, &Submission::default())
    }

    fn delete_plan(
        &self,
        _staff: &Staff,
        _conn: &mut DbConn,
        _id: i64,
    ) -> diesel::QueryResult<DeletePlan> {
        Ok(DeletePlan::default())
    }

    /// Deletes object `id`, or deactivates it when `plan` says so (the
    /// plan includes what other apps found).
    fn delete(
        &self,
        _conn: &mut DbConn,
        _id: i64,
        _plan: &DeletePlan,
    ) -> Result<Deleted, SaveError> {
        Err(SaveError::form(
            "Objects of this kind cannot be deleted here.",
        ))
    }

    /// Tables shown under the form (an order's lines and payments).
    fn inlines(&self, _conn: &mut DbConn, _obj: &Object) -> diesel::QueryResult<Vec<InlineTable>> {
        Ok(Vec::new())
    }

    /// Runs a declared action on `ids` in the caller's transaction.
    /// `input` holds the per-object fields the action asked for, as
    /// `field-ID`. Returns the message for staff.
    fn run_action(
        &self,
        _env: &AdminEnv<'_>,
        _conn: &mut DbConn,
        action: &str,
        _ids: &[i64],
        _input: &Submission,
    ) -> Result<String, SaveError> {
        Err(SaveError::Other(format!("no action {action:?}")))
    }

    /// The actions offered as buttons on an object's page.
    fn object_actions(&self, _obj: &Object) -> Vec<&'static str> {
        Vec::new()
    }

    /// Links beside the change list's title, e.g. "Import CSV" (shown to
    /// those who may add).
    fn list_links(&self) -> Vec<(String, Link)> {
        Vec::new()
    }

    /// Links beside the object's title, e.g. "View on site".
    fn object_links(&self, _obj: &Object) -> Vec<(String, Link)> {
        Vec::new()
    }

    /// A form to add another object is prefilled with these (`?field=`).
    fn initial(&self) -> Values {
        Values::new()
    }
}

/// Every model of every app, in the order apps were listed, and the
/// dashboard's panels.
#[derive(Clone, Default)]
pub struct AdminSite {
    pub models: Vec<Arc<dyn ModelAdmin>>,
    pub widgets: Vec<Arc<dyn dashboard::Widget>>,
    pub related: Vec<Arc<dyn Related>>,
    /// App label -> what staff read.
    pub app_names: Vec<(&'static str, &'static str)>,
    by_key: HashMap<(String, String), usize>,
}

impl AdminSite {
    pub fn new() -> Self {
        AdminSite::default()
    }

    pub fn register_app(&mut self, label: &'static str, verbose: &'static str) {
        if !self.app_names.iter().any(|(l, _)| *l == label) {
            self.app_names.push((label, verbose));
        }
    }

    pub fn register(&mut self, model: Arc<dyn ModelAdmin>) {
        let meta = model.meta();
        let key = (meta.app.to_string(), meta.model.to_string());
        if self.by_key.insert(key.clone(), self.models.len()).is_some() {
            panic!("admin model {}.{} is registered twice", key.0, key.1);
        }
        self.models.push(model);
    }

    pub fn model(&self, app: &str, model: &str) -> Option<&Arc<dyn ModelAdmin>> {
        self.by_key
            .get(&(app.to_string(), model.to_string()))
            .map(|i| &self.models[*i])
    }

    /// The model's own delete plan for `id`, with what other apps found.
    pub fn delete_plan(
        &self,
        staff: &Staff,
        conn: &mut DbConn,
        model: &dyn ModelAdmin,
        id: i64,
    ) -> diesel::QueryResult<DeletePlan> {
        let mut plan = model.delete_plan(staff, conn, id)?;
        let meta = model.meta();
        for r in &self.related {
            plan.merge(r.delete_plan(conn, meta.app, meta.model, id)?);
        }
        Ok(plan)
    }

    /// Why other apps refuse `action` on some of `ids`, one reason each.
    pub fn action_refusals(
        &self,
        conn: &mut DbConn,
        model: &dyn ModelAdmin,
        action: &str,
        ids: &[i64],
    ) -> diesel::QueryResult<Vec<String>> {
        let meta = model.meta();
        let mut refused = Vec::new();
        for r in &self.related {
            for id in ids {
                if let Some(why) = r.refuse_action(conn, meta.app, meta.model, action, *id)? {
                    refused.push(why);
                }
            }
        }
        Ok(refused)
    }

    /// The model's own tables for the change page of `obj`, then what
    /// other apps add.
    /// Tables listing another model are left out for staff who may not
    /// view it.
    pub fn inlines(
        &self,
        staff: &Staff,
        conn: &mut DbConn,
        model: &dyn ModelAdmin,
        obj: &Object,
    ) -> diesel::QueryResult<Vec<InlineTable>> {
        let mut tables = model.inlines(conn, obj)?;
        let meta = model.meta();
        for r in &self.related {
            tables.extend(r.inlines(conn, meta.app, meta.model, obj.id)?);
        }
        tables.retain(|t| {
            t.lists
                .is_none_or(|(app, model)| staff.may_view(app, model))
        });
        Ok(tables)
    }

    /// What other apps link to from the page of object `id`, for staff
    /// with each link's permission.
    pub fn related_links(
        &self,
        staff: &Staff,
        conn: &mut DbConn,
        meta: &ModelMeta,
        id: i64,
    ) -> diesel::QueryResult<Vec<(String, Link)>> {
        let mut links = Vec::new();
        for r in &self.related {
            for l in r.links(conn, meta.app, meta.model, id)? {
                if l.permission.is_none_or(|p| staff.has(p)) {
                    links.push((l.text, l.link));
                }
            }
        }
        Ok(links)
    }

    pub fn app_name(&self, label: &str) -> &str {
        self.app_names
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, v)| *v)
            .unwrap_or("")
    }
}

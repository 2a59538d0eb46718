//! Users in the admin: staff and customers, their groups and permissions,
//! their login lock-out. A new user's password is hashed before the save's
//! transaction; a password is never shown. Staff cannot grant what they do
//! not hold themselves, nor take away their own access.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use site_core::admin::{
    in_order_of, ActionSpec, AdminEnv, Cell, Column, DateHierarchy, DeletePlan, Deleted, Field,
    Fieldset, Filter, Link, ListQuery, ModelAdmin, ModelMeta, Object, Perm, Row, SaveError, Staff,
    Submission, Value, Values,
};
use site_core::db::{DbConn, MultiBackend};
use site_core::schema::{
    accounts_address as a, accounts_group_permission as gp, accounts_permission as p,
    accounts_user as u, accounts_user_group as ug, accounts_user_permission as up,
};

use super::{cannot_grant, group_choices, out_of_reach, permission_choices};
use crate::models::User;
use crate::throttle;
use crate::validators::{self, UserAttributes};

pub struct UserAdmin {
    meta: ModelMeta,
    /// Failed logins, in the database and in Redis when the shop has it.
    failures: throttle::Failures,
}

impl UserAdmin {
    /// Reading and clearing failed logins in `failures` too (Redis).
    pub fn with_failures(failures: throttle::Failures) -> UserAdmin {
        UserAdmin {
            failures,
            ..UserAdmin::default()
        }
    }
}

impl Default for UserAdmin {
    fn default() -> Self {
        let mut meta = ModelMeta::new("accounts", "user", "user", "users");
        meta.columns = vec![
            Column::new("email", "Email").sortable(),
            Column::new("name", "Name"),
            Column::new("staff", "Staff"),
            Column::new("superuser", "Superuser"),
            Column::new("active", "Active"),
            Column::new("locked", "Locked out"),
            Column::new("joined", "Joined (UTC)").sortable(),
            Column::new("last_login", "Last login (UTC)").sortable(),
        ];
        meta.filters = vec![
            Filter::boolean("staff", "Staff"),
            Filter::boolean("superuser", "Superuser"),
            Filter::boolean("active", "Active"),
            Filter::boolean("verified", "Email confirmed"),
            Filter::related("group", "Group"),
        ];
        meta.search = Some("email or name");
        meta.date_hierarchy = Some(DateHierarchy {
            field: "joined",
            label: "Joined",
        });
        meta.default_sort = "-joined";
        meta.fields = vec![
            Field::email("email", "Email"),
            Field::password("password", "Password").help(
                "At least 10 characters, not all digits, not like the email or name, not a common password.",
            ),
            Field::password("password2", "Password again"),
            Field::text("first_name", "First name", 100).optional(),
            Field::text("last_name", "Last name", 100).optional(),
            Field::bool("is_active", "Active")
                .help("Inactive users cannot log in; deactivate rather than delete."),
            Field::bool("is_staff", "Staff").help("May log in to this admin."),
            Field::bool("is_superuser", "Superuser")
                .help("Holds every permission without being given it."),
            Field::bool("email_verified", "Email confirmed"),
            Field::references("groups", "Groups")
                .help("A user holds every permission of their groups."),
            Field::references("permissions", "Permissions of their own"),
            Field::text("two_factor", "Two-factor authentication", 20).readonly(),
            Field::text("lockout", "Login lock-out", 200).readonly(),
            Field::datetime("date_joined", "Joined"),
            Field::datetime("last_login", "Last login"),
        ];
        meta.fieldsets = vec![
            Fieldset::new(None, &["email", "password", "password2"]),
            Fieldset::new(Some("Personal"), &["first_name", "last_name"]),
            Fieldset::new(
                Some("Access"),
                &[
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "email_verified",
                    "groups",
                    "permissions",
                ],
            ),
            Fieldset::new(
                Some("Security"),
                &["two_factor", "lockout", "date_joined", "last_login"],
            )
            .description("Passwords are never shown: use “Set password” to give a user a new one."),
        ];
        meta.actions = vec![
            ActionSpec::new("clear_lockout", "Clear login lock-out", Perm::Change),
            ActionSpec::new("deactivate", "Deactivate", Perm::Change),
        ];
        UserAdmin {
            meta,
            failures: throttle::Failures::default(),
        }
    }
}

fn filtered(q: &ListQuery) -> u::BoxedQuery<'static, MultiBackend> {
    let mut query = u::table.into_boxed::<MultiBackend>();
    for (key, column_is) in [
        ("staff", 0),
        ("superuser", 1),
        ("active", 2),
        ("verified", 3),
    ] {
        if let Some(flag) = q.flag(key) {
            query = match column_is {
                0 => query.filter(u::is_staff.eq(flag)),
                1 => query.filter(u::is_superuser.eq(flag)),
                2 => query.filter(u::is_active.eq(flag)),
                _ => query.filter(u::email_verified.eq(flag)),
            };
        }
    }
    if let Some(group) = q.related("group") {
        let members = ug::table.filter(ug::group_id.eq(group)).select(ug::user_id);
        query = query.filter(u::id.eq_any(members));
    }
    query = site_core::admin_between!(query, u::date_joined, q.drill_range().unzip());
    if let Some(after) = q.after_id {
        query = query.filter(u::id.gt(after));
    }
    site_core::admin_search_like!(query, q, u::table, [u::email, u::first_name, u::last_name])
}

fn lockout_text(failures: i64) -> String {
    if throttle::locked(failures) {
        format!(
            "Locked: {failures} failed logins in the last {} minutes",
            throttle::WINDOW_MINUTES
        )
    } else if failures > 0 {
        format!(
            "Not locked ({failures} failed {} in the last {} minutes)",
            if failures == 1 { "login" } else { "logins" },
            throttle::WINDOW_MINUTES
        )
    } else {
        "Not locked".into()
    }
}

fn when(t: Option<NaiveDateTime>) -> Value {
    t.map(Value::DateTime).unwrap_or(Value::Null)
}

/// Refuses what a staff member who is not a superuser may not grant:
/// superuser status, and permissions (directly or through a group) they do
/// not hold themselves.
fn check_grants(
    env: &AdminEnv<'_>,
    conn: &mut DbConn,
    before: Option<&Object>,
    v: &Values,
) -> Result<(), SaveError> {
    if env.staff.is_superuser {
        return Ok(());
    }
    let old = |name: &str| before.and_then(|b| b.values.get(name)).cloned();
    let mut errors = Vec::new();
    if Some(Value::Bool(v.bool("is_superuser")?)) != old("is_superuser")
        && (before.is_some() || v.bool("is_superuser")?)
    {
        errors.push((
            "is_superuser".to_string(),
            "Only a superuser can grant or take away superuser status.".to_string(),
        ));
    }
    let held_before = match old("permissions") {
        Some(Value::Refs(ids)) => ids,
        _ => Vec::new(),
    };
    if let Some(why) = cannot_grant(env.staff, conn, &held_before, v.refs("permissions")?)? {
        errors.push(("permissions".to_string(), why));
    }
    let groups_before: HashSet<i64> = match old("groups") {
        Some(Value::Refs(ids)) => ids.into_iter().collect(),
        _ => HashSet::new(),
    };
    let new_groups: Vec<i64> = v
        .refs("groups")?
        .iter()
        .copied()
        .filter(|id| !groups_before.contains(id))
        .collect();
    let via_groups: Vec<String> = gp::table
        .inner_join(p::table)
        .filter(gp::group_id.eq_any(&new_groups))
        .select(p::codename)
        .distinct()
        .load(conn)?;
    let missing: Vec<String> = via_groups
        .into_iter()
        .filter(|c| !env.staff.has(c))
        .collect();
    if !missing.is_empty() {
        errors.push((
            "groups".to_string(),
            format!(
                "That group grants what you do not hold yourself: {}.",
                missing.join(", ")
            ),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(SaveError::Invalid {
            fields: errors,
            form: Vec::new(),
        })
    }
}

/// Replaces the user's groups and own permissions.
fn save_grants(conn: &mut DbConn, id: i64, v: &Values) -> Result<(), SaveError> {
    diesel::delete(ug::table.filter(ug::user_id.eq(id))).execute(conn)?;
    for g in v.refs("groups")? {
        diesel::insert_into(ug::table)
            .values((ug::user_id.eq(id), ug::group_id.eq(*g)))
            .execute(conn)?;
    }
    diesel::delete(up::table.filter(up::user_id.eq(id))).execute(conn)?;
    for perm in v.refs("permissions")? {
        diesel::insert_into(up::table)
            .values((up::user_id.eq(id), up::permission_id.eq(*perm)))
            .execute(conn)?;
    }
    Ok(())
}

const EMAIL_TAKEN: &str = "Another user has this email address.";

impl ModelAdmin for UserAdmin {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn list(&self, conn: &mut DbConn, q: &ListQuery) -> QueryResult<Vec<Row>> {
        let ids: Vec<i64> = site_core::admin_order!(filtered(q), q, u::id, {
            "email" => u::email,
            "joined" => u::date_joined,
            "last_login" => u::last_login,
        })
        .select(u::id)
        .offset(q.offset)
        .limit(q.limit)
        .load(conn)?;
        let users: Vec<User> = u::table
            .filter(u::id.eq_any(&ids))
            .select(User::as_select())
            .load(conn)?;
        let emails: Vec<String> = users.iter().map(|u| u.email.clone()).collect();
        let failures = self.failures.failures_of(conn, &emails)?;
        Ok(in_order_of(&ids, users, |u| u.id)
            .into_iter()
            .map(|user| {
                let failed = failures
                    .iter()
                    .find(|(a, _)| *a == user.email)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                Row {
                    id: user.id,
                    repr: user.email.clone(),
                    cells: vec![
                        Cell::Text(user.email.clone()),
                        Cell::Text(
                            format!("{} {}", user.first_name, user.last_name)
                                .trim()
                                .to_string(),
                        ),
                        Cell::Bool(user.is_staff),
                        Cell::Bool(user.is_superuser),
                        Cell::Bool(user.is_active),
                        Cell::Bool(throttle::locked(failed)),
                        Cell::DateTime(Some(user.date_joined)),
                        Cell::DateTime(user.last_login),
                    ],
                    editable: Values::new(),
                }
            })
            .collect())
    }

    fn matching_ids(&self, conn: &mut DbConn, q: &ListQuery, cap: i64) -> QueryResult<Vec<i64>> {
        filtered(q).select(u::id).limit(cap).load::<i64>(conn)
    }

    fn choices(&self, conn: &mut DbConn, key: &str) -> QueryResult<Vec<(i64, String)>> {
        match key {
            "groups" | "group" => group_choices(conn),
            "permissions" => permission_choices(conn),
            _ => Ok(Vec::new()),
        }
    }

    fn date_bounds(
        &self,
        conn: &mut DbConn,
    ) -> QueryResult<Option<(NaiveDateTime, NaiveDateTime)>> {
        site_core::admin_date_bounds!(conn, u::table, u::date_joined, u::id)
    }

    fn get(&self, conn: &mut DbConn, id: i64) -> QueryResult<Option<Object>> {
        let Some(user) = u::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let mut groups: Vec<i64> = ug::table
            .filter(ug::user_id.eq(id))
            .select(ug::group_id)
            .load(conn)?;
        groups.sort_unstable();
        let mut perms: Vec<i64> = up::table
            .filter(up::user_id.eq(id))
            .select(up::permission_id)
            .load(conn)?;
        perms.sort_unstable();
        let failures = self
            .failures
            .failures_of(conn, std::slice::from_ref(&user.email))?
            .first()
            .map(|(_, n)| *n)
            .unwrap_or(0);
        Ok(Some(Object {
            id,
            repr: user.email.clone(),
            values: Values::new()
                .with("email", Value::Text(user.email))
                .with("first_name", Value::Text(user.first_name))
                .with("last_name", Value::Text(user.last_name))
                .with("is_active", Value::Bool(user.is_active))
                .with("is_staff", Value::Bool(user.is_staff))
                .with("is_superuser", Value::Bool(user.is_superuser))
                .with("email_verified", Value::Bool(user.email_verified))
                .with("groups", Value::Refs(groups))
                .with("permissions", Value::Refs(perms))
                .with(
                    "two_factor",
                    Value::Text(
                        if user.totp_secret.is_some() {
                            "On"
                        } else {
                            "Off"
                        }
                        .into(),
                    ),
                )
                .with("lockout", Value::Text(lockout_text(failures)))
                .with("date_joined", Value::DateTime(user.date_joined))
                .with("last_login", when(user.last_login)),
        }))
    }

    /// Checks and hashes a new user's password, off the transaction.
    fn prepare(
        &self,
        _config: &site_core::Config,
        v: &mut Values,
        _files: &Submission,
        adding: bool,
    ) -> Result<(), SaveError> {
        if !adding {
            return Ok(());
        }
        let password = v.text("password")?.to_string();
        if password != v.text("password2")? {
            return Err(SaveError::field("password2", "The two passwords differ."));
        }
        let problems = validators::validate(
            &password,
            &UserAttributes {
                email: v.text("email")?,
                first_name: v.text("first_name")?,
                last_name: v.text("last_name")?,
            },
        );
        if !problems.is_empty() {
            return Err(SaveError::Invalid {
                fields: problems
                    .into_iter()
                    .map(|m| ("password".to_string(), m))
                    .collect(),
                form: Vec::new(),
            });
        }
        let hash = crate::password::hash(&password)
            .map_err(|e| SaveError::Other(format!("hashing the password: {e}")))?;
        v.set("password", Value::Null);
        v.set("password2", Value::Null);
        v.set("password_hash", Value::Text(hash));
        Ok(())
    }

    fn create(
        &self,
        env: &AdminEnv<'_>,
        conn: &mut DbConn,
        v: &Values,
        _files: &Submission,
    ) -> Result<i64, SaveError> {
        check_grants(env, conn, None, v)?;
        let email = v.text("email")?;
        conn.transaction(|conn| {
            diesel::insert_into(u::table)
                .values((
                    u::email.eq(email),
                    u::password_hash.eq(v.text("password_hash")?),
                    u::first_name.eq(v.text("first_name")?),
                    u::last_name.eq(v.text("last_name")?),
                    u::is_active.eq(v.bool("is_active")?),
                    u::is_staff.eq(v.bool("is_staff")? || v.bool("is_superuser")?),
                    u::is_superuser.eq(v.bool("is_superuser")?),
                    u::date_joined.eq(site_core::now()),
                    u::email_verified.eq(v.bool("email_verified")?),
                    u::avatar.eq(""),
                ))
                .execute(conn)
                .map_err(|e| SaveError::unique(e, "email", EMAIL_TAKEN))
        })?;
        let id: i64 = u::table
            .filter(u::email.eq(email))
            .select(u::id)
            .first(conn)?;
        save_grants(conn, id, v)?;
        Ok(id)
    }

    fn update(
        &self,
        env: &AdminEnv<'_>,
        conn: &mut DbConn,
        id: i64,
        v: &Values,
        _files: &Submission,
    ) -> Result<(), SaveError> {
        let before = self
            .get(conn, id)?
            .ok_or(SaveError::Db(diesel::result::Error::NotFound))?;
        if let Some(why) = out_of_reach(env.staff, conn, id)? {
            return Err(SaveError::form(why));
        }
        check_grants(env, conn, Some(&before), v)?;
        let (active, staff, superuser) = (
            v.bool("is_active")?,
            v.bool("is_staff")? || v.bool("is_superuser")?,
            v.bool("is_superuser")?,
        );
        if id == env.staff.id && (!active || !staff) {
            return Err(SaveError::form(
                "You cannot take away your own staff access: ask another administrator.",
            ));
        }
        conn.transaction(|conn| {
            diesel::update(u::table.find(id))
                .set((
                    u::email.eq(v.text("email")?),
                    u::first_name.eq(v.text("first_name")?),
                    u::last_name.eq(v.text("last_name")?),
                    u::is_active.eq(active),
                    u::is_staff.eq(staff),
                    u::is_superuser.eq(superuser),
                    u::email_verified.eq(v.bool("email_verified")?),
                ))
                .execute(conn)
                .map_err(|e| SaveError::unique(e, "email", EMAIL_TAKEN))
        })?;
        save_grants(conn, id, v)?;
        if !active && before.values.get("is_active") == Some(&Value::Bool(true)) {
            // A deactivated user is signed out everywhere.
            site_core::http::auth::end_sessions(conn, id)?;
        }
        Ok(())
    }

    fn delete_plan(&self, staff: &Staff, conn: &mut DbConn, id: i64) -> QueryResult<DeletePlan> {
        let addresses: i64 = a::table
            .filter(a::user_id.eq(id))
            .count()
            .get_result(conn)?;
        let mut plan = DeletePlan::default();
        if let Some(why) = out_of_reach(staff, conn, id)? {
            plan.protected_by.push(why);
        }
        if addresses > 0 {
            plan.cascades.push(format!(
                "{addresses} saved {}",
                if addresses == 1 {
                    "address"
                } else {
                    "addresses"
                }
            ));
        }
        Ok(plan)
    }

    fn delete(&self, conn: &mut DbConn, id: i64, plan: &DeletePlan) -> Result<Deleted, SaveError> {
        if plan.deactivates_instead.is_some() {
            diesel::update(u::table.find(id))
                .set(u::is_active.eq(false))
                .execute(conn)?;
            site_core::http::auth::end_sessions(conn, id)?;
            return Ok(Deleted::Deactivated);
        }
        User::delete(conn, id)?;
        Ok(Deleted::Removed)
    }

    fn run_action(
        &self,
        env: &AdminEnv<'_>,
        conn: &mut DbConn,
        action: &str,
        ids: &[i64],
        _input: &Submission,
    ) -> Result<String, SaveError> {
        let users: Vec<(i64, String)> = u::table
            .filter(u::id.eq_any(ids))
            .select((u::id, u::email))
            .load(conn)?;
        match action {
            "clear_lockout" => {
                let emails: Vec<String> = users.into_iter().map(|(_, e)| e).collect();
                Ok(match self.failures.clear_accounts(conn, &emails)? {
                    0 => "None of them had failed logins to clear.".into(),
                    1 => "1 user's failed logins were cleared: they can log in again.".into(),
                    n => format!("{n} users' failed logins were cleared: they can log in again."),
                })
            }
            "deactivate" => {
                if users.iter().any(|(id, _)| *id == env.staff.id) {
                    return Err(SaveError::form(
                        "You cannot deactivate yourself: ask another administrator.",
                    ));
                }
                for (id, email) in &users {
                    if let Some(why) = out_of_reach(env.staff, conn, *id)? {
                        return Err(SaveError::form(format!("{email}: {why}")));
                    }
                }
                let n = diesel::update(
                    u::table
                        .filter(u::id.eq_any(ids))
                        .filter(u::is_active.eq(true)),
                )
                .set(u::is_active.eq(false))
                .execute(conn)?;
                for (id, _) in &users {
                    site_core::http::auth::end_sessions(conn, *id)?;
                }
                Ok(format!(
                    "{n} {} deactivated and signed out everywhere.",
                    if n == 1 { "user was" } else { "users were" }
                ))
            }
            other => Err(SaveError::Other(format!("no action {other:?}"))),
        }
    }

    fn object_actions(&self, obj: &Object) -> Vec<&'static str> {
        match obj.values.get("lockout") {
            Some(Value::Text(t)) if t.starts_with("Locked") => vec!["clear_lockout"],
            _ => Vec::new(),
        }
    }

    fn object_links(&self, obj: &Object) -> Vec<(String, Link)> {
        vec![(
            "Set password".into(),
            Link::route("admin:user_password", &[("id", &obj.id.to_string())]),
        )]
    }

    fn initial(&self) -> Values {
        Values::new()
            .with("is_active", Value::Bool(true))
            .with("email_verified", Value::Bool(true))
    }
}

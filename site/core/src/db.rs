//! The database: one connection type over SQLite and PostgreSQL, chosen at
//! run time from `DATABASE_URL`, an r2d2 pool with per-connection setup, and
//! the migrations of both backends embedded in the binary.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub mod search;

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

pub type DbPool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnknownScheme(String),
    #[error("cannot create the directory for the SQLite database {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Which backend a URL names, with what the driver needs to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() || path == ":memory:" {
                // Each pooled connection would get its own empty database.
                return Err(DbError::UnknownScheme(url.into()));
            }
            return Ok(Backend::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url.into()));
        }
        Err(DbError::UnknownScheme(url.into()))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Counts the statements a pool runs: tests assert how many queries a page
/// needs, whatever the number of items on it.
#[derive(Clone, Default)]
pub struct QueryCounter(Arc<AtomicU64>);

impl QueryCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What each pooled connection reports about itself: its statements go to
/// the pool's counter, and it remembers whether the server closed it.
///
/// diesel marks a connection broken only when a failure reaches its
/// transaction bookkeeping; a query the connection had not prepared
/// before fails earlier, while being prepared, so a connection the server
/// closed (PostgreSQL restarted, the link cut) could look healthy and the
/// pool would hand it to every later request. `has_broken` reads this
/// flag.
struct Watch {
    counter: QueryCounter,
    closed: bool,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        use diesel::result::{DatabaseErrorKind, Error};
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.counter.0.fetch_add(1, Ordering::Relaxed);
            }
            InstrumentationEvent::FinishQuery {
                error:
                    Some(Error::DatabaseError(
                        DatabaseErrorKind::ClosedConnection
                        | DatabaseErrorKind::UnableToSendCommand,
                        _,
                    )),
                ..
            } => self.closed = true,
            _ => {}
        }
    }
}

/// Opens connections of the configured backend and prepares each one.
pub struct ConnectionManager {
    backend: Backend,
    counter: QueryCounter,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        let mut conn = match &self.backend {
            Backend::Sqlite(path) => {
                let url = path.to_string_lossy();
                let mut c = diesel::SqliteConnection::establish(&url)
                    .map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the writer; busy_timeout makes a
                // second writer wait for the lock instead of failing at once.
                c.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                     PRAGMA busy_timeout = 15000; PRAGMA synchronous = NORMAL;",
                )
                .map_err(r2d2::Error::QueryError)?;
                DbConn::Sqlite(c)
            }
            Backend::Postgres(url) => DbConn::Postgres(
                diesel::PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?,
            ),
        };
        conn.set_instrumentation(Watch {
            counter: self.counter.clone(),
            closed: false,
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
            || conn
                .instrumentation()
                .downcast_ref::<Watch>()
                .is_some_and(|watch| watch.closed)
    }
}

/// How long a request waits for a connection: requests never queue for
/// one (the blocking pool is no larger than the connection pool), so
/// waiting this long means the database is down.
const CONNECTION_WAIT: Duration = Duration::from_secs(5);

/// How long a request waits while the last one found no connection: the
/// database is still down, most likely, and each request holding a
/// worker thread for the full wait only piles them up. The pool goes on
/// reconnecting meanwhile; the first request served ends the short waits.
const OUTAGE_WAIT: Duration = Duration::from_millis(250);

/// The pool plus what the app wants to know about it.
#[derive(Clone)]
pub struct Database {
    pub pool: DbPool,
    pub backend: Backend,
    counter: QueryCounter,
    /// The last request found no connection.
    unreachable: Arc<AtomicBool>,
}

impl Database {
    /// Opens the pool (creating the SQLite file's directory if needed).
    pub fn open(url: &str, max_size: u32) -> Result<Self, DbError> {
        let backend = Backend::from_url(url)?;
        if let Backend::Sqlite(path) = &backend {
            create_parent(path)?;
        }
        let counter = QueryCounter::default();
        let manager = ConnectionManager {
            backend: backend.clone(),
            counter: counter.clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            // A ping per checkout would be one more query on every page;
            // broken connections are still dropped by `has_broken`.
            .test_on_check_out(false)
            // Say the database is down soon (a 503 page) rather than
            // hold the shopper 30 s.
            .connection_timeout(CONNECTION_WAIT)
            .build(manager)?;
        Ok(Database {
            pool,
            backend,
            counter,
            unreachable: Arc::default(),
        })
    }

    /// A connection, or an error once none came within the wait (see
    /// [`OUTAGE_WAIT`]).
    pub fn get(&self) -> Result<PooledConn, r2d2::PoolError> {
        let was_down = self.unreachable.load(Ordering::Relaxed);
        let got = self.pool.get_timeout(if was_down {
            OUTAGE_WAIT
        } else {
            CONNECTION_WAIT
        });
        if got.is_err() != was_down {
            self.unreachable.store(got.is_err(), Ordering::Relaxed);
        }
        got
    }

    /// Statements run through this pool so far.
    pub fn query_count(&self) -> u64 {
        self.counter.get()
    }

    /// Applies every pending migration of this backend; returns their names.
    /// Several servers starting at once take turns: the first migrates,
    /// the others then find nothing pending (PostgreSQL: an advisory lock;
    /// SQLite: a lock on a file beside the database).
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        self.while_migrating(run_migrations)
    }

    /// Runs `f` on one connection holding the migration lock, so servers
    /// starting together do their setup (migrations, the permissions the
    /// apps declare) one after the other.
    pub fn while_migrating<T, E>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let mut conn = self.get().map_err(DbError::from)?;
        match &self.backend {
            Backend::Sqlite(path) => {
                let mut lock_path = path.clone().into_os_string();
                lock_path.push(".migrate-lock");
                let lock = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)
                    .map_err(|e| DbError::Migration(format!("opening {lock_path:?}: {e}")))?;
                lock.lock()
                    .map_err(|e| DbError::Migration(format!("locking {lock_path:?}: {e}")))?;
                // Unlocked when `lock` is closed, however this ends.
                f(&mut conn)
            }
            Backend::Postgres(_) => {
                use diesel::connection::SimpleConnection;
                conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                    .map_err(DbError::from)?;
                let done = f(&mut conn);
                // Also released if the connection drops.
                let unlocked =
                    conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
                let done = done?;
                unlocked.map_err(DbError::from)?;
                Ok(done)
            }
        }
    }
}

fn create_parent(path: &Path) -> Result<(), DbError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// One round trip to the database.
pub fn ping(conn: &mut DbConn) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SELECT 1")
}

/// Whether every migration this binary carries has been applied.
pub fn migrations_applied(conn: &mut DbConn) -> Result<bool, DbError> {
    match conn {
        DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConn::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    }
    .map(|pending| !pending)
    .map_err(|e| DbError::Migration(e.to_string()))
}

/// The PostgreSQL advisory lock migrations hold: one per schema, as each
/// schema is a shop of its own.
const MIGRATION_LOCK: &str = "hashtext('shop migrations ' || current_schema())";

/// Applies pending migrations on `conn`, without the lock `Database::migrate`
/// takes: for one process alone.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConn::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// Runs `f` in a transaction that holds the write lock from its first
/// statement. On SQLite that is `BEGIN IMMEDIATE`: concurrent checkouts
/// queue on `busy_timeout` instead of failing when a read lock cannot be
/// upgraded. PostgreSQL's row locks already serialise conditional UPDATEs.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    // Inside a transaction already: a savepoint (the lock is held).
    let outermost = match conn {
        DbConn::Sqlite(inner) => <AnsiTransactionManager as TransactionManager<
            diesel::SqliteConnection,
        >>::transaction_manager_status_mut(inner)
        .transaction_depth()
        .map(|d| d.is_none())
        .unwrap_or(false),
        DbConn::Postgres(_) => false,
    };
    if let (true, DbConn::Sqlite(inner)) = (outermost, &mut *conn) {
        AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
        let outcome = f(conn);
        let DbConn::Sqlite(inner) = conn else {
            unreachable!("backend cannot change")
        };
        return match outcome {
            Ok(value) => {
                <AnsiTransactionManager as TransactionManager<_>>::commit_transaction(inner)?;
                Ok(value)
            }
            Err(e) => {
                <AnsiTransactionManager as TransactionManager<_>>::rollback_transaction(inner)?;
                Err(e)
            }
        };
    }
    conn.transaction(f)
}

/// Inserts many rows in one multi-row statement (`rows` a slice or `&Vec`
/// of `Insertable` values that set every column): MultiConnection has no
/// batch insert, so this runs on the concrete connection.
#[macro_export]
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl as _;
        match $conn {
            $crate::db::DbConn::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            $crate::db::DbConn::Postgres(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    }};
}

/// Parameter `n` of raw SQL in `dialect`: `?n` on SQLite, `$n` on
/// PostgreSQL.
pub fn param(dialect: search::Dialect, n: usize) -> String {
    match dialect {
        search::Dialect::Sqlite => format!("?{n}"),
        search::Dialect::Postgres => format!("${n}"),
    }
}

/// Any number of ids as one bound parameter of raw SQL, the same way on
/// both backends: `sql` follows a column (`id {sql}`) and tests it against
/// the ids bound as parameter `n`; bind `bound` there as `Text`. SQLite
/// reads a JSON array (`IN` its values); PostgreSQL splits the ids on
/// commas into an array (`= ANY`). Not `CAST($n AS BIGINT[])`: that cast
/// (`array_in`) is not immutable, so the planner keeps it in the filter
/// and parses the text again for every row tested (a list of 400 parents
/// tested against 6,000 variants: 123 ms against 4 ms). `string_to_array`
/// and the element cast fold into one constant array, whose length the
/// planner also knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdList {
    pub sql: String,
    pub bound: String,
}

impl IdList {
    pub fn new(dialect: search::Dialect, n: usize, ids: &[i64]) -> IdList {
        let listed = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        match dialect {
            search::Dialect::Sqlite => IdList {
                sql: format!("IN (SELECT value FROM json_each(?{n}))"),
                bound: format!("[{listed}]"),
            },
            search::Dialect::Postgres => IdList {
                sql: format!("= ANY(CAST(string_to_array(${n}, ',') AS BIGINT[]))"),
                bound: listed,
            },
        }
    }
}

/// Refreshes the planner's statistics after a bulk load (and, on
/// PostgreSQL, the visibility map that index-only scans need).
///
/// INDEX_CLEANUP ON: a plain VACUUM skips the index pass when under 2% of
/// the table's pages have dead rows, and leaves those pages out of the
/// visibility map. After a seed they are the newest products (updated
/// once their reviews and variants were written), the very rows the
/// catalogue's first page and its capped count read: at a million
/// products that count fetched 6,000 table rows, 9 ms instead of 2.
pub fn analyze(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute("ANALYZE"),
        DbConn::Postgres(c) => c.batch_execute("VACUUM (ANALYZE, INDEX_CLEANUP ON)"),
    }
}

/// Locks one row for the rest of the transaction, so a read-compare-write
/// (an edit-conflict check) cannot interleave with another. PostgreSQL
/// locks the row; SQLite's write transaction already holds the database
/// lock (see [`write_transaction`]). `table` is a name from code, never
/// from input.
pub fn lock_row(conn: &mut DbConn, table: &str, id: i64) -> QueryResult<()> {
    if let DbConn::Postgres(pg) = conn {
        debug_assert!(table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        diesel::sql_query(format!("SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE"))
            .bind::<diesel::sql_types::BigInt, _>(id)
            .execute(pg)?;
    }
    Ok(())
}

/// `lock_row` for many rows at once, in id order (so that two writers
/// locking overlapping sets cannot deadlock).
pub fn lock_rows(conn: &mut DbConn, table: &str, ids: &[i64]) -> QueryResult<()> {
    if let DbConn::Postgres(pg) = conn {
        debug_assert!(table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        diesel::sql_query(format!(
            "SELECT 1 FROM {table} WHERE id = ANY($1) ORDER BY id FOR UPDATE"
        ))
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(ids)
        .execute(pg)?;
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Estimate {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Roughly how many rows `table` has, without counting them: PostgreSQL's
/// planner statistics once the table has been analysed, else the span of
/// its ids (both ends are index lookups; deleted rows make it high). For
/// "about 1,000,000" in lists too long to count.
pub fn estimate_rows(conn: &mut DbConn, table: &str) -> QueryResult<Option<i64>> {
    debug_assert!(table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    if let DbConn::Postgres(pg) = conn {
        let analysed: Option<Estimate> = diesel::sql_query(
            // The table the search path finds: other schemas (other shops,
            // parallel tests) may hold a table of the same name.
            "SELECT reltuples::BIGINT AS n FROM pg_class \
             WHERE oid = to_regclass($1) AND reltuples > 0",
        )
        .bind::<diesel::sql_types::Text, _>(table)
        .get_result(pg)
        .optional()?;
        if let Some(e) = analysed {
            return Ok(Some(e.n));
        }
    }
    // Two subqueries: SQLite reads MAX(id) and MIN(id) from the ends of
    // the rowid tree each alone, but scans the table for both in one
    // expression.
    let span = diesel::sql_query(format!(
        "SELECT COALESCE((SELECT MAX(id) FROM {table}) - (SELECT MIN(id) FROM {table}) + 1, 0) AS n"
    ));
    let found: Option<Estimate> = match conn {
        DbConn::Postgres(pg) => span.get_result(pg).optional()?,
        DbConn::Sqlite(lite) => span.get_result(lite).optional()?,
    };
    Ok(found.map(|e| e.n).filter(|n| *n > 0))
}

/// Deletes sessions whose expiry has passed; returns how many.
pub fn clear_expired_sessions(conn: &mut DbConn) -> QueryResult<usize> {
    use crate::schema::core_session::dsl::*;
    diesel::delete(core_session.filter(expires_at.lt(crate::now()))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(sql::like_pattern("50%_off"), "%50\\%\\_off%");
        assert_eq!(sql::like_pattern("Tea"), "%tea%");
    }

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            Backend::from_url("sqlite://var/shop.sqlite3").unwrap(),
            Backend::Sqlite("var/shop.sqlite3".into())
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap().name(),
            "postgres"
        );
        assert!(matches!(
            Backend::from_url("mysql://x"),
            Err(DbError::UnknownScheme(_))
        ));
        assert!(Backend::from_url("sqlite://:memory:").is_err());
    }

    #[test]
    fn sqlite_database_is_created_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sub/shop.sqlite3", dir.path().display());
        let db = Database::open(&url, 2).unwrap();
        let applied = db.migrate().unwrap();
        assert!(!applied.is_empty());
        assert!(
            db.migrate().unwrap().is_empty(),
            "second run applies nothing"
        );
        assert!(db.query_count() > 0);
    }

    #[test]
    fn write_transactions_nest_as_savepoints() {
        use crate::schema::accounts_group as g;
        let dir = tempfile::tempdir().unwrap();
        let db =
            Database::open(&format!("sqlite://{}/t.sqlite3", dir.path().display()), 1).unwrap();
        db.migrate().unwrap();
        let mut conn = db.get().unwrap();
        let outcome: QueryResult<()> = write_transaction(&mut conn, |conn| {
            diesel::insert_into(g::table)
                .values(g::name.eq("kept"))
                .execute(conn)?;
            let inner: QueryResult<()> = write_transaction(conn, |conn| {
                diesel::insert_into(g::table)
                    .values(g::name.eq("undone"))
                    .execute(conn)?;
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(inner.is_err());
            Ok(())
        });
        outcome.unwrap();
        let names: Vec<String> = g::table.select(g::name).load(&mut conn).unwrap();
        assert_eq!(names, vec!["kept".to_string()]);
    }

    #[test]
    fn an_id_list_picks_exactly_its_ids() {
        use crate::schema::accounts_group as g;
        #[derive(QueryableByName)]
        struct Named {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let dir = tempfile::tempdir().unwrap();
        let db =
            Database::open(&format!("sqlite://{}/t.sqlite3", dir.path().display()), 1).unwrap();
        db.migrate().unwrap();
        let mut conn = db.get().unwrap();
        for name in ["a", "b", "c"] {
            diesel::insert_into(g::table)
                .values(g::name.eq(name))
                .execute(&mut conn)
                .unwrap();
        }
        let ids: Vec<i64> = g::table
            .filter(g::name.eq_any(["a", "c"]))
            .select(g::id)
            .load(&mut conn)
            .unwrap();
        let dialect = search::Dialect::of(&conn);
        let named = |conn: &mut DbConn, ids: &[i64]| -> Vec<String> {
            // The list as the second parameter, after another.
            let list = IdList::new(dialect, 2, ids);
            let sql = format!(
                "SELECT name FROM accounts_group WHERE name <> {} AND id {} ORDER BY name",
                param(dialect, 1),
                list.sql
            );
            diesel::sql_query(sql)
                .bind::<diesel::sql_types::Text, _>("none")
                .bind::<diesel::sql_types::Text, _>(list.bound)
                .load::<Named>(conn)
                .unwrap()
                .into_iter()
                .map(|n| n.name)
                .collect()
        };
        assert_eq!(named(&mut conn, &ids), ["a", "c"]);
        assert!(named(&mut conn, &[]).is_empty());
    }
}

/// SQL functions both backends have, for the query builder.
pub mod sql {
    use diesel::sql_types::Text;

    /// The LIKE pattern matching `text` anywhere, lower-cased, with the
    /// wildcards in it escaped (use with `.escape('\\')`).
    pub fn like_pattern(text: &str) -> String {
        let mut out = String::from("%");
        for c in text.to_lowercase().chars() {
            if matches!(c, '%' | '_' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('%');
        out
    }

    diesel::define_sql_function! {
        /// `lower(text)`: case-insensitive matching that works the same on
        /// SQLite and PostgreSQL (`ILIKE` is PostgreSQL only).
        fn lower(x: Text) -> Text;
    }
}

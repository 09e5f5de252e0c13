//! Connection, migrations and the plumbing shared by the query modules.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr};

use crate::error::{Result, StoreError};
use crate::model::Backend;

/// One embedded migration: version, description, SQL for SQLite, SQL for PostgreSQL.
type MigrationSource = (i64, &'static str, &'static str, &'static str);

/// Every migration this build knows, in order. Add new ones at the end, with the next
/// version, in both directories.
const MIGRATIONS: &[MigrationSource] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "security",
        include_str!("../migrations/sqlite/0002_security.sql"),
        include_str!("../migrations/postgres/0002_security.sql"),
    ),
    (
        3,
        "pin guard",
        include_str!("../migrations/sqlite/0003_pin_guard.sql"),
        include_str!("../migrations/postgres/0003_pin_guard.sql"),
    ),
    (
        4,
        "chains",
        include_str!("../migrations/sqlite/0004_chains.sql"),
        include_str!("../migrations/postgres/0004_chains.sql"),
    ),
    (
        5,
        "budgets and grants",
        include_str!("../migrations/sqlite/0005_budgets_grants.sql"),
        include_str!("../migrations/postgres/0005_budgets_grants.sql"),
    ),
    (
        6,
        "finality",
        include_str!("../migrations/sqlite/0006_finality.sql"),
        include_str!("../migrations/postgres/0006_finality.sql"),
    ),
    (
        7,
        "request handler",
        include_str!("../migrations/sqlite/0007_handler.sql"),
        include_str!("../migrations/postgres/0007_handler.sql"),
    ),
    (
        8,
        "browser apps: allowed origins, tokens",
        include_str!("../migrations/sqlite/0008_browser_apps.sql"),
        include_str!("../migrations/postgres/0008_browser_apps.sql"),
    ),
    (
        9,
        "operations: suspension, key expiry, operator tokens, audit log",
        include_str!("../migrations/sqlite/0009_operations.sql"),
        include_str!("../migrations/postgres/0009_operations.sql"),
    ),
    (
        10,
        "gas budget alert thresholds",
        include_str!("../migrations/sqlite/0010_budget_alerts.sql"),
        include_str!("../migrations/postgres/0010_budget_alerts.sql"),
    ),
];

/// SQLite migrations that manage their own transaction: they rebuild tables other tables
/// reference, which needs foreign keys off, and SQLite switches them only between
/// transactions.
const SQLITE_OWN_TRANSACTION: &[i64] = &[4];

/// How long a SQLite connection waits for a lock held by another connection or process.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections kept for SQLite (writes use a single dedicated connection).
const SQLITE_READERS: u32 = 4;
/// Connections kept for PostgreSQL.
const POSTGRES_CONNECTIONS: u32 = 10;
/// How long a caller waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The highest schema version this build ships.
pub(crate) fn known_schema_version() -> i64 {
    MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
}

fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            let no_tx = backend == Backend::Sqlite && SQLITE_OWN_TRANSACTION.contains(&version);
            Migration::new(
                version,
                description.into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                no_tx,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

pub(crate) enum Db {
    /// SQLite: every write goes through `write`, a pool of exactly one connection, so
    /// writers queue in the pool instead of contending for the file lock; reads use `read`.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

pub(crate) struct Inner {
    pub(crate) db: Db,
    /// The URL with any password removed, for `Debug`.
    display_url: String,
}

/// Handle to the latchkey database. Cheap to clone; all clones share the pools.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("url", &self.inner.display_url)
            .finish()
    }
}

/// Runs `$body` with `$pool` bound to the pool used for reads.
macro_rules! with_read_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.inner.db {
            $crate::db::Db::Sqlite { read: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to the pool used for single-statement writes.
macro_rules! with_write_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.inner.db {
            $crate::db::Db::Sqlite { write: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside a write transaction bound to `$tx` and commits it; an early return
/// (`?`) rolls it back. SQLite transactions start with `BEGIN IMMEDIATE`, so the write lock
/// is taken up front and a transaction never has to upgrade a read lock (which would fail
/// with `SQLITE_BUSY` regardless of the busy timeout).
macro_rules! with_write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.inner.db {
            $crate::db::Db::Sqlite { write, .. } => {
                let mut $tx = write.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::db::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// Appends an audit record: who, what, to what, before and after.
pub(crate) const AUDIT_INSERT: &str =
    "INSERT INTO audit_log (at, actor, action, target, before_json, after_json) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// Appends `$entry` (an [`AuditEntry`](crate::AuditEntry)) to the audit log inside
/// transaction `$tx`, at `$now`: the change and its record commit together or not at all.
macro_rules! audit {
    ($tx:ident, $now:expr, $entry:expr) => {{
        let entry: &$crate::model::AuditEntry<'_> = $entry;
        sqlx::query($crate::db::AUDIT_INSERT)
            .bind($now)
            .bind(entry.actor)
            .bind(entry.action)
            .bind(entry.target)
            .bind(entry.before.as_deref())
            .bind(entry.after.as_deref())
            .execute(&mut *$tx)
            .await?;
    }};
}

pub(crate) use {audit, with_read_pool, with_write_pool, with_write_tx};

/// Typed column access shared by both backends' row types.
pub(crate) trait Cols {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn flag(&self, col: &str) -> Result<bool>;
    fn opt_flag(&self, col: &str) -> Result<Option<bool>>;
}

macro_rules! impl_cols {
    ($row:ty) => {
        impl Cols for $row {
            fn text(&self, col: &str) -> Result<String> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>> {
                Ok(self.try_get(col)?)
            }
            fn int(&self, col: &str) -> Result<i64> {
                Ok(self.try_get(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>> {
                Ok(self.try_get(col)?)
            }
            fn flag(&self, col: &str) -> Result<bool> {
                Ok(self.try_get(col)?)
            }
            fn opt_flag(&self, col: &str) -> Result<Option<bool>> {
                Ok(self.try_get(col)?)
            }
        }
    };
}

impl_cols!(SqliteRow);
impl_cols!(PgRow);

/// A bind value for queries whose text is assembled at run time.
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// Binds `$args` in order onto `$query`.
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::db::Arg::Text(value) => query.bind(value),
                $crate::db::Arg::Int(value) => query.bind(value),
            };
        }
        query
    }};
}

pub(crate) use bind_all;

/// `$first, $first+1, …` placeholders for an `IN (…)` list of `count` values.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// Current time in unix seconds: the one wall clock of the server's crates (the store
/// stamps records with it, the relayer and the API compare against it).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A fresh UUID v4 as text.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`.
    ///
    /// `sqlite://<path>` opens a file, creating it and its parent directories;
    /// `postgres://…` (or `postgresql://…`) connects to a server. Fails with
    /// [`StoreError::UnknownSchema`] when the database was migrated by a newer build.
    pub async fn connect(url: &str) -> Result<Self> {
        if let Some(path) = sqlite_path(url)? {
            Self::connect_sqlite(&path).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url).await
        } else {
            Err(StoreError::InvalidUrl(format!(
                "expected sqlite://<path> or postgres://…, got {}",
                redact(url)
            )))
        }
    }

    async fn connect_sqlite(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Database(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        check_sqlite_schema(&write).await?;
        migrator(Backend::Sqlite).run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(SQLITE_READERS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        tracing::debug!(path = %path.display(), "opened sqlite store");
        Ok(Self {
            inner: Arc::new(Inner {
                db: Db::Sqlite { write, read },
                display_url: format!("sqlite://{}", path.display()),
            }),
        })
    }

    async fn connect_postgres(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(format!("{}: {e}", redact(url))))?
            .application_name("latchkey")
            // Acknowledge a commit only once it is flushed to disk, whatever the server
            // default says.
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        let fsync: String = sqlx::query_scalar("SHOW fsync").fetch_one(&pool).await?;
        if fsync != "on" {
            tracing::warn!("PostgreSQL runs with fsync={fsync}: commits may be lost on a crash");
        }
        check_postgres_schema(&pool).await?;
        // sqlx takes an advisory lock around the run, so several processes starting at
        // once migrate one at a time.
        migrator(Backend::Postgres).run(&pool).await?;
        tracing::debug!(url = %redact(url), "opened postgres store");
        Ok(Self { inner: Arc::new(Inner { db: Db::Postgres(pool), display_url: redact(url) }) })
    }

    /// Which engine this store uses.
    pub fn backend(&self) -> Backend {
        match self.inner.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers a trivial query (on the write path as well, for
    /// SQLite).
    pub async fn health(&self) -> Result<()> {
        match &self.inner.db {
            Db::Sqlite { write, read } => {
                sqlx::query("SELECT 1").execute(read).await?;
                sqlx::query("SELECT 1").execute(write).await?;
            }
            Db::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// The schema version recorded in the database (the highest applied migration).
    pub async fn schema_version(&self) -> Result<i64> {
        let version: Option<i64> = with_read_pool!(self, |pool| {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        });
        Ok(version.unwrap_or(0))
    }

    /// Closes every pooled connection, waiting for queries in progress. Later calls on any
    /// clone fail. Dropping the last clone without calling this is also safe: every
    /// acknowledged write is already durable.
    pub async fn close(&self) {
        match &self.inner.db {
            Db::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// Refuses a SQLite database whose recorded schema is newer than this build.
async fn check_sqlite_schema(pool: &SqlitePool) -> Result<()> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await?;
    if exists == 0 {
        return Ok(());
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(pool).await?;
    judge_schema(found)
}

/// Refuses a PostgreSQL database whose recorded schema is newer than this build.
async fn check_postgres_schema(pool: &PgPool) -> Result<()> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await?;
    if exists == 0 {
        return Ok(());
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(pool).await?;
    judge_schema(found)
}

fn judge_schema(found: Option<i64>) -> Result<()> {
    let known = known_schema_version();
    match found {
        Some(found) if found > known => {
            tracing::error!(found, known, "refusing a database migrated by a newer latchkey");
            Err(StoreError::UnknownSchema { found, known })
        }
        _ => Ok(()),
    }
}

/// `Some(path)` for a `sqlite:` URL, `None` for other schemes.
fn sqlite_path(url: &str) -> Result<Option<PathBuf>> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(None);
    };
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(StoreError::InvalidUrl("sqlite url has no file path".into()));
    }
    if path.contains('?') || path.contains('#') {
        return Err(StoreError::InvalidUrl(format!(
            "sqlite url takes no options (they are fixed for durability): {url}"
        )));
    }
    if path == ":memory:" || path.starts_with(":memory:") {
        return Err(StoreError::InvalidUrl(
            "in-memory sqlite is not supported: the store must be durable".into(),
        ));
    }
    Ok(Some(PathBuf::from(path)))
}

/// The URL with its password (if any) replaced, safe to log.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
                return "<unprintable url>".into();
            }
            // Query parameters may carry a password too (`?password=`).
            if parsed.query().is_some() {
                parsed.set_query(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparseable url>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords() {
        let shown = redact("postgres://app:hunter2@db.example:5432/latchkey?password=hunter2");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("app"));
        assert!(shown.contains("db.example"));
        assert_eq!(redact("not a url"), "<unparseable url>");
    }

    #[test]
    fn sqlite_urls_parse() {
        assert_eq!(sqlite_path("sqlite://data/x.db").unwrap(), Some(PathBuf::from("data/x.db")));
        assert_eq!(sqlite_path("sqlite:///tmp/x.db").unwrap(), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_path("sqlite:x.db").unwrap(), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_path("postgres://h/db").unwrap(), None);
        assert!(matches!(sqlite_path("sqlite://"), Err(StoreError::InvalidUrl(_))));
        assert!(matches!(sqlite_path("sqlite::memory:"), Err(StoreError::InvalidUrl(_))));
        assert!(matches!(sqlite_path("sqlite://x.db?mode=ro"), Err(StoreError::InvalidUrl(_))));
    }

    #[test]
    fn placeholders_number_from_first() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
    }

    #[tokio::test]
    async fn sqlite_connections_use_the_durable_settings() {
        let dir = std::env::temp_dir().join(format!("latchkey-store-pragmas-{}", new_id()));
        let store = Store::connect(&format!("sqlite://{}/x.db", dir.display())).await.unwrap();
        let Db::Sqlite { write, read } = &store.inner.db else { panic!("not sqlite") };
        assert_eq!(write.options().get_max_connections(), 1);
        for pool in [write, read] {
            let mode: String =
                sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
            assert_eq!(mode, "wal");
            // 2 = FULL
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap();
            assert_eq!(sync, 2);
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(pool).await.unwrap();
            assert_eq!(fk, 1);
            let busy: i64 =
                sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(pool).await.unwrap();
            assert_eq!(busy, 5000);
        }
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn both_backends_ship_every_migration() {
        for (version, _, sqlite, postgres) in MIGRATIONS {
            assert!(*version > 0);
            // Each file opens by naming its version and engine.
            let header = format!("-- latchkey schema, version {version} (");
            assert!(sqlite.starts_with(&format!("{header}SQLite)")), "{version}");
            assert!(postgres.starts_with(&format!("{header}PostgreSQL)")), "{version}");
        }
        assert_eq!(known_schema_version(), 10);
    }
}

//! Throwaway databases for tests.
//!
//! [`TestDatabase::sqlite`] makes a fresh file in its own temporary directory.
//! [`TestDatabase::postgres`] makes a fresh database on a PostgreSQL server:
//!
//! * if `LATCHKEY_TEST_POSTGRES_URL` is set (a superuser URL to an existing server), on
//!   that server;
//! * otherwise on a private cluster started once per test process from the machine's
//!   PostgreSQL binaries (`/usr/lib/postgresql/<version>/bin`, or `pg_config --bindir`),
//!   listening on a free `127.0.0.1` port with its data and socket in a temporary
//!   directory. When running as root the cluster runs as the `postgres` user. A watchdog
//!   shell stops the cluster and deletes its directory when the test process exits.
//!
//! Without any PostgreSQL, `postgres()` prints `SKIPPED: PostgreSQL not available …` and
//! returns `None` — unless `LATCHKEY_REQUIRE_POSTGRES=1`, in which case it panics (CI sets
//! it so that PostgreSQL coverage can never silently vanish).
//!
//! Dropping a `TestDatabase` deletes its file or database.

use std::fmt;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sqlx::{Connection as _, Executor as _, PgConnection};

use latchkey_store::{Backend, Store};

/// Environment variable naming an existing PostgreSQL server (superuser URL).
pub const POSTGRES_URL_ENV: &str = "LATCHKEY_TEST_POSTGRES_URL";
/// Environment variable that turns a missing PostgreSQL into a test failure.
pub const REQUIRE_POSTGRES_ENV: &str = "LATCHKEY_REQUIRE_POSTGRES";

/// A database that exists for the lifetime of this value.
pub struct TestDatabase {
    url: String,
    store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    /// Remove this directory (the SQLite file, its WAL and shared-memory files).
    Dir(PathBuf),
    /// Drop database `name` through the superuser URL.
    Postgres { admin_url: String, name: String },
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase").field("store", &self.store).finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// A migrated SQLite database in a new temporary directory.
    ///
    /// # Panics
    /// If the file cannot be created or migrated.
    pub async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("latchkey-store-{}", uuid::Uuid::new_v4()));
        let path = dir.join("latchkey.db");
        let url = format!("sqlite://{}", path.display());
        let store = match Store::connect(&url).await {
            Ok(store) => store,
            Err(e) => panic!("cannot create test sqlite database at {url}: {e}"),
        };
        Self { url, store, cleanup: Cleanup::Dir(dir) }
    }

    /// A migrated, empty PostgreSQL database, or `None` (after printing a `SKIPPED` line)
    /// when no PostgreSQL is available.
    ///
    /// # Panics
    /// If PostgreSQL is unavailable and `LATCHKEY_REQUIRE_POSTGRES=1`, if
    /// `LATCHKEY_TEST_POSTGRES_URL` is set but unusable, or if the database cannot be
    /// created.
    pub async fn postgres() -> Option<Self> {
        let admin_url = match std::env::var(POSTGRES_URL_ENV) {
            Ok(url) if !url.is_empty() => url,
            _ => match tokio::task::spawn_blocking(|| cluster().clone()).await {
                Ok(Ok(url)) => url,
                Ok(Err(reason)) => return unavailable(&reason),
                Err(e) => return unavailable(&format!("cluster start-up panicked: {e}")),
            },
        };
        let name = format!("latchkey_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = match PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => panic!("cannot connect to the PostgreSQL admin database ({POSTGRES_URL_ENV} or the test cluster): {e}"),
        };
        if let Err(e) =
            admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).await
        {
            panic!("cannot create test database {name}: {e}");
        }
        // Best effort: the connection is only used for the CREATE above.
        let _ = admin.close().await;
        let url = match database_url(&admin_url, &name) {
            Some(url) => url,
            None => panic!("{POSTGRES_URL_ENV} is not a valid URL"),
        };
        let cleanup = Cleanup::Postgres { admin_url, name };
        let store = match Store::connect(&url).await {
            Ok(store) => store,
            Err(e) => {
                drop_database(&cleanup);
                panic!("cannot migrate the test PostgreSQL database: {e}");
            }
        };
        Some(Self { url, store, cleanup })
    }

    /// The connection URL (`sqlite://…` or `postgres://…`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A handle to the migrated store (a cheap clone of the shared one).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// The engine behind this database.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                if let Err(e) = std::fs::remove_dir_all(dir) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        let _ = writeln!(std::io::stderr(), "cannot remove {}: {e}", dir.display());
                    }
                }
            }
            cleanup @ Cleanup::Postgres { .. } => drop_database(cleanup),
        }
    }
}

/// Drops a test database from a helper thread with its own runtime (`Drop` is sync and may
/// run inside a runtime that must not be blocked on). `WITH (FORCE)` ends the connections
/// the store still holds.
fn drop_database(cleanup: &Cleanup) {
    let Cleanup::Postgres { admin_url, name } = cleanup else { return };
    let (admin_url, name) = (admin_url.clone(), name.clone());
    let worker = std::thread::spawn(move || -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let mut admin = PgConnection::connect(&admin_url).await.map_err(|e| e.to_string())?;
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .await
                .map_err(|e| e.to_string())?;
            admin.close().await.map_err(|e| e.to_string())
        })
    });
    match worker.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let _ = writeln!(std::io::stderr(), "cannot drop test database: {e}");
        }
        Err(_) => {
            let _ = writeln!(std::io::stderr(), "cannot drop test database: helper panicked");
        }
    }
}

/// Reports PostgreSQL as unavailable: a visible `SKIPPED` line, or a panic when required.
fn unavailable(reason: &str) -> Option<TestDatabase> {
    if std::env::var(REQUIRE_POSTGRES_ENV).is_ok_and(|v| v == "1") {
        panic!(
            "{REQUIRE_POSTGRES_ENV}=1 but PostgreSQL is not available: {reason}\n\
             Install the server binaries (`apt-get install postgresql`, which provides \
             /usr/lib/postgresql/<version>/bin/initdb and pg_ctl) or point \
             {POSTGRES_URL_ENV} at a server as a superuser, e.g. \
             postgres://postgres:secret@127.0.0.1:5432/postgres"
        );
    }
    // Written to the real stderr, past the test harness's output capture.
    let _ = writeln!(std::io::stderr(), "SKIPPED: PostgreSQL not available ({reason})");
    None
}

/// `admin_url` with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> Option<String> {
    let mut url = url::Url::parse(admin_url).ok()?;
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// The superuser URL of this process's private cluster, started on first use.
fn cluster() -> &'static Result<String, String> {
    static CLUSTER: OnceLock<Result<String, String>> = OnceLock::new();
    CLUSTER.get_or_init(start_cluster)
}

/// Where `initdb` and `pg_ctl` live: the newest `/usr/lib/postgresql/<v>/bin`, else
/// `pg_config --bindir`.
fn postgres_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && has_tools(&bin)).then_some(bin)
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A command running `program` as the `postgres` user when we are root (initdb and the
/// server refuse to run as root), as ourselves otherwise.
fn as_server_user(program: &Path, as_root: bool) -> Command {
    if as_root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Stops the cluster (immediate shutdown) and removes its directory once the test process
/// with pid `$1` has exited. `$2` is the data directory, `$3` the directory to remove.
const WATCHDOG: &str = r#"
while kill -0 "$1" 2>/dev/null; do sleep 1; done
pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
fi
rm -rf "$3"
"#;

fn start_cluster() -> Result<String, String> {
    let bin = postgres_bin_dir().ok_or_else(|| {
        "no initdb/pg_ctl under /usr/lib/postgresql/*/bin or pg_config --bindir".to_owned()
    })?;
    let as_root = command_output("id", &["-u"]).as_deref() == Some("0");
    let base = std::env::temp_dir().join(format!(
        "latchkey-pg-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    if as_root {
        let uid = command_output("id", &["-u", "postgres"]).and_then(|s| s.parse().ok());
        let gid = command_output("id", &["-g", "postgres"]).and_then(|s| s.parse().ok());
        let (Some(uid), Some(gid)) = (uid, gid) else {
            return Err("running as root and there is no postgres user to run the server".into());
        };
        std::os::unix::fs::chown(&base, Some(uid), Some(gid))
            .map_err(|e| format!("cannot hand {} to postgres: {e}", base.display()))?;
    }
    // Remove the directory when this process exits, whatever happens below.
    let data = base.join("data");
    Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("latchkey-pg-watchdog")
        .arg(std::process::id().to_string())
        .arg(&data)
        .arg(&base)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster watchdog: {e}"))?;

    let mut initdb = as_server_user(&bin.join("initdb"), as_root);
    initdb.arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    run(initdb, "initdb")?;
    let conf = format!(
        "\n# latchkey test cluster\nlisten_addresses = '127.0.0.1'\n\
         unix_socket_directories = '{}'\nmax_connections = 300\n",
        base.display()
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut f| f.write_all(conf.as_bytes()))
        .map_err(|e| format!("cannot configure the test cluster: {e}"))?;

    let mut last_error = String::new();
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let mut pg_ctl = as_server_user(&bin.join("pg_ctl"), as_root);
        pg_ctl
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(base.join("postgres.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!("-p {port}"))
            .arg("start");
        match run(pg_ctl, "pg_ctl start") {
            Ok(()) => return Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres")),
            Err(e) => {
                let log = std::fs::read_to_string(base.join("postgres.log")).unwrap_or_default();
                last_error = format!("{e}\n{log}");
            }
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_only_the_path() {
        assert_eq!(
            database_url("postgres://u:p@h:5432/postgres?sslmode=disable", "db1").as_deref(),
            Some("postgres://u:p@h:5432/db1?sslmode=disable")
        );
        assert_eq!(database_url("not a url", "x"), None);
    }
}

//! Throwaway databases for integration tests (feature `testing`).
//!
//! SQLite: a fresh file in a temporary directory. PostgreSQL: one cluster per test binary,
//! started on first use with Debian's `initdb`/`pg_ctl` in a temporary directory on a free
//! port (as the `postgres` user when running as root, since PostgreSQL refuses to run as root),
//! and one new database per test. A watchdog process stops the cluster and removes its files
//! once the test binary exits, however it exits.
//!
//! There is no switch to skip the PostgreSQL variants: a missing PostgreSQL installation fails
//! them with instructions, so a run that passes has run every test on both backends. (To run
//! only the SQLite variants by hand, filter by name: `cargo test sqlite::`.) The old
//! `AF_TEST_POSTGRES=skip` is refused loudly rather than ignored, so a CI configuration that
//! still sets it fails instead of silently testing less.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::{Backend, DatabaseUrl, Db};

/// A migrated database that lives as long as this value (SQLite files are removed on drop;
/// PostgreSQL databases go with the cluster).
pub struct TestDb {
    pub db: Db,
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
}

/// Panics if the environment asks to skip PostgreSQL tests (`AF_TEST_POSTGRES=skip`, which
/// once made them pass without running): every PostgreSQL test runs, or fails.
pub fn refuse_skip_switch() {
    if let Some(v) = std::env::var("AF_TEST_POSTGRES").ok().filter(|v| !v.is_empty()) {
        panic!(
            "AF_TEST_POSTGRES={v} is no longer supported: PostgreSQL tests always run (and fail without PostgreSQL). \
             Unset it; to run only the SQLite variants by hand, filter by name: `cargo test sqlite::`"
        );
    }
}

impl TestDb {
    /// A fresh, migrated database on `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        refuse_skip_switch();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = DatabaseUrl::new(format!("sqlite://{}", dir.path().join("test.db").display()));
                let db = Db::connect(&url).await.expect("open SQLite");
                db.migrate().await.expect("migrate SQLite");
                TestDb { db, url, _dir: Some(dir) }
            }
            Backend::Postgres => {
                let url = postgres_database().await;
                let db = Db::connect(&url).await.expect("connect to the test PostgreSQL database");
                db.migrate().await.expect("migrate PostgreSQL");
                TestDb { db, url, _dir: None }
            }
        }
    }
}

/// Creates a new, empty database on the shared test cluster and returns its URL.
pub async fn postgres_database() -> DatabaseUrl {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let cluster = cluster();
    let name = format!("af_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let admin = DatabaseUrl::new(format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port));
    let admin_db = Db::connect(&admin).await.expect("connect to the test cluster");
    if let Db::Postgres(pool) = &admin_db {
        sqlx::query(&format!("create database {name}")).execute(pool).await.expect("create test database");
    }
    admin_db.close().await;
    DatabaseUrl::new(format!("postgres://postgres@127.0.0.1:{}/{name}", cluster.port))
}

struct Cluster {
    port: u16,
}

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| start_cluster().unwrap_or_else(|e| panic!("{e}")))
}

fn pg_bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("AF_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().ok_or_else(|| {
        "PostgreSQL tests need Debian's `postgresql` package (initdb, pg_ctl under /usr/lib/postgresql/*/bin): \
         run scripts/setup.sh or set AF_PG_BIN (to run only the SQLite variants by hand: `cargo test sqlite::`)"
            .to_string()
    })
}

fn is_root() -> bool {
    // SAFETY-free check: the effective uid is in /proc/self/status ("Uid: real effective ...").
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root.
fn pg_command(bin: &Path, tool: &str, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn start_cluster() -> Result<Cluster, String> {
    let bin = pg_bin_dir()?;
    let as_postgres = is_root();
    // Not a TempDir: the watchdog below removes it after this process has gone.
    let dir = tempfile::Builder::new().prefix("af-pg-").tempdir().map_err(|e| e.to_string())?.keep();
    let data = dir.join("data");
    if as_postgres {
        let ok = Command::new("chown").arg("-R").arg("postgres:postgres").arg(&dir).status().map_err(|e| e.to_string())?;
        if !ok.success() {
            return Err(format!("could not chown {} to postgres", dir.display()));
        }
    }
    let out = pg_command(&bin, "initdb", as_postgres)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
        .arg(&data)
        .output()
        .map_err(|e| format!("running initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let port = free_port();
    // Durability is pointless for a throwaway cluster; these make each test database cheap.
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300",
        dir.display()
    );
    let out = pg_command(&bin, "pg_ctl", as_postgres)
        .args(["-w", "-t", "60", "-D"])
        .arg(&data)
        .args(["-l"])
        .arg(dir.join("server.log"))
        .args(["-o", &opts, "start"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("running pg_ctl: {e}"))?;
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        return Err(format!("pg_ctl start failed: {}\n{log}", String::from_utf8_lossy(&out.stderr)));
    }
    // The watchdog outlives this process: once our pid is gone it stops the cluster and
    // removes its directory, so a panicking or killed test run leaves nothing behind.
    let pg_ctl = bin.join("pg_ctl");
    let stop = if as_postgres {
        format!("runuser -u postgres -- {} -D {} stop -m immediate", pg_ctl.display(), data.display())
    } else {
        format!("{} -D {} stop -m immediate", pg_ctl.display(), data.display())
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the cluster watchdog: {e}"))?;
    Ok(Cluster { port })
}

/// Declares each listed `async fn name(backend: Backend)` as two `#[tokio::test]`s,
/// `sqlite::name` and `postgres::name`, so the same test body runs on both backends.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

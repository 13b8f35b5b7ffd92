//! The PostgreSQL variants cannot be switched off: `AF_TEST_POSTGRES=skip` once made them
//! return early and pass without running; now it fails them (so does a missing PostgreSQL).

use std::process::Command;

use af_db::testing::TestDb;
use af_db::{backend_tests, Backend};

async fn a_database_opens(backend: Backend) {
    let t = TestDb::new(backend).await;
    assert_eq!(t.db.backend(), backend);
}

backend_tests!(a_database_opens);

/// Runs `postgres::a_database_opens` of this very test binary in a child process.
fn run_postgres_variant(env: Option<(&str, &str)>) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args(["--exact", "postgres::a_database_opens", "--test-threads=1"]).env_remove("AF_TEST_POSTGRES");
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the test binary")
}

#[test]
fn the_old_skip_switch_fails_the_postgres_tests_instead_of_passing_them() {
    let skipped = run_postgres_variant(Some(("AF_TEST_POSTGRES", "skip")));
    let out = format!("{}{}", String::from_utf8_lossy(&skipped.stdout), String::from_utf8_lossy(&skipped.stderr));
    assert!(!skipped.status.success(), "with AF_TEST_POSTGRES=skip the PostgreSQL test must fail, it passed:\n{out}");
    assert!(out.contains("AF_TEST_POSTGRES=skip is no longer supported"), "{out}");
    assert!(out.contains("1 failed"), "exactly the one test ran and failed:\n{out}");
    // Without it the same test runs, on a real cluster, and passes.
    let normal = run_postgres_variant(None);
    let out = format!("{}{}", String::from_utf8_lossy(&normal.stdout), String::from_utf8_lossy(&normal.stderr));
    assert!(normal.status.success() && out.contains("1 passed"), "{out}");
}

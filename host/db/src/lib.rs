//! Database access: one [`Db`] handle over SQLite (the zero-set-up default) or PostgreSQL (the
//! scale-out mode), one module per aggregate. Nothing here knows about HTTP.
//!
//! Both backends run the same SQL text: SQLite accepts PostgreSQL's `$1` placeholders and
//! `returning`, and the column types used (`i64`, `f64`, `bool`, text, JSON via
//! [`sqlx::types::Json`], `DateTime<Utc>`) decode on both. The [`on_pool!`] macro writes a query
//! once and compiles it for each pool, so no `if sqlite` checks are scattered around.

pub mod annotations;
mod error;
pub mod images;
pub mod jobs;
pub mod models;
pub mod plugins;
pub mod prelabel;
pub mod projects;
#[cfg(feature = "testing")]
pub mod testing;
pub mod users;

pub use error::{DbError, DbResult};
/// JSON columns (re-exported so callers need no sqlx dependency).
pub use sqlx::types::Json;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool for either backend. Cheap to clone.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pools' own Debug would print connect options, passwords included.
        write!(f, "Db({:?})", self.backend())
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool, once per backend. The body is
/// compiled twice, so generic sqlx calls (`query_as::<_, Row>`) pick the right database.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// A database URL whose password never reaches `Debug`, `Display` or the logs.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its secret, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn backend(&self) -> Result<Backend, DbError> {
        let scheme = self.0.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(DbError::Config(format!(
                "unsupported database URL scheme `{scheme}` in {self} (expected sqlite:// or postgres://)"
            ))),
        }
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://") else { return url.clone() };
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                let user = userinfo.split(':').next().unwrap_or_default();
                let masked = if userinfo.contains(':') { format!("{user}:***") } else { user.to_string() };
                format!("{}{}{}", &url[..scheme_end + 3], masked, &rest[at..])
            }
            None => url.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Db {
    /// Connects to `url` (`sqlite://path`, created if missing, or `postgres://…`).
    pub async fn connect(url: &DatabaseUrl) -> DbResult<Db> {
        match url.backend()? {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url.expose())
                    .map_err(|e| DbError::Config(format!("invalid SQLite URL {url}: {e}")))?
                    .create_if_missing(true)
                    // WAL lets readers run while one writer writes; NORMAL sync is durable in WAL.
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
                Ok(Db::Sqlite(pool))
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url.expose())
                    .map_err(|e| DbError::Config(format!("invalid PostgreSQL URL {url}: {e}")))?;
                let pool = PgPoolOptions::new()
                    .max_connections(32)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies every pending migration of this backend (`migrations/{sqlite,postgres}`).
    pub async fn migrate(&self) -> DbResult<()> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Round-trips a trivial query (for `/healthz`).
    pub async fn ping(&self) -> DbResult<()> {
        on_pool!(self, pool => sqlx::query("select 1").execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Whether [`Db::close`] was called.
    pub fn is_closed(&self) -> bool {
        on_pool!(self, pool => pool.is_closed())
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// A row of a paged list with the list's total count as one more column (`total`).
#[derive(sqlx::FromRow)]
pub(crate) struct WithTotal<T> {
    #[sqlx(flatten)]
    pub row: T,
    pub total: i64,
}

/// Page `page` (1-based) of `per_page` rows: the `limit`/`offset` pair to bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub fn limit(self) -> i64 {
        self.per_page as i64
    }
    pub fn offset(self) -> i64 {
        (self.page.saturating_sub(1) as i64) * self.per_page as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let url = DatabaseUrl::new("postgres://af:s3cret@db.local:5432/af?sslmode=disable");
        assert_eq!(url.redacted(), "postgres://af:***@db.local:5432/af?sslmode=disable");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(!format!("{url}").contains("s3cret"));
        assert_eq!(url.expose(), "postgres://af:s3cret@db.local:5432/af?sslmode=disable");
        let plain = DatabaseUrl::new("sqlite:///tmp/x.db");
        assert_eq!(plain.redacted(), "sqlite:///tmp/x.db");
        assert_eq!(DatabaseUrl::new("postgres://bob@h/db").redacted(), "postgres://bob@h/db");
    }

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(DatabaseUrl::new("sqlite://a.db").backend().unwrap(), Backend::Sqlite);
        assert_eq!(DatabaseUrl::new("postgresql://h/db").backend().unwrap(), Backend::Postgres);
        assert!(DatabaseUrl::new("mysql://h/db").backend().is_err());
    }

    #[test]
    fn pages_are_one_based() {
        assert_eq!(Page { page: 1, per_page: 50 }.offset(), 0);
        assert_eq!(Page { page: 3, per_page: 20 }.offset(), 40);
        assert_eq!(Page { page: 0, per_page: 20 }.offset(), 0);
    }
}

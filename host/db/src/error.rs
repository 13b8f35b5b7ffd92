//! The one error type of the DB layer: what a caller can act on (`NotFound`, `Conflict`) and
//! everything else.

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated; the message names the constraint.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A foreign key or CHECK constraint rejected the row.
    #[error("constraint violated: {0}")]
    Constraint(String),
    #[error("database configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Other(sqlx::Error),
}

pub type DbResult<T> = Result<T, DbError>;

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::Database(ref db) if db.is_unique_violation() => {
                DbError::Conflict(db.constraint().map(str::to_string).unwrap_or_else(|| db.message().to_string()))
            }
            sqlx::Error::Database(ref db) if db.is_foreign_key_violation() || db.is_check_violation() => {
                DbError::Constraint(db.message().to_string())
            }
            other => DbError::Other(other),
        }
    }
}

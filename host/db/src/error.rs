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

/// PostgreSQL's SQLSTATE `untranslatable_character` (jsonb's `\u0000`).
const UNTRANSLATABLE_TEXT: &str = "22P05";
/// PostgreSQL's SQLSTATE `character_not_in_repertoire` (a NUL byte in text).
const NOT_IN_REPERTOIRE: &str = "22021";

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
            // PostgreSQL cannot store a NUL character in text (22021, "invalid byte sequence
            // for encoding UTF8: 0x00") nor `\u0000` in jsonb (22P05); SQLite can. The API
            // refuses such text first; this keeps any other way in from being a 500.
            sqlx::Error::Database(ref db) if matches!(db.code().as_deref(), Some(UNTRANSLATABLE_TEXT | NOT_IN_REPERTOIRE)) => {
                DbError::Constraint("a text value contains a NUL character (U+0000), which cannot be stored".into())
            }
            other => DbError::Other(other),
        }
    }
}

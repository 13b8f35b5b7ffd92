//! Users and their credentials. Emails are stored lower-cased, so uniqueness ignores case.

use af_core::UserRole;
use chrono::{DateTime, Utc};

use crate::{on_pool, Db, DbResult};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: UserRole,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Creates a user. The first user ever created becomes `admin`; everyone after is `user`.
/// A duplicate email is [`crate::DbError::Conflict`].
pub async fn create(db: &Db, email: &str, password_hash: &str) -> DbResult<User> {
    const SQL: &str = "insert into users (email, password_hash, role) \
        values ($1, $2, case when exists (select 1 from users) then 'user' else 'admin' end) \
        returning id, email, role, created_at, updated_at";
    let email = email.to_lowercase();
    let user = match db {
        // One statement is atomic on SQLite: writers are serialised.
        Db::Sqlite(pool) => sqlx::query_as::<_, User>(SQL).bind(&email).bind(password_hash).fetch_one(pool).await?,
        // Under READ COMMITTED two concurrent first sign-ups would both see no users and both
        // become admin; a transaction-scoped advisory lock serialises sign-ups (they are rare).
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            sqlx::query("select pg_advisory_xact_lock($1)").bind(SIGN_UP_LOCK).execute(&mut *tx).await?;
            let user = sqlx::query_as::<_, User>(SQL).bind(&email).bind(password_hash).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            user
        }
    };
    Ok(user)
}

/// The advisory-lock key of sign-ups on PostgreSQL (any constant no other code uses).
const SIGN_UP_LOCK: i64 = 0x4146_5f75_7365_7273; // "AF_users"

pub async fn get(db: &Db, id: i64) -> DbResult<User> {
    const SQL: &str = "select id, email, role, created_at, updated_at from users where id = $1";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, User>(SQL).bind(id).fetch_one(pool).await)?)
}

pub async fn find_by_email(db: &Db, email: &str) -> DbResult<User> {
    const SQL: &str = "select id, email, role, created_at, updated_at from users where email = $1";
    let email = email.to_lowercase();
    Ok(on_pool!(db, pool => sqlx::query_as::<_, User>(SQL).bind(&email).fetch_one(pool).await)?)
}

/// The user with this email and their stored password hash (for logging in).
pub async fn credentials(db: &Db, email: &str) -> DbResult<(User, String)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        password_hash: String,
    }
    const SQL: &str = "select id, email, role, created_at, updated_at, password_hash from users where email = $1";
    let email = email.to_lowercase();
    let row = on_pool!(db, pool => sqlx::query_as::<_, Row>(SQL).bind(&email).fetch_one(pool).await)?;
    Ok((row.user, row.password_hash))
}

pub async fn count(db: &Db) -> DbResult<i64> {
    const SQL: &str = "select count(*) from users";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await)?)
}

/// The earliest admin, if any user exists.
pub async fn first_admin(db: &Db) -> DbResult<Option<i64>> {
    const SQL: &str = "select id from users where role = 'admin' order by id limit 1";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).fetch_optional(pool).await)?)
}

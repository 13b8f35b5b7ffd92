//! Projects and their members. Access checks live in the server; this module answers "what is
//! this user's role here" and keeps membership rows.

use af_core::ProjectRole;
use chrono::{DateTime, Utc};

use crate::{on_pool, Db, DbResult};

/// A project as one user sees it: with their role and the project's sizes.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The viewer's role; admins who are not members see `owner`.
    #[sqlx(try_from = "String")]
    pub role: ProjectRole,
    pub image_count: i64,
    pub annotation_count: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Member {
    pub project_id: i64,
    pub user_id: i64,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: ProjectRole,
    pub created_at: DateTime<Utc>,
}

macro_rules! project_select {
    () => {
        "select p.id, p.name, p.description, p.created_by, p.created_at, p.updated_at, \
         coalesce(m.role, 'owner') as role, \
         (select count(*) from images i where i.project_id = p.id) as image_count, \
         (select count(*) from annotations a where a.project_id = p.id) as annotation_count \
         from projects p left join project_members m on m.project_id = p.id and m.user_id = $1 "
    };
}

/// Creates a project owned by `owner` (or by no one, for the demo project created before any
/// user exists; the first admin adopts it).
pub async fn create(db: &Db, owner: Option<i64>, name: &str, description: &str) -> DbResult<i64> {
    const INSERT: &str = "insert into projects (name, description, created_by) values ($1, $2, $3) returning id";
    const MEMBER: &str = "insert into project_members (project_id, user_id, role) values ($1, $2, 'owner')";
    let id = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(INSERT).bind(name).bind(description).bind(owner).fetch_one(&mut *tx).await?;
        if let Some(owner) = owner {
            sqlx::query(MEMBER).bind(id).bind(owner).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    })?;
    Ok(id)
}

/// The projects `user_id` is a member of (every project when `all` is set, for admins).
pub async fn list_for(db: &Db, user_id: i64, all: bool) -> DbResult<Vec<Project>> {
    const SQL: &str = concat!(project_select!(), "where $2 or m.user_id is not null order by p.id");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Project>(SQL).bind(user_id).bind(all).fetch_all(pool).await)?)
}

/// One project as `user_id` sees it (no membership check: callers check access first).
pub async fn get_for(db: &Db, project_id: i64, user_id: i64) -> DbResult<Project> {
    const SQL: &str = concat!(project_select!(), "where p.id = $2");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Project>(SQL).bind(user_id).bind(project_id).fetch_one(pool).await)?)
}

pub async fn exists(db: &Db, project_id: i64) -> DbResult<bool> {
    const SQL: &str = "select exists (select 1 from projects where id = $1)";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, bool>(SQL).bind(project_id).fetch_one(pool).await)?)
}

/// Updates the given fields; `None` keeps the current value.
pub async fn update(db: &Db, project_id: i64, name: Option<&str>, description: Option<&str>) -> DbResult<()> {
    const SQL: &str = "update projects set name = coalesce($2, name), description = coalesce($3, description), \
        updated_at = $4 where id = $1";
    let now = Utc::now();
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(project_id).bind(name).bind(description).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(crate::DbError::NotFound);
    }
    Ok(())
}

/// Deletes the project with its members, images and annotations (by cascade).
pub async fn delete(db: &Db, project_id: i64) -> DbResult<()> {
    const SQL: &str = "delete from projects where id = $1";
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(project_id).execute(pool).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(crate::DbError::NotFound);
    }
    Ok(())
}

/// `user_id`'s role in the project, or `None` when they are not a member (or it does not exist).
pub async fn member_role(db: &Db, project_id: i64, user_id: i64) -> DbResult<Option<ProjectRole>> {
    const SQL: &str = "select role from project_members where project_id = $1 and user_id = $2";
    let role: Option<String> =
        on_pool!(db, pool => sqlx::query_scalar(SQL).bind(project_id).bind(user_id).fetch_optional(pool).await)?;
    Ok(role.and_then(|r| r.parse().ok()))
}

pub async fn members(db: &Db, project_id: i64) -> DbResult<Vec<Member>> {
    const SQL: &str = "select m.project_id, m.user_id, u.email, m.role, m.created_at \
        from project_members m join users u on u.id = m.user_id where m.project_id = $1 order by m.user_id";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Member>(SQL).bind(project_id).fetch_all(pool).await)?)
}

/// Adds a member or changes their role.
pub async fn set_member(db: &Db, project_id: i64, user_id: i64, role: ProjectRole) -> DbResult<()> {
    const SQL: &str = "insert into project_members (project_id, user_id, role) values ($1, $2, $3) \
        on conflict (project_id, user_id) do update set role = excluded.role, updated_at = $4";
    let now = Utc::now();
    on_pool!(db, pool => sqlx::query(SQL).bind(project_id).bind(user_id).bind(role.as_str()).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn remove_member(db: &Db, project_id: i64, user_id: i64) -> DbResult<()> {
    const SQL: &str = "delete from project_members where project_id = $1 and user_id = $2";
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(project_id).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(crate::DbError::NotFound);
    }
    Ok(())
}

pub async fn owner_count(db: &Db, project_id: i64) -> DbResult<i64> {
    const SQL: &str = "select count(*) from project_members where project_id = $1 and role = 'owner'";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).bind(project_id).fetch_one(pool).await)?)
}

/// Makes `user_id` the owner of every project that has no member (the demo project created
/// before the first user registered).
pub async fn adopt_orphans(db: &Db, user_id: i64) -> DbResult<u64> {
    const SQL: &str = "insert into project_members (project_id, user_id, role) \
        select p.id, $1, 'owner' from projects p \
        where not exists (select 1 from project_members m where m.project_id = p.id)";
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done)
}

pub async fn find_by_name(db: &Db, name: &str) -> DbResult<Option<i64>> {
    const SQL: &str = "select id from projects where name = $1 order by id limit 1";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).bind(name).fetch_optional(pool).await)?)
}

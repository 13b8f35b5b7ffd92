//! The plugin registry: installed WebAssembly plugin components (`plugins`, bytes included,
//! keyed by content hash) and the default plugin of each kind per task type
//! (`plugin_defaults`).
//!
//! Validation of the components is not done here (this crate knows nothing about wasm): the
//! server validates a component with the plugin runtime before it calls [`create`]. Kinds are
//! the plugin runtime's kind names (`converter`, `splitter`, `formatter`), checked by the
//! schema.

use af_core::TaskType;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use crate::{on_pool, Db, DbError, DbResult};

/// A registry row, without the component bytes (see [`wasm`]).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PluginRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub version: String,
    pub description: String,
    /// Lower-case hex SHA-256 of the component bytes.
    pub sha256: String,
    pub size_bytes: i64,
    /// What the plugin reported about itself when it was validated.
    pub metadata: Json<Value>,
    pub builtin: bool,
    /// Built-ins: the cargo package they are built from (their key across app upgrades).
    pub package: Option<String>,
    pub enabled: bool,
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, kind, name, version, description, sha256, size_bytes, metadata, builtin, package, enabled, uploaded_by, created_at, updated_at";

/// A validated plugin to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlugin<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub version: &'a str,
    pub description: &'a str,
    pub sha256: &'a str,
    pub metadata: &'a Value,
    pub wasm: &'a [u8],
    /// `Some(package)` for a built-in.
    pub package: Option<&'a str>,
    pub uploaded_by: Option<i64>,
}

/// One `plugin_defaults` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DefaultRow {
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub task_type: TaskType,
    pub plugin_id: i64,
    pub updated_at: DateTime<Utc>,
}

/// What [`install_builtin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// The row already held these bytes.
    Unchanged,
    /// A new row.
    Added,
    /// The built-in's row was updated to these bytes (a new release of the app).
    Updated,
}

/// A job that is preparing or training, as far as plugin use is concerned.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RunningJob {
    pub id: i64,
    pub config: Json<Value>,
    /// The plugins the job recorded (`[{kind, name, version, sha256, options}]`), once it has.
    pub plugins: Option<Json<Value>>,
}

/// Stores an uploaded plugin. `Conflict` when the same bytes, or a plugin of the same kind,
/// name and version, are already installed.
pub async fn create(db: &Db, p: &NewPlugin<'_>) -> DbResult<PluginRow> {
    let sql = format!(
        "insert into plugins (kind, name, version, description, sha256, size_bytes, metadata, wasm, builtin, package, \
         uploaded_by, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) returning {COLUMNS}"
    );
    let now = Utc::now();
    Ok(on_pool!(db, pool => sqlx::query_as::<_, PluginRow>(&sql)
        .bind(p.kind)
        .bind(p.name)
        .bind(p.version)
        .bind(p.description)
        .bind(p.sha256)
        .bind(p.wasm.len() as i64)
        .bind(Json(p.metadata))
        .bind(p.wasm)
        .bind(p.package.is_some())
        .bind(p.package)
        .bind(p.uploaded_by)
        .bind(now)
        .fetch_one(pool)
        .await)?)
}

/// Installs a built-in (`p.package` must be set): adds its row, or updates the row of the same
/// package when the bytes changed (an app upgrade), keeping its id so defaults follow.
pub async fn install_builtin(db: &Db, p: &NewPlugin<'_>) -> DbResult<(PluginRow, Installed)> {
    let package = p.package.ok_or_else(|| DbError::Config("a built-in plugin needs its package name".into()))?;
    let existing = {
        let sql = format!("select {COLUMNS} from plugins where package = $1");
        on_pool!(db, pool => sqlx::query_as::<_, PluginRow>(&sql).bind(package).fetch_optional(pool).await)?
    };
    match existing {
        Some(row) if row.sha256 == p.sha256 => Ok((row, Installed::Unchanged)),
        Some(row) => {
            let sql = format!(
                "update plugins set kind = $2, name = $3, version = $4, description = $5, sha256 = $6, size_bytes = $7, \
                 metadata = $8, wasm = $9, builtin = true, updated_at = $10 where id = $1 returning {COLUMNS}"
            );
            let now = Utc::now();
            let row = on_pool!(db, pool => sqlx::query_as::<_, PluginRow>(&sql)
                .bind(row.id)
                .bind(p.kind)
                .bind(p.name)
                .bind(p.version)
                .bind(p.description)
                .bind(p.sha256)
                .bind(p.wasm.len() as i64)
                .bind(Json(p.metadata))
                .bind(p.wasm)
                .bind(now)
                .fetch_one(pool)
                .await)?;
            Ok((row, Installed::Updated))
        }
        None => Ok((create(db, p).await?, Installed::Added)),
    }
}

/// Every installed plugin, by kind, name and version.
pub async fn list(db: &Db) -> DbResult<Vec<PluginRow>> {
    let sql = format!("select {COLUMNS} from plugins order by kind, name, version, id");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, PluginRow>(&sql).fetch_all(pool).await)?)
}

pub async fn get(db: &Db, id: i64) -> DbResult<PluginRow> {
    let sql = format!("select {COLUMNS} from plugins where id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, PluginRow>(&sql).bind(id).fetch_one(pool).await)?)
}

/// The installed plugin with these bytes, if any.
pub async fn find_by_sha256(db: &Db, sha256: &str) -> DbResult<Option<PluginRow>> {
    let sql = format!("select {COLUMNS} from plugins where sha256 = $1");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, PluginRow>(&sql).bind(sha256).fetch_optional(pool).await)?)
}

/// The plugins of `kind` named `name` (every version).
pub async fn find_by_name(db: &Db, kind: &str, name: &str) -> DbResult<Vec<PluginRow>> {
    let sql = format!("select {COLUMNS} from plugins where kind = $1 and name = $2 order by id");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, PluginRow>(&sql).bind(kind).bind(name).fetch_all(pool).await)?)
}

/// The component bytes of a plugin.
pub async fn wasm(db: &Db, id: i64) -> DbResult<Vec<u8>> {
    let (bytes,): (Vec<u8>,) =
        on_pool!(db, pool => sqlx::query_as("select wasm from plugins where id = $1").bind(id).fetch_one(pool).await)?;
    Ok(bytes)
}

pub async fn set_enabled(db: &Db, id: i64, enabled: bool) -> DbResult<PluginRow> {
    let sql = format!("update plugins set enabled = $2, updated_at = $3 where id = $1 returning {COLUMNS}");
    let now = Utc::now();
    Ok(on_pool!(db, pool => sqlx::query_as::<_, PluginRow>(&sql).bind(id).bind(enabled).bind(now).fetch_one(pool).await)?)
}

/// Deletes a plugin. `Constraint` while it is a default (the caller checks first and says so).
pub async fn delete(db: &Db, id: i64) -> DbResult<()> {
    let done = on_pool!(db, pool => sqlx::query("delete from plugins where id = $1").bind(id).execute(pool).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// Every default, by kind and task type.
pub async fn defaults(db: &Db) -> DbResult<Vec<DefaultRow>> {
    let sql = "select kind, task_type, plugin_id, updated_at from plugin_defaults order by kind, task_type";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, DefaultRow>(sql).fetch_all(pool).await)?)
}

/// The default plugin id of `kind` for `task`, if one is set.
pub async fn default_for(db: &Db, kind: &str, task: TaskType) -> DbResult<Option<i64>> {
    let row: Option<(i64,)> = on_pool!(db, pool => sqlx::query_as("select plugin_id from plugin_defaults where kind = $1 and task_type = $2")
        .bind(kind)
        .bind(task.as_str())
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(|r| r.0))
}

/// Makes `plugin_id` the default of `kind` for each of `tasks` (replacing the previous ones),
/// in one transaction. With `only_if_unset`, existing defaults are kept (first start).
pub async fn set_default(db: &Db, kind: &str, tasks: &[TaskType], plugin_id: i64, only_if_unset: bool) -> DbResult<()> {
    let sql = if only_if_unset {
        "insert into plugin_defaults (kind, task_type, plugin_id, updated_at) values ($1, $2, $3, $4) \
         on conflict (kind, task_type) do nothing"
    } else {
        "insert into plugin_defaults (kind, task_type, plugin_id, updated_at) values ($1, $2, $3, $4) \
         on conflict (kind, task_type) do update set plugin_id = excluded.plugin_id, updated_at = excluded.updated_at"
    };
    let now = Utc::now();
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for t in tasks {
            sqlx::query(sql).bind(kind).bind(t.as_str()).bind(plugin_id).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await
    })?;
    Ok(())
}

/// The jobs now preparing or training, with their configs and recorded plugins.
pub async fn running_jobs(db: &Db) -> DbResult<Vec<RunningJob>> {
    let sql = "select id, config, plugins from training_jobs where status in ('preparing', 'training') order by id";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, RunningJob>(sql).fetch_all(pool).await)?)
}

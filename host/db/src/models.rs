//! The model registry: one `trained_models` row per completed job (weights file, classes,
//! size, metrics, the job's config, dataset and plugins, lineage), and who may see it.
//!
//! A model is visible to admins, to whoever created it, and to members of any project it was
//! trained on (`model_projects`).

use af_core::{JobStatus, TaskType};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use crate::jobs::{append_event, Job, JobUpdate, NewEvent, StoredEvent};
use crate::{on_pool, Db, DbError, DbResult};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Model {
    pub id: i64,
    pub training_job_id: Option<i64>,
    pub name: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub task_type: TaskType,
    /// Relative to the data directory's `models/`.
    pub model_path: String,
    pub model_type: String,
    pub image_size: i64,
    pub classes: Json<Vec<String>>,
    pub num_classes: i64,
    pub performance_metrics: Option<Json<Value>>,
    pub created_by: Option<i64>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub config: Option<Json<Value>>,
    pub dataset: Option<Json<Value>>,
    pub plugins: Option<Json<Value>>,
    pub base_model_id: Option<i64>,
    pub base_weights: Option<String>,
    pub file_size: Option<i64>,
    pub sha256: Option<String>,
}

const COLUMNS: &str = "id, training_job_id, name, description, task_type, model_path, model_type, image_size, classes, \
    num_classes, performance_metrics, created_by, is_active, created_at, updated_at, config, dataset, plugins, \
    base_model_id, base_weights, file_size, sha256";

/// A model to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewModel {
    pub training_job_id: Option<i64>,
    /// The wanted name; ` (2)`, ` (3)`, … is appended while it is taken.
    pub name: String,
    pub description: String,
    pub task_type: TaskType,
    pub model_path: String,
    pub model_type: String,
    pub image_size: i64,
    pub classes: Vec<String>,
    pub performance_metrics: Option<Value>,
    pub created_by: Option<i64>,
    pub config: Option<Value>,
    pub dataset: Option<Value>,
    pub plugins: Option<Value>,
    pub base_model_id: Option<i64>,
    pub base_weights: Option<String>,
    pub file_size: Option<i64>,
    pub sha256: Option<String>,
    pub project_ids: Vec<i64>,
}

/// Inserts the model under the first free name and links its projects, inside `$tx`.
macro_rules! insert_model {
    ($tx:expr, $m:expr) => {{
        let m: &NewModel = $m;
        let sql = format!(
            "insert into trained_models (training_job_id, name, description, task_type, model_path, model_type, \
             image_size, classes, num_classes, performance_metrics, created_by, is_active, config, dataset, plugins, \
             base_model_id, base_weights, file_size, sha256, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
             on conflict (name) do nothing returning {COLUMNS}"
        );
        let now = Utc::now();
        let mut n = 1;
        let row = loop {
            let name = if n == 1 { m.name.clone() } else { format!("{} ({n})", m.name) };
            let row = sqlx::query_as::<_, Model>(&sql)
                .bind(m.training_job_id)
                .bind(&name)
                .bind(&m.description)
                .bind(m.task_type.as_str())
                .bind(&m.model_path)
                .bind(&m.model_type)
                .bind(m.image_size)
                .bind(Json(&m.classes))
                .bind(m.classes.len() as i64)
                .bind(m.performance_metrics.as_ref().map(Json))
                .bind(m.created_by)
                .bind(m.config.as_ref().map(Json))
                .bind(m.dataset.as_ref().map(Json))
                .bind(m.plugins.as_ref().map(Json))
                .bind(m.base_model_id)
                .bind(&m.base_weights)
                .bind(m.file_size)
                .bind(&m.sha256)
                .bind(now)
                .fetch_optional(&mut *$tx)
                .await?;
            match row {
                Some(row) => break row,
                None if n < 1000 => n += 1,
                None => return Err(DbError::Conflict(format!("no free model name like `{}`", m.name))),
            }
        };
        for p in &m.project_ids {
            sqlx::query("insert into model_projects (model_id, project_id) values ($1, $2) on conflict do nothing")
                .bind(row.id)
                .bind(p)
                .execute(&mut *$tx)
                .await?;
        }
        row
    }};
}

/// Registers a model on its own (imports, tests).
pub async fn create(db: &Db, m: &NewModel) -> DbResult<Model> {
    let row = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = insert_model!(tx, m);
        tx.commit().await?;
        row
    });
    Ok(row)
}

/// Completes a job: registers its model, marks the job `completed` with `final_metrics` and the
/// model id, and stores the event `event(model)` — all in one transaction, and only while
/// `worker_id` holds the job in `training`. `None` (nothing written) otherwise.
pub async fn complete_job(
    db: &Db,
    job_id: i64,
    worker_id: &str,
    m: &NewModel,
    final_metrics: &Value,
    event: impl FnOnce(&Model) -> NewEvent,
) -> DbResult<Option<(Job, Model, StoredEvent)>> {
    let is_pg = db.backend() == crate::Backend::Postgres;
    let out = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let model = insert_model!(tx, m);
        let guard = JobUpdate {
            from: &[JobStatus::Training],
            worker_id: Some(worker_id),
            status: Some(JobStatus::Completed),
            final_metrics: Some(final_metrics),
            model_id: Some(model.id),
            progress_percent: Some(100.0),
            release: true,
            completed: true,
            ..Default::default()
        };
        let job = crate::jobs::update_in_tx!(tx, job_id, &guard);
        match job {
            None => Ok::<_, DbError>(None),
            Some(job) => {
                let ev = event(&model);
                let stored = append_event!(tx, is_pg, job_id, &ev);
                tx.commit().await?;
                Ok(Some((Job { last_event_seq: stored.seq, ..job }, model, stored)))
            }
        }
    })?;
    Ok(out)
}

pub async fn get(db: &Db, id: i64) -> DbResult<Model> {
    let sql = format!("select {COLUMNS} from trained_models where id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Model>(&sql).bind(id).fetch_one(pool).await)?)
}

const VISIBLE: &str = "($2 or tm.created_by = $1 or exists (select 1 from model_projects mp \
    join project_members m on m.project_id = mp.project_id where mp.model_id = tm.id and m.user_id = $1))";

/// Whether `user_id` may see (and predict with) the model; `all` for admins.
pub async fn visible_to(db: &Db, id: i64, user_id: i64, all: bool) -> DbResult<bool> {
    let sql = format!("select exists (select 1 from trained_models tm where tm.id = $3 and {VISIBLE})");
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, bool>(&sql).bind(user_id).bind(all).bind(id).fetch_one(pool).await)?)
}

/// The models `user_id` may see, newest first, optionally filtered.
pub async fn list_visible(db: &Db, user_id: i64, all: bool, is_active: Option<bool>, task_type: Option<TaskType>) -> DbResult<Vec<Model>> {
    let sql = format!(
        "select {COLUMNS} from trained_models tm where {VISIBLE} and ($3 is null or tm.is_active = $3) \
         and ($4 is null or tm.task_type = $4) order by tm.id desc"
    );
    let task = task_type.map(|t| t.as_str());
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Model>(&sql).bind(user_id).bind(all).bind(is_active).bind(task).fetch_all(pool).await)?)
}

/// Projects the model was trained on.
pub async fn project_ids(db: &Db, id: i64) -> DbResult<Vec<i64>> {
    const SQL: &str = "select project_id from model_projects where model_id = $1 order by project_id";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).bind(id).fetch_all(pool).await)?)
}

/// Renames, describes, (de)activates; `None` keeps the value. A taken name is a conflict.
pub async fn update(db: &Db, id: i64, name: Option<&str>, description: Option<&str>, is_active: Option<bool>) -> DbResult<Model> {
    let sql = format!(
        "update trained_models set name = coalesce($2, name), description = coalesce($3, description), \
         is_active = coalesce($4, is_active), updated_at = $5 where id = $1 returning {COLUMNS}"
    );
    let now = Utc::now();
    let row = on_pool!(db, pool => sqlx::query_as::<_, Model>(&sql).bind(id).bind(name).bind(description).bind(is_active).bind(now).fetch_optional(pool).await)?;
    row.ok_or(DbError::NotFound)
}

/// What still uses a model: unfinished jobs starting from it, unfinished pre-label runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub jobs: Vec<i64>,
    pub prelabel_runs: Vec<i64>,
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty() && self.prelabel_runs.is_empty()
    }
}

pub async fn usage(db: &Db, id: i64) -> DbResult<Usage> {
    const JOBS: &str = "select id from training_jobs where base_model_id = $1 \
        and status in ('pending', 'preparing', 'training') order by id";
    const RUNS: &str = "select id from prelabel_runs where model_id = $1 and status in ('pending', 'running') order by id";
    on_pool!(db, pool => {
        let jobs = sqlx::query_scalar::<_, i64>(JOBS).bind(id).fetch_all(pool).await?;
        let prelabel_runs = sqlx::query_scalar::<_, i64>(RUNS).bind(id).fetch_all(pool).await?;
        Ok(Usage { jobs, prelabel_runs })
    })
}

/// Deletes the row unless something uses the model (checked in the same transaction on
/// PostgreSQL by locking the row). Returns the deleted row, or the usage that prevented it.
pub async fn delete_unused(db: &Db, id: i64) -> DbResult<Result<Model, Usage>> {
    let lock = match db.backend() {
        crate::Backend::Postgres => " for update",
        crate::Backend::Sqlite => "",
    };
    let get = format!("select {COLUMNS} from trained_models where id = $1{lock}");
    const JOBS: &str = "select id from training_jobs where base_model_id = $1 \
        and status in ('pending', 'preparing', 'training') order by id";
    const RUNS: &str = "select id from prelabel_runs where model_id = $1 and status in ('pending', 'running') order by id";
    const DELETE: &str = "delete from trained_models where id = $1";
    const UNLINK: &str = "update training_jobs set model_id = null where model_id = $1";
    let out = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        // SQLite: take the write lock up front so the usage check and the delete are atomic.
        sqlx::query("update trained_models set updated_at = updated_at where id = $1").bind(id).execute(&mut *tx).await?;
        let row = sqlx::query_as::<_, Model>(&get).bind(id).fetch_optional(&mut *tx).await?.ok_or(DbError::NotFound)?;
        let jobs = sqlx::query_scalar::<_, i64>(JOBS).bind(id).fetch_all(&mut *tx).await?;
        let prelabel_runs = sqlx::query_scalar::<_, i64>(RUNS).bind(id).fetch_all(&mut *tx).await?;
        if !jobs.is_empty() || !prelabel_runs.is_empty() {
            return Ok(Err(Usage { jobs, prelabel_runs }));
        }
        sqlx::query(UNLINK).bind(id).execute(&mut *tx).await?;
        sqlx::query(DELETE).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, DbError>(Ok(row))
    })?;
    Ok(out)
}

/// Whether any model row refers to this weights file.
pub async fn path_in_use(db: &Db, model_path: &str) -> DbResult<bool> {
    const SQL: &str = "select exists (select 1 from trained_models where model_path = $1)";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, bool>(SQL).bind(model_path).fetch_one(pool).await)?)
}

//! Training jobs as a queue, and everything a job writes while it runs: its ordered event log,
//! per-epoch metrics and the dataset it prepared.
//!
//! - A job is a row; workers [`claim`] the oldest pending one atomically (`for update skip
//!   locked` on PostgreSQL, the database-wide write lock on SQLite), [`heartbeat`] while they
//!   hold it, and every later write names the worker ([`JobUpdate::worker_id`]), so a worker
//!   that lost its job (it was re-queued after a missed heartbeat) cannot overwrite it.
//! - Every state change that clients should see is written together with its event, in one
//!   transaction: the job's `last_event_seq` is bumped and the event stored under that
//!   number, so each job's events are numbered 1, 2, 3, … without gaps and in commit order.
//!   On PostgreSQL the same transaction `pg_notify`s [`EVENTS_CHANNEL`], so listeners in other
//!   processes learn of it when (and only if) it commits.

use af_core::{JobStatus, TaskType};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use crate::{on_pool, Db, DbResult};

/// The PostgreSQL channel job events are announced on.
pub const EVENTS_CHANNEL: &str = "af_job_events";

/// PostgreSQL refuses `NOTIFY` payloads of 8000 bytes or more; larger events are announced by
/// reference (`{"job_id", "seq", "by_ref": true}`) and read from the table.
const MAX_NOTIFY_BYTES: usize = 7900;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub name: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub task_type: TaskType,
    pub created_by: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    pub config: Json<Value>,
    pub final_metrics: Option<Json<Value>>,
    pub model_id: Option<i64>,
    pub error_message: Option<String>,
    pub current_epoch: i64,
    pub total_epochs: i64,
    pub progress_percent: f64,
    pub worker_id: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub cancel_requested: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_event_seq: i64,
    pub attempts: i64,
    pub base_model_id: Option<i64>,
    pub plugins: Option<Json<Value>>,
    pub device: Option<String>,
}

pub(crate) const JOB_COLUMNS: &str = "id, name, description, task_type, created_by, status, config, final_metrics, model_id, \
    error_message, current_epoch, total_epochs, progress_percent, worker_id, heartbeat_at, cancel_requested, \
    started_at, completed_at, created_at, updated_at, last_event_seq, attempts, base_model_id, plugins, device";

/// An event to store: its type (`status_change`, `epoch_complete`, …) and its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub ty: String,
    pub payload: Value,
}

impl NewEvent {
    pub fn new(ty: impl Into<String>, payload: Value) -> Self {
        Self { ty: ty.into(), payload }
    }
}

/// A stored event with its sequence number.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredEvent {
    pub job_id: i64,
    pub seq: i64,
    #[sqlx(rename = "type")]
    pub ty: String,
    pub payload: Json<Value>,
    pub created_at: DateTime<Utc>,
}

impl StoredEvent {
    /// The event as clients receive it: `{"type", "seq", "job_id", "timestamp", …payload}`.
    pub fn message(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("type".into(), Value::String(self.ty.clone()));
        out.insert("seq".into(), self.seq.into());
        out.insert("job_id".into(), self.job_id.into());
        out.insert("timestamp".into(), Value::String(self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
        if let Value::Object(fields) = &self.payload.0 {
            for (k, v) in fields {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Value::Object(out)
    }

    /// The inverse of [`StoredEvent::message`].
    pub fn from_message(mut v: Value) -> Option<StoredEvent> {
        let obj = v.as_object_mut()?;
        let ty = obj.remove("type")?.as_str()?.to_string();
        let seq = obj.remove("seq")?.as_i64()?;
        let job_id = obj.remove("job_id")?.as_i64()?;
        let created_at = obj.remove("timestamp")?.as_str()?.parse().ok()?;
        Some(StoredEvent { job_id, seq, ty, payload: Json(v), created_at })
    }

    /// What is sent on [`EVENTS_CHANNEL`]: the message, or a reference when it is too large.
    pub fn notify_payload(&self) -> String {
        let full = self.message().to_string();
        if full.len() < MAX_NOTIFY_BYTES {
            full
        } else {
            serde_json::json!({"job_id": self.job_id, "seq": self.seq, "by_ref": true}).to_string()
        }
    }
}

/// `LISTEN`s on [`EVENTS_CHANNEL`] (PostgreSQL only).
pub struct EventListener(sqlx::postgres::PgListener);

impl EventListener {
    /// A listener on its own connection; `None` on SQLite (one process: nothing to hear).
    pub async fn connect(db: &Db) -> DbResult<Option<EventListener>> {
        let Db::Postgres(pool) = db else { return Ok(None) };
        let mut l = sqlx::postgres::PgListener::connect_with(pool).await?;
        l.listen(EVENTS_CHANNEL).await?;
        Ok(Some(EventListener(l)))
    }

    /// The next notification's payload; `Ok(None)` when the connection was lost (it
    /// reconnects on the next call; notifications sent meanwhile are gone).
    pub async fn recv(&mut self) -> DbResult<Option<String>> {
        Ok(self.0.try_recv().await?.map(|n| n.payload().to_string()))
    }
}

/// Stores `$ev` for job `$job_id` inside the open transaction `$tx`, numbered by bumping the
/// job's `last_event_seq`, and announces it on PostgreSQL. Evaluates to the [`StoredEvent`].
macro_rules! append_event {
    ($tx:expr, $is_pg:expr, $job_id:expr, $ev:expr) => {{
        let ev: &$crate::jobs::NewEvent = $ev;
        let seq: i64 = sqlx::query_scalar(
            "update training_jobs set last_event_seq = last_event_seq + 1 where id = $1 returning last_event_seq",
        )
        .bind($job_id)
        .fetch_one(&mut *$tx)
        .await?;
        let stored = sqlx::query_as::<_, $crate::jobs::StoredEvent>(
            "insert into job_events (job_id, seq, type, payload, created_at) values ($1, $2, $3, $4, $5) \
             returning job_id, seq, type, payload, created_at",
        )
        .bind($job_id)
        .bind(seq)
        .bind(&ev.ty)
        .bind(sqlx::types::Json(&ev.payload))
        .bind(chrono::Utc::now())
        .fetch_one(&mut *$tx)
        .await?;
        if $is_pg {
            sqlx::query("select pg_notify($1, $2)")
                .bind($crate::jobs::EVENTS_CHANNEL)
                .bind(stored.notify_payload())
                .execute(&mut *$tx)
                .await?;
        }
        stored
    }};
}
pub(crate) use append_event;

/// A job to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub name: String,
    pub description: String,
    pub task_type: TaskType,
    pub created_by: Option<i64>,
    pub config: Value,
    pub total_epochs: i64,
    pub project_ids: Vec<i64>,
    pub base_model_id: Option<i64>,
}

/// Queues a job with its first event (`created`, seq 1).
pub async fn create(db: &Db, job: &NewJob, first: &NewEvent) -> DbResult<(Job, StoredEvent)> {
    let insert = format!(
        "insert into training_jobs (name, description, task_type, created_by, status, config, total_epochs, \
         base_model_id, created_at, updated_at) values ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $8) returning {JOB_COLUMNS}"
    );
    let is_pg = db.backend() == crate::Backend::Postgres;
    let now = Utc::now();
    let (job_row, event) = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, Job>(&insert)
            .bind(&job.name)
            .bind(&job.description)
            .bind(job.task_type.as_str())
            .bind(job.created_by)
            .bind(Json(&job.config))
            .bind(job.total_epochs)
            .bind(job.base_model_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        for p in &job.project_ids {
            sqlx::query("insert into job_projects (job_id, project_id) values ($1, $2) on conflict do nothing")
                .bind(row.id)
                .bind(p)
                .execute(&mut *tx)
                .await?;
        }
        let event = append_event!(tx, is_pg, row.id, first);
        tx.commit().await?;
        Ok::<_, sqlx::Error>((row, event))
    })?;
    let job_row = Job { last_event_seq: event.seq, ..job_row };
    Ok((job_row, event))
}

pub async fn get(db: &Db, id: i64) -> DbResult<Job> {
    let sql = format!("select {JOB_COLUMNS} from training_jobs where id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Job>(&sql).bind(id).fetch_one(pool).await)?)
}

/// The projects a job trains on.
pub async fn project_ids(db: &Db, job_id: i64) -> DbResult<Vec<i64>> {
    const SQL: &str = "select project_id from job_projects where job_id = $1 order by project_id";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).bind(job_id).fetch_all(pool).await)?)
}

/// Whether `user_id` may see the job: they created it, or are a member of one of its projects
/// (`all` for admins).
pub async fn visible_to(db: &Db, job_id: i64, user_id: i64, all: bool) -> DbResult<bool> {
    const SQL: &str = "select exists (select 1 from training_jobs j where j.id = $1 and ($3 or j.created_by = $2 \
        or exists (select 1 from job_projects jp join project_members m on m.project_id = jp.project_id \
                   where jp.job_id = j.id and m.user_id = $2)))";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, bool>(SQL).bind(job_id).bind(user_id).bind(all).fetch_one(pool).await)?)
}

/// The jobs `user_id` may see, newest first, optionally only those in `status`.
pub async fn list_visible(db: &Db, user_id: i64, all: bool, status: Option<JobStatus>) -> DbResult<Vec<Job>> {
    let sql = format!(
        "select {JOB_COLUMNS} from training_jobs j where ($2 or j.created_by = $1 \
         or exists (select 1 from job_projects jp join project_members m on m.project_id = jp.project_id \
                    where jp.job_id = j.id and m.user_id = $1)) \
         and ($3 is null or j.status = $3) order by j.id desc"
    );
    let status = status.map(|s| s.as_str());
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Job>(&sql).bind(user_id).bind(all).bind(status).fetch_all(pool).await)?)
}

/// The ids of the jobs `user_id` created that are queued or running, oldest first (the
/// per-user job limit).
pub async fn active_for_user(db: &Db, user_id: i64) -> DbResult<Vec<i64>> {
    const SQL: &str =
        "select id from training_jobs where created_by = $1 and status in ('pending', 'preparing', 'training') order by id";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).bind(user_id).fetch_all(pool).await)?)
}

/// Jobs in the given statuses, oldest first (workers and recovery).
pub async fn list_in(db: &Db, statuses: &[JobStatus]) -> DbResult<Vec<Job>> {
    let sql = format!("select {JOB_COLUMNS} from training_jobs where status in ($1, $2, $3, $4, $5, $6) order by id");
    let s = status_slots(statuses);
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Job>(&sql)
        .bind(s[0]).bind(s[1]).bind(s[2]).bind(s[3]).bind(s[4]).bind(s[5])
        .fetch_all(pool).await)?)
}

pub(crate) fn status_slots(statuses: &[JobStatus]) -> [Option<&'static str>; 6] {
    let mut out = [None; 6];
    for (slot, s) in out.iter_mut().zip(statuses) {
        *slot = Some(s.as_str());
    }
    out
}

/// Claims the oldest pending job for `worker_id`: it becomes `preparing`, held by the worker,
/// with a fresh heartbeat and one more attempt; `event` (given the claimed row) is stored in
/// the same transaction. `None` when nothing is pending. Two workers never get the same job.
pub async fn claim(db: &Db, worker_id: &str, event: impl FnOnce(&Job) -> NewEvent) -> DbResult<Option<(Job, StoredEvent)>> {
    let lock = match db.backend() {
        crate::Backend::Postgres => "for update skip locked",
        crate::Backend::Sqlite => "",
    };
    let sql = format!(
        "update training_jobs set status = 'preparing', worker_id = $1, heartbeat_at = $2, \
         started_at = coalesce(started_at, $2), attempts = attempts + 1, updated_at = $2 \
         where id = (select id from training_jobs where status = 'pending' order by id limit 1 {lock}) \
         returning {JOB_COLUMNS}"
    );
    let is_pg = db.backend() == crate::Backend::Postgres;
    let now = Utc::now();
    let out = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, Job>(&sql).bind(worker_id).bind(now).fetch_optional(&mut *tx).await?;
        match row {
            None => Ok::<_, sqlx::Error>(None),
            Some(row) => {
                let ev = event(&row);
                let stored = append_event!(tx, is_pg, row.id, &ev);
                tx.commit().await?;
                Ok(Some((Job { last_event_seq: stored.seq, ..row }, stored)))
            }
        }
    })?;
    Ok(out)
}

/// A guarded change of a job: applied only when the job is in one of `from` (any status when
/// empty) and, when `worker_id` is set, still held by that worker. `None` fields keep their
/// value.
#[derive(Debug, Clone, Default)]
pub struct JobUpdate<'a> {
    pub from: &'a [JobStatus],
    pub worker_id: Option<&'a str>,
    pub status: Option<JobStatus>,
    pub error_message: Option<&'a str>,
    pub final_metrics: Option<&'a Value>,
    pub model_id: Option<i64>,
    pub current_epoch: Option<i64>,
    pub total_epochs: Option<i64>,
    pub progress_percent: Option<f64>,
    pub plugins: Option<&'a Value>,
    pub device: Option<&'a str>,
    pub cancel_requested: Option<bool>,
    /// Clear `worker_id` and `heartbeat_at` (the job is re-queued or finished).
    pub release: bool,
    /// Set `completed_at` to now (the job reached a terminal status).
    pub completed: bool,
}

pub(crate) const UPDATE_SQL_SET: &str = "update training_jobs set \
     status = coalesce($2, status), \
     error_message = coalesce($3, error_message), \
     final_metrics = coalesce($4, final_metrics), \
     model_id = coalesce($5, model_id), \
     current_epoch = coalesce($6, current_epoch), \
     total_epochs = coalesce($7, total_epochs), \
     progress_percent = coalesce($8, progress_percent), \
     plugins = coalesce($9, plugins), \
     device = coalesce($10, device), \
     worker_id = case when $11 then null else worker_id end, \
     heartbeat_at = case when $11 then null else heartbeat_at end, \
     cancel_requested = coalesce($12, cancel_requested), \
     completed_at = case when $13 then $14 else completed_at end, \
     updated_at = $14 \
     where id = $1 and ($15 is null or worker_id = $15) \
     and ($16 or status in ($17, $18, $19, $20, $21, $22)) ";

/// Binds a [`JobUpdate`] to [`UPDATE_SQL_SET`]'s parameters, in order.
macro_rules! bind_update {
    ($q:expr, $id:expr, $u:expr, $now:expr) => {{
        let u: &$crate::jobs::JobUpdate = $u;
        let s = $crate::jobs::status_slots(u.from);
        $q.bind($id)
            .bind(u.status.map(|s| s.as_str()))
            .bind(u.error_message)
            .bind(u.final_metrics.map(Json))
            .bind(u.model_id)
            .bind(u.current_epoch)
            .bind(u.total_epochs)
            .bind(u.progress_percent)
            .bind(u.plugins.map(Json))
            .bind(u.device)
            .bind(u.release)
            .bind(u.cancel_requested)
            .bind(u.completed)
            .bind($now)
            .bind(u.worker_id)
            .bind(u.from.is_empty())
            .bind(s[0])
            .bind(s[1])
            .bind(s[2])
            .bind(s[3])
            .bind(s[4])
            .bind(s[5])
    }};
}

/// Applies a [`JobUpdate`] inside the open transaction `$tx`; evaluates to `Option<Job>`.
macro_rules! update_in_tx {
    ($tx:expr, $id:expr, $u:expr) => {{
        let sql = format!("{} returning {}", $crate::jobs::UPDATE_SQL_SET, $crate::jobs::JOB_COLUMNS);
        $crate::jobs::bind_update!(sqlx::query_as::<_, $crate::jobs::Job>(&sql), $id, $u, chrono::Utc::now())
            .fetch_optional(&mut *$tx)
            .await?
    }};
}
pub(crate) use bind_update;
pub(crate) use update_in_tx;

/// Applies `update` and, if it applied, stores `event` in the same transaction. `None` when the
/// guard did not hold (another status, another worker, no such job).
pub async fn update(db: &Db, id: i64, update: &JobUpdate<'_>, event: Option<&NewEvent>) -> DbResult<Option<(Job, Option<StoredEvent>)>> {
    let is_pg = db.backend() == crate::Backend::Postgres;
    let out = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = update_in_tx!(tx, id, update);
        match row {
            None => Ok::<_, sqlx::Error>(None),
            Some(row) => {
                let stored = match event {
                    Some(ev) => Some(append_event!(tx, is_pg, id, ev)),
                    None => None,
                };
                tx.commit().await?;
                let row = Job { last_event_seq: stored.as_ref().map_or(row.last_event_seq, |e| e.seq), ..row };
                Ok(Some((row, stored)))
            }
        }
    })?;
    Ok(out)
}

/// Stores an event for a job held by `worker_id` (batch progress, log lines). `None` when the
/// worker no longer holds the job.
pub async fn append(db: &Db, id: i64, worker_id: &str, event: &NewEvent) -> DbResult<Option<StoredEvent>> {
    const GUARD: &str = "select exists (select 1 from training_jobs where id = $1 and worker_id = $2 \
        and status in ('preparing', 'training'))";
    let is_pg = db.backend() == crate::Backend::Postgres;
    let out = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        // Take the row's write lock first (the seq bump), then check the holder.
        let stored = append_event!(tx, is_pg, id, event);
        let held: bool = sqlx::query_scalar(GUARD).bind(id).bind(worker_id).fetch_one(&mut *tx).await?;
        if held {
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(stored))
        } else {
            Ok(None)
        }
    })?;
    Ok(out)
}

/// Refreshes the heartbeat of a job `worker_id` holds. `Some(cancel_requested)` while held,
/// `None` once the worker lost it (re-queued, finished or deleted).
pub async fn heartbeat(db: &Db, id: i64, worker_id: &str) -> DbResult<Option<bool>> {
    const SQL: &str = "update training_jobs set heartbeat_at = $3 where id = $1 and worker_id = $2 \
        and status in ('preparing', 'training') returning cancel_requested";
    let now = Utc::now();
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, bool>(SQL).bind(id).bind(worker_id).bind(now).fetch_optional(pool).await)?)
}

/// Running jobs whose last heartbeat is older than `cutoff` (or missing): `(id, worker_id)`.
pub async fn stale(db: &Db, cutoff: DateTime<Utc>) -> DbResult<Vec<(i64, Option<String>)>> {
    const SQL: &str = "select id, worker_id from training_jobs where status in ('preparing', 'training') \
        and (heartbeat_at is null or heartbeat_at < $1) order by id";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, (i64, Option<String>)>(SQL).bind(cutoff).fetch_all(pool).await)?)
}

/// One row of `training_metrics`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EpochMetrics {
    pub job_id: i64,
    pub epoch: i64,
    pub train_loss: Option<f64>,
    pub val_loss: Option<f64>,
    pub metrics: Json<Value>,
    pub epoch_time_seconds: Option<f64>,
    pub timestamp: DateTime<Utc>,
}

/// An epoch's results to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEpochMetrics {
    pub epoch: i64,
    pub train_loss: Option<f64>,
    pub val_loss: Option<f64>,
    pub metrics: Value,
    pub epoch_time_seconds: Option<f64>,
}

/// Records an epoch (replacing a row of the same epoch, as after a resume), the job's progress
/// and `event`, in one transaction, if `worker_id` still holds the job.
pub async fn record_epoch(
    db: &Db,
    id: i64,
    worker_id: &str,
    row: &NewEpochMetrics,
    progress_percent: f64,
    event: &NewEvent,
) -> DbResult<Option<StoredEvent>> {
    const PROGRESS: &str = "update training_jobs set current_epoch = $3, progress_percent = $4, updated_at = $5 \
        where id = $1 and worker_id = $2 and status = 'training'";
    const UPSERT: &str = "insert into training_metrics (job_id, epoch, train_loss, val_loss, metrics, epoch_time_seconds, \
        timestamp, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7, $7) \
        on conflict (job_id, epoch) do update set train_loss = excluded.train_loss, val_loss = excluded.val_loss, \
        metrics = excluded.metrics, epoch_time_seconds = excluded.epoch_time_seconds, timestamp = excluded.timestamp, \
        updated_at = excluded.updated_at";
    let is_pg = db.backend() == crate::Backend::Postgres;
    let now = Utc::now();
    let out = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let held = sqlx::query(PROGRESS)
            .bind(id)
            .bind(worker_id)
            .bind(row.epoch)
            .bind(progress_percent)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if held == 0 {
            return Ok(None);
        }
        sqlx::query(UPSERT)
            .bind(id)
            .bind(row.epoch)
            .bind(row.train_loss)
            .bind(row.val_loss)
            .bind(Json(&row.metrics))
            .bind(row.epoch_time_seconds)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let stored = append_event!(tx, is_pg, id, event);
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some(stored))
    })?;
    Ok(out)
}

/// Every recorded epoch of a job, in order.
pub async fn metrics(db: &Db, job_id: i64) -> DbResult<Vec<EpochMetrics>> {
    const SQL: &str = "select job_id, epoch, train_loss, val_loss, metrics, epoch_time_seconds, timestamp \
        from training_metrics where job_id = $1 order by epoch";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, EpochMetrics>(SQL).bind(job_id).fetch_all(pool).await)?)
}

/// The last recorded epoch of a job, if any.
pub async fn latest_metrics(db: &Db, job_id: i64) -> DbResult<Option<EpochMetrics>> {
    const SQL: &str = "select job_id, epoch, train_loss, val_loss, metrics, epoch_time_seconds, timestamp \
        from training_metrics where job_id = $1 order by epoch desc limit 1";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, EpochMetrics>(SQL).bind(job_id).fetch_optional(pool).await)?)
}

/// Events of a job with `seq > since`, in order, at most `limit`.
pub async fn events_since(db: &Db, job_id: i64, since: i64, limit: i64) -> DbResult<Vec<StoredEvent>> {
    const SQL: &str = "select job_id, seq, type, payload, created_at from job_events \
        where job_id = $1 and seq > $2 order by seq limit $3";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, StoredEvent>(SQL).bind(job_id).bind(since).bind(limit).fetch_all(pool).await)?)
}

/// The prepared dataset of a job (`training_datasets`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Dataset {
    pub job_id: i64,
    pub project_ids: Json<Vec<i64>>,
    pub total_images: i64,
    pub train_images: i64,
    pub val_images: i64,
    pub class_mapping: Json<Value>,
    pub class_names: Option<Json<Vec<String>>>,
    pub annotation_types: Json<Value>,
    pub dataset_path: String,
    pub report: Option<Json<Value>>,
    pub plugins: Option<Json<Value>>,
    pub created_at: DateTime<Utc>,
}

/// Records the dataset a job prepared (replacing an earlier one of the same job).
pub async fn save_dataset(db: &Db, d: &Dataset) -> DbResult<()> {
    const DELETE: &str = "delete from training_datasets where job_id = $1";
    const INSERT: &str = "insert into training_datasets (job_id, project_ids, total_images, train_images, val_images, \
        class_mapping, class_names, annotation_types, dataset_path, report, plugins, created_at, updated_at) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)";
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(DELETE).bind(d.job_id).execute(&mut *tx).await?;
        sqlx::query(INSERT)
            .bind(d.job_id)
            .bind(&d.project_ids)
            .bind(d.total_images)
            .bind(d.train_images)
            .bind(d.val_images)
            .bind(&d.class_mapping)
            .bind(&d.class_names)
            .bind(&d.annotation_types)
            .bind(&d.dataset_path)
            .bind(&d.report)
            .bind(&d.plugins)
            .bind(d.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}

pub async fn dataset(db: &Db, job_id: i64) -> DbResult<Option<Dataset>> {
    const SQL: &str = "select job_id, project_ids, total_images, train_images, val_images, class_mapping, class_names, \
        annotation_types, dataset_path, report, plugins, created_at from training_datasets where job_id = $1 \
        order by id desc limit 1";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Dataset>(SQL).bind(job_id).fetch_optional(pool).await)?)
}

/// How often each class label occurs in a project: per annotation type (`count`, and the
/// number of images having one), over all types (`type` = `*`: `images` counts each image
/// once), and as the image-level class (`type` = `image_class`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LabelCount {
    pub class_label: String,
    #[sqlx(rename = "type")]
    pub ty: String,
    pub count: i64,
    pub images: i64,
}

pub async fn label_counts(db: &Db, project_id: i64) -> DbResult<Vec<LabelCount>> {
    const SQL: &str = "select class_label, type, count(*) as count, count(distinct image_id) as images from annotations \
        where project_id = $1 group by class_label, type \
        union all select class_label, '*' as type, count(*) as count, count(distinct image_id) as images from annotations \
        where project_id = $1 group by class_label \
        union all select class_label, 'image_class' as type, count(*) as count, count(*) as images from images \
        where project_id = $1 and class_label is not null group by class_label order by 1, 2";
    Ok(on_pool!(db, pool => sqlx::query_as::<_, LabelCount>(SQL).bind(project_id).fetch_all(pool).await)?)
}

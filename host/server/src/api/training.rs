//! `/api/v1/training`: create (validated up front, 422 naming the field), list, inspect and
//! cancel training jobs; per-epoch metrics; the stored event log; hyperparameter defaults and
//! per-class counts for the job wizard. The live stream is `api::ws`.
//!
//! Access: a job is visible to its creator, to admins and to members of any of its projects;
//! its creator and admins may cancel it. Creating a job needs read access to every project.

use std::collections::BTreeMap;
use std::time::Duration;

use af_core::{FieldError, JobStatus, ProjectRole, TaskType};
use af_db::jobs::{Job, JobUpdate, NewJob};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{project_access, AuthUser};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::jobs::config::JobConfig;
use crate::jobs::defaults::TrainingDefaults;
use crate::jobs::events::JobEvent;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_job, list_jobs))
        .routes(routes!(get_job, cancel_job))
        .routes(routes!(job_metrics))
        .routes(routes!(job_events))
        .routes(routes!(training_defaults))
        .routes(routes!(class_counts))
}

/// How long `DELETE` waits for a running job to stop before answering 202.
const CANCEL_WAIT: Duration = Duration::from_secs(10);

/// The prepared dataset of a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetSummary {
    pub total_images: i64,
    pub train_images: i64,
    pub val_images: i64,
    #[schema(value_type = Object)]
    pub class_mapping: Value,
    pub class_names: Option<Vec<String>>,
    #[schema(value_type = Vec<String>)]
    pub annotation_types: Value,
    pub project_ids: Vec<i64>,
    /// The dataset report (instances per class, skipped annotations and why, the split).
    #[schema(value_type = Option<Object>)]
    pub report: Option<Value>,
    pub created_at: DateTime<Utc>,
}

impl From<af_db::jobs::Dataset> for DatasetSummary {
    fn from(d: af_db::jobs::Dataset) -> Self {
        DatasetSummary {
            total_images: d.total_images,
            train_images: d.train_images,
            val_images: d.val_images,
            class_mapping: d.class_mapping.0,
            class_names: d.class_names.map(|n| n.0),
            annotation_types: d.annotation_types.0,
            project_ids: d.project_ids.0,
            report: d.report.map(|r| r.0),
            created_at: d.created_at,
        }
    }
}

/// One epoch of `training_metrics` (epochs count from 1).
#[derive(Debug, Serialize, ToSchema)]
pub struct EpochMetricsResponse {
    pub epoch: i64,
    /// The formatter's named metrics (`train_box_loss`, `map50`, `top1_accuracy`, …).
    #[schema(value_type = Object)]
    pub metrics: Value,
    pub train_loss: Option<f64>,
    pub val_loss: Option<f64>,
    pub epoch_time_seconds: Option<f64>,
    pub timestamp: DateTime<Utc>,
}

impl From<af_db::jobs::EpochMetrics> for EpochMetricsResponse {
    fn from(m: af_db::jobs::EpochMetrics) -> Self {
        EpochMetricsResponse {
            epoch: m.epoch,
            metrics: m.metrics.0,
            train_loss: m.train_loss,
            val_loss: m.val_loss,
            epoch_time_seconds: m.epoch_time_seconds,
            timestamp: m.timestamp,
        }
    }
}

/// A training job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobResponse {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub task_type: TaskType,
    pub status: JobStatus,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The normalised config the job runs with (defaults filled in).
    #[schema(value_type = Object)]
    pub config: Value,
    /// The best epoch's named metrics once completed.
    #[schema(value_type = Option<Object>)]
    pub final_metrics: Option<Value>,
    /// The registered model, once completed.
    pub model_id: Option<i64>,
    /// Why the job failed, in words a user can act on.
    pub error_message: Option<String>,
    /// Epochs completed so far.
    pub current_epoch: i64,
    pub total_epochs: i64,
    pub progress_percent: f64,
    /// A cancellation was asked for and the worker has not stopped yet.
    pub cancel_requested: bool,
    /// Times a worker started the job (more than 1 after a resume).
    pub attempts: i64,
    /// The device it trains on (`cpu`, `cuda:0`), once known.
    pub device: Option<String>,
    /// The registered model it started from (transfer learning).
    pub base_model_id: Option<i64>,
    pub projects: Vec<i64>,
    /// The plugins it used: `[{kind, name, version, sha256, options}]`.
    #[schema(value_type = Vec<Object>)]
    pub plugins: Value,
    /// Sequence number of the job's latest event (see the WebSocket).
    pub last_event_seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_metrics: Option<EpochMetricsResponse>,
    /// Where to follow it live (add `?token=`).
    pub ws_url: String,
}

impl JobResponse {
    /// The job row alone (lists).
    pub fn summary(job: Job) -> JobResponse {
        let projects = job.config.0["projects"].as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default();
        JobResponse {
            ws_url: format!("/api/v1/training/ws/{}", job.id),
            id: job.id,
            name: job.name,
            description: job.description,
            task_type: job.task_type,
            status: job.status,
            created_by: job.created_by,
            created_at: job.created_at,
            updated_at: job.updated_at,
            started_at: job.started_at,
            completed_at: job.completed_at,
            config: job.config.0,
            final_metrics: job.final_metrics.map(|m| m.0),
            model_id: job.model_id,
            error_message: job.error_message,
            current_epoch: job.current_epoch,
            total_epochs: job.total_epochs,
            progress_percent: job.progress_percent,
            cancel_requested: job.cancel_requested && !job.status.is_terminal(),
            attempts: job.attempts,
            device: job.device,
            base_model_id: job.base_model_id,
            projects,
            plugins: job.plugins.map(|p| p.0).unwrap_or_else(|| Value::Array(vec![])),
            last_event_seq: job.last_event_seq,
            dataset: None,
            latest_metrics: None,
        }
    }

    /// The job with its dataset and latest epoch (detail view, WebSocket snapshot).
    pub async fn detailed(state: &AppState, job: Job) -> AppResult<JobResponse> {
        let dataset = af_db::jobs::dataset(&state.db, job.id).await?;
        let latest = af_db::jobs::latest_metrics(&state.db, job.id).await?;
        let mut out = JobResponse::summary(job);
        out.dataset = dataset.map(Into::into);
        out.latest_metrics = latest.map(Into::into);
        Ok(out)
    }
}

/// The job if the caller may see it (404 otherwise).
pub async fn visible_job(state: &AppState, user: &AuthUser, id: i64) -> AppResult<Job> {
    if !af_db::jobs::visible_to(&state.db, id, user.id, user.is_admin()).await? {
        return Err(AppError::not_found(format!("training job {id}")));
    }
    match af_db::jobs::get(&state.db, id).await {
        Ok(j) => Ok(j),
        Err(af_db::DbError::NotFound) => Err(AppError::not_found(format!("training job {id}"))),
        Err(e) => Err(e.into()),
    }
}

fn unprocessable(errors: Vec<FieldError>) -> AppError {
    let first = errors.first().cloned().unwrap_or_else(|| FieldError::new("", "invalid job config"));
    let message = if errors.len() == 1 {
        first.to_string()
    } else {
        format!("{} (and {} more problems)", first, errors.len() - 1)
    };
    AppError::Unprocessable {
        message,
        details: serde_json::json!({ "field": first.field, "reason": first.message, "errors": errors }),
    }
}

/// The checks that need the database: projects the user may read, classes present in their
/// data, the base model.
async fn check_with_data(state: &AppState, user: &AuthUser, raw: &Value, config: &mut JobConfig) -> AppResult<()> {
    let mut errors = Vec::new();
    let mut readable = Vec::new();
    for (i, &project) in config.projects.iter().enumerate() {
        match project_access(state, user, project, ProjectRole::Viewer).await {
            Ok(_) => readable.push(project),
            Err(AppError::NotFound(_) | AppError::Forbidden(_)) => {
                errors.push(FieldError::new(format!("projects[{i}]"), format!("project {project} does not exist or you cannot read it")))
            }
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() {
        // Instances per class id, over the chosen annotation types (classify: image labels).
        let types: Vec<&str> = match config.task_type {
            TaskType::Classify => vec!["image_class"],
            _ => config.annotation_types.iter().map(|t| t.as_str()).collect(),
        };
        let mut per_label: BTreeMap<String, i64> = BTreeMap::new();
        let mut images = 0;
        for &p in &readable {
            images += af_db::projects::get_for(&state.db, p, user.id).await?.image_count;
            for c in af_db::jobs::label_counts(&state.db, p).await? {
                if types.contains(&c.ty.as_str()) {
                    *per_label.entry(c.class_label).or_default() += c.count;
                }
            }
        }
        if images == 0 {
            errors.push(FieldError::new("projects", "the selected projects have no images"));
        } else {
            let mut per_id = vec![0i64; config.class_mapping.num_classes() as usize];
            for (label, id) in config.class_mapping.iter() {
                per_id[id as usize] += per_label.get(label).copied().unwrap_or(0);
            }
            for (label, id) in config.class_mapping.iter() {
                if per_id[id as usize] == 0 {
                    let what = match config.task_type {
                        TaskType::Classify => "no image has this class label".to_string(),
                        _ => format!("no {} annotation has this label", types.join("/")),
                    };
                    errors.push(FieldError::new(format!("class_mapping.{label}"), format!("{what} in the selected projects (class {id} would have no examples)")));
                }
            }
        }
    }
    if let Some(base) = config.base_model {
        match crate::jobs::registry::visible_model(state, user, base).await {
            Ok(m) if m.task_type != config.task_type => errors.push(FieldError::new(
                "base_model",
                format!("model {base} is a {} model; this job trains {}", m.task_type, config.task_type),
            )),
            Ok(m) => {
                let wanted = raw["hyperparameters"]["model"].as_str().map(crate::jobs::registry::model_type);
                match wanted {
                    Some(w) if w != m.model_type => errors.push(FieldError::new(
                        "hyperparameters.model",
                        format!("the base model {base} is a {}; leave `model` out or set it to {}.pt", m.model_type, m.model_type),
                    )),
                    _ => config.hyperparameters.model = Some(format!("{}.pt", m.model_type)),
                }
            }
            Err(AppError::NotFound(_)) => errors.push(FieldError::new("base_model", format!("model {base} does not exist or you cannot see it"))),
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(unprocessable(errors))
    }
}

/// Serialises the per-user job count with the insert of the job.
static QUEUEING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The server's limits on what one job may ask for (`Config.limits`): epochs, imgsz and the
/// estimated peak memory. A 422 naming the field and, in `details.limit`, the setting.
fn check_limits(state: &AppState, config: &JobConfig) -> AppResult<()> {
    let over = crate::jobs::limits::check(&state.config.limits, config);
    let Some(first) = over.first() else { return Ok(()) };
    let errors: Vec<FieldError> = over.iter().map(|e| e.field_error()).collect();
    let message = if over.len() == 1 {
        first.field_error().to_string()
    } else {
        format!("{} (and {} more problems)", first.field_error(), over.len() - 1)
    };
    let mut details = serde_json::json!({ "field": first.field, "reason": first.message, "limit": first.limit, "errors": errors });
    if let Some(mb) = first.estimated_mb {
        details["estimated_mb"] = mb.into();
        details["budget_mb"] = state.config.limits.max_train_memory_mb.into();
    }
    Err(AppError::Unprocessable { message, details })
}

/// At most `max_jobs_per_user` of one user's jobs queued or running at once. A 409: the
/// request is fine but conflicts with the jobs the user has now, and no retry time can be
/// promised (a job takes as long as it takes) — the user cancels one or waits for one.
async fn check_jobs_per_user(state: &AppState, user: &AuthUser) -> AppResult<()> {
    let max = state.config.limits.max_jobs_per_user;
    let active = af_db::jobs::active_for_user(&state.db, user.id).await?;
    if active.len() < max {
        return Ok(());
    }
    let ids: Vec<String> = active.iter().map(|id| id.to_string()).collect();
    let jobs = if max == 1 { "1 training job".to_string() } else { format!("{max} training jobs") };
    Err(AppError::Conflict(format!(
        "you already have {} queued or running (jobs {}); this server allows {jobs} per user at once (max_jobs_per_user): \
         wait for one to finish or cancel one",
        active.len(),
        ids.join(", ")
    )))
}

/// Creates a training job. The whole config is checked first; each problem is a 422 naming
/// its field (`details.field`, and all of them in `details.errors`); a config over one of the
/// server's limits (epochs, imgsz, estimated memory) also names the setting (`details.limit`).
/// A user who already has `max_jobs_per_user` jobs queued or running gets a 409.
#[utoipa::path(post, path = "/api/v1/training/jobs", tag = "training", security(("bearer" = [])),
    request_body(content = super::job_request::JobRequest, description = "The job config (see `GET /api/v1/training/defaults`)"),
    responses((status = 201, body = JobResponse), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_job(State(state): State<AppState>, user: AuthUser, AppJson(raw): AppJson<Value>) -> AppResult<(StatusCode, AppJson<JobResponse>)> {
    let mut config = JobConfig::parse(&raw, Utc::now()).map_err(unprocessable)?;
    check_with_data(&state, &user, &raw, &mut config).await?;
    check_limits(&state, &config)?;
    // Plugin choices (name, version, options) are checked now; which plugins the job runs with
    // is decided, and recorded, when a worker starts it (so a new default reaches it).
    state.plugins.resolve(&state.db, &config).await?;
    // Counting the user's jobs and queueing this one happen under one lock, so a burst of
    // parallel requests cannot slip past the limit (in this process; each further server on
    // the same PostgreSQL database could let one more through at the same instant).
    let queueing = QUEUEING.lock().await;
    check_jobs_per_user(&state, &user).await?;
    let new = NewJob {
        name: config.name.clone(),
        description: config.description.clone(),
        task_type: config.task_type,
        created_by: Some(user.id),
        config: serde_json::to_value(&config).map_err(anyhow::Error::from)?,
        total_epochs: i64::from(config.epochs()),
        project_ids: config.projects.clone(),
        base_model_id: config.base_model,
    };
    let first = JobEvent::status(JobStatus::Pending, None, "queued".to_string());
    let (job, event) = af_db::jobs::create(&state.db, &new, &first.to_new()).await?;
    drop(queueing);
    state.jobs.hub.publish(&event);
    state.jobs.queued.notify_waiters();
    tracing::info!(job = job.id, task = %job.task_type, "training job queued");
    Ok((StatusCode::CREATED, AppJson(JobResponse::detailed(&state, job).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
}

/// The jobs the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/training/jobs", tag = "training", security(("bearer" = [])), params(JobFilter),
    responses((status = 200, body = Vec<JobResponse>), (status = 401, body = ErrorBody)))]
async fn list_jobs(State(state): State<AppState>, user: AuthUser, AppQuery(filter): AppQuery<JobFilter>) -> AppResult<AppJson<Vec<JobResponse>>> {
    let jobs = af_db::jobs::list_visible(&state.db, user.id, user.is_admin(), filter.status).await?;
    Ok(AppJson(jobs.into_iter().map(JobResponse::summary).collect()))
}

/// A job with its config, dataset summary, latest metrics, progress and plugins.
#[utoipa::path(get, path = "/api/v1/training/jobs/{id}", tag = "training", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = JobResponse), (status = 404, body = ErrorBody)))]
async fn get_job(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<JobResponse>> {
    let job = visible_job(&state, &user, id).await?;
    Ok(AppJson(JobResponse::detailed(&state, job).await?))
}

/// Cancels a job: a pending one at once (200, `cancelled`); a running one stops within one
/// batch (200 with `cancelled` once it has, 202 with `cancel_requested` if it takes longer
/// than a few seconds). A finished job is a 409.
#[utoipa::path(delete, path = "/api/v1/training/jobs/{id}", tag = "training", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = JobResponse), (status = 202, body = JobResponse), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_job(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let job = visible_job(&state, &user, id).await?;
    if !user.is_admin() && job.created_by != Some(user.id) {
        return Err(AppError::Forbidden(format!("only the creator of job {id} or an admin may cancel it")));
    }
    if job.status.is_terminal() {
        return Err(AppError::Conflict(format!("job {id} is already {}", job.status)));
    }
    let message = format!("cancelled by {}", user.email);
    let at_once = JobUpdate {
        from: &[JobStatus::Pending],
        status: Some(JobStatus::Cancelled),
        cancel_requested: Some(true),
        release: true,
        completed: true,
        ..Default::default()
    };
    let event = JobEvent::status(JobStatus::Cancelled, Some(JobStatus::Pending), message.clone());
    if let Some(job) = state.jobs.update(&state.db, id, &at_once, Some(&event)).await? {
        return Ok((StatusCode::OK, AppJson(JobResponse::detailed(&state, job).await?)).into_response());
    }
    // Running (or just claimed): ask the worker; it stops between two batches.
    let request = JobUpdate { from: &[JobStatus::Preparing, JobStatus::Training], cancel_requested: Some(true), ..Default::default() };
    state.jobs.update(&state.db, id, &request, None).await?;
    state.jobs.stop(id, crate::jobs::StopReason::Cancelled);
    let deadline = tokio::time::Instant::now() + CANCEL_WAIT;
    loop {
        let job = af_db::jobs::get(&state.db, id).await?;
        if job.status.is_terminal() || tokio::time::Instant::now() >= deadline {
            let status = if job.status.is_terminal() { StatusCode::OK } else { StatusCode::ACCEPTED };
            return Ok((status, AppJson(JobResponse::detailed(&state, job).await?)).into_response());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every recorded epoch of a job, in order.
#[utoipa::path(get, path = "/api/v1/training/jobs/{id}/metrics", tag = "training", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = Vec<EpochMetricsResponse>), (status = 404, body = ErrorBody)))]
async fn job_metrics(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<Vec<EpochMetricsResponse>>> {
    visible_job(&state, &user, id).await?;
    let rows = af_db::jobs::metrics(&state.db, id).await?;
    Ok(AppJson(rows.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events with a larger sequence number [default: 0, all].
    pub since: Option<i64>,
    /// At most this many [default and maximum: 1000].
    pub limit: Option<i64>,
}

/// The job's stored events (the WebSocket's replay, for clients that poll).
#[utoipa::path(get, path = "/api/v1/training/jobs/{id}/events", tag = "training", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Job id"), EventsQuery),
    responses((status = 200, body = Vec<JobEvent>), (status = 404, body = ErrorBody)))]
async fn job_events(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppQuery(q): AppQuery<EventsQuery>) -> AppResult<AppJson<Vec<Value>>> {
    visible_job(&state, &user, id).await?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 1000);
    let events = af_db::jobs::events_since(&state.db, id, q.since.unwrap_or(0).max(0), limit).await?;
    Ok(AppJson(events.iter().map(|e| e.message()).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DefaultsQuery {
    pub task_type: TaskType,
}

/// Hyperparameter defaults and ranges of a task, its annotation types and the default split.
#[utoipa::path(get, path = "/api/v1/training/defaults", tag = "training", security(("bearer" = [])), params(DefaultsQuery),
    responses((status = 200, body = TrainingDefaults), (status = 400, body = ErrorBody)))]
async fn training_defaults(
    State(state): State<AppState>,
    _user: AuthUser,
    AppQuery(q): AppQuery<DefaultsQuery>,
) -> AppJson<TrainingDefaults> {
    AppJson(crate::jobs::defaults::for_task_within(q.task_type, &state.config.limits))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClassesQuery {
    /// Comma-separated project ids, e.g. `1,2` (at least one).
    #[param(pattern = r"^[\s,]*[-+]?[0-9]{1,18}(\s*,[\s,]*[-+]?[0-9]{1,18})*[\s,]*$")]
    pub projects: String,
}

/// How often one class label occurs in the selected projects.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ClassCount {
    pub class_label: String,
    /// Annotations per type (`box`, `circle`, `polygon`, `rectangle`).
    pub annotations: BTreeMap<String, i64>,
    pub total_annotations: i64,
    /// Images with at least one annotation of this label (summed over projects).
    pub annotated_images: i64,
    /// Images whose image-level class (classification) is this label.
    pub image_labels: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClassCounts {
    pub projects: Vec<i64>,
    pub total_images: i64,
    pub classes: Vec<ClassCount>,
}

/// Per-class counts over a set of projects (the job wizard's class-mapping step).
#[utoipa::path(get, path = "/api/v1/training/classes", tag = "training", security(("bearer" = [])), params(ClassesQuery),
    responses((status = 200, body = ClassCounts), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn class_counts(State(state): State<AppState>, user: AuthUser, AppQuery(q): AppQuery<ClassesQuery>) -> AppResult<AppJson<ClassCounts>> {
    let mut projects = Vec::new();
    for part in q.projects.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id: i64 = part.parse().map_err(|_| AppError::invalid("projects", format!("`{part}` is not a project id")))?;
        if !projects.contains(&id) {
            projects.push(id);
        }
    }
    if projects.is_empty() {
        return Err(AppError::invalid("projects", "give at least one project id"));
    }
    let mut classes: BTreeMap<String, ClassCount> = BTreeMap::new();
    let mut total_images = 0;
    for &p in &projects {
        project_access(&state, &user, p, ProjectRole::Viewer).await?;
        total_images += af_db::projects::get_for(&state.db, p, user.id).await?.image_count;
        for c in af_db::jobs::label_counts(&state.db, p).await? {
            let entry = classes.entry(c.class_label.clone()).or_insert_with(|| ClassCount { class_label: c.class_label.clone(), ..Default::default() });
            match c.ty.as_str() {
                "image_class" => entry.image_labels += c.count,
                "*" => entry.annotated_images += c.images,
                _ => {
                    *entry.annotations.entry(c.ty).or_default() += c.count;
                    entry.total_annotations += c.count;
                }
            }
        }
    }
    Ok(AppJson(ClassCounts { projects, total_images, classes: classes.into_values().collect() }))
}

//! `/api/v1/models`: the model registry (list, inspect, rename/describe/(de)activate, delete,
//! download the weights) and inference (`POST /models/{id}/predict` on a project image by id
//! or on an uploaded file).
//!
//! A model is visible to admins, its creator and members of any project it was trained on;
//! its creator and admins may change or delete it.

use af_core::{ProjectRole, TaskType};
use af_engine::predict::PredictOptions;
use axum::body::Body;
use axum::extract::multipart::Multipart;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{image_access, AuthUser};
use crate::config::Config;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::jobs::inference::PredictResponse;
use crate::jobs::registry;
use crate::state::AppState;

pub fn router(config: &Config) -> OpenApiRouter<AppState> {
    let predict = OpenApiRouter::new()
        .routes(routes!(predict))
        .layer(DefaultBodyLimit::max(config.max_upload_bytes.min(usize::MAX as u64) as usize));
    OpenApiRouter::new()
        .merge(predict)
        .routes(routes!(list_models))
        .routes(routes!(get_model, update_model, delete_model))
        .routes(routes!(download_model))
}

/// A registered model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelResponse {
    pub id: i64,
    pub training_job_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub task_type: TaskType,
    /// The architecture, e.g. `yolov8n-seg`.
    pub model_type: String,
    /// The square size it was trained at (and predicts at).
    pub image_size: i64,
    /// Class names by class id.
    pub classes: Vec<String>,
    pub num_classes: i64,
    /// The best epoch's named metrics.
    #[schema(value_type = Option<Object>)]
    pub performance_metrics: Option<Value>,
    pub created_by: Option<i64>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The job's normalised config.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    /// The dataset it was trained on (sizes, class mapping, report).
    #[schema(value_type = Option<Object>)]
    pub dataset: Option<Value>,
    /// Plugins the job used.
    #[schema(value_type = Option<Vec<Object>>)]
    pub plugins: Option<Value>,
    /// Lineage: the registered model it was fine-tuned from, if any.
    pub base_model_id: Option<i64>,
    /// Lineage: the initial weights (`yolov8n.safetensors`, a base model's file, or
    /// `scratch: …`).
    pub base_weights: Option<String>,
    pub project_ids: Vec<i64>,
    pub file_size: Option<i64>,
    pub sha256: Option<String>,
    pub download_url: String,
}

impl ModelResponse {
    pub async fn of(state: &AppState, m: af_db::models::Model) -> AppResult<ModelResponse> {
        let project_ids = af_db::models::project_ids(&state.db, m.id).await?;
        Ok(ModelResponse {
            download_url: format!("/api/v1/models/{}/download", m.id),
            id: m.id,
            training_job_id: m.training_job_id,
            name: m.name,
            description: m.description,
            task_type: m.task_type,
            model_type: m.model_type,
            image_size: m.image_size,
            num_classes: m.num_classes,
            classes: m.classes.0,
            performance_metrics: m.performance_metrics.map(|v| v.0),
            created_by: m.created_by,
            is_active: m.is_active,
            created_at: m.created_at,
            updated_at: m.updated_at,
            config: m.config.map(|v| v.0),
            dataset: m.dataset.map(|v| v.0),
            plugins: m.plugins.map(|v| v.0),
            base_model_id: m.base_model_id,
            base_weights: m.base_weights,
            project_ids,
            file_size: m.file_size,
            sha256: m.sha256,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ModelFilter {
    pub is_active: Option<bool>,
    pub task_type: Option<TaskType>,
}

/// The models the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/models", tag = "models", security(("bearer" = [])), params(ModelFilter),
    responses((status = 200, body = Vec<ModelResponse>), (status = 401, body = ErrorBody)))]
async fn list_models(State(state): State<AppState>, user: AuthUser, AppQuery(f): AppQuery<ModelFilter>) -> AppResult<AppJson<Vec<ModelResponse>>> {
    let rows = af_db::models::list_visible(&state.db, user.id, user.is_admin(), f.is_active, f.task_type).await?;
    let mut out = Vec::with_capacity(rows.len());
    for m in rows {
        out.push(ModelResponse::of(&state, m).await?);
    }
    Ok(AppJson(out))
}

#[utoipa::path(get, path = "/api/v1/models/{id}", tag = "models", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Model id")),
    responses((status = 200, body = ModelResponse), (status = 404, body = ErrorBody)))]
async fn get_model(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<ModelResponse>> {
    let m = registry::visible_model(&state, &user, id).await?;
    Ok(AppJson(ModelResponse::of(&state, m).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateModel {
    /// A new, unique name: 1 to 200 characters, not blank (trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Inactive models stay registered but are hidden from `?is_active=true` lists.
    pub is_active: Option<bool>,
}

/// Renames, describes, activates or deactivates a model (its creator or an admin).
#[utoipa::path(patch, path = "/api/v1/models/{id}", tag = "models", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Model id")), request_body = UpdateModel,
    responses((status = 200, body = ModelResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_model(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppJson(body): AppJson<UpdateModel>) -> AppResult<AppJson<ModelResponse>> {
    registry::owned_model(&state, &user, id).await?;
    let name = match body.name.as_deref().map(str::trim) {
        Some("") => return Err(AppError::invalid("name", "must not be blank")),
        Some(n) if n.chars().count() > 200 => return Err(AppError::invalid("name", "must be at most 200 characters")),
        other => other,
    };
    if body.description.as_ref().is_some_and(|d| d.chars().count() > 10_000) {
        return Err(AppError::invalid("description", "must be at most 10000 characters"));
    }
    let m = match af_db::models::update(&state.db, id, name, body.description.as_deref(), body.is_active).await {
        Err(af_db::DbError::Conflict(_)) => return Err(AppError::Conflict(format!("a model named `{}` already exists", name.unwrap_or_default()))),
        other => other?,
    };
    Ok(AppJson(ModelResponse::of(&state, m).await?))
}

/// Deletes a model and its weights file (its creator or an admin); refused (409) while a
/// queued or running job starts from it or a pre-label run uses it.
#[utoipa::path(delete, path = "/api/v1/models/{id}", tag = "models", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Model id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_model(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<StatusCode> {
    registry::owned_model(&state, &user, id).await?;
    let deleted = match af_db::models::delete_unused(&state.db, id).await? {
        Ok(m) => m,
        Err(usage) => {
            let mut what = Vec::new();
            if !usage.jobs.is_empty() {
                what.push(format!("training jobs {:?} start from it", usage.jobs));
            }
            if !usage.prelabel_runs.is_empty() {
                what.push(format!("pre-label runs {:?} use it", usage.prelabel_runs));
            }
            return Err(AppError::Conflict(format!("model {id} is in use: {}; cancel or wait for them first", what.join(" and "))));
        }
    };
    state.jobs.models.evict(id);
    if !af_db::models::path_in_use(&state.db, &deleted.model_path).await? {
        state.storage.remove_model(&deleted.model_path)?;
    }
    tracing::info!(model = id, name = %deleted.name, "model deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The weights as a safetensors file (Ultralytics' parameter names; loads in Ultralytics).
#[utoipa::path(get, path = "/api/v1/models/{id}/download", tag = "models", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Model id"), crate::auth::QueryTokenParam),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn download_model(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let m = registry::visible_model(&state, &user, id).await?;
    let path = state.storage.model_file(&m.model_path)?;
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::error!(model = id, path = %path.display(), "the model's weights file is missing");
            return Err(AppError::Conflict(format!("the weights file of model {id} is missing on the server; ask an admin to restore it, or train the model again")));
        }
        Err(e) => return Err(anyhow::anyhow!("opening {}: {e}", path.display()).into()),
    };
    let len = file.metadata().await.map_err(anyhow::Error::from)?.len();
    let safe: String = m.name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}.safetensors\"")),
        ],
        body,
    )
        .into_response())
}

/// `POST /models/{id}/predict` with JSON: a project image by id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    pub image_id: i64,
    /// Minimum confidence, in [0, 1] [default: 0.25].
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: Option<f64>,
    /// NMS IoU threshold, in (0, 1] [default: 0.7].
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub iou: Option<f64>,
}

/// The multipart form: the image in part `file` (or `image`), optional `confidence`, `iou`.
// Deserialize only for `deny_unknown_fields`: the document says no other parts are taken.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PredictForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    #[schema(minimum = 0.0, maximum = 1.0)]
    confidence: Option<f64>,
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    iou: Option<f64>,
}

/// Checks thresholds and turns them into predict options.
pub fn predict_options(confidence: Option<f64>, iou: Option<f64>) -> AppResult<PredictOptions> {
    let d = PredictOptions::default();
    let conf = confidence.unwrap_or(d.conf);
    if !conf.is_finite() || !(0.0..=1.0).contains(&conf) {
        return Err(AppError::invalid("confidence", format!("must be between 0 and 1, got {conf}")));
    }
    let iou = iou.unwrap_or(d.iou);
    if !iou.is_finite() || !(iou > 0.0 && iou <= 1.0) {
        return Err(AppError::invalid("iou", format!("must be in (0, 1], got {iou}")));
    }
    Ok(PredictOptions { conf, iou, ..d })
}

/// Predicts one image with a model: a project image (`{"image_id", "confidence", "iou"}`,
/// read access to its project) or an uploaded file (multipart). Classify answers
/// `predictions`, `top1_class`, `top1_confidence`; detect answers `box` annotations with
/// `data.corners`; segment `polygon` annotations with `data.points` and `bbox`; all with
/// `model_name` and `inference_time_ms`.
#[utoipa::path(post, path = "/api/v1/models/{id}/predict", tag = "models", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Model id")),
    request_body(content((PredictRequest = "application/json"), (PredictForm = "multipart/form-data"))),
    responses((status = 200, body = PredictResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn predict(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, req: Request) -> AppResult<AppJson<PredictResponse>> {
    let model = registry::visible_model(&state, &user, id).await?;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let (pixels, opts, image_id) = if is_multipart {
        let mut form = Multipart::from_request(req, &state).await?;
        let (mut bytes, mut conf, mut iou) = (None, None, None);
        while let Some(field) = form.next_field().await? {
            let name = field.name().unwrap_or_default().to_string();
            match name.as_str() {
                "file" | "image" => bytes = Some(field.bytes().await?.to_vec()),
                "confidence" | "iou" => {
                    let text = field.text().await?;
                    let v: f64 = text.trim().parse().map_err(|_| AppError::invalid(name.clone(), format!("`{text}` is not a number")))?;
                    if name == "confidence" {
                        conf = Some(v);
                    } else {
                        iou = Some(v);
                    }
                }
                other => return Err(AppError::invalid(other.to_string(), "unknown form field (expected file, confidence, iou)")),
            }
        }
        let bytes = bytes.ok_or_else(|| AppError::invalid("file", "upload the image in a part named `file`"))?;
        let opts = predict_options(conf, iou)?;
        let limits = crate::imagefile::limits(&state.config);
        let pixels = tokio::task::spawn_blocking(move || {
            crate::imagefile::decode_rgb(&bytes, &limits).map_err(|refusal| match refusal {
                af_engine::predict::DecodeError::TooLarge(e) => crate::imagefile::too_large("file", &e),
                other => AppError::invalid("file", other.to_string()),
            })
        })
        .await
        .map_err(anyhow::Error::from)??;
        (pixels, opts, None)
    } else {
        let AppJson(body) = AppJson::<PredictRequest>::from_request(req, &state).await?;
        let opts = predict_options(body.confidence, body.iou)?;
        let image = image_access(&state, &user, body.image_id, ProjectRole::Viewer).await.map_err(|e| match e {
            AppError::NotFound(_) => AppError::invalid("image_id", format!("image {} does not exist or you cannot read it", body.image_id)),
            other => other,
        })?;
        let pixels = crate::imagefile::read_stored_rgb(&state.storage, &image, crate::imagefile::limits(&state.config), "image_id").await?;
        (pixels, opts, Some(image.id))
    };
    let predictor = registry::load(&state, &model).await?;
    let prediction = state.jobs.models.predict(&predictor, pixels, opts).await?;
    let mut response = PredictResponse::new(model.id, &model.name, image_id, &prediction);
    crate::prediction_token::sign_all(&state, &mut response)?;
    Ok(AppJson(response))
}

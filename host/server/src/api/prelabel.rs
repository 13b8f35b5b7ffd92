//! Model-assisted labelling: `POST /api/v1/images/{id}/annotations/from-model` saves one
//! image's predictions as `custom_model` annotations (or, for classify models, its
//! image-level class); `POST /api/v1/projects/{id}/prelabel` starts a background run over a
//! whole project (see `jobs::prelabel` for its rules), polled at `GET /api/v1/prelabel/{id}`.

use af_core::{ProjectRole, TaskType};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::annotations::AnnotationResponse;
use super::models::predict_options;
use crate::auth::{image_access, project_access, AuthUser};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{AppJson, AppPath};
use crate::jobs::inference::PredictResponse;
use crate::jobs::registry;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(annotate_from_model))
        .routes(routes!(start_prelabel, list_prelabel_runs))
        .routes(routes!(get_prelabel_run))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromModel {
    pub model_id: i64,
    /// Predictions below this confidence are not saved, in [0, 1] [default: 0.25].
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: Option<f64>,
    /// NMS IoU threshold, in (0, 1] [default: 0.7].
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub iou: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FromModelResponse {
    /// The annotations created (detect/segment), replacing the image's earlier model-made ones.
    pub annotations: Vec<AnnotationResponse>,
    /// The image-level class set (classify), if the top class was confident enough.
    pub class_label: Option<String>,
    /// The full prediction.
    pub prediction: PredictResponse,
}

/// The model (visible to the caller, active) for labelling.
async fn labelling_model(state: &AppState, user: &AuthUser, model_id: i64) -> AppResult<af_db::models::Model> {
    registry::visible_model(state, user, model_id).await.map_err(|e| match e {
        AppError::NotFound(_) => AppError::invalid("model_id", format!("model {model_id} does not exist or you cannot see it")),
        other => other,
    })
}

/// Predicts an image with a model and saves the result on it (editors): `custom_model`
/// annotations with their confidence (replacing earlier model-made ones; hand-made ones
/// stay), or the image-level class for classify models.
#[utoipa::path(post, path = "/api/v1/images/{id}/annotations/from-model", tag = "annotations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id")), request_body = FromModel,
    responses((status = 201, body = FromModelResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn annotate_from_model(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(image_id): AppPath<i64>,
    AppJson(body): AppJson<FromModel>,
) -> AppResult<(StatusCode, AppJson<FromModelResponse>)> {
    let image = image_access(&state, &user, image_id, ProjectRole::Editor).await?;
    let opts = predict_options(body.confidence, body.iou)?;
    let model = labelling_model(&state, &user, body.model_id).await?;
    // The image first: one over the size limit is refused before a model is loaded for it.
    let pixels = crate::imagefile::read_stored_rgb(&state.storage, &image, crate::imagefile::limits(&state.config), "image").await?;
    let predictor = registry::load(&state, &model).await?;
    let threshold = opts.conf;
    let prediction = state.jobs.models.predict(&predictor, pixels, opts).await?;
    let response = PredictResponse::new(model.id, &model.name, Some(image.id), &prediction);
    let (annotations, class_label) = match model.task_type {
        TaskType::Classify => {
            let label = match (&response.top1_class, response.top1_confidence) {
                (Some(label), Some(conf)) if conf >= threshold => {
                    af_db::images::set_class_label(&state.db, image.id, Some(label)).await?;
                    Some(label.clone())
                }
                _ => None,
            };
            (vec![], label)
        }
        TaskType::Detect | TaskType::Segment => {
            let new = response.new_annotations(&state.config.limits, &image, Some(user.id));
            let stored = af_db::prelabel::replace_model_annotations(&state.db, image.id, &new).await?;
            (stored.into_iter().map(Into::into).collect(), None)
        }
    };
    Ok((StatusCode::CREATED, AppJson(FromModelResponse { annotations, class_label, prediction: response })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartPrelabel {
    pub model_id: i64,
    /// Predictions below this confidence are not saved, in [0, 1] [default: 0.25].
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: Option<f64>,
    /// NMS IoU threshold, in (0, 1] [default: 0.7].
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub iou: Option<f64>,
    /// Skip images already labelled by hand [default: true].
    pub only_unlabeled: Option<bool>,
}

/// A pre-label run and how far it got.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrelabelRun {
    pub id: i64,
    pub project_id: i64,
    pub model_id: Option<i64>,
    pub created_by: Option<i64>,
    /// `pending`, `running`, `completed` or `failed`.
    pub status: String,
    pub confidence: f64,
    pub iou: f64,
    pub only_unlabeled: bool,
    pub total_images: i64,
    /// Images looked at so far (predicted or skipped).
    pub images_processed: i64,
    /// Images skipped because they were labelled by hand, or are over `max_image_pixels`
    /// (stored before that limit).
    pub images_skipped: i64,
    /// Images that received at least one prediction (or a class).
    pub images_labeled: i64,
    pub annotations_created: i64,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<af_db::prelabel::Run> for PrelabelRun {
    fn from(r: af_db::prelabel::Run) -> Self {
        PrelabelRun {
            id: r.id,
            project_id: r.project_id,
            model_id: r.model_id,
            created_by: r.created_by,
            status: r.status,
            confidence: r.confidence,
            iou: r.iou,
            only_unlabeled: r.only_unlabeled,
            total_images: r.total_images,
            images_processed: r.processed_images,
            images_skipped: r.skipped_images,
            images_labeled: r.labeled_images,
            annotations_created: r.annotations_created,
            error_message: r.error_message,
            created_at: r.created_at,
            started_at: r.started_at,
            completed_at: r.completed_at,
        }
    }
}

/// Starts pre-labelling a project with a model in the background (editors); 202 with the run.
#[utoipa::path(post, path = "/api/v1/projects/{id}/prelabel", tag = "annotations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")), request_body = StartPrelabel,
    responses((status = 202, body = PrelabelRun), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn start_prelabel(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(project_id): AppPath<i64>,
    AppJson(body): AppJson<StartPrelabel>,
) -> AppResult<(StatusCode, AppJson<PrelabelRun>)> {
    project_access(&state, &user, project_id, ProjectRole::Editor).await?;
    let opts = predict_options(body.confidence, body.iou)?;
    let model = labelling_model(&state, &user, body.model_id).await?;
    let run = af_db::prelabel::create(&state.db, project_id, model.id, user.id, opts.conf, opts.iou, body.only_unlabeled.unwrap_or(true)).await?;
    crate::jobs::prelabel::spawn(state.clone(), run.clone(), model);
    Ok((StatusCode::ACCEPTED, AppJson(run.into())))
}

/// The project's pre-label runs, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{id}/prelabel", tag = "annotations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, body = Vec<PrelabelRun>), (status = 404, body = ErrorBody)))]
async fn list_prelabel_runs(State(state): State<AppState>, user: AuthUser, AppPath(project_id): AppPath<i64>) -> AppResult<AppJson<Vec<PrelabelRun>>> {
    project_access(&state, &user, project_id, ProjectRole::Viewer).await?;
    let runs = af_db::prelabel::list_for_project(&state.db, project_id).await?;
    Ok(AppJson(runs.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/prelabel/{id}", tag = "annotations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pre-label run id")),
    responses((status = 200, body = PrelabelRun), (status = 404, body = ErrorBody)))]
async fn get_prelabel_run(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<PrelabelRun>> {
    let run = match af_db::prelabel::get(&state.db, id).await {
        Ok(r) => r,
        Err(af_db::DbError::NotFound) => return Err(AppError::not_found(format!("pre-label run {id}"))),
        Err(e) => return Err(e.into()),
    };
    project_access(&state, &user, run.project_id, ProjectRole::Viewer).await.map_err(|e| match e {
        AppError::NotFound(_) => AppError::not_found(format!("pre-label run {id}")),
        other => other,
    })?;
    Ok(AppJson(run.into()))
}

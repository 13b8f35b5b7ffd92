//! Annotations: `GET|POST /api/v1/images/{id}/annotations`, `GET /api/v1/projects/{id}/annotations`,
//! `GET|PATCH|DELETE /api/v1/annotations/{id}`. Shapes are validated and clipped against the
//! image with `af_core` before they are stored; a bad value is a 422 naming its field.

use af_core::{AnnotationData, AnnotationSource, AnnotationType, ProjectRole};
use af_db::annotations::RawJson;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::images::check_class_label;
use crate::auth::{image_access, project_access, AuthUser};
use crate::config::Limits;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{double_option, AppJson, AppPath, AppQuery, Paged, Pagination};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_image_annotations, create_annotation))
        .routes(routes!(accept_prediction))
        .routes(routes!(list_project_annotations))
        .routes(routes!(get_annotation, update_annotation, delete_annotation))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnotationResponse {
    pub id: i64,
    pub image_id: i64,
    pub project_id: i64,
    #[serde(rename = "type")]
    pub ty: AnnotationType,
    /// `circle`: `{x, y, size}` (centre, radius); `box`/`rectangle`: `{corners: [[x, y] ×4]}`;
    /// `polygon`: `{points: [[x, y], …]}` — image pixels, clipped to the image.
    // JSON text: lists pass the stored text through without parsing it.
    #[schema(value_type = Object)]
    pub data: RawJson,
    pub class_label: String,
    pub confidence: Option<f64>,
    pub source: AnnotationSource,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AnnotationResponse {
    fn new<D>(a: af_db::annotations::Annotation<D>, data: impl FnOnce(D) -> RawJson) -> Self {
        AnnotationResponse {
            id: a.id,
            image_id: a.image_id,
            project_id: a.project_id,
            ty: a.ty,
            data: data(a.data.0),
            class_label: a.class_label,
            confidence: a.confidence,
            source: a.source,
            created_by: a.created_by,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

impl From<af_db::annotations::Annotation> for AnnotationResponse {
    fn from(a: af_db::annotations::Annotation) -> Self {
        // Serialising a `Value` cannot fail (its map keys are strings).
        Self::new(a, |v| serde_json::value::to_raw_value(&v).expect("a JSON value serialises"))
    }
}

impl From<af_db::annotations::Annotation<RawJson>> for AnnotationResponse {
    fn from(a: af_db::annotations::Annotation<RawJson>) -> Self {
        Self::new(a, |raw| raw)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAnnotation {
    #[serde(rename = "type")]
    pub ty: AnnotationType,
    #[schema(value_type = Object)]
    pub data: Value,
    /// 1 to 200 characters, not blank (trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub class_label: String,
    /// In [0, 1]; usually absent for manual annotations.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub confidence: Option<f64>,
    /// Only `manual` (the default): `custom_model` annotations are made by the server, when a
    /// prediction is accepted (`POST /api/v1/images/{id}/annotations/accept`) or pre-labelled.
    #[schema(value_type = Option<String>, pattern = "^manual$")]
    pub source: Option<AnnotationSource>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAnnotation {
    #[serde(rename = "type")]
    pub ty: Option<AnnotationType>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// 1 to 200 characters, not blank (trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub class_label: Option<String>,
    /// A number in [0, 1], or `null` to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>, minimum = 0.0, maximum = 1.0)]
    pub confidence: Option<Option<f64>>,
    /// `manual` marks a model-made annotation as checked by hand; `custom_model` is set only
    /// by the server (an annotation that already has it keeps it).
    pub source: Option<AnnotationSource>,
}

/// Refuses a client's claim that a model made an annotation: only the server's prediction
/// paths (accept, from-model, pre-label) store `custom_model`.
fn check_client_source(source: Option<AnnotationSource>) -> Result<(), AppError> {
    match source {
        Some(AnnotationSource::CustomModel) => Err(AppError::invalid(
            "source",
            "custom_model is set by the server when a prediction is accepted: send the prediction's accept_token to \
             POST /api/v1/images/{id}/annotations/accept, or omit source (manual)",
        )),
        _ => Ok(()),
    }
}

/// Refuses one more annotation on an image that has `max` (`max_annotations_per_image`).
pub fn check_annotation_count(image: &af_db::images::Image, adding: usize, max: usize) -> Result<(), AppError> {
    let existing = image.annotation_count.max(0) as usize;
    if existing.saturating_add(adding) > max {
        return Err(AppError::Unprocessable {
            message: format!(
                "image {} has {existing} annotations; this server accepts at most {max} per image (max_annotations_per_image)",
                image.id
            ),
            details: serde_json::json!({"field": "image_id", "limit": "max_annotations_per_image", "max_annotations_per_image": max}),
        });
    }
    Ok(())
}

/// Checks an annotation against its image and the server's limits (`max_polygon_points`)
/// and returns the row to store (shape clipped to the image).
pub fn validate(
    limits: &Limits,
    image: &af_db::images::Image,
    ty: AnnotationType,
    data: &Value,
    class_label: &str,
    confidence: Option<f64>,
    source: AnnotationSource,
    created_by: Option<i64>,
) -> Result<af_db::annotations::NewAnnotation, AppError> {
    if !ty.is_shape() {
        return Err(AppError::invalid("type", "image_class is not an annotation: set it with PATCH /api/v1/images/{id} {\"class_label\"}"));
    }
    let mut shape = AnnotationData::parse(ty, data)?;
    shape.check_point_count(limits.max_polygon_points)?;
    shape.validate_and_clip(image.width as u32, image.height as u32)?;
    let class_label = check_class_label("class_label", class_label)?;
    if let Some(c) = confidence {
        if !c.is_finite() || !(0.0..=1.0).contains(&c) {
            return Err(AppError::invalid("confidence", "must be a number between 0 and 1"));
        }
    }
    Ok(af_db::annotations::NewAnnotation {
        image_id: image.id,
        ty,
        data: serde_json::to_value(&shape).map_err(anyhow::Error::from)?,
        class_label,
        confidence,
        source,
        created_by,
    })
}

async fn annotation_access(state: &AppState, user: &AuthUser, id: i64, needed: ProjectRole) -> AppResult<af_db::annotations::Annotation> {
    let not_found = || AppError::not_found(format!("annotation {id}"));
    let a = match af_db::annotations::get(&state.db, id).await {
        Ok(a) => a,
        Err(af_db::DbError::NotFound) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    project_access(state, user, a.project_id, needed).await.map_err(|e| match e {
        AppError::NotFound(_) => not_found(),
        other => other,
    })?;
    Ok(a)
}

/// The image's annotations in creation order.
#[utoipa::path(get, path = "/api/v1/images/{id}/annotations", tag = "annotations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id")),
    responses((status = 200, body = Vec<AnnotationResponse>), (status = 404, body = ErrorBody)))]
async fn list_image_annotations(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<Vec<AnnotationResponse>>> {
    image_access(&state, &user, id, ProjectRole::Viewer).await?;
    let rows = af_db::annotations::list_by_image(&state.db, id).await?;
    Ok(AppJson(rows.into_iter().map(Into::into).collect()))
}

/// Adds an annotation to the image (editors).
#[utoipa::path(post, path = "/api/v1/images/{id}/annotations", tag = "annotations", security(("bearer" = [])), request_body = super::annotation_request::NewAnnotation,
    params(("id" = i64, Path, description = "Image id")),
    responses((status = 201, body = AnnotationResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_annotation(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppJson(body): AppJson<CreateAnnotation>) -> AppResult<(StatusCode, AppJson<AnnotationResponse>)> {
    let image = image_access(&state, &user, id, ProjectRole::Editor).await?;
    check_client_source(body.source)?;
    let limits = &state.config.limits;
    let new = validate(limits, &image, body.ty, &body.data, &body.class_label, body.confidence, AnnotationSource::Manual, Some(user.id))?;
    check_annotation_count(&image, 1, limits.max_annotations_per_image)?;
    let row = af_db::annotations::insert(&state.db, &new).await?;
    Ok((StatusCode::CREATED, AppJson(row.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptPrediction {
    /// The `accept_token` of one annotation in a `POST /api/v1/models/{id}/predict` answer
    /// for this image (predicted by `image_id`).
    pub accept_token: String,
}

/// Saves one prediction of a model as an annotation (editors): the server signed it when it
/// predicted the image, so the stored shape, class and confidence are the model's, and its
/// source is `custom_model`. Edit it afterwards like any annotation.
#[utoipa::path(post, path = "/api/v1/images/{id}/annotations/accept", tag = "annotations", security(("bearer" = [])), request_body = AcceptPrediction,
    params(("id" = i64, Path, description = "Image id")),
    responses((status = 201, body = AnnotationResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn accept_prediction(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppJson(body): AppJson<AcceptPrediction>) -> AppResult<(StatusCode, AppJson<AnnotationResponse>)> {
    let image = image_access(&state, &user, id, ProjectRole::Editor).await?;
    let p = crate::prediction_token::verify(&state, &body.accept_token, image.id)?;
    let limits = &state.config.limits;
    let new = validate(limits, &image, p.ty, &p.data, &p.class_label, Some(p.confidence.clamp(0.0, 1.0)), AnnotationSource::CustomModel, Some(user.id))?;
    check_annotation_count(&image, 1, limits.max_annotations_per_image)?;
    let row = af_db::annotations::insert(&state.db, &new).await?;
    Ok((StatusCode::CREATED, AppJson(row.into())))
}

/// A page of the project's annotations in creation order.
#[utoipa::path(get, path = "/api/v1/projects/{id}/annotations", tag = "annotations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), Pagination),
    responses((status = 200, body = Paged<AnnotationResponse>), (status = 404, body = ErrorBody)))]
async fn list_project_annotations(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppQuery(p): AppQuery<Pagination>) -> AppResult<AppJson<Paged<AnnotationResponse>>> {
    let page = p.resolve()?;
    project_access(&state, &user, id, ProjectRole::Viewer).await?;
    let (rows, total) = af_db::annotations::list_by_project(&state.db, id, page).await?;
    Ok(AppJson(Paged { items: rows.into_iter().map(Into::into).collect(), total, page: page.page, per_page: page.per_page }))
}

#[utoipa::path(get, path = "/api/v1/annotations/{id}", tag = "annotations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Annotation id")),
    responses((status = 200, body = AnnotationResponse), (status = 404, body = ErrorBody)))]
async fn get_annotation(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<AnnotationResponse>> {
    Ok(AppJson(annotation_access(&state, &user, id, ProjectRole::Viewer).await?.into()))
}

/// Changes an annotation (editors); absent fields keep their values, and the result is
/// validated as a whole.
#[utoipa::path(patch, path = "/api/v1/annotations/{id}", tag = "annotations", security(("bearer" = [])), request_body = UpdateAnnotation,
    params(("id" = i64, Path, description = "Annotation id")),
    responses((status = 200, body = AnnotationResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_annotation(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppJson(body): AppJson<UpdateAnnotation>) -> AppResult<AppJson<AnnotationResponse>> {
    let current = annotation_access(&state, &user, id, ProjectRole::Editor).await?;
    let image = af_db::images::get(&state.db, current.image_id).await?;
    let ty = body.ty.unwrap_or(current.ty);
    if body.ty.is_some_and(|t| t != current.ty) && body.data.is_none() {
        return Err(AppError::invalid("data", "changing the type needs new data for that type"));
    }
    let data = body.data.unwrap_or(current.data.0);
    let class_label = body.class_label.unwrap_or(current.class_label);
    let confidence = body.confidence.unwrap_or(current.confidence);
    if body.source != Some(current.source) {
        check_client_source(body.source)?;
    }
    let source = body.source.unwrap_or(current.source);
    let new = validate(&state.config.limits, &image, ty, &data, &class_label, confidence, source, current.created_by)?;
    Ok(AppJson(af_db::annotations::update(&state.db, id, &new).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/annotations/{id}", tag = "annotations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Annotation id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_annotation(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<StatusCode> {
    annotation_access(&state, &user, id, ProjectRole::Editor).await?;
    af_db::annotations::delete(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

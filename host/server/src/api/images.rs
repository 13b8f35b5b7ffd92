//! `/api/v1/projects/{id}/images` and `/api/v1/images/{id}`: upload (multipart, validated by
//! decoding), list with paging, metadata, the file itself, the image-level class label, delete.

use af_core::{ImageLimits, ImageTooLarge, ProjectRole};
use af_engine::predict::DecodeError;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{image_access, project_access, AuthUser};
use crate::config::Config;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{double_option, AppJson, AppPath, AppQuery, Paged, Pagination};
use crate::imagefile;
use crate::state::AppState;
use crate::storage::Storage;

pub fn router(config: &Config) -> OpenApiRouter<AppState> {
    let upload = OpenApiRouter::new()
        .routes(routes!(upload_images, list_images))
        .layer(DefaultBodyLimit::max(config.max_upload_bytes.min(usize::MAX as u64) as usize));
    OpenApiRouter::new()
        .merge(upload)
        .routes(routes!(get_image, update_image, delete_image))
        .routes(routes!(get_image_file))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageResponse {
    pub id: i64,
    pub project_id: i64,
    /// The name the file was uploaded with.
    pub filename: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    pub sha256: String,
    /// The image-level class (classification), if set.
    pub class_label: Option<String>,
    pub annotation_count: i64,
    /// Where to GET the file (add `?token=` where headers cannot be sent, as in `<img src>`).
    pub file_url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<af_db::images::Image> for ImageResponse {
    fn from(i: af_db::images::Image) -> Self {
        ImageResponse {
            file_url: format!("/api/v1/images/{}/file", i.id),
            id: i.id,
            project_id: i.project_id,
            filename: i.filename,
            content_type: i.content_type,
            width: i.width as u32,
            height: i.height as u32,
            size_bytes: i.size_bytes as u64,
            sha256: i.sha256,
            class_label: i.class_label,
            annotation_count: i.annotation_count,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Skipped {
    pub filename: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResponse {
    /// The images created, in upload order.
    pub images: Vec<ImageResponse>,
    /// Files not added, with the reason (exact duplicates of images already in the project).
    pub skipped: Vec<Skipped>,
}

/// The multipart form of an upload: one or more parts named `files`.
// Deserialize only for `deny_unknown_fields`: the document says no other parts are taken.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadForm {
    /// At least one image file (PNG, JPEG, …).
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1)]
    files: Vec<Vec<u8>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateImage {
    /// The image-level class label (1 to 200 characters, not blank, trimmed); `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"\S")]
    pub class_label: Option<Option<String>>,
}

/// A class label as users type it: trimmed, not blank, at most 200 characters, and text
/// every database can store (no NUL: imported labels do not pass through `AppJson`).
pub fn check_class_label(field: &str, label: &str) -> Result<String, AppError> {
    crate::extract::check_text(field, label)?;
    let label = label.trim();
    if label.is_empty() {
        return Err(AppError::invalid(field, "must not be blank"));
    }
    if label.chars().count() > 200 {
        return Err(AppError::invalid(field, "must be at most 200 characters"));
    }
    Ok(label.to_string())
}

/// A file accepted for storage.
pub struct AcceptedImage {
    pub filename: String,
    pub bytes: Vec<u8>,
    pub info: imagefile::ImageInfo,
}

/// Decodes every file on the blocking pool under the default image policy (for images the
/// server makes itself, like the demo's); uploads use [`accept_images_with`].
pub async fn accept_images(files: Vec<(String, Vec<u8>)>) -> AppResult<Vec<AcceptedImage>> {
    accept_images_with(files, ImageLimits::default()).await
}

/// Decodes every file on the blocking pool under `limits`; the first bad one fails the whole
/// batch (422 naming the file, and the limit when it is too large), so a request either
/// stores all its valid images or nothing.
pub async fn accept_images_with(files: Vec<(String, Vec<u8>)>, limits: ImageLimits) -> AppResult<Vec<AcceptedImage>> {
    tokio::task::spawn_blocking(move || {
        files
            .into_iter()
            .map(|(filename, bytes)| match imagefile::inspect(&bytes, &limits) {
                Ok(info) => Ok(AcceptedImage { filename, bytes, info }),
                Err(refusal) => {
                    let reason = refusal.to_string();
                    let mut details = serde_json::json!({ "field": "files", "filename": filename, "reason": reason });
                    if let DecodeError::TooLarge(e) = &refusal {
                        details["limit"] = serde_json::json!(ImageTooLarge::SETTING);
                        details["max_image_pixels"] = serde_json::json!(e.max_pixels);
                    }
                    Err(AppError::Unprocessable { message: format!("{filename}: {reason}"), details })
                }
            })
            .collect::<AppResult<Vec<_>>>()
    })
    .await
    .map_err(anyhow::Error::from)?
}

/// Stores accepted files and their rows; duplicates (in the project, or within the batch) are
/// skipped with a reason. `class_labels` gives each image's class, if any.
pub async fn store_images(
    state: &AppState,
    project_id: i64,
    accepted: Vec<AcceptedImage>,
    class_labels: Vec<Option<String>>,
) -> AppResult<(Vec<af_db::images::Image>, Vec<Skipped>)> {
    let storage = state.storage.clone();
    let mut rows = Vec::with_capacity(accepted.len());
    let mut names = Vec::with_capacity(accepted.len());
    for (img, class_label) in accepted.iter().zip(class_labels.into_iter().chain(std::iter::repeat(None))) {
        names.push(img.filename.clone());
        rows.push(af_db::images::NewImage {
            filename: img.filename.clone(),
            storage_key: Storage::image_key(&img.info.sha256, img.info.ext),
            content_type: img.info.content_type.to_string(),
            width: img.info.width,
            height: img.info.height,
            size_bytes: img.bytes.len() as u64,
            sha256: img.info.sha256.clone(),
            class_label,
        });
    }
    let keys: Vec<String> = rows.iter().map(|r| r.storage_key.clone()).collect();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        for (img, key) in accepted.iter().zip(&keys) {
            storage.put_image(key, &img.bytes)?;
        }
        Ok(())
    })
    .await
    .map_err(anyhow::Error::from)??;
    let outcome = af_db::images::insert_many(&state.db, project_id, &rows).await?;
    let mut created = Vec::new();
    let mut skipped = Vec::new();
    for (result, filename) in outcome.into_iter().zip(names) {
        match result {
            af_db::images::Inserted::Created(image) => created.push(image),
            af_db::images::Inserted::Duplicate { existing_id } => {
                skipped.push(Skipped { filename, reason: format!("duplicate of image {existing_id} in this project") })
            }
        }
    }
    Ok((created, skipped))
}

/// Uploads images (editors). Every part must be named `files`; each file is decoded to check
/// it, within `max_image_pixels` (width × height, read from the header before decoding). One
/// bad file rejects the request and nothing is stored; exact duplicates are skipped and
/// reported.
#[utoipa::path(post, path = "/api/v1/projects/{id}/images", tag = "images", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = UploadResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_images(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<(StatusCode, AppJson<UploadResponse>)> {
    project_access(&state, &user, id, ProjectRole::Editor).await?;
    let mut multipart = multipart?;
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_string();
        if name != "files" {
            return Err(AppError::invalid(name, "unexpected form part: send images as parts named `files`"));
        }
        let filename = field.file_name().map(sanitize_filename).unwrap_or_else(|| format!("upload-{}", files.len() + 1));
        let bytes = field.bytes().await?;
        files.push((filename, bytes.to_vec()));
    }
    if files.is_empty() {
        return Err(AppError::invalid("files", "send at least one image as a part named `files`"));
    }
    let accepted = accept_images_with(files, imagefile::limits(&state.config)).await?;
    let (created, skipped) = store_images(&state, id, accepted, Vec::new()).await?;
    tracing::info!(project_id = id, created = created.len(), skipped = skipped.len(), "images uploaded");
    Ok((StatusCode::CREATED, AppJson(UploadResponse { images: created.into_iter().map(Into::into).collect(), skipped })))
}

/// The last path component of an uploaded file name, without control characters.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    if clean.is_empty() { "upload".into() } else { clean }
}

/// A page of the project's images in upload order, each with its annotation count.
#[utoipa::path(get, path = "/api/v1/projects/{id}/images", tag = "images", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), Pagination),
    responses((status = 200, body = Paged<ImageResponse>), (status = 404, body = ErrorBody)))]
async fn list_images(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppQuery(p): AppQuery<Pagination>) -> AppResult<AppJson<Paged<ImageResponse>>> {
    let page = p.resolve()?;
    project_access(&state, &user, id, ProjectRole::Viewer).await?;
    let (rows, total) = af_db::images::list(&state.db, id, page).await?;
    Ok(AppJson(Paged { items: rows.into_iter().map(Into::into).collect(), total, page: page.page, per_page: page.per_page }))
}

#[utoipa::path(get, path = "/api/v1/images/{id}", tag = "images", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id")),
    responses((status = 200, body = ImageResponse), (status = 404, body = ErrorBody)))]
async fn get_image(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<ImageResponse>> {
    Ok(AppJson(image_access(&state, &user, id, ProjectRole::Viewer).await?.into()))
}

/// Sets or clears the image-level class label (editors).
#[utoipa::path(patch, path = "/api/v1/images/{id}", tag = "images", security(("bearer" = [])), request_body = UpdateImage,
    params(("id" = i64, Path, description = "Image id")),
    responses((status = 200, body = ImageResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_image(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppJson(body): AppJson<UpdateImage>) -> AppResult<AppJson<ImageResponse>> {
    let image = image_access(&state, &user, id, ProjectRole::Editor).await?;
    let Some(label) = body.class_label else {
        return Ok(AppJson(image.into()));
    };
    let label = label.as_deref().map(|l| check_class_label("class_label", l)).transpose()?;
    Ok(AppJson(af_db::images::set_class_label(&state.db, id, label.as_deref()).await?.into()))
}

/// Deletes the image and its annotations (editors).
#[utoipa::path(delete, path = "/api/v1/images/{id}", tag = "images", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_image(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<StatusCode> {
    image_access(&state, &user, id, ProjectRole::Editor).await?;
    let image = af_db::images::delete(&state.db, id).await?;
    remove_unused_files(&state, vec![image.storage_key]).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The image file with its content type.
#[utoipa::path(get, path = "/api/v1/images/{id}/file", tag = "images", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id"), crate::auth::QueryTokenParam),
    responses((status = 200, description = "The image bytes", content_type = "image/*"), (status = 404, body = ErrorBody)))]
async fn get_image_file(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let image = image_access(&state, &user, id, ProjectRole::Viewer).await?;
    let bytes = state.storage.read_image(&image.storage_key).await?;
    Ok((
        [
            (header::CONTENT_TYPE, image.content_type),
            (header::ETAG, format!("\"{}\"", image.sha256)),
            (header::CACHE_CONTROL, "private, max-age=86400".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// Removes stored files that no image row refers to any more (after deletes). Failures are
/// logged: a leftover file wastes space but breaks nothing.
pub async fn remove_unused_files(state: &AppState, keys: Vec<String>) {
    for key in keys {
        match af_db::images::storage_key_in_use(&state.db, &key).await {
            Ok(false) => {
                if let Err(e) = state.storage.remove_image(&key) {
                    tracing::warn!(key, error = %e, "could not remove an unused image file");
                }
            }
            Ok(true) => {}
            Err(e) => tracing::warn!(key, error = %e, "could not check whether an image file is still used"),
        }
    }
}

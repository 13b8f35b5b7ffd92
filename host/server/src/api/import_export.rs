//! `POST /api/v1/projects/{id}/import` (a zip as multipart part `file`, or `{"path"}` on the
//! server for admins; COCO, YOLO or ImageFolder, detected or named by `format`) and
//! `GET /api/v1/projects/{id}/export?format=coco`.

use af_core::ProjectRole;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::annotations::validate;
use super::images::{store_images, AcceptedImage};
use crate::auth::{project_access, AuthUser};
use crate::config::Config;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::imagefile;
use crate::import::{self, ImportError, ImportFormat, ImportPlan, SkipKind, SkippedItem};
use crate::state::AppState;

pub fn router(config: &Config) -> OpenApiRouter<AppState> {
    let import = OpenApiRouter::new()
        .routes(routes!(import_dataset))
        .layer(DefaultBodyLimit::max(config.max_import_bytes.min(usize::MAX as u64) as usize));
    OpenApiRouter::new().merge(import).routes(routes!(export_project))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportFromPath {
    /// A directory (or a .zip file) on the server (admins only).
    pub path: String,
    /// `coco`, `yolo` or `imagefolder`; detected when absent.
    pub format: Option<ImportFormat>,
}

/// The multipart form of an import: the archive and, optionally, its format.
// Deserialize only for `deny_unknown_fields`: the document says no other parts are taken.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ImportForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    format: Option<ImportFormat>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub format: ImportFormat,
    pub images_imported: usize,
    pub images_skipped: usize,
    pub annotations_imported: usize,
    pub annotations_skipped: usize,
    /// Everything not imported, with the reason.
    pub skipped: Vec<SkippedItem>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `coco`, `yolo` or `imagefolder`; detected when absent.
    pub format: Option<ImportFormat>,
}

impl From<ImportError> for AppError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Invalid(m) => AppError::Unprocessable { message: m, details: serde_json::json!({"field": "file"}) },
            ImportError::TooLarge(m) => AppError::PayloadTooLarge(m),
            ImportError::Io(e) => AppError::Internal(e.into()),
        }
    }
}

/// Imports a dataset into the project (editors). Images are decoded and shapes validated one
/// by one; what cannot be imported is skipped and reported, never half-stored.
#[utoipa::path(post, path = "/api/v1/projects/{id}/import", tag = "import-export", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), ImportQuery),
    request_body(content((ImportForm = "multipart/form-data"), (ImportFromPath = "application/json"))),
    responses((status = 200, body = ImportReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_dataset(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<i64>,
    AppQuery(query): AppQuery<ImportQuery>,
    request: Request,
) -> AppResult<AppJson<ImportReport>> {
    project_access(&state, &user, id, ProjectRole::Editor).await?;
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let work = tempfile::Builder::new().prefix("import-").tempdir_in(state.storage.tmp_dir()).map_err(anyhow::Error::from)?;
    let max = state.config.max_import_bytes;
    let (source, mut format) = if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &state).await?;
        let mut zip_path = None;
        let mut format = None;
        while let Some(mut field) = multipart.next_field().await? {
            match field.name().unwrap_or_default() {
                "file" => {
                    let path = work.path().join("upload.zip");
                    let mut f = std::fs::File::create(&path).map_err(anyhow::Error::from)?;
                    while let Some(chunk) = field.chunk().await? {
                        f.write_all(&chunk).map_err(anyhow::Error::from)?;
                    }
                    zip_path = Some(path);
                }
                "format" => {
                    let text = field.text().await?;
                    format = Some(text.trim().parse::<ImportFormat>().map_err(|m| AppError::invalid("format", m))?);
                }
                other => return Err(AppError::invalid(other.to_string(), "unexpected form part (expected `file` and optionally `format`)")),
            }
        }
        let zip_path = zip_path.ok_or_else(|| AppError::invalid("file", "send the dataset as a zip in a part named `file`"))?;
        let dir = work.path().join("data");
        let z = zip_path.clone();
        let d = dir.clone();
        tokio::task::spawn_blocking(move || import::extract_zip(&z, &d, max)).await.map_err(anyhow::Error::from)??;
        (dir, format)
    } else if content_type.starts_with("application/json") {
        let AppJson(body) = AppJson::<ImportFromPath>::from_request(request, &state).await?;
        if !user.is_admin() {
            return Err(AppError::Forbidden("importing from a server path is for admins; upload a zip instead".into()));
        }
        let path = PathBuf::from(&body.path);
        let dir = if path.is_dir() {
            path
        } else if path.is_file() && path.extension().is_some_and(|e| e == "zip") {
            let dir = work.path().join("data");
            let d = dir.clone();
            tokio::task::spawn_blocking(move || import::extract_zip(&path, &d, max)).await.map_err(anyhow::Error::from)??;
            dir
        } else {
            return Err(AppError::invalid("path", format!("{} is not a directory or a .zip file on the server", body.path)));
        };
        (dir, body.format)
    } else {
        return Err(AppError::UnsupportedMediaType("send a multipart form with a zip `file`, or JSON `{\"path\"}`".into()));
    };
    format = format.or(query.format);
    let max_points = state.config.limits.max_polygon_points;
    let plan = tokio::task::spawn_blocking(move || import::scan(&source, format, max_points)).await.map_err(anyhow::Error::from)??;
    let report = run_plan(&state, id, user.id, plan).await?;
    tracing::info!(project_id = id, format = ?report.format, images = report.images_imported, annotations = report.annotations_imported, skipped = report.skipped.len(), "dataset imported");
    drop(work);
    Ok(AppJson(report))
}

/// Images per batch: bounds memory (decoded bytes) and transaction size.
const BATCH: usize = 64;

async fn run_plan(state: &AppState, project_id: i64, user_id: i64, plan: ImportPlan) -> AppResult<ImportReport> {
    let mut report = ImportReport {
        format: plan.format,
        images_imported: 0,
        images_skipped: 0,
        annotations_imported: 0,
        annotations_skipped: 0,
        skipped: plan.skipped,
    };
    report.images_skipped = report.skipped.iter().filter(|s| s.kind == SkipKind::Image).count();
    report.annotations_skipped = report.skipped.len() - report.images_skipped;
    let image_limits = imagefile::limits(&state.config);
    for batch in plan.images.chunks(BATCH) {
        let batch = batch.to_vec();
        // Read and decode on the blocking pool; a bad image is skipped with its reason.
        let checked = tokio::task::spawn_blocking(move || {
            batch
                .into_iter()
                .map(|item| {
                    let result = std::fs::read(&item.path).map_err(|_| "the file cannot be read".to_string()).and_then(|bytes| {
                        imagefile::inspect(&bytes, &image_limits)
                            .map(|info| AcceptedImage { filename: item.filename.clone(), bytes, info })
                            .map_err(|refusal| refusal.to_string())
                    });
                    (item, result)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(anyhow::Error::from)?;
        let mut accepted = Vec::new();
        let mut planned = Vec::new();
        for (item, result) in checked {
            match result {
                Ok(a) => {
                    accepted.push(a);
                    planned.push(item);
                }
                Err(reason) => {
                    report.images_skipped += 1;
                    report.annotations_skipped += item.annotations.len();
                    report.skipped.push(SkippedItem::image(item.filename, reason));
                }
            }
        }
        let labels = planned.iter().map(|p| p.class_label.clone()).collect();
        let (created, skipped) = store_images(state, project_id, accepted, labels).await?;
        let created_by_name: std::collections::HashMap<&str, &af_db::images::Image> = created.iter().map(|c| (c.filename.as_str(), c)).collect();
        for s in skipped {
            report.images_skipped += 1;
            report.skipped.push(SkippedItem::image(s.filename, s.reason));
        }
        let mut rows = Vec::new();
        for item in &planned {
            let Some(image) = created_by_name.get(item.filename.as_str()) else {
                report.annotations_skipped += item.annotations.len();
                continue;
            };
            report.images_imported += 1;
            let max = state.config.limits.max_annotations_per_image;
            let mut kept = 0usize;
            for (n, a) in item.annotations.iter().enumerate() {
                if kept == max {
                    // One entry for the rest, not one per annotation.
                    let rest = item.annotations.len() - n;
                    report.annotations_skipped += rest;
                    report.skipped.push(SkippedItem::annotation(
                        format!("{} (annotations {} to {})", item.filename, n + 1, item.annotations.len()),
                        format!("this server accepts at most {max} annotations per image (max_annotations_per_image)"),
                    ));
                    break;
                }
                let (ty, data) = a.geometry.to_pixels(image.width as u32, image.height as u32);
                match validate(&state.config.limits, image, ty, &data, &a.class_label, None, af_core::AnnotationSource::Manual, Some(user_id)) {
                    Ok(row) => {
                        kept += 1;
                        rows.push(row);
                    }
                    Err(e) => {
                        report.annotations_skipped += 1;
                        report.skipped.push(SkippedItem::annotation(format!("{} (annotation {})", item.filename, n + 1), e.to_string()));
                    }
                }
            }
        }
        report.annotations_imported += af_db::annotations::insert_many(&state.db, &rows).await?.len();
    }
    Ok(report)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Only `coco` [default: coco].
    #[param(pattern = "^coco$")]
    pub format: Option<String>,
}

/// The project's images and annotations as a COCO JSON document (a download).
#[utoipa::path(get, path = "/api/v1/projects/{id}/export", tag = "import-export", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), crate::auth::QueryTokenParam, ExportQuery),
    responses((status = 200, description = "COCO JSON", content_type = "application/json"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_project(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppQuery(q): AppQuery<ExportQuery>) -> AppResult<Response> {
    project_access(&state, &user, id, ProjectRole::Viewer).await?;
    let format = q.format.unwrap_or_else(|| "coco".into());
    if format != "coco" {
        return Err(AppError::invalid("format", format!("unknown export format `{format}` (only coco)")));
    }
    let project = af_db::projects::get_for(&state.db, id, user.id).await?;
    let images = af_db::images::list_all(&state.db, id).await?;
    let annotations = af_db::annotations::list_all_by_project(&state.db, id).await?;
    let doc = crate::export::coco(&project.name, &images, &annotations);
    let filename = format!("project-{id}-coco.json");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json".to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\""))],
        serde_json::to_vec_pretty(&doc).map_err(anyhow::Error::from)?,
    )
        .into_response())
}

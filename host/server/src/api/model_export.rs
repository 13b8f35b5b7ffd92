//! `/api/v1/models/{id}/export` and `/exports`: a registered model as an ONNX, TorchScript or
//! safetensors file (`af_engine::export`), made off the async runtime and cached per options
//! under `<data>/models/exports/<weights key>/`, so asking twice costs nothing and a model's
//! exports go when its weights file does.
//!
//! Options are checked before any work: an unknown format, an image size that is no
//! multiple of the model's stride, half precision on a CPU server, a dynamic batch outside
//! ONNX are 422s naming the field.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use af_engine::export::{ExportFormat, ExportOptions};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{AppJson, AppPath};
use crate::jobs::registry;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_model)).routes(routes!(list_exports)).routes(routes!(download_export))
}

/// `POST /models/{id}/export`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// `onnx`, `torchscript` or `safetensors`.
    pub format: String,
    /// Square input size [default: the model's training size]; a multiple of 32 for detect
    /// and segment models.
    pub imgsz: Option<i64>,
    /// Batch size of the exported input [default: 1].
    pub batch: Option<i64>,
    /// ONNX only: a symbolic batch dimension [default: false].
    pub dynamic: Option<bool>,
    /// Float16 weights, input and outputs; needs a server with a CUDA device [default: false].
    pub half: Option<bool>,
}

/// One exported file of a model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportResponse {
    /// `onnx`, `torchscript` or `safetensors`.
    #[schema(value_type = String)]
    pub format: ExportFormat,
    /// The file's name, for `GET /models/{id}/exports/{file}`.
    pub file: String,
    pub size_bytes: u64,
    /// Where to download it.
    pub download_url: String,
    /// True when the file already existed for these options.
    pub cached: bool,
    /// Seconds the export took (0 when cached).
    pub seconds: f64,
}

fn exports_dir(state: &AppState, model_key: &str) -> AppResult<PathBuf> {
    Ok(state.storage.model_exports_dir(model_key)?)
}

fn format_of(file: &str) -> Option<ExportFormat> {
    let ext = Path::new(file).extension()?.to_str()?;
    ExportFormat::ALL.into_iter().find(|f| f.extension() == ext)
}

/// A file name of ours (`model-640.onnx`, …): no path parts, no dot files, a known extension.
fn valid_file_name(file: &str) -> bool {
    !file.starts_with('.')
        && file.len() <= 128
        && file.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && format_of(file).is_some()
}

/// One lock per export file, so concurrent requests for the same options export once.
fn file_lock(path: &Path) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut map = LOCKS.get_or_init(Default::default).lock().expect("export lock map");
    map.entry(path.to_path_buf()).or_default().clone()
}

fn checked_options(state: &AppState, m: &af_db::models::Model, body: &ExportRequest) -> AppResult<(ExportOptions, i64)> {
    let format: ExportFormat = body.format.parse().map_err(|e: af_engine::export::OptionError| AppError::invalid(e.field, e.message))?;
    let half = body.half.unwrap_or(false);
    // Exports run on the CPU (libtorch's default here), except half precision, which needs
    // the server's CUDA device.
    let device = if half { af_engine::parse_device(&state.config.device.to_string()).unwrap_or(tch::Device::Cpu) } else { tch::Device::Cpu };
    let opts = ExportOptions { format, imgsz: body.imgsz, batch: body.batch.unwrap_or(1), dynamic: body.dynamic.unwrap_or(false), half, device };
    let half_msg = "half precision export needs a CUDA device and this server runs models on the CPU";
    let imgsz = opts.check(m.task_type, Some(m.image_size)).map_err(|e| match e.field {
        "half" => AppError::invalid("half", half_msg),
        field => AppError::invalid(field, e.message),
    })?;
    Ok((opts, imgsz))
}

/// Exports a model (or answers the file already exported with these options). The work runs
/// on a blocking thread; the answer names the file to download and its size.
#[utoipa::path(post, path = "/api/v1/models/{id}/export", tag = "models", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Model id")), request_body = ExportRequest,
    responses((status = 200, body = ExportResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn export_model(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppJson(body): AppJson<ExportRequest>) -> AppResult<AppJson<ExportResponse>> {
    let m = registry::visible_model(&state, &user, id).await?;
    let (opts, imgsz) = checked_options(&state, &m, &body)?;
    let weights = state.storage.model_file(&m.model_path)?;
    let file = opts.file_name("model", imgsz);
    let path = exports_dir(&state, &m.model_path)?.join(&file);
    let download_url = format!("/api/v1/models/{id}/exports/{file}");
    let lock = file_lock(&path);
    let _guard = lock.lock().await;
    if let Ok(meta) = tokio::fs::metadata(&path).await {
        return Ok(AppJson(ExportResponse { format: opts.format, file, size_bytes: meta.len(), download_url, cached: true, seconds: 0.0 }));
    }
    if !tokio::fs::try_exists(&weights).await.unwrap_or(false) {
        tracing::error!(model = id, path = %weights.display(), "the model's weights file is missing");
        return Err(AppError::Conflict(format!("the weights file of model {id} is missing on the server; ask an admin to restore it, or train the model again")));
    }
    // At most two exports at a time: each one keeps a CPU core busy (a trace runs the model).
    static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let _permit = RUNNING.acquire().await.map_err(anyhow::Error::from)?;
    let out = path.clone();
    let exported = tokio::task::spawn_blocking(move || af_engine::export::export_file(&weights, &opts, Some(&out)))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(|e| {
            tracing::error!(model = id, error = %e, "export failed");
            match e {
                af_engine::EngineError::Weights { .. } => {
                    AppError::Conflict(format!("the weights file of model {id} cannot be read; ask an admin to restore it, or train the model again"))
                }
                other => anyhow::anyhow!("exporting model {id}: {other}").into(),
            }
        })?;
    tracing::info!(model = id, file = %file, bytes = exported.bytes, seconds = exported.seconds, "model exported");
    Ok(AppJson(ExportResponse { format: exported.format, file, size_bytes: exported.bytes, download_url, cached: false, seconds: exported.seconds }))
}

/// The files exported so far for a model, with their sizes.
#[utoipa::path(get, path = "/api/v1/models/{id}/exports", tag = "models", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Model id")),
    responses((status = 200, body = Vec<ExportResponse>), (status = 404, body = ErrorBody)))]
async fn list_exports(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<Vec<ExportResponse>>> {
    let m = registry::visible_model(&state, &user, id).await?;
    let dir = exports_dir(&state, &m.model_path)?;
    let mut out = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            let Some(file) = e.file_name().to_str().map(str::to_string) else { continue };
            let (Some(format), true) = (format_of(&file), valid_file_name(&file)) else { continue };
            let size_bytes = e.metadata().await.map(|m| m.len()).unwrap_or(0);
            out.push(ExportResponse { format, download_url: format!("/api/v1/models/{id}/exports/{file}"), file, size_bytes, cached: true, seconds: 0.0 });
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(AppJson(out))
}

/// Downloads an exported file (named as `POST /models/{id}/export` answered).
#[utoipa::path(get, path = "/api/v1/models/{id}/exports/{file}", tag = "models", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Model id"), ("file" = String, Path, description = "Exported file name")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
async fn download_export(State(state): State<AppState>, user: AuthUser, AppPath((id, file)): AppPath<(i64, String)>) -> AppResult<Response> {
    let m = registry::visible_model(&state, &user, id).await?;
    let not_found = || AppError::not_found(format!("export `{file}` of model {id} (POST /api/v1/models/{id}/export makes it)"));
    if !valid_file_name(&file) {
        return Err(not_found());
    }
    let path = exports_dir(&state, &m.model_path)?.join(&file);
    let f = tokio::fs::File::open(&path).await.map_err(|_| not_found())?;
    let len = f.metadata().await.map_err(anyhow::Error::from)?.len();
    let safe: String = m.name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    let download_name = format!("{safe}{}", file.strip_prefix("model").unwrap_or(&file));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{download_name}\"")),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(f)),
    )
        .into_response())
}

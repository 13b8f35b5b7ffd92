//! `/api/v1/plugins`: the plugin registry. Everyone signed in may list and inspect plugins
//! (the training wizard offers them); only admins upload, enable/disable, delete and choose
//! the defaults.
//!
//! An upload is validated before it is stored (see `crate::plugins`): not a component, a
//! component of no or another version of our worlds, a component that imports what the
//! sandbox does not give, or one whose `metadata()` traps, runs too long or allocates too
//! much is a 422 naming the problem — and the server keeps serving.

use af_core::TaskType;
use af_db::plugins::PluginRow;
use axum::extract::multipart::Multipart;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::AuthUser;
use crate::config::Config;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::plugins::{defaults_map, task_types};
use crate::state::AppState;

pub fn router(config: &Config) -> OpenApiRouter<AppState> {
    let upload = OpenApiRouter::new()
        .routes(routes!(list_plugins, upload_plugin))
        .layer(DefaultBodyLimit::max(config.max_upload_bytes.min(usize::MAX as u64) as usize));
    OpenApiRouter::new()
        .merge(upload)
        .routes(routes!(get_defaults))
        .routes(routes!(set_default))
        .routes(routes!(get_plugin, update_plugin, delete_plugin))
}

/// An installed plugin.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginResponse {
    pub id: i64,
    /// `converter`, `splitter` or `formatter`.
    pub kind: String,
    pub name: String,
    pub version: String,
    pub description: String,
    /// Lower-case hex SHA-256 of the component (what jobs record).
    pub sha256: String,
    pub size_bytes: i64,
    /// Shipped with the app (cannot be deleted).
    pub builtin: bool,
    /// Disabled plugins cannot be chosen for new jobs.
    pub enabled: bool,
    /// Whether it is the default of its kind for any task type.
    pub is_default: bool,
    /// The task types it is the default for.
    pub default_for: Vec<TaskType>,
    /// Task types it supports.
    pub task_types: Vec<TaskType>,
    /// Annotation types a converter accepts.
    pub annotation_kinds: Vec<af_core::AnnotationType>,
    /// Declared options: `[{name, description, type, default}]`.
    #[schema(value_type = Vec<Object>)]
    pub options: Value,
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PluginResponse {
    fn of(row: PluginRow, defaults: &std::collections::BTreeMap<String, std::collections::BTreeMap<TaskType, i64>>) -> PluginResponse {
        let default_for: Vec<TaskType> =
            defaults.get(&row.kind).map(|m| m.iter().filter(|(_, id)| **id == row.id).map(|(t, _)| *t).collect()).unwrap_or_default();
        let meta = &row.metadata.0;
        PluginResponse {
            task_types: task_types(&row),
            annotation_kinds: serde_json::from_value(meta["annotation_kinds"].clone()).unwrap_or_default(),
            options: meta.get("options").cloned().unwrap_or_else(|| Value::Array(vec![])),
            is_default: !default_for.is_empty(),
            default_for,
            id: row.id,
            kind: row.kind,
            name: row.name,
            version: row.version,
            description: row.description,
            sha256: row.sha256,
            size_bytes: row.size_bytes,
            builtin: row.builtin,
            enabled: row.enabled,
            uploaded_by: row.uploaded_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn require_admin(user: &AuthUser) -> AppResult<()> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins can manage plugins".into()))
    }
}

fn parse_kind(kind: &str, field: &str) -> AppResult<af_plugin_host::Kind> {
    kind.parse().map_err(|m: String| AppError::invalid(field, m))
}

/// A plugin kind as the OpenAPI document states it (the handlers parse the text with
/// [`parse_kind`], which accepts exactly these).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum PluginKind {
    Converter,
    Splitter,
    Formatter,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PluginFilter {
    /// `converter`, `splitter` or `formatter`.
    #[param(value_type = Option<PluginKind>, inline)]
    pub kind: Option<String>,
}

/// The installed plugins, by kind, name and version.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins", security(("bearer" = [])), params(PluginFilter),
    responses((status = 200, body = Vec<PluginResponse>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_plugins(State(state): State<AppState>, _user: AuthUser, AppQuery(f): AppQuery<PluginFilter>) -> AppResult<AppJson<Vec<PluginResponse>>> {
    let kind = f.kind.as_deref().map(|k| parse_kind(k, "kind")).transpose()?;
    state.plugins.ensure_builtins(&state.db).await?;
    let defaults = defaults_map(&state.db).await?;
    let rows = af_db::plugins::list(&state.db).await?;
    Ok(AppJson(rows.into_iter().filter(|r| kind.is_none_or(|k| r.kind == k.as_str())).map(|r| PluginResponse::of(r, &defaults)).collect()))
}

/// The multipart form of an upload: the component in part `file`.
// Deserialize only for `deny_unknown_fields`: the document says no other parts are taken.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PluginUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Uploads a plugin component (`.wasm`, built for `wasm32-wasip2` against the WIT package in
/// `wit/`); admins only. It is validated first: 422 when it is not a component, implements
/// none of the plugin worlds of this WIT version, needs imports the sandbox does not give,
/// or fails, loops or over-allocates in its `metadata()` call; 409 when the same bytes or the
/// same kind, name and version are installed.
#[utoipa::path(post, path = "/api/v1/plugins", tag = "plugins", security(("bearer" = [])),
    request_body(content = PluginUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = PluginResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_plugin(State(state): State<AppState>, user: AuthUser, req: Request) -> AppResult<(StatusCode, AppJson<PluginResponse>)> {
    require_admin(&user)?;
    let mut form = Multipart::from_request(req, &state).await?;
    let mut bytes = None;
    while let Some(field) = form.next_field().await? {
        match field.name().unwrap_or_default() {
            "file" => bytes = Some(field.bytes().await?.to_vec()),
            other => return Err(AppError::invalid(other.to_string(), "unknown form field (expected `file`)")),
        }
    }
    let bytes = bytes.ok_or_else(|| AppError::invalid("file", "upload the component in a part named `file`"))?;
    if bytes.is_empty() {
        return Err(AppError::invalid("file", "the file is empty"));
    }
    let row = state.plugins.upload(&state.db, bytes, user.id).await?;
    let defaults = defaults_map(&state.db).await?;
    Ok((StatusCode::CREATED, AppJson(PluginResponse::of(row, &defaults))))
}

#[utoipa::path(get, path = "/api/v1/plugins/{id}", tag = "plugins", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Plugin id")),
    responses((status = 200, body = PluginResponse), (status = 404, body = ErrorBody)))]
async fn get_plugin(State(state): State<AppState>, _user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<PluginResponse>> {
    state.plugins.ensure_builtins(&state.db).await?;
    let row = plugin_row(&state, id).await?;
    Ok(AppJson(PluginResponse::of(row, &defaults_map(&state.db).await?)))
}

async fn plugin_row(state: &AppState, id: i64) -> AppResult<PluginRow> {
    match af_db::plugins::get(&state.db, id).await {
        Err(af_db::DbError::NotFound) => Err(AppError::not_found(format!("plugin {id}"))),
        other => Ok(other?),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlugin {
    /// Disabled plugins cannot be chosen for new jobs (running jobs keep theirs). A default
    /// cannot be disabled.
    pub enabled: Option<bool>,
}

/// Enables or disables a plugin (admins only).
#[utoipa::path(patch, path = "/api/v1/plugins/{id}", tag = "plugins", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Plugin id")), request_body = UpdatePlugin,
    responses((status = 200, body = PluginResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_plugin(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppJson(body): AppJson<UpdatePlugin>) -> AppResult<AppJson<PluginResponse>> {
    require_admin(&user)?;
    state.plugins.ensure_builtins(&state.db).await?;
    let mut row = plugin_row(&state, id).await?;
    let defaults = defaults_map(&state.db).await?;
    if let Some(enabled) = body.enabled {
        if !enabled && defaults.get(&row.kind).is_some_and(|m| m.values().any(|d| *d == id)) {
            return Err(AppError::Conflict(format!("plugin {id} (`{}`) is a default {}; make another plugin the default first", row.name, row.kind)));
        }
        row = af_db::plugins::set_enabled(&state.db, id, enabled).await?;
        tracing::info!(plugin = id, enabled, "plugin updated");
    }
    Ok(AppJson(PluginResponse::of(row, &defaults)))
}

/// Deletes an uploaded plugin (admins only). Refused (409) for built-ins, for a default of
/// its kind, and while a running job uses it.
#[utoipa::path(delete, path = "/api/v1/plugins/{id}", tag = "plugins", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Plugin id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_plugin(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<StatusCode> {
    require_admin(&user)?;
    state.plugins.ensure_builtins(&state.db).await?;
    let row = plugin_row(&state, id).await?;
    if row.builtin {
        return Err(AppError::Conflict(format!("plugin {id} (`{}`) is built in and cannot be deleted; disable it instead", row.name)));
    }
    let defaults = defaults_map(&state.db).await?;
    if let Some(tasks) = defaults.get(&row.kind).map(|m| m.iter().filter(|(_, d)| **d == id).map(|(t, _)| t.to_string()).collect::<Vec<_>>()) {
        if !tasks.is_empty() {
            return Err(AppError::Conflict(format!(
                "plugin {id} (`{}`) is the default {} for {}; make another plugin the default first",
                row.name,
                row.kind,
                tasks.join(", ")
            )));
        }
    }
    let jobs = state.plugins.jobs_using(&state.db, &row).await?;
    if !jobs.is_empty() {
        return Err(AppError::Conflict(format!("plugin {id} (`{}`) is in use by running training jobs {jobs:?}; wait for them or cancel them first", row.name)));
    }
    match af_db::plugins::delete(&state.db, id).await {
        // A default set between the check and the delete (the foreign key refuses it).
        Err(af_db::DbError::Constraint(_)) => return Err(AppError::Conflict(format!("plugin {id} just became a default; it was not deleted"))),
        other => other?,
    }
    tracing::info!(plugin = id, name = %row.name, version = %row.version, "plugin deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// One default: the plugin a job of `task_type` uses for `kind` when its config names none.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefaultPlugin {
    pub kind: String,
    pub task_type: TaskType,
    pub plugin_id: i64,
    pub name: String,
    pub version: String,
    pub sha256: String,
}

async fn defaults_list(state: &AppState) -> AppResult<Vec<DefaultPlugin>> {
    let rows = af_db::plugins::list(&state.db).await?;
    let mut out = Vec::new();
    for d in af_db::plugins::defaults(&state.db).await? {
        if let Some(p) = rows.iter().find(|r| r.id == d.plugin_id) {
            out.push(DefaultPlugin { kind: d.kind, task_type: d.task_type, plugin_id: p.id, name: p.name.clone(), version: p.version.clone(), sha256: p.sha256.clone() });
        }
    }
    Ok(out)
}

/// The default plugin of each kind for each task type.
#[utoipa::path(get, path = "/api/v1/plugins/defaults", tag = "plugins", security(("bearer" = [])),
    responses((status = 200, body = Vec<DefaultPlugin>), (status = 401, body = ErrorBody)))]
async fn get_defaults(State(state): State<AppState>, _user: AuthUser) -> AppResult<AppJson<Vec<DefaultPlugin>>> {
    state.plugins.ensure_builtins(&state.db).await?;
    Ok(AppJson(defaults_list(&state).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDefault {
    pub plugin_id: i64,
    /// The task types to make it the default for [default: every task type it supports].
    pub task_types: Option<Vec<TaskType>>,
}

/// Makes a plugin the default of its kind (admins only): the next job that names no plugin of
/// this kind uses it, without a restart; running jobs keep theirs. Answers every default.
#[utoipa::path(put, path = "/api/v1/plugins/defaults/{kind}", tag = "plugins", security(("bearer" = [])),
    params(("kind" = inline(PluginKind), Path, description = "`converter`, `splitter` or `formatter`")), request_body = SetDefault,
    responses((status = 200, body = Vec<DefaultPlugin>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_default(State(state): State<AppState>, user: AuthUser, AppPath(kind): AppPath<String>, AppJson(body): AppJson<SetDefault>) -> AppResult<AppJson<Vec<DefaultPlugin>>> {
    require_admin(&user)?;
    let kind = parse_kind(&kind, "kind")?;
    state.plugins.ensure_builtins(&state.db).await?;
    let id = body.plugin_id;
    let row = match af_db::plugins::get(&state.db, id).await {
        Err(af_db::DbError::NotFound) => return Err(AppError::invalid("plugin_id", format!("there is no plugin {id}"))),
        other => other?,
    };
    if row.kind != kind.as_str() {
        return Err(AppError::invalid("plugin_id", format!("plugin {id} (`{}`) is a {}, not a {kind}", row.name, row.kind)));
    }
    if !row.enabled {
        return Err(AppError::invalid("plugin_id", format!("plugin {id} (`{}`) is disabled; enable it first", row.name)));
    }
    let supported = task_types(&row);
    let tasks = match body.task_types {
        Some(t) if t.is_empty() => return Err(AppError::invalid("task_types", "name at least one task type (or leave it out for all the plugin supports)")),
        Some(t) => {
            if let Some(bad) = t.iter().find(|t| !supported.contains(t)) {
                return Err(AppError::invalid("task_types", format!("plugin {id} (`{}`) does not support {bad} tasks", row.name)));
            }
            t
        }
        None => supported,
    };
    // Load it now, so a default that cannot be loaded is refused here rather than failing
    // the next job.
    state.plugins.load(&state.db, &row).await?;
    af_db::plugins::set_default(&state.db, kind.as_str(), &tasks, id, false).await?;
    tracing::info!(plugin = id, %kind, ?tasks, "default plugin set");
    Ok(AppJson(defaults_list(&state).await?))
}

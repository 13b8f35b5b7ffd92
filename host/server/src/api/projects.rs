//! `/api/v1/projects`: create, list (mine), get, update, delete; members.

use af_core::ProjectRole;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{project_access, AuthUser};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{AppJson, AppPath};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project, delete_project))
        .routes(routes!(list_members, add_member))
        .routes(routes!(remove_member))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectResponse {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The caller's role in this project (admins act as owners).
    pub role: ProjectRole,
    pub image_count: i64,
    pub annotation_count: i64,
}

impl From<af_db::projects::Project> for ProjectResponse {
    fn from(p: af_db::projects::Project) -> Self {
        ProjectResponse {
            id: p.id,
            name: p.name,
            description: p.description,
            created_by: p.created_by,
            created_at: p.created_at,
            updated_at: p.updated_at,
            role: p.role,
            image_count: p.image_count,
            annotation_count: p.annotation_count,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// 1 to 200 characters, not blank (trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    /// 1 to 200 characters, not blank (trimmed); absent or `null` keeps the name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    pub user_id: i64,
    pub email: String,
    pub role: ProjectRole,
    pub created_at: DateTime<Utc>,
}

/// Give a user (by id or email) a role in the project, or change their role.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub role: ProjectRole,
}

/// [`AddMember`] as the OpenAPI document states it: exactly one of `user_id` and `email`
/// (the handler checks the same).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = AddMember)]
#[allow(dead_code)]
enum AddMemberSchema {
    ById { user_id: i64, role: ProjectRole },
    ByEmail { email: String, role: ProjectRole },
}

fn check_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "must not be empty"));
    }
    if name.chars().count() > 200 {
        return Err(AppError::invalid("name", "must be at most 200 characters"));
    }
    Ok(name.to_string())
}

fn check_description(d: &str) -> Result<(), AppError> {
    if d.chars().count() > 10_000 {
        return Err(AppError::invalid("description", "must be at most 10000 characters"));
    }
    Ok(())
}

/// The projects the caller is a member of (every project, for admins).
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = Vec<ProjectResponse>), (status = 401, body = ErrorBody)))]
async fn list_projects(State(state): State<AppState>, user: AuthUser) -> AppResult<AppJson<Vec<ProjectResponse>>> {
    let rows = af_db::projects::list_for(&state.db, user.id, user.is_admin()).await?;
    Ok(AppJson(rows.into_iter().map(Into::into).collect()))
}

/// Creates a project owned by the caller.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])), request_body = CreateProject,
    responses((status = 201, body = ProjectResponse), (status = 422, body = ErrorBody)))]
async fn create_project(State(state): State<AppState>, user: AuthUser, AppJson(body): AppJson<CreateProject>) -> AppResult<(StatusCode, AppJson<ProjectResponse>)> {
    let name = check_name(&body.name)?;
    check_description(&body.description)?;
    let id = af_db::projects::create(&state.db, Some(user.id), &name, &body.description).await?;
    let project = af_db::projects::get_for(&state.db, id, user.id).await?;
    Ok((StatusCode::CREATED, AppJson(project.into())))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, body = ProjectResponse), (status = 404, body = ErrorBody)))]
async fn get_project(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<ProjectResponse>> {
    project_access(&state, &user, id, ProjectRole::Viewer).await?;
    Ok(AppJson(af_db::projects::get_for(&state.db, id, user.id).await?.into()))
}

/// Renames or re-describes a project (owners).
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])), request_body = UpdateProject,
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, body = ProjectResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_project(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppJson(body): AppJson<UpdateProject>) -> AppResult<AppJson<ProjectResponse>> {
    project_access(&state, &user, id, ProjectRole::Owner).await?;
    let name = body.name.as_deref().map(check_name).transpose()?;
    if let Some(d) = &body.description {
        check_description(d)?;
    }
    af_db::projects::update(&state.db, id, name.as_deref(), body.description.as_deref()).await?;
    Ok(AppJson(af_db::projects::get_for(&state.db, id, user.id).await?.into()))
}

/// Deletes a project with its images and annotations (owners).
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_project(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<StatusCode> {
    project_access(&state, &user, id, ProjectRole::Owner).await?;
    let keys = af_db::images::storage_keys(&state.db, id).await?;
    af_db::projects::delete(&state.db, id).await?;
    super::images::remove_unused_files(&state, keys).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/members", tag = "projects", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, body = Vec<MemberResponse>), (status = 404, body = ErrorBody)))]
async fn list_members(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>) -> AppResult<AppJson<Vec<MemberResponse>>> {
    project_access(&state, &user, id, ProjectRole::Viewer).await?;
    let members = af_db::projects::members(&state.db, id).await?;
    Ok(AppJson(
        members.into_iter().map(|m| MemberResponse { user_id: m.user_id, email: m.email, role: m.role, created_at: m.created_at }).collect(),
    ))
}

/// Adds a member or changes a member's role (owners). A project keeps at least one owner.
#[utoipa::path(post, path = "/api/v1/projects/{id}/members", tag = "projects", security(("bearer" = [])), request_body = AddMemberSchema,
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 201, body = Vec<MemberResponse>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_member(State(state): State<AppState>, user: AuthUser, AppPath(id): AppPath<i64>, AppJson(body): AppJson<AddMember>) -> AppResult<(StatusCode, AppJson<Vec<MemberResponse>>)> {
    project_access(&state, &user, id, ProjectRole::Owner).await?;
    let target = match (body.user_id, body.email.as_deref()) {
        (Some(uid), None) => af_db::users::get(&state.db, uid).await,
        (None, Some(email)) => af_db::users::find_by_email(&state.db, email.trim()).await,
        _ => return Err(AppError::invalid("user_id", "give exactly one of user_id or email")),
    };
    let target = match target {
        Ok(u) => u,
        Err(af_db::DbError::NotFound) => return Err(AppError::invalid("user_id", "no such user")),
        Err(e) => return Err(e.into()),
    };
    let current = af_db::projects::member_role(&state.db, id, target.id).await?;
    if current == Some(ProjectRole::Owner) && body.role != ProjectRole::Owner && af_db::projects::owner_count(&state.db, id).await? <= 1 {
        return Err(AppError::Conflict("a project must keep at least one owner".into()));
    }
    af_db::projects::set_member(&state.db, id, target.id, body.role).await?;
    let AppJson(members) = list_members(State(state), user, AppPath(id)).await?;
    Ok((StatusCode::CREATED, AppJson(members)))
}

/// Removes a member (owners; anyone may remove themselves). A project keeps at least one owner.
#[utoipa::path(delete, path = "/api/v1/projects/{id}/members/{user_id}", tag = "projects", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Project id"), ("user_id" = i64, Path, description = "Member's user id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove_member(State(state): State<AppState>, user: AuthUser, AppPath((id, member)): AppPath<(i64, i64)>) -> AppResult<StatusCode> {
    let needed = if member == user.id { ProjectRole::Viewer } else { ProjectRole::Owner };
    project_access(&state, &user, id, needed).await?;
    let current = af_db::projects::member_role(&state.db, id, member).await?;
    let Some(current) = current else {
        return Err(AppError::not_found(format!("member {member} of project {id}")));
    };
    if current == ProjectRole::Owner && af_db::projects::owner_count(&state.db, id).await? <= 1 {
        return Err(AppError::Conflict("a project must keep at least one owner".into()));
    }
    af_db::projects::remove_member(&state.db, id, member).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `GET /healthz`: the process is up and its database answers.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::AppResult;
use crate::extract::AppJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the answer is 200.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    pub version: &'static str,
}

/// Liveness and database reachability (no authentication).
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health), (status = 500, body = crate::error::ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> AppResult<AppJson<Health>> {
    state.db.ping().await?;
    let database = match state.db.backend() {
        af_db::Backend::Sqlite => "sqlite",
        af_db::Backend::Postgres => "postgres",
    };
    Ok(AppJson(Health { status: "ok", database, version: env!("CARGO_PKG_VERSION") }))
}

//! `app(state) -> Router`: the whole HTTP surface. Each resource module owns its routes
//! (`router()` returning a `utoipa_axum` router), so the OpenAPI document is generated from
//! the same handler list that serves requests and cannot drift from it.
//!
//! To add a resource (plugins, training, models): write `api/<resource>.rs` with
//! `pub fn router() -> OpenApiRouter<AppState>` using `routes!(…)` on `#[utoipa::path]`
//! handlers, and `.merge(<resource>::router())` below.

pub mod annotation_request;
pub mod annotations;
pub mod auth;
pub mod health;
pub mod images;
pub mod import_export;
pub mod job_request;
pub mod model_export;
pub mod models;
pub mod plugins;
pub mod prelabel;
pub mod projects;
pub mod training;
pub mod ws;

mod openapi_errors;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::AppError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "AnnotateForge API", description = "Annotate images, train YOLOv8-style models, serve them.\n\n\
Errors are `{\"error\": {\"code\", \"message\", \"details\"}}`; a 422's `details.field` names the field \
(a JSON path such as `annotations[3].class_label`). Text never contains the NUL character (U+0000): \
a string or key with one is refused with a 422 naming it, since PostgreSQL cannot store it."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorBody)),
    tags(
        (name = "auth", description = "Accounts and access tokens"),
        (name = "projects", description = "Projects and their members"),
        (name = "images", description = "Images in a project"),
        (name = "annotations", description = "Shapes on images"),
        (name = "import-export", description = "COCO / YOLO / ImageFolder import, COCO export"),
        (name = "training", description = "Training jobs, their metrics and live events"),
        (name = "models", description = "The model registry and inference"),
        (name = "plugins", description = "WebAssembly plugins: upload, list, defaults (admins write)"),
        (name = "health", description = "Liveness"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The API routes and their OpenAPI document.
pub fn api_router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(auth::router())
        .merge(projects::router())
        .merge(images::router(&state.config))
        .merge(annotations::router())
        .merge(import_export::router(&state.config))
        .merge(training::router())
        .merge(ws::router())
        .merge(models::router(&state.config))
        .merge(model_export::router())
        .merge(prelabel::router())
        .merge(plugins::router(&state.config))
}

/// The OpenAPI document of [`app`], as served at `/api/v1/openapi.json`.
pub fn openapi(state: &AppState) -> utoipa::openapi::OpenApi {
    router_and_doc(state).1
}

/// The routes and their document, with the error responses every route shares added.
fn router_and_doc(state: &AppState) -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = api_router(state).split_for_parts();
    openapi_errors::document_common_errors(&mut doc);
    (router, doc)
}

pub fn app(state: AppState) -> Router {
    let (router, doc) = router_and_doc(&state);
    let doc_json = doc.to_json().expect("the OpenAPI document serialises");
    let mut router = router
        .route(
            "/api/v1/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], doc_json) }),
        )
        // Unknown API paths get a JSON 404, never the front end's index.html.
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found));
    router = match &state.config.frontend_dir {
        // Client-side routes (`/jobs/4`, deep links, reloads) answer the app itself with 200;
        // `not_found_service` would send it with a 404.
        Some(dir) => router.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => router.fallback(no_frontend),
    };
    router
        // Innermost first: `?token=` only where headers cannot be sent (a 401 elsewhere),
        // then the whole-request timeout (408), then tracing around everything.
        .layer(axum::middleware::from_fn_with_state(crate::auth::QueryTokenRoutes::from_openapi(&doc), crate::auth::query_token_policy))
        .layer(axum::middleware::from_fn_with_state(state.config.http.request_timeout, crate::http::request_deadline))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
                // The path only: query strings may carry access tokens (`?token=`).
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), route)
            }),
        )
        .with_state(state)
}

async fn api_not_found(req: Request) -> AppError {
    AppError::not_found(format!("API route {} {}", req.method(), req.uri().path()))
}

async fn no_frontend() -> Response {
    (
        StatusCode::NOT_FOUND,
        "AnnotateForge API is running; the web UI is not built (run ./scripts/run.sh, or pass --frontend-dir).\n",
    )
        .into_response()
}

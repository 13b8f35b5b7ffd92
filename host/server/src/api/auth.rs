//! `/api/v1/auth`: register, log in (JWT), who am I.

use af_core::UserRole;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{dummy_hash, hash_password, verify_password, AuthUser, MaybeUser};
use crate::error::{AppError, AppResult};
use crate::extract::AppJson;
use crate::ratelimit::ClientAddr;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register)).routes(routes!(login)).routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// An address like `name@example.com` (surrounding spaces are trimmed; case is ignored).
    #[schema(max_length = 254, pattern = r"^\s*[^@\s]+@\S+\s*$", example = "name@example.com")]
    pub email: String,
    /// 8 to 1024 characters.
    #[schema(min_length = 8, max_length = 1024, example = "a long password")]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: i64,
    pub email: String,
    /// The first registered user is `admin`.
    pub role: UserRole,
    pub created_at: DateTime<Utc>,
}

impl From<af_db::users::User> for UserResponse {
    fn from(u: af_db::users::User) -> Self {
        UserResponse { id: u.id, email: u.email, role: u.role, created_at: u.created_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

fn check_credentials(c: &Credentials) -> Result<(), AppError> {
    let email = c.email.trim();
    // Lengths in characters, as the OpenAPI document's `maxLength` counts them.
    let valid_email = email.chars().count() <= 254
        && email.split_once('@').is_some_and(|(user, host)| !user.is_empty() && !host.is_empty())
        && !email.contains(char::is_whitespace);
    if !valid_email {
        return Err(AppError::invalid("email", "must be an email address like name@example.com"));
    }
    if c.password.chars().count() < 8 {
        return Err(AppError::invalid("password", "must be at least 8 characters long"));
    }
    if c.password.chars().count() > 1024 {
        return Err(AppError::invalid("password", "must be at most 1024 characters long"));
    }
    Ok(())
}

/// Creates an account. The first account becomes the admin and owns the demo project. With
/// closed registration (`--closed-registration`), later accounts are created by an admin
/// (this request with the admin's token).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = Credentials,
    responses((status = 201, body = UserResponse),
              (status = 401, description = "An `Authorization` header with no valid token (send none to sign yourself up)", body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn register(State(state): State<AppState>, MaybeUser(caller): MaybeUser, AppJson(body): AppJson<Credentials>) -> AppResult<(StatusCode, AppJson<UserResponse>)> {
    check_credentials(&body)?;
    if state.config.closed_registration && !caller.as_ref().is_some_and(AuthUser::is_admin) && af_db::users::count(&state.db).await? > 0 {
        return Err(AppError::Forbidden("registration is closed on this server: ask an administrator to create your account".into()));
    }
    // argon2 takes tens of milliseconds of CPU on purpose; keep it off the async workers.
    let password = body.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(anyhow::Error::from)??;
    let user = match af_db::users::create(&state.db, body.email.trim(), &hash).await {
        Ok(u) => u,
        Err(af_db::DbError::Conflict(_)) => return Err(AppError::Conflict("an account with this email already exists".into())),
        Err(e) => return Err(e.into()),
    };
    if user.role == UserRole::Admin {
        let adopted = af_db::projects::adopt_orphans(&state.db, user.id).await?;
        tracing::info!(user_id = user.id, adopted, "first user registered as admin");
    }
    Ok((StatusCode::CREATED, AppJson(user.into())))
}

/// Exchanges email and password for a bearer token. Failed attempts are limited per account
/// and per client address within a window (`login_attempts_per_account`,
/// `login_attempts_per_address`, `login_window_seconds`): beyond them, 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::ErrorBody),
              (status = 429, description = "Too many failed sign-ins; `Retry-After` says how many seconds to wait", body = crate::error::ErrorBody,
               headers(("Retry-After" = u64, description = "Seconds until another attempt is allowed")))))]
async fn login(State(state): State<AppState>, ClientAddr(address): ClientAddr, AppJson(body): AppJson<Credentials>) -> AppResult<AppJson<TokenResponse>> {
    // Before the database and argon2: a refused attempt costs nothing.
    let attempt = state.login_limiter.attempt(&body.email, address)?;
    let found = match af_db::users::credentials(&state.db, body.email.trim()).await {
        Ok(found) => Some(found),
        Err(af_db::DbError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let hash = found.as_ref().map(|(_, h)| h.clone()).unwrap_or_else(|| dummy_hash().to_string());
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.map_err(anyhow::Error::from)?;
    let user = match found {
        Some((user, _)) if ok => user,
        _ => return Err(AppError::Unauthorized("invalid email or password".into())),
    };
    attempt.succeeded();
    let access_token = state.jwt.issue(user.id)?;
    Ok(AppJson(TokenResponse { access_token, token_type: "bearer", expires_in: state.jwt.ttl_secs() }))
}

/// The authenticated user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserResponse), (status = 401, body = crate::error::ErrorBody)))]
async fn me(State(state): State<AppState>, user: AuthUser) -> AppResult<AppJson<UserResponse>> {
    Ok(AppJson(af_db::users::get(&state.db, user.id).await?.into()))
}

//! Authentication and access control: argon2 password hashes, HS256 JWT access tokens, the
//! [`AuthUser`] extractor, and the project access check every project-scoped handler uses.
//!
//! Access rule: admins see everything; other users see the projects they are members of.
//! A project (or an image, an annotation) the user cannot see is answered with 404, exactly
//! like one that does not exist, so nothing leaks; a visible project whose role is too low
//! for the action is 403.

use std::collections::HashSet;
use std::sync::Arc;

use af_core::{ProjectRole, UserRole};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::AppError;
use crate::state::AppState;

/// Hashes a password with argon2id and a random salt. CPU-heavy (tens of milliseconds by
/// design): call it through `spawn_blocking` so it does not stall the async workers.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Checks a password against a stored hash (also CPU-heavy; see [`hash_password`]).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// A hash of a random password, verified against when the email is unknown so that a login
/// for a missing user costs as much as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-0f8e7d").expect("hashing works"))
}

/// What a 401 for a bad, forged or expired token says.
pub const INVALID_TOKEN: &str = "the access token is invalid or expired; sign in again";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user id.
    sub: String,
    iat: u64,
    exp: u64,
}

/// The token-signing keys and lifetime.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_secs: u64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_hours: u64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_secs: ttl_hours.max(1) * 3600,
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    pub fn issue(&self, user_id: i64) -> anyhow::Result<String> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims { sub: user_id.to_string(), iat: now, exp: now + self.ttl_secs };
        Ok(encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// The user id in a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Result<i64, AppError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let data = decode::<Claims>(token, &self.decoding, &validation).map_err(|e| {
            // The library's message ("InvalidToken", base64 errors) helps no one who holds the
            // token, and describes the token format to whoever forged it.
            tracing::debug!(error = %e, "access token refused");
            AppError::Unauthorized(INVALID_TOKEN.into())
        })?;
        data.claims.sub.parse().map_err(|_| AppError::Unauthorized(INVALID_TOKEN.into()))
    }
}

/// The authenticated caller. Reads `Authorization: Bearer <token>`, or, on the few routes
/// that allow it, a `?token=` query parameter (see [`query_token_policy`]). A token of a
/// deleted user is rejected.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub email: String,
    pub role: UserRole,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }

    /// The user behind `token` (a 401 when it is invalid, expired, or its user is gone).
    pub async fn from_token(state: &AppState, token: &str) -> Result<AuthUser, AppError> {
        let id = state.jwt.verify(token)?;
        let user = match af_db::users::get(&state.db, id).await {
            Ok(u) => u,
            Err(af_db::DbError::NotFound) => return Err(AppError::Unauthorized("the token's user no longer exists; sign in again".into())),
            Err(e) => return Err(e.into()),
        };
        Ok(AuthUser { id: user.id, email: user.email, role: user.role })
    }
}

/// A token sent as `?token=` on a route that takes one, moved out of the query string by
/// [`query_token_policy`] (so strict query parameter structs never see it).
#[derive(Debug, Clone)]
pub struct QueryToken(pub String);

/// The `?token=` parameter, for the OpenAPI document of the routes that take it. Declaring
/// it (`params(crate::auth::QueryTokenParam)`) is what makes a `GET` route accept it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueryTokenParam {
    /// The access token, for clients that cannot send `Authorization` (WebSockets,
    /// `<img src>`, download links). `Authorization: Bearer` works here too and wins.
    pub token: Option<String>,
}

/// The bearer token of a request: the `Authorization` header, else a [`QueryToken`].
fn token_from_parts(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string());
    }
    parts.extensions.get::<QueryToken>().map(|t| t.0.clone()).filter(|t| !t.is_empty())
}

/// The request's bearer token, if any (for handlers that authenticate later, like the
/// WebSocket after its upgrade).
#[derive(Debug, Clone)]
pub struct BearerToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(BearerToken(token_from_parts(parts)))
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = token_from_parts(parts).ok_or_else(|| {
            AppError::Unauthorized("missing access token (send `Authorization: Bearer <token>`)".into())
        })?;
        AuthUser::from_token(state, &token).await
    }
}

/// The authenticated caller if the request carries a token (`None` without one); a token
/// that is present but invalid is still rejected.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match token_from_parts(parts) {
            None => Ok(MaybeUser(None)),
            Some(token) => AuthUser::from_token(state, &token).await.map(|u| MaybeUser(Some(u))),
        }
    }
}

/// The `GET` routes that take `?token=`: those whose OpenAPI operation declares a `token`
/// query parameter ([`QueryTokenParam`]), so the document and the server cannot disagree.
#[derive(Debug, Clone, Default)]
pub struct QueryTokenRoutes(Arc<HashSet<String>>);

impl QueryTokenRoutes {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .filter(|(_, item)| {
                item.get.as_ref().and_then(|op| op.parameters.as_ref()).is_some_and(|params| {
                    params.iter().any(|p| p.name == "token" && p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
                })
            })
            .map(|(path, _)| path.clone())
            .collect();
        QueryTokenRoutes(Arc::new(routes))
    }

    /// Whether `GET` (or `HEAD`) `route` (as matched: `/api/v1/images/{id}/file`) takes one.
    pub fn allows(&self, method: &Method, route: &str) -> bool {
        (method == Method::GET || method == Method::HEAD) && self.0.contains(route)
    }
}

/// Middleware: a `?token=` is a credential in a URL (it ends up in logs, history and
/// `Referer`s), so it is accepted only where a client cannot send a header — the WebSocket,
/// image files and downloads, see [`QueryTokenRoutes`] — and moved from the query string
/// into a [`QueryToken`]. Anywhere else it is a 401 that says to use the header, the same on
/// every route whatever its other parameters.
pub async fn query_token_policy(State(routes): State<QueryTokenRoutes>, mut req: Request, next: Next) -> Response {
    let Some(query) = req.uri().query() else { return next.run(req).await };
    let mut token = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        let key = pair.split('=').next().unwrap_or_default();
        let is_token = form_urlencoded::parse(key.as_bytes()).next().is_some_and(|(k, _)| k == "token");
        if is_token {
            token = Some(form_urlencoded::parse(pair.as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default());
        } else if !pair.is_empty() {
            rest.push(pair);
        }
    }
    let Some(token) = token else { return next.run(req).await };
    // Paths the router did not match (the front end) pass unchanged.
    let Some(route) = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()) else {
        return next.run(req).await;
    };
    if !routes.allows(req.method(), &route) {
        return AppError::Unauthorized(
            "`?token=` is not accepted here: send the access token as `Authorization: Bearer <token>` \
             (a query token works only where headers cannot be sent: the training WebSocket, image files, downloads)"
                .into(),
        )
        .into_response();
    }
    let path = req.uri().path();
    let path_and_query = if rest.is_empty() { path.to_string() } else { format!("{path}?{}", rest.join("&")) };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
    req.extensions_mut().insert(QueryToken(token));
    next.run(req).await
}

/// The caller's role in a project, if they need at least `needed`: 404 when the project is
/// absent or invisible to them, 403 when visible but their role is too low. Admins act as
/// owners everywhere.
pub async fn project_access(state: &AppState, user: &AuthUser, project_id: i64, needed: ProjectRole) -> Result<ProjectRole, AppError> {
    let role = if user.is_admin() {
        af_db::projects::exists(&state.db, project_id).await?.then_some(ProjectRole::Owner)
    } else {
        af_db::projects::member_role(&state.db, project_id, user.id).await?
    };
    let Some(role) = role else {
        return Err(AppError::not_found(format!("project {project_id}")));
    };
    if !role.allows(needed) {
        return Err(AppError::Forbidden(format!("this needs the {needed} role in project {project_id}; you are {role}")));
    }
    Ok(role)
}

/// The image, if the caller may act on its project with `needed` (404 otherwise, see
/// [`project_access`]).
pub async fn image_access(state: &AppState, user: &AuthUser, image_id: i64, needed: ProjectRole) -> Result<af_db::images::Image, AppError> {
    let image = match af_db::images::get(&state.db, image_id).await {
        Ok(i) => i,
        Err(af_db::DbError::NotFound) => return Err(AppError::not_found(format!("image {image_id}"))),
        Err(e) => return Err(e.into()),
    };
    project_access(state, user, image.project_id, needed).await.map_err(|e| match e {
        AppError::NotFound(_) => AppError::not_found(format!("image {image_id}")),
        other => other,
    })?;
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 1);
        let t = keys.issue(42).unwrap();
        assert_eq!(keys.verify(&t).unwrap(), 42);
        let other = JwtKeys::new(b"another secret, another secret!!", 1);
        assert!(matches!(other.verify(&t), Err(AppError::Unauthorized(_))));
        let mut tampered = t.clone();
        tampered.pop();
        assert!(keys.verify(&tampered).is_err());
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 1);
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims { sub: "1".into(), iat: now - 7200, exp: now - 3600 };
        let t = encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert!(keys.verify(&t).is_err());
    }

    #[test]
    fn token_errors_do_not_show_the_library_message() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 1);
        let other = JwtKeys::new(b"another secret, another secret!!", 1).issue(1).unwrap();
        for bad in ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.!!!.x", "", other.as_str()] {
            match keys.verify(bad) {
                Err(AppError::Unauthorized(m)) => assert_eq!(m, INVALID_TOKEN, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}

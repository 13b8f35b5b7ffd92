//! The one error type of the HTTP API, rendered as `{"error": {"code", "message", "details"}}`
//! with its status. Server-side failures (5xx) answer a generic message and are logged once,
//! inside the request's span, with their cause.

use af_core::FieldError;
use af_db::DbError;
use axum::extract::multipart::MultipartError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request cannot be read (malformed JSON, bad query or path parameters).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid access token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the user can see the resource but their role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: absent, or not visible to this user (we never say which).
    #[error("{0} not found")]
    NotFound(String),
    /// 409: the request conflicts with the current state (duplicate email, last owner).
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 408: the request was not answered within the server's request timeout (a slow upload).
    #[error("{0}")]
    RequestTimeout(String),
    /// 415: the body is not of a supported media type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: too many attempts (logins, jobs); try again after `retry_after`.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: std::time::Duration },
    /// 422: a value is invalid; `field` names it.
    #[error("{0}")]
    Validation(#[from] FieldError),
    /// 422: the input is invalid in a way described by `details` (e.g. which file).
    #[error("{message}")]
    Unprocessable { message: String, details: Value },
    /// 500: a bug or an infrastructure failure; the cause is logged, not shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The error body every failing endpoint returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (`not_found`, `validation_failed`, …).
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// Structured context (for validation errors: `{"field": "data.points", "reason"}`; for
    /// 429s: `{"retry_after_seconds"}`), or null where there is none.
    #[schema(value_type = Option<Object>)]
    pub details: Value,
}

impl AppError {
    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(FieldError::new(field, message))
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            AppError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            AppError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            AppError::Validation(_) | AppError::Unprocessable { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            }
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        // Whole seconds, rounded up: a client that waits exactly this long is let through.
        let retry_after = match &self {
            AppError::TooManyRequests { retry_after, .. } => Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)),
            _ => None,
        };
        let (message, details) = match self {
            AppError::Internal(e) => {
                // Runs inside the request span (TraceLayer), so method and route are attached.
                tracing::error!(error = ?e, "request failed");
                ("internal server error".to_string(), Value::Null)
            }
            AppError::Validation(fe) => {
                (fe.to_string(), serde_json::json!({ "field": fe.field, "reason": fe.message }))
            }
            AppError::Unprocessable { message, details } => (message, details),
            AppError::TooManyRequests { message, .. } => {
                let secs = retry_after.unwrap_or(1);
                (message, serde_json::json!({ "retry_after_seconds": secs }))
            }
            other => (other.to_string(), Value::Null),
        };
        let mut response = (status, Json(ErrorBody { error: ErrorDetail { code, message, details } })).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs.max(1)));
        }
        response
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::NotFound("resource".into()),
            DbError::Conflict(what) => AppError::Conflict(format!("already exists ({what})")),
            DbError::Constraint(what) => AppError::Unprocessable {
                message: format!("the database refused the change: {what}"),
                details: Value::Null,
            },
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            // Well-formed JSON of the wrong shape (unknown field, wrong type, missing field).
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                let (field, reason) = json_error_field(&text);
                AppError::Unprocessable { message: text, details: serde_json::json!({ "field": field, "reason": reason }) }
            }
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(format!("malformed JSON: {}", e.body_text())),
            JsonRejection::MissingJsonContentType(_) => {
                AppError::UnsupportedMediaType("expected a JSON body with `Content-Type: application/json`".into())
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(other.body_text()),
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

/// The field a JSON shape error is about, and what is wrong with it, from axum's message
/// `Failed to deserialize the JSON body into the target type: <path>: <reason>` (the path is
/// `.` at the top level, where the reason names the field: "unknown field `colour`, …").
pub(crate) fn json_error_field(text: &str) -> (String, String) {
    let Some(rest) = text.split_once("target type: ").map(|(_, r)| r) else {
        return (String::new(), text.to_string());
    };
    // A path has no spaces; without one the error is about the top-level object.
    let (path, reason) = match rest.split_once(": ") {
        Some((path, reason)) if !path.contains(' ') => (path, reason),
        _ => (".", rest),
    };
    let field = if path == "." { reason.split('`').nth(1).unwrap_or_default().to_string() } else { path.to_string() };
    (field, reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::json_error_field;

    #[test]
    fn names_the_field_of_json_shape_errors() {
        let top = "Failed to deserialize the JSON body into the target type: unknown field `colour`, expected one of `type`, `data` at line 1 column 9";
        assert_eq!(json_error_field(top).0, "colour");
        let nested = "Failed to deserialize the JSON body into the target type: data.x: invalid type: string \"NaN\", expected f64 at line 1 column 3";
        assert_eq!(json_error_field(nested).0, "data.x");
        assert_eq!(json_error_field("something else").0, "");
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}

impl From<MultipartError> for AppError {
    fn from(e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(format!("the upload is larger than the server's limit: {}", e.body_text()))
        } else {
            AppError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
        }
    }
}

impl From<axum::extract::multipart::MultipartRejection> for AppError {
    fn from(r: axum::extract::multipart::MultipartRejection) -> Self {
        AppError::UnsupportedMediaType(format!("expected a multipart/form-data body: {}", r.body_text()))
    }
}

pub type AppResult<T> = Result<T, AppError>;

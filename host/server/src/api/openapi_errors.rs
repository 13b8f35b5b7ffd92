//! The error responses the OpenAPI document lists on every operation where they can happen,
//! derived from what the operation takes: the extractors reject the same way on every route,
//! so no route's `#[utoipa::path]` can forget one.
//!
//! - bearer-secured: 401 (no valid token);
//! - path parameters: 400 (not of their type) and 404 (absent, or not visible to the caller);
//! - query parameters: 400 (unknown or malformed) and 422 (out of range);
//! - a body: 400 (malformed), 413 (over the limit), 415 (another media type), 422 (invalid).
//!
//! Route-specific ones (403, 409, 429) stay in each route's attribute; one listed there
//! keeps its own description.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};

/// Adds the shared error responses to every operation of `doc`.
pub fn document_common_errors(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            add_common_errors(op);
        }
    }
}

fn add_common_errors(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let params = op.parameters.as_deref().unwrap_or_default();
    let in_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let in_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let body = op.request_body.is_some();
    let mut wanted = Vec::new();
    if secured {
        wanted.push(("401", "No valid access token (`Authorization: Bearer <token>`)"));
    }
    if in_path || in_query || body {
        wanted.push(("400", "The request cannot be read: malformed JSON or multipart, or a path or query parameter of the wrong type or unknown"));
    }
    if in_path {
        wanted.push(("404", "Absent, or not visible to the caller (never said which)"));
    }
    if body {
        wanted.push(("413", "The body is larger than the server's limit"));
        wanted.push(("415", "The body is not of a media type this operation takes"));
    }
    if body || in_query {
        wanted.push(("422", "A value is invalid; `details.field` names it"));
    }
    for (status, description) in wanted {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
                .build()
                .into()
        });
    }
}

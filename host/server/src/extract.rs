//! Extractors whose rejections are [`AppError`], so malformed input gets the same error body
//! as everything else, and the shared paging parameters.
//!
//! [`AppJson`] and [`AppQuery`] also refuse text that PostgreSQL cannot store: a NUL
//! character (U+0000) anywhere in a string or an object key. SQLite would store it and
//! PostgreSQL answer an error, so both backends refuse it here alike, with a 422 naming the
//! field (`hyperparameters.model`, `annotations[3].class_label`) before any handler runs.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;

/// What a 422 for a NUL character says.
pub const NUL_REASON: &str = "must not contain NUL characters (U+0000)";

/// Refuses text with a NUL character (for text that reaches the database by other ways than
/// JSON bodies and query strings: multipart fields, archive contents).
pub fn check_text(field: &str, text: &str) -> Result<(), AppError> {
    if text.contains('\0') {
        return Err(AppError::invalid(field, NUL_REASON));
    }
    Ok(())
}

/// `axum::Json` with [`AppError`] rejections: syntax errors are 400, well-formed JSON of the
/// wrong shape (unknown or missing fields, wrong types) is 422, and so is a NUL character in
/// any string or key (naming its path).
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers()) {
            return Err(AppError::UnsupportedMediaType("expected a JSON body with `Content-Type: application/json`".into()));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge(r.body_text())
            } else {
                AppError::BadRequest(r.body_text())
            }
        })?;
        check_json_text(&bytes)?;
        Ok(AppJson(parse_json(&bytes)?))
    }
}

/// Parses as `axum::Json` does (serde_json under serde_path_to_error, so errors name the
/// field, line and column, in axum's words), except that a struct must be a JSON object.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let syntax = |e: &dyn std::fmt::Display| AppError::BadRequest(format!("malformed JSON: Failed to parse the request body as JSON: {e}"));
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(ObjectStructs(&mut de)).map_err(|e| match e.inner().classify() {
        serde_json::error::Category::Data => {
            let text = format!("Failed to deserialize the JSON body into the target type: {e}");
            let (field, reason) = crate::error::json_error_field(&text);
            AppError::Unprocessable { message: text, details: serde_json::json!({ "field": field, "reason": reason }) }
        }
        _ => syntax(&e),
    })?;
    de.end().map_err(|e| syntax(&e))?;
    Ok(value)
}

/// A deserializer whose top-level struct must be a JSON object: serde's derived structs also
/// take an array of their fields in order (`[null, null]` as `{"name": null, …}`), which no
/// client means and the OpenAPI document does not allow.
struct ObjectStructs<D>(D);

macro_rules! forward {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method(visitor)
            }
        )*
    };
}

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for ObjectStructs<D> {
    type Error = D::Error;

    forward!(
        deserialize_any, deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64, deserialize_i128,
        deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64, deserialize_u128, deserialize_f32, deserialize_f64,
        deserialize_char, deserialize_str, deserialize_string, deserialize_bytes, deserialize_byte_buf, deserialize_option,
        deserialize_unit, deserialize_seq, deserialize_map, deserialize_identifier, deserialize_ignored_any,
    );

    fn deserialize_struct<V: serde::de::Visitor<'de>>(self, _name: &'static str, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }
    fn deserialize_unit_struct<V: serde::de::Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }
    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, visitor)
    }
    fn deserialize_tuple<V: serde::de::Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, visitor)
    }
    fn deserialize_tuple_struct<V: serde::de::Visitor<'de>>(self, name: &'static str, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, visitor)
    }
    fn deserialize_enum<V: serde::de::Visitor<'de>>(self, name: &'static str, variants: &'static [&'static str], visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// `application/json` or any `application/*+json`, as `axum::Json` accepts.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A 422 naming the first string or key with a NUL character. JSON text can only carry a NUL
/// as the escape `\u0000` (raw control characters are a syntax error), so bodies without that
/// escape — nearly all — are not parsed twice.
fn check_json_text(body: &[u8]) -> Result<(), AppError> {
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    // Not JSON: the typed parse below reports the syntax error.
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return Ok(()) };
    match nul_path(&value, String::new()) {
        Some(field) => Err(AppError::invalid(field, NUL_REASON)),
        None => Ok(()),
    }
}

/// The path (`a.b[2].c`) of the first string or object key containing a NUL character; a key
/// is named with the NUL written `\u0000`.
fn nul_path(value: &Value, path: String) -> Option<String> {
    let join = |key: &str| {
        let key = key.replace('\0', "\\u0000");
        if path.is_empty() { key } else { format!("{path}.{key}") }
    };
    match value {
        Value::String(s) => s.contains('\0').then_some(path),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_path(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| if k.contains('\0') { Some(join(k)) } else { nul_path(v, join(k)) }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

impl<T: Serialize> axum::response::IntoResponse for AppJson<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with [`AppError`] rejections (400), refusing a NUL character in a
/// parameter's name or value with a 422 naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        // A NUL can only arrive percent-encoded; `+` and other escapes are decoded as the
        // typed parse below does.
        if query.contains("%00") {
            let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
            if let Some((name, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
                return Err(AppError::invalid(name.replace('\0', "\\u0000"), NUL_REASON));
            }
        }
        let axum::extract::Query(value) = axum::extract::Query::<T>::try_from_uri(&parts.uri)?;
        Ok(AppQuery(value))
    }
}

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct AppPath<T>(pub T);

/// `?page=&per_page=`: 1-based pages of at most [`Pagination::MAX_PER_PAGE`] items.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Pagination {
    /// Page number, from 1 [default: 1].
    #[param(value_type = Option<i64>, minimum = 1, maximum = 2147483647)]
    pub page: Option<u32>,
    /// Items per page, 1..=1000 [default: 100].
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub per_page: Option<u32>,
}

impl Pagination {
    pub const MAX_PER_PAGE: u32 = 1000;
    /// The last page number (the OpenAPI document's `maximum`).
    pub const MAX_PAGE: u32 = i32::MAX as u32;

    pub fn resolve(self) -> Result<af_db::Page, AppError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(100);
        if page == 0 {
            return Err(AppError::invalid("page", "pages start at 1"));
        }
        if page > Self::MAX_PAGE {
            return Err(AppError::invalid("page", format!("must be at most {}", Self::MAX_PAGE)));
        }
        if per_page == 0 || per_page > Self::MAX_PER_PAGE {
            return Err(AppError::invalid("per_page", format!("must be between 1 and {}", Self::MAX_PER_PAGE)));
        }
        Ok(af_db::Page { page, per_page })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Items in the whole list.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// For PATCH bodies: distinguishes an absent field (`None`, keep) from `null` (`Some(None)`,
/// clear). Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_json_path_of_a_nul() {
        assert_eq!(nul_path(&json!({"a": {"b": [1, "x", "y\u{0}"]}}), String::new()).as_deref(), Some("a.b[2]"));
        assert_eq!(nul_path(&json!([{"k": "\u{0}"}]), String::new()).as_deref(), Some("[0].k"));
        assert_eq!(nul_path(&json!({"m": {"k\u{0}": 1}}), String::new()).as_deref(), Some("m.k\\u0000"));
        assert_eq!(nul_path(&json!({"a": "\\u0000 is text here"}), String::new()), None);
    }

    #[test]
    fn only_bodies_with_the_escape_are_walked() {
        assert!(check_json_text(br#"{"name": "a\u0000"}"#).is_err());
        assert!(check_json_text(br#"{"name": "a\\u0000"}"#).is_ok(), "an escaped backslash, then text");
        assert!(check_json_text(br#"{"name": "\u0000"#).is_ok(), "not JSON: the typed parse reports it");
    }

    #[test]
    fn json_media_types() {
        let with = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            is_json(&h)
        };
        assert!(with("application/json") && with("Application/JSON; charset=utf-8") && with("application/merge-patch+json"));
        assert!(!with("text/plain") && !with("application/jsonx") && !is_json(&HeaderMap::new()));
    }

    #[test]
    fn a_struct_body_must_be_an_object() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Two {
            a: Option<i32>,
            b: Option<i32>,
        }
        assert!(parse_json::<Two>(b"[1, 2]").is_err());
        assert!(parse_json::<Two>(br#"{"a": 1}"#).is_ok());
        assert_eq!(parse_json::<Vec<i32>>(b"[1, 2]").unwrap(), vec![1, 2]);
    }
}

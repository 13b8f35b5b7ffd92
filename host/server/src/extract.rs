//! Extractors whose rejections are [`AppError`], so malformed input gets the same error body
//! as everything else, and the shared paging parameters.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;

/// `axum::Json` with [`AppError`] rejections: syntax errors are 400, well-formed JSON of the
/// wrong shape (unknown or missing fields, wrong types) is 422.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct AppJson<T>(pub T);

impl<T: Serialize> axum::response::IntoResponse for AppJson<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct AppQuery<T>(pub T);

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct AppPath<T>(pub T);

/// `?page=&per_page=`: 1-based pages of at most [`Pagination::MAX_PER_PAGE`] items.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Pagination {
    /// Page number, from 1 [default: 1].
    pub page: Option<u32>,
    /// Items per page, 1..=1000 [default: 100].
    pub per_page: Option<u32>,
}

impl Pagination {
    pub const MAX_PER_PAGE: u32 = 1000;

    pub fn resolve(self) -> Result<af_db::Page, AppError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(100);
        if page == 0 {
            return Err(AppError::invalid("page", "pages start at 1"));
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

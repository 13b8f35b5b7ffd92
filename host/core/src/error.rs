//! Validation errors that name the offending field, so the API can answer a 422 a client can act on.

use serde::Serialize;

/// One invalid input value. `field` is a dotted JSON path (`data.points[1][0]`,
/// `hyperparameters.epochs`); `message` says what is wrong in words a user understands.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same error, nested under `prefix` (`data` + `points[0]` → `data.points[0]`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_string()
        } else if self.field.starts_with('[') {
            format!("{prefix}{}", self.field)
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

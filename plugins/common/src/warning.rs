//! Per-annotation warnings: what a converter skipped and why.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningReason {
    UnmappedClass,
    Degenerate,
    OutOfImage,
    TooFewPoints,
    UnsupportedKind,
    InvalidGeometry,
    NoClassLabel,
    AmbiguousClass,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// The annotation skipped; `None` when the warning is about the whole image.
    pub annotation_id: Option<i64>,
    pub reason: WarningReason,
    pub message: String,
}

impl Warning {
    pub fn annotation(id: i64, reason: WarningReason, message: impl Into<String>) -> Self {
        Self { annotation_id: Some(id), reason, message: message.into() }
    }

    pub fn image(reason: WarningReason, message: impl Into<String>) -> Self {
        Self { annotation_id: None, reason, message: message.into() }
    }
}

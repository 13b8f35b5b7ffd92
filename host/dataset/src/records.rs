//! The plain records preparation reads: images and annotations as the job service loads
//! them from the database (this crate never touches the database itself).

use std::collections::BTreeMap;
use std::path::PathBuf;

use af_core::{AnnotationData, AnnotationType};
use serde::{Deserialize, Serialize};

/// One image of a selected project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: i64,
    pub project_id: i64,
    /// Where the image file is; its extension must be one Ultralytics reads.
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
    /// The image-level class label (classification).
    #[serde(default)]
    pub class_label: Option<String>,
    /// Free-form metadata (`split-group` can group by a key).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// One shape annotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationRecord {
    pub id: i64,
    pub image_id: i64,
    #[serde(rename = "type")]
    pub annotation_type: AnnotationType,
    pub data: AnnotationData,
    pub class_label: String,
}

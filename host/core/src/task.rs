//! The three kinds of model AnnotateForge trains.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::annotation::AnnotationType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum TaskType {
    Classify,
    Detect,
    Segment,
}

impl TaskType {
    pub const ALL: [TaskType; 3] = [TaskType::Classify, TaskType::Detect, TaskType::Segment];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskType::Classify => "classify",
            TaskType::Detect => "detect",
            TaskType::Segment => "segment",
        }
    }

    /// Annotation types that can be turned into labels for this task (DESIGN.md, "Three task
    /// types"): image-level classes for classify; boxes, rectangles, circles and polygons
    /// (→ bounding box) for detect; polygons, circles and boxes (→ polygon) for segment.
    pub fn accepted_annotation_types(self) -> &'static [AnnotationType] {
        use AnnotationType::*;
        match self {
            TaskType::Classify => &[ImageClass],
            TaskType::Detect => &[Box, Rectangle, Circle, Polygon],
            TaskType::Segment => &[Polygon, Circle, Box, Rectangle],
        }
    }

    /// The annotation types a new job uses when the config names none.
    pub fn default_annotation_types(self) -> &'static [AnnotationType] {
        use AnnotationType::*;
        match self {
            TaskType::Classify => &[ImageClass],
            TaskType::Detect => &[Box, Rectangle, Circle],
            TaskType::Segment => &[Polygon],
        }
    }

    /// Ultralytics' typical input size for the task.
    pub fn default_imgsz(self) -> u32 {
        match self {
            TaskType::Classify => 224,
            TaskType::Detect | TaskType::Segment => 640,
        }
    }
}

impl fmt::Display for TaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown task type `{0}` (expected classify, detect or segment)")]
pub struct UnknownTaskType(pub String);

impl FromStr for TaskType {
    type Err = UnknownTaskType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "classify" => Ok(TaskType::Classify),
            "detect" => Ok(TaskType::Detect),
            "segment" => Ok(TaskType::Segment),
            other => Err(UnknownTaskType(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_and_str() {
        for t in TaskType::ALL {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<TaskType>(&json).unwrap(), t);
            assert_eq!(t.as_str().parse::<TaskType>().unwrap(), t);
        }
        assert!("pose".parse::<TaskType>().is_err());
    }

    #[test]
    fn defaults_are_accepted() {
        for t in TaskType::ALL {
            for a in t.default_annotation_types() {
                assert!(t.accepted_annotation_types().contains(a), "{t}: {a:?}");
            }
        }
    }
}

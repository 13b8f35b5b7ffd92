//! What `Predictor` returns, serialisable as the `predict` CLI's JSON. Coordinates are pixels
//! of the original image.

use af_core::TaskType;
use serde::Serialize;

/// One detected object (detect) or instance (segment).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub class_id: i64,
    pub class_label: String,
    pub confidence: f32,
    /// `[x1, y1, x2, y2]`.
    pub bbox: [f32; 4],
    /// Segment only: the instance's outline `[[x, y], …]` (≥ 3 points).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polygon: Option<Vec<[f32; 2]>>,
}

/// One class probability (classify).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    pub class_id: i64,
    pub class_label: String,
    pub confidence: f32,
}

/// Time spent per stage, per image (batch totals divided by the batch size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timing {
    pub preprocess_ms: f64,
    pub inference_ms: f64,
    pub postprocess_ms: f64,
}

/// The prediction for one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub task: TaskType,
    pub width: u32,
    pub height: u32,
    /// Network input `[height, width]` the image was letterboxed (or cropped) to.
    pub input_size: [i64; 2],
    /// Detect / segment: in descending confidence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detections: Vec<Detection>,
    /// Classify: every class, in descending probability.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassScore>,
    pub timing: Timing,
}

impl Prediction {
    /// Classify: the most probable class.
    pub fn top1(&self) -> Option<&ClassScore> {
        self.classes.first()
    }
}

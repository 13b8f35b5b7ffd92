//! Training losses, as Ultralytics 8.4's `v8DetectionLoss`, `v8SegmentationLoss` and
//! `v8ClassificationLoss` (`utils/loss.py`):
//!
//! - detect: task-aligned assignment ([`crate::assign`]), CIoU box loss ×`box`, BCE class
//!   loss ×`cls` (summed over anchors and classes, divided by the sum of target scores), DFL
//!   ×`dfl` — [`DetectionLoss`];
//! - segment: the same plus the prototype mask loss ×`box` — [`SegmentationLoss`];
//! - classify: mean cross-entropy of the logits — [`classification_loss`].
//!
//! Every criterion returns a [`LossOutput`]: the scalar to back-propagate (Ultralytics'
//! `loss.sum()`: the components × batch size for detect/segment, the mean for classify) and
//! the per-component values without the batch factor, which are what `results.csv` logs as
//! `train/box_loss`, … . Losses are computed in f32 whatever the forward's precision.

pub mod bbox;
pub mod cls;
pub mod det;
pub mod seg;

use tch::{Kind, Tensor};

pub use cls::classification_loss;
pub use det::DetectionLoss;
pub use seg::SegmentationLoss;

/// Loss gains (`box`, `cls`, `dfl` hyperparameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossGains {
    pub box_gain: f64,
    pub cls_gain: f64,
    pub dfl_gain: f64,
}

impl Default for LossGains {
    fn default() -> Self {
        LossGains { box_gain: 7.5, cls_gain: 0.5, dfl_gain: 1.5 }
    }
}

/// Ground truth of one batch in Ultralytics' collated form.
#[derive(Debug)]
pub struct Targets {
    /// `[n]` image index of each object within the batch.
    pub batch_idx: Tensor,
    /// `[n]` or `[n, 1]` class id of each object.
    pub cls: Tensor,
    /// `[n, 4]` normalised xywh boxes.
    pub bboxes: Tensor,
    /// Segment only. With `overlap_mask`: `[B, Hm, Wm]` where pixel value k+1 marks the k-th
    /// object of that image (in target order); without: `[n, Hm, Wm]` binary, one per object.
    pub masks: Option<Tensor>,
}

/// What a criterion returns.
#[derive(Debug)]
pub struct LossOutput {
    /// The scalar to back-propagate.
    pub total: Tensor,
    /// `[k]` detached components (gains applied, no batch factor), named by `names`.
    pub items: Tensor,
    pub names: &'static [&'static str],
}

impl LossOutput {
    /// The components as `(name, value)` (one device → host copy).
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        let v: Vec<f64> = self.items.to_kind(Kind::Double).to_device(tch::Device::Cpu).try_into().unwrap_or_default();
        self.names.iter().copied().zip(v).collect()
    }
}

/// Loss component names per task (`train/<name>` / `val/<name>` in results.csv).
pub fn loss_names(task: af_core::TaskType) -> &'static [&'static str] {
    match task {
        af_core::TaskType::Detect => det::NAMES,
        af_core::TaskType::Segment => seg::NAMES,
        af_core::TaskType::Classify => cls::NAMES,
    }
}

/// Keeps a tensor in the graph with a zero contribution (Ultralytics' `(x * 0).sum()`), so
/// every output gets a gradient even when a batch has no foreground.
pub(crate) fn zero_of(t: &Tensor) -> Tensor {
    (t * 0.0).sum(Kind::Float)
}

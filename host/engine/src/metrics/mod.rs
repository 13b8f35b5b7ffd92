//! Validation metrics, computed as Ultralytics 8.4 does: detection and mask P / R / mAP50 /
//! mAP50-95 per class and overall (IoU 0.50:0.05:0.95, greedy matching by confidence,
//! 101-point interpolated AP, P and R at the max-F1 confidence), top-1 / top-5 accuracy.
//! `ap` holds the reduction, `matching` the IoUs and TP assignment, `det` / `cls` the
//! accumulators the validator feeds.

pub mod ap;
pub mod cls;
pub mod det;
pub mod matching;

pub use ap::{ap_per_class, iou_thresholds, ApPerClass, NUM_IOU};
pub use cls::{ClsMetrics, ClsStats};
pub use det::{ClassMetrics, DetMetrics, DetStats};
pub use matching::{box_iou, mask_iou, match_predictions};

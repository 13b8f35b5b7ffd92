//! Inference: images in, detections / instance polygons / class probabilities out, matching
//! Ultralytics' `predict` (letterbox, NMS, box rescaling, `process_mask`).
//!
//! The stages, in order: `image` (decode → RGB8 tensor) → `letterbox` (or the classify
//! crop) → the model (`crate::nn`) → `nms` → `masks` + `polygon` (segment) → `result`.
//! `Predictor` ties them together around a model loaded once; see its docs for thread
//! safety. The stage functions are public for validation and tests.

pub mod image;
pub mod letterbox;
pub mod masks;
pub mod nms;
pub mod polygon;
pub mod predictor;
pub mod render;
pub mod result;

pub use self::image::{decode_image, decode_image_limited, decode_limited, image_to_tensor, read_image, read_image_limited, DecodeError};
pub use letterbox::{letterbox_shape, Letterbox};
pub use nms::{non_max_suppression, Kept, NmsConfig};
pub use predictor::{default_names, PredictOptions, Predictor};
pub use result::{ClassScore, Detection, Prediction, Timing};

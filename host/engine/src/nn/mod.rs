//! YOLOv8 models on `tch`: classify / detect / segment at scales n/s/m/l/x, for any number of
//! classes, with Ultralytics 8.4's module structure and state-dict names, so safetensors
//! weights move both ways (see `crate::weights`).
//!
//! # Building
//! ```no_run
//! use af_engine::nn::{ModelSpec, Scale, YoloModel};
//! use af_core::TaskType;
//! let vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let model = YoloModel::new(&vs.root(), ModelSpec::new(TaskType::Detect, Scale::N, 3)?);
//! // vs now holds `model.0.conv.weight`, …, `model.22.dfl.conv.weight` (PyTorch-default init,
//! // Ultralytics' Detect bias init); the optimiser takes `vs.trainable_variables()`.
//! # Ok::<(), af_engine::EngineError>(())
//! ```
//!
//! # Forward
//! `model.forward_t(&x, train)` takes RGB in [0, 1], `[B, 3, H, W]` (H, W multiples of 32 for
//! detect/segment) and returns the **raw** head outputs in both modes ([`ModelOutput`]):
//! - detect → [`DetectOut`]: `boxes` `[B, 64, N]` DFL logits (channel = side·16 + bin, sides
//!   l, t, r, b), `scores` `[B, nc, N]` class logits, `level_sizes` `[(H/8, W/8), (H/16, W/16),
//!   (H/32, W/32)]`, `strides` `[8, 16, 32]`; `anchors()` → `([N, 2], [N, 1])` as
//!   Ultralytics' `make_anchors(feats, stride, 0.5)`; `raw_levels()` → per level
//!   `[B, 64 + nc, H_i, W_i]`; `decode()` → the eval tensor `[B, 4 + nc, N]` (xywh pixels,
//!   sigmoid probabilities). N = Σ H_i·W_i (8400 at 640²).
//! - segment → [`SegmentOut`]: `det` as above, `mask_coef` `[B, 32, N]` (raw), `proto`
//!   `[B, 32, H/4, W/4]`; `decode()` → `[B, 4 + nc + 32, N]`.
//! - classify → [`ClassifyOut`]: `logits` `[B, nc]`; `probs()` → softmax.
//!
//! `train = true` makes BatchNorm use (and update) batch statistics and enables the classify
//! head's dropout (`set_dropout`); `false` is Ultralytics' `model.eval()`. Wrap inference in
//! `tch::no_grad`. `forward_layers` also returns every pre-head layer's output (`layer0..21`)
//! for bisecting. BatchNorm uses eps 1e-3 / momentum 0.03 in detect and segment models and
//! PyTorch's 1e-5 / 0.1 in classify models, as Ultralytics does. `fuse()` folds BatchNorm into the convs for inference (Ultralytics' `fuse`).
//! The free functions [`make_anchors`], [`dist2bbox`] and [`dfl_expectation`] are what the
//! losses use.

pub mod anchors;
pub mod block;
pub mod conv;
pub mod head;
pub mod model;
pub mod output;
pub mod scale;

pub use anchors::{dfl_expectation, dist2bbox, make_anchors};
pub use head::{NUM_MASKS, REG_MAX};
pub use model::{YoloModel, MAX_STRIDE, STRIDES};
pub use output::{ClassifyOut, DetectOut, ModelOutput, SegmentOut};
pub use scale::{base_name, parse_model_name, ModelSpec, Multiples, Scale};

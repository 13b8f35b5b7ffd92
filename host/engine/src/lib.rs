//! The libtorch engine: YOLOv8-style classify / detect / segment models built on `tch`,
//! with training, validation and prediction. It knows nothing of HTTP or the database, so the
//! CLI, a job worker and the tests can all drive it directly.

pub mod assign;
pub mod cli;
pub mod data;
pub mod dataset;
pub mod device;
pub mod error;
pub mod export;
pub mod loss;
pub mod metrics;
pub mod nn;
pub mod optim;
pub mod predict;
pub mod train;
pub mod val;
pub mod weights;

pub use device::parse_device;
pub use error::{EngineError, Result};

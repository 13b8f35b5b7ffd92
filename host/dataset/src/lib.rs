//! Dataset preparation: reads images and annotations (as plain records), runs the converter
//! and splitter plugins and writes the Ultralytics layout (`images/`, `labels/`, `data.yaml`
//! or ImageFolder) plus a dataset report.
//!
//! ```text
//! ImageRecord + AnnotationRecord          records   (the job service loads them from the DB)
//!   → converter plugin, once per image    convert   (parallel sandboxed sessions)
//!   → splitter plugin, once               prepare
//!   → files on disk                       layout
//!   → dataset_report.json + summary       report
//! ```
//!
//! This crate has no database access: the job service passes records in and stores the
//! returned [`PrepareSummary`] (and the plugins used) in `training_datasets`.

pub mod cli;
pub mod convert;
pub mod error;
pub mod layout;
pub mod prepare;
pub mod records;
pub mod report;

pub use error::DatasetError;
pub use layout::Subset;
pub use prepare::{prepare, PluginChoice, PrepareRequest, REPORT_FILE};
pub use records::{AnnotationRecord, ImageRecord};
pub use report::{DatasetReport, PluginUse, PrepareSummary, SkipReason, SplitCounts, SplitParams};

//! What a preparation produced: the dataset report (written as `dataset_report.json`) and
//! the summary the job service stores in `training_datasets`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use af_core::{AnnotationType, TaskType};
use af_plugin_host::bindings::converter::WarningReason;
use af_plugin_host::{Kind, Plugin};
use serde::{Deserialize, Serialize};

use crate::layout::Subset;

/// Counts per subset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCounts {
    pub total: usize,
    pub train: usize,
    pub val: usize,
    pub test: usize,
}

impl SplitCounts {
    pub fn add(&mut self, subset: Subset, n: usize) {
        self.total += n;
        match subset {
            Subset::Train => self.train += n,
            Subset::Val => self.val += n,
            Subset::Test => self.test += n,
        }
    }
}

/// Why an annotation (or an image, for classification) was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    UnmappedClass,
    Degenerate,
    OutOfImage,
    TooFewPoints,
    UnsupportedKind,
    InvalidGeometry,
    NoClassLabel,
    AmbiguousClass,
}

impl From<WarningReason> for SkipReason {
    fn from(r: WarningReason) -> Self {
        match r {
            WarningReason::UnmappedClass => SkipReason::UnmappedClass,
            WarningReason::Degenerate => SkipReason::Degenerate,
            WarningReason::OutOfImage => SkipReason::OutOfImage,
            WarningReason::TooFewPoints => SkipReason::TooFewPoints,
            WarningReason::UnsupportedKind => SkipReason::UnsupportedKind,
            WarningReason::InvalidGeometry => SkipReason::InvalidGeometry,
            WarningReason::NoClassLabel => SkipReason::NoClassLabel,
            WarningReason::AmbiguousClass => SkipReason::AmbiguousClass,
        }
    }
}

/// One converter warning, located.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarningRecord {
    pub image_id: i64,
    pub annotation_id: Option<i64>,
    pub reason: SkipReason,
    pub message: String,
}

/// Instances of one class per subset (images, for classification).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub id: u32,
    pub name: String,
    pub instances: SplitCounts,
}

/// A plugin a preparation used: what a job records to be reproducible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginUse {
    pub kind: Kind,
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub options: BTreeMap<String, serde_json::Value>,
}

impl PluginUse {
    pub fn of(plugin: &Plugin, options: &BTreeMap<String, serde_json::Value>) -> Self {
        Self { kind: plugin.kind(), name: plugin.name().into(), version: plugin.version().into(), sha256: plugin.sha256().into(), options: options.clone() }
    }
}

/// The split parameters (DESIGN.md's `split {train_ratio, val_ratio, random_seed}`, plus an
/// optional test ratio).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitParams {
    pub train_ratio: f64,
    pub val_ratio: f64,
    #[serde(default)]
    pub test_ratio: f64,
    pub random_seed: u64,
}

impl Default for SplitParams {
    fn default() -> Self {
        Self { train_ratio: 0.8, val_ratio: 0.2, test_ratio: 0.0, random_seed: 42 }
    }
}

/// The most warnings a report lists one by one (all are counted).
pub const MAX_LISTED_WARNINGS: usize = 1000;

/// `dataset_report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetReport {
    pub task_type: TaskType,
    pub annotation_types: Vec<AnnotationType>,
    pub split: SplitParams,
    /// Images in the dataset, per subset.
    pub images: SplitCounts,
    pub classes: Vec<ClassReport>,
    /// Annotations the converter skipped, by reason.
    pub skipped_annotations: BTreeMap<SkipReason, usize>,
    /// Images left out of the dataset (classification: no usable class), by reason.
    pub skipped_images: BTreeMap<SkipReason, usize>,
    /// Detect / segment images with no label (kept as background images).
    pub images_without_labels: usize,
    /// Images hard-linked (the rest were copied).
    pub images_linked: usize,
    pub warnings: Vec<WarningRecord>,
    /// True when there were more than [`MAX_LISTED_WARNINGS`] warnings.
    pub warnings_truncated: bool,
    pub plugins: Vec<PluginUse>,
}

/// What `prepare` returns: where the dataset is and the numbers for `training_datasets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepareSummary {
    pub dataset_path: PathBuf,
    /// `data.yaml` for detect / segment; `None` for classify (the root is the dataset).
    pub data_yaml: Option<PathBuf>,
    pub report_path: PathBuf,
    pub total_images: usize,
    pub train_images: usize,
    pub val_images: usize,
    pub test_images: usize,
    /// Class names by id (what `data.yaml` lists).
    pub class_names: Vec<String>,
    pub report: DatasetReport,
}

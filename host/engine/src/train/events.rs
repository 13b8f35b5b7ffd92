//! What a training run reports, in order, to its one sink — the interface the job service
//! streams (WebSocket `epoch_start`, `epoch_complete`, `training_complete`, …) and the CLI
//! prints. Metric keys are Ultralytics' `results.csv` names (`train/box_loss`,
//! `metrics/mAP50-95(B)`, `val/cls_loss`, `lr/pg0`, …); epochs are counted from 1.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use af_core::TaskType;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrainEvent {
    /// Set-up is done; training begins (or resumes) at `start_epoch`.
    Started {
        task: TaskType,
        names: Vec<String>,
        imgsz: u32,
        batch: u32,
        epochs: usize,
        /// First epoch this run trains (1 unless resumed).
        start_epoch: usize,
        device: String,
        train_images: usize,
        val_images: usize,
        /// `yolov8n-seg` etc.
        model: String,
        /// Where the initial weights came from (pretrained file, scratch and why, or resume).
        base: String,
        /// The optimiser actually used, e.g. `AdamW(lr=0.001429, momentum=0.9)`.
        optimizer: String,
        run_dir: PathBuf,
    },
    /// Something the user should know that does not stop training (skipped images, …).
    Warning { message: String },
    EpochStart { epoch: usize, epochs: usize, batches: usize },
    /// After each batch: running means of this epoch's losses so far.
    Batch {
        epoch: usize,
        epochs: usize,
        batch: usize,
        batches: usize,
        losses: BTreeMap<String, f64>,
        /// Objects in this batch (detect/segment) or images (classify).
        instances: usize,
        imgsz: u32,
        images_per_second: f64,
    },
    /// Validation of this epoch is running.
    Validating { epoch: usize, epochs: usize },
    EpochEnd {
        epoch: usize,
        epochs: usize,
        /// Every `results.csv` value of the epoch (train and val losses, metrics, learning rates).
        metrics: BTreeMap<String, f64>,
        /// Fitness of this epoch (`None` when it was not validated).
        fitness: Option<f64>,
        best_fitness: Option<f64>,
        is_best: bool,
        /// Training, validation and saving of the epoch.
        epoch_time_seconds: f64,
        /// Training images per second (augmentation, forward, backward, optimiser).
        images_per_second: f64,
    },
    /// Checkpoints written after an epoch.
    Checkpoint { epoch: usize, last: PathBuf, best: Option<PathBuf> },
    /// Training ended normally (all epochs, or early stopping).
    Finished { outcome: TrainOutcome },
}

/// The result of a completed run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome {
    pub task: TaskType,
    pub names: Vec<String>,
    pub imgsz: u32,
    pub run_dir: PathBuf,
    /// Best-fitness EMA weights (safetensors with Ultralytics names) and its JSON sidecar.
    pub best: PathBuf,
    /// Last epoch's EMA weights.
    pub last: PathBuf,
    pub results_csv: PathBuf,
    /// Epochs completed in total (including before a resume).
    pub epochs_completed: usize,
    pub best_epoch: usize,
    /// Metrics of the best epoch (`results.csv` names).
    pub final_metrics: BTreeMap<String, f64>,
    pub best_fitness: f64,
    pub stopped_early: bool,
    /// Wall time of this run (not counting earlier runs before a resume).
    pub train_seconds: f64,
}

/// Asks a running training to stop; checked between batches (and by the loader).
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

//! Training: Ultralytics' trainer loop on the engine's pieces.
//!
//! ```no_run
//! use af_engine::train::{train, CancelToken, TrainConfig};
//! use af_core::{Hyperparameters, TaskType};
//! let hyp = Hyperparameters { epochs: 30, imgsz: Some(320), ..Hyperparameters::default() };
//! let cfg = TrainConfig::new(TaskType::Detect, "data/data.yaml", "runs/exp", hyp);
//! let cancel = CancelToken::new(); // keep a clone to cancel from another thread
//! let outcome = train(cfg, &mut |event| println!("{event:?}"), &cancel)?;
//! println!("best weights: {}", outcome.best.display());
//! # Ok::<(), af_engine::EngineError>(())
//! ```
//!
//! Per epoch: the seeded, augmented, multi-threaded loader feeds the model in train mode;
//! the task's loss is back-propagated; every `accumulate` batches (nominal batch 64) the
//! gradients are clipped to norm 10, the optimiser steps and the EMA is updated; warm-up
//! ramps learning rates, momentum and accumulation over the first `warmup_epochs`; the EMA
//! model is validated with Engine I's validator (metrics + validation losses); fitness decides
//! `best`; `last` (+ optimiser state) is written every epoch; early stopping after `patience`
//! epochs without improvement. Mosaic and mixup stop for the last `close_mosaic` epochs.
//!
//! Everything runs on the calling thread except data loading, so the whole run can live on
//! one `spawn_blocking` thread. [`TrainEvent`]s go to the sink in order; the [`CancelToken`] is
//! checked between batches, and a cancelled run returns [`EngineError::Cancelled`] (the last
//! completed epoch's checkpoint stays resumable).
//!
//! Reproducibility: on CPU a run is a pure function of the config and seed — `tch::manual_seed`
//! fixes the initial weights, the data order and every augmentation are drawn from generators
//! derived from `(seed, epoch, position)` (not from thread timing), and libtorch's CPU kernels
//! are deterministic for a fixed thread count. On CUDA, cuDNN's autotuned kernels are used,
//! which are fast but not bit-reproducible.

pub mod checkpoint;
pub mod events;
pub mod results;
mod trainer;

use std::path::{Path, PathBuf};

use af_core::{Hyperparameters, TaskType};
use serde::{Deserialize, Serialize};

pub use checkpoint::{sidecar_for, CheckpointInfo, RunPaths, Stopper};
pub use events::{CancelToken, TrainEvent, TrainOutcome};

use crate::error::{EngineError, Result};

/// Everything a run needs. Stored in every checkpoint, so `resume` needs only the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub task: TaskType,
    /// `data.yaml` (detect, segment; a folder holding one is accepted) or an ImageFolder root
    /// with `train/` and `val/` (classify).
    pub data: PathBuf,
    /// Where weights, `results.csv` and `args.json` go (created).
    pub run_dir: PathBuf,
    pub hyp: Hyperparameters,
    /// `auto`, `cpu`, `cuda`, `cuda:N`.
    pub device: String,
    /// Folder of pretrained base weights (`yolov8n.pt` → `<dir>/yolov8n.safetensors`).
    pub weights_dir: Option<PathBuf>,
    /// Data loader threads; 0 picks one per core (at most 8).
    pub workers: usize,
    /// libtorch threads on CPU; 0 uses every core.
    pub threads: usize,
    /// Validate every epoch. When false only the final epoch (and any epoch that may end the
    /// run early) is validated.
    pub val: bool,
    /// Mixed precision (autocast + gradient scaling) on CUDA; ignored on CPU.
    pub amp: bool,
}

impl TrainConfig {
    pub fn new(task: TaskType, data: impl Into<PathBuf>, run_dir: impl Into<PathBuf>, hyp: Hyperparameters) -> Self {
        TrainConfig {
            task,
            data: data.into(),
            run_dir: run_dir.into(),
            hyp,
            device: "auto".into(),
            weights_dir: None,
            workers: 0,
            threads: 0,
            val: true,
            amp: true,
        }
    }

    /// Checks the hyperparameters for the task and fills the task defaults.
    pub fn checked(mut self) -> Result<Self> {
        self.hyp.validate(self.task).map_err(|errs| {
            EngineError::invalid(errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))
        })?;
        self.hyp = self.hyp.resolved(self.task);
        if self.task != TaskType::Classify && self.data.is_dir() {
            self.data = self.data.join("data.yaml");
        }
        Ok(self)
    }
}

/// Trains from scratch or from pretrained base weights, as configured.
pub fn train(cfg: TrainConfig, sink: &mut dyn FnMut(&TrainEvent), cancel: &CancelToken) -> Result<TrainOutcome> {
    let mut t = trainer::Trainer::setup(cfg.checked()?, None, sink)?;
    t.run(sink, cancel)
}

/// What may change when resuming (everything else comes from the checkpoint).
#[derive(Debug, Clone, Default)]
pub struct ResumeOptions {
    pub device: Option<String>,
    pub workers: Option<usize>,
    pub threads: Option<usize>,
    /// The dataset moved: its new `data.yaml` / ImageFolder root.
    pub data: Option<PathBuf>,
}

/// Continues the run whose checkpoint is `from` (a run directory, `last.safetensors` or its
/// `last.json`) at the epoch after the saved one, with the saved weights, optimiser state,
/// EMA, best fitness and early-stopping state.
pub fn resume(from: &Path, opts: ResumeOptions, sink: &mut dyn FnMut(&TrainEvent), cancel: &CancelToken) -> Result<TrainOutcome> {
    let info_path = sidecar_for(from);
    let info = CheckpointInfo::read(&info_path)?;
    if info.epoch >= info.epochs {
        return Err(EngineError::invalid(format!(
            "{} finished all {} epochs; nothing to resume (start a new run to train longer)",
            info_path.display(),
            info.epochs
        )));
    }
    let mut cfg = info.config.clone();
    if let Some(d) = opts.device {
        cfg.device = d;
    }
    if let Some(w) = opts.workers {
        cfg.workers = w;
    }
    if let Some(t) = opts.threads {
        cfg.threads = t;
    }
    if let Some(d) = opts.data {
        cfg.data = d;
    }
    let weights = info_path.with_extension("safetensors");
    let mut t = trainer::Trainer::setup(cfg.checked()?, Some((info, weights, info_path)), sink)?;
    t.run(sink, cancel)
}

#[cfg(test)]
mod tests;

//! Checkpoints of a run directory:
//!
//! ```text
//! <run>/args.json                  the run's TrainConfig
//! <run>/results.csv                one row per epoch, Ultralytics' columns
//! <run>/weights/last.safetensors   EMA weights after the last epoch (Ultralytics names, f32)
//! <run>/weights/last.json          sidecar: epoch, metrics, fitness, config, optimiser state file, …
//! <run>/weights/last.optim.safetensors   optimiser buffers (for resume; removed when training finishes)
//! <run>/weights/best.safetensors   EMA weights of the best-fitness epoch
//! <run>/weights/best.json
//! ```
//! The weights carry `task`, `scale`, `nc`, `names`, `imgsz` in their header, so `val`,
//! `predict` and the model registry need nothing else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::TrainConfig;
use crate::error::{EngineError, Result};
use crate::optim::GradScaler;

/// Early-stopping state (`EarlyStopping`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stopper {
    pub best_fitness: f64,
    /// Epoch (1-based) of the best fitness.
    pub best_epoch: usize,
    /// Epochs without improvement before stopping; 0 = never.
    pub patience: usize,
}

impl Stopper {
    pub fn new(patience: usize) -> Self {
        Stopper { best_fitness: 0.0, best_epoch: 0, patience }
    }

    /// Records `fitness` of `epoch` (1-based); true when training should stop.
    pub fn observe(&mut self, epoch: usize, fitness: Option<f64>) -> bool {
        let Some(f) = fitness else { return false };
        if f > self.best_fitness || self.best_fitness == 0.0 {
            self.best_epoch = epoch;
            self.best_fitness = f;
        }
        self.patience > 0 && epoch - self.best_epoch >= self.patience
    }

    /// The next epoch may be the last (validate it even when per-epoch validation is off).
    pub fn possible_stop(&self, epoch: usize) -> bool {
        self.patience > 0 && epoch.saturating_sub(self.best_epoch) + 1 >= self.patience
    }
}

/// The JSON sidecar of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// Epochs completed.
    pub epoch: usize,
    pub epochs: usize,
    pub task: af_core::TaskType,
    pub names: Vec<String>,
    pub imgsz: u32,
    pub fitness: Option<f64>,
    pub best_fitness: Option<f64>,
    /// This epoch's `results.csv` values.
    pub metrics: BTreeMap<String, f64>,
    /// File name (beside the sidecar) of the optimiser state, while resumable.
    pub optimizer_state: Option<String>,
    /// The optimiser used, e.g. `SGD`.
    pub optimizer: String,
    pub ema_updates: u64,
    pub scaler: GradScaler,
    pub stopper: Stopper,
    pub config: TrainConfig,
    pub saved_at_unix: u64,
    pub engine_version: String,
}

impl CheckpointInfo {
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| EngineError::weights(path, format!("not a checkpoint sidecar: {e}")))
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("serialisable");
        std::fs::write(&tmp, text).map_err(|e| EngineError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| EngineError::io(path, e))
    }
}

/// Paths of a run directory.
#[derive(Debug, Clone)]
pub struct RunPaths {
    pub dir: PathBuf,
    pub weights: PathBuf,
}

impl RunPaths {
    pub fn new(dir: &Path) -> Self {
        RunPaths { dir: dir.to_path_buf(), weights: dir.join("weights") }
    }
    pub fn last(&self) -> PathBuf {
        self.weights.join("last.safetensors")
    }
    pub fn last_info(&self) -> PathBuf {
        self.weights.join("last.json")
    }
    pub fn last_optim(&self) -> PathBuf {
        self.weights.join("last.optim.safetensors")
    }
    pub fn best(&self) -> PathBuf {
        self.weights.join("best.safetensors")
    }
    pub fn best_info(&self) -> PathBuf {
        self.weights.join("best.json")
    }
    pub fn results(&self) -> PathBuf {
        self.dir.join("results.csv")
    }
    pub fn args(&self) -> PathBuf {
        self.dir.join("args.json")
    }
}

/// The sidecar beside a weights file (`last.safetensors` → `last.json`); a run directory or a
/// sidecar path itself are accepted too.
pub fn sidecar_for(path: &Path) -> PathBuf {
    if path.is_dir() {
        return RunPaths::new(path).last_info();
    }
    if path.extension().is_some_and(|e| e == "json") {
        return path.to_path_buf();
    }
    path.with_extension("json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopper_follows_ultralytics() {
        let mut s = Stopper::new(3);
        assert!(!s.observe(1, Some(0.1)));
        assert!(!s.observe(2, Some(0.3)));
        assert!(!s.observe(3, Some(0.2)));
        assert!(!s.observe(4, Some(0.25)));
        assert!(s.possible_stop(4));
        assert!(s.observe(5, Some(0.29)), "3 epochs without beating 0.3");
        assert_eq!((s.best_epoch, s.best_fitness), (2, 0.3));
        let mut never = Stopper::new(0);
        assert!((1..50).all(|e| !never.observe(e, Some(0.0))));
        assert!(!never.observe(1, None));
    }

    #[test]
    fn sidecars_are_found_from_weights_or_run_dirs() {
        assert_eq!(sidecar_for(Path::new("/r/weights/last.safetensors")), PathBuf::from("/r/weights/last.json"));
        assert_eq!(sidecar_for(Path::new("/r/weights/best.json")), PathBuf::from("/r/weights/best.json"));
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(sidecar_for(dir.path()), dir.path().join("weights/last.json"));
    }
}

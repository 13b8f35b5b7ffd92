//! Pretrained base weights by name. A job config names its base model as Ultralytics users
//! do (`yolov8n.pt`, `yolov8s-seg.pt`, `yolov8n-cls.pt`); we never download: the name resolves
//! to `<weights dir>/<stem>.safetensors` (made from a `.pt` with `tools/pt_to_safetensors.py`)
//! or the model trains from scratch and the caller is told why. A `.yaml` name means "from
//! scratch" as it does in Ultralytics.

use std::path::{Path, PathBuf};

use tch::nn::VarStore;

use super::{load, LoadMode, LoadReport, StateDict};
use crate::error::Result;

/// Where a model's initial weights came from.
#[derive(Debug, Clone)]
pub enum BaseWeights {
    /// Loaded (as far as names and shapes match) from this file.
    Pretrained { path: PathBuf, report: LoadReport },
    /// Initialised from scratch; `reason` says why, for the job log.
    Scratch { reason: String },
}

/// The safetensors file a base-model name refers to: the name itself when it is a path to an
/// existing `.safetensors` file, else `<weights_dir>/<stem>.safetensors` when that exists.
pub fn resolve_base(name: &str, weights_dir: Option<&Path>) -> Option<PathBuf> {
    let as_path = Path::new(name);
    if as_path.extension().is_some_and(|e| e == "safetensors") && as_path.is_file() {
        return Some(as_path.to_path_buf());
    }
    let stem = as_path.file_stem()?.to_str()?;
    let candidate = weights_dir?.join(format!("{stem}.safetensors"));
    candidate.is_file().then_some(candidate)
}

/// Initialises the model in `vs` from the base weights `name` if they resolve, transferring
/// every tensor whose name and shape match (a head for another class count stays freshly
/// initialised, and the report lists it); otherwise leaves the fresh init and says why.
/// A file that exists but cannot be read is an error, not a silent fallback to scratch.
pub fn init_from_base(vs: &VarStore, name: &str, weights_dir: Option<&Path>) -> Result<BaseWeights> {
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        return Ok(BaseWeights::Scratch { reason: format!("`{name}` is a model definition: training from scratch") });
    }
    let Some(path) = resolve_base(name, weights_dir) else {
        let looked = match (Path::new(name).file_stem().and_then(|s| s.to_str()), weights_dir) {
            (Some(stem), Some(dir)) => format!("{}", dir.join(format!("{stem}.safetensors")).display()),
            _ => "no weights directory configured".to_string(),
        };
        return Ok(BaseWeights::Scratch {
            reason: format!("no pretrained weights for `{name}` ({looked} not found): training from scratch"),
        });
    };
    let sd = StateDict::read(&path)?;
    let report = load(vs, &sd, LoadMode::Transfer)?;
    Ok(BaseWeights::Pretrained { path, report })
}

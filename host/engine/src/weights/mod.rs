//! Weights on disk: safetensors files whose keys are Ultralytics' state-dict names.
//!
//! - [`StateDict::read`] reads one (floating tensors → f32, e.g. the BF16 fixtures), with its
//!   metadata header; [`StateDict::infer_spec`] tells task, scale and class count from the
//!   keys and shapes, so `val`/`predict` need nothing but the file.
//! - [`load`] copies a state dict into a var store: [`LoadMode::Exact`] (inference, resume:
//!   every variable present with its shape) or [`LoadMode::Transfer`] (pretrained base
//!   weights: whatever matches by name and shape, like Ultralytics' `intersect_dicts`, so a
//!   head with another class count keeps its fresh init). The [`LoadReport`] lists what was
//!   loaded and what was not, and is logged.
//! - [`save`] writes a var store as f32 safetensors that Ultralytics' `load_state_dict` accepts
//!   (it adds the `num_batches_tracked` buffers our BatchNorms do not keep) plus metadata
//!   (task, class names, …) that Ultralytics ignores.
//!
//! A model with fused BatchNorm (`YoloModel::fuse`) must be fused again after a load.

mod base;

pub use base::{init_from_base, resolve_base, BaseWeights};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use af_core::TaskType;
use tch::{nn::VarStore, Device, Kind, Tensor};

use crate::error::{EngineError, Result};
use crate::nn::{ModelSpec, Scale};

/// Metadata keys we write into the safetensors header.
pub const META_TASK: &str = "task";
pub const META_SCALE: &str = "scale";
pub const META_NAMES: &str = "names";
pub const META_IMGSZ: &str = "imgsz";

/// The tensors and header metadata of one safetensors file, floats converted to f32 on CPU.
#[derive(Debug)]
pub struct StateDict {
    pub path: PathBuf,
    pub tensors: HashMap<String, Tensor>,
    pub metadata: HashMap<String, String>,
}

impl StateDict {
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
        let parsed = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| EngineError::weights(path, format!("not a readable safetensors file ({e:?})")))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| EngineError::weights(path, format!("unreadable safetensors header ({e:?})")))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let mut tensors = HashMap::new();
        for (name, view) in parsed.tensors() {
            let t = Tensor::try_from(view).map_err(|e| EngineError::weights(path, format!("tensor `{name}`: {e}")))?;
            let t = if t.is_floating_point() { t.to_kind(Kind::Float) } else { t };
            tensors.insert(name, t);
        }
        Ok(StateDict { path: path.to_path_buf(), tensors, metadata })
    }

    /// Class names from our metadata (`names`, a JSON list), if present.
    pub fn names(&self) -> Option<Vec<String>> {
        serde_json::from_str(self.metadata.get(META_NAMES)?).ok()
    }

    /// Training image size from our metadata, if present.
    pub fn imgsz(&self) -> Option<i64> {
        self.metadata.get(META_IMGSZ)?.parse().ok()
    }

    fn shape(&self, key: &str) -> Option<Vec<i64>> {
        self.tensors.get(key).map(Tensor::size)
    }

    /// Task, scale and class count of the model these weights belong to, read from the keys
    /// (`model.9.linear` → classify, `model.22.proto` → segment, `model.22.cv3` → detect), the
    /// class count from the last class layer and the scale from the first conv's width. A
    /// `task` in the metadata must agree.
    pub fn infer_spec(&self) -> Result<ModelSpec> {
        let bad = |m: String| EngineError::weights(&self.path, m);
        let (task, nc) = if let Some(s) = self.shape("model.9.linear.weight") {
            (TaskType::Classify, s[0])
        } else if let Some(s) = self.shape("model.22.cv3.0.2.bias") {
            let seg = self.tensors.keys().any(|k| k.starts_with("model.22.proto."));
            (if seg { TaskType::Segment } else { TaskType::Detect }, s[0])
        } else {
            return Err(bad("not a YOLOv8 detect/segment/classify state dict (no model.22.cv3 or model.9.linear tensors)".into()));
        };
        let width = self
            .shape("model.0.conv.weight")
            .ok_or_else(|| bad("missing model.0.conv.weight".into()))?[0];
        let scale = Scale::ALL
            .into_iter()
            .find(|s| s.multiples(task).channels(64) == width)
            .ok_or_else(|| bad(format!("first conv has {width} channels, which is no YOLOv8 scale")))?;
        if let Some(meta_task) = self.metadata.get(META_TASK) {
            if meta_task != task.as_str() {
                return Err(bad(format!("metadata says task `{meta_task}` but the tensors are a {task} model")));
            }
        }
        ModelSpec::new(task, scale, nc)
    }
}

/// A model built from a weights file alone, with what its metadata says.
pub struct LoadedModel {
    pub vs: VarStore,
    pub model: crate::nn::YoloModel,
    /// Class names from the metadata, if any.
    pub names: Option<Vec<String>>,
    /// Training image size from the metadata, if any.
    pub imgsz: Option<i64>,
}

/// Reads `path`, builds the model it describes (`StateDict::infer_spec`) on `device` and
/// loads every tensor ([`LoadMode::Exact`]).
pub fn load_model(path: impl AsRef<Path>, device: Device) -> Result<LoadedModel> {
    let sd = StateDict::read(path)?;
    let spec = sd.infer_spec()?;
    let vs = VarStore::new(device);
    let model = crate::nn::YoloModel::new(&vs.root(), spec);
    load(&vs, &sd, LoadMode::Exact)?;
    Ok(LoadedModel { vs, model, names: sd.names(), imgsz: sd.imgsz() })
}

/// How strictly [`load`] matches a state dict against a var store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// Every variable must be present with the same shape (extra keys are ignored).
    Exact,
    /// Copy every variable whose name and shape match; leave the rest as initialised.
    Transfer,
}

/// What [`load`] did.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    /// Present in the file but with another shape (e.g. a head for another class count).
    pub shape_mismatch: Vec<String>,
    /// Variables of the model that the file does not have.
    pub missing: Vec<String>,
}

impl LoadReport {
    pub fn total(&self) -> usize {
        self.loaded.len() + self.shape_mismatch.len() + self.missing.len()
    }

    /// Names not loaded (kept at their initial values), sorted.
    pub fn not_loaded(&self) -> Vec<String> {
        let mut v: Vec<String> = self.shape_mismatch.iter().chain(&self.missing).cloned().collect();
        v.sort();
        v
    }
}

/// Copies `sd` into the variables of `vs` (on its device, in its kind).
pub fn load(vs: &VarStore, sd: &StateDict, mode: LoadMode) -> Result<LoadReport> {
    let mut report = LoadReport::default();
    let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    for (name, var) in &vars {
        match sd.tensors.get(name) {
            None => report.missing.push(name.clone()),
            Some(src) if src.size() != var.size() => report.shape_mismatch.push(name.clone()),
            Some(_) => report.loaded.push(name.clone()),
        }
    }
    if mode == LoadMode::Exact && (!report.missing.is_empty() || !report.shape_mismatch.is_empty()) {
        let mut problems: Vec<String> = report.missing.iter().take(3).map(|n| format!("`{n}` missing")).collect();
        problems.extend(report.shape_mismatch.iter().take(3).map(|n| {
            format!("`{n}` is {:?} in the file but {:?} in the model", sd.tensors[n].size(), vars[n].size())
        }));
        return Err(EngineError::weights(
            &sd.path,
            format!(
                "does not fit this model ({} missing, {} of another shape: {}) — weights for another task, scale or class count?",
                report.missing.len(),
                report.shape_mismatch.len(),
                problems.join(", ")
            ),
        ));
    }
    if report.loaded.is_empty() {
        return Err(EngineError::weights(&sd.path, "no tensor in the file fits this model"));
    }
    tch::no_grad(|| -> Result<()> {
        for name in &report.loaded {
            let mut var = vars[name].shallow_clone();
            let src = sd.tensors[name].to_device(var.device()).to_kind(var.kind());
            var.f_copy_(&src)?;
        }
        Ok(())
    })?;
    tracing::info!(
        path = %sd.path.display(),
        loaded = report.loaded.len(),
        total = report.total(),
        "loaded {}/{} tensors",
        report.loaded.len(),
        report.total()
    );
    tracing::debug!(loaded = ?report.loaded, "loaded tensors");
    if !report.shape_mismatch.is_empty() || !report.missing.is_empty() {
        tracing::info!(kept_initialised = ?report.not_loaded(), "tensors not loaded (kept at their initial values)");
    }
    Ok(report)
}

/// Metadata written with [`save`]; all optional.
#[derive(Debug, Clone, Default)]
pub struct SaveMeta {
    pub spec: Option<ModelSpec>,
    pub names: Option<Vec<String>>,
    pub imgsz: Option<i64>,
}

/// Writes the var store as an f32 safetensors file Ultralytics' `load_state_dict` accepts:
/// our keys plus a `num_batches_tracked` (i64 scalar 0) beside each BatchNorm's
/// `running_mean`, and a header with `task`, `scale`, `nc`, `names` (JSON) and `imgsz`.
pub fn save(vs: &VarStore, path: impl AsRef<Path>, meta: &SaveMeta) -> Result<()> {
    let path = path.as_ref();
    let mut named: BTreeMap<String, Tensor> = BTreeMap::new();
    for (name, t) in vs.variables() {
        let t = t.detach().to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
        if let Some(prefix) = name.strip_suffix(".running_mean") {
            named.insert(format!("{prefix}.num_batches_tracked"), Tensor::from(0i64));
        }
        named.insert(name, t);
    }
    let mut header = HashMap::new();
    if let Some(spec) = meta.spec {
        header.insert(META_TASK.to_string(), spec.task.as_str().to_string());
        header.insert(META_SCALE.to_string(), spec.scale.to_string());
        header.insert("nc".to_string(), spec.nc.to_string());
    }
    if let Some(names) = &meta.names {
        header.insert(META_NAMES.to_string(), serde_json::to_string(names).expect("strings serialise"));
    }
    if let Some(imgsz) = meta.imgsz {
        header.insert(META_IMGSZ.to_string(), imgsz.to_string());
    }
    write_safetensors(&named, &header, path)
}

/// Serialises named CPU tensors with a metadata header, via a temporary file renamed into
/// place so a crash never leaves a half-written weights file under the final name.
pub fn write_safetensors(tensors: &BTreeMap<String, Tensor>, metadata: &HashMap<String, String>, path: &Path) -> Result<()> {
    let mut buffers = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let kind = t.kind();
        let dtype = safetensors::Dtype::try_from(kind).map_err(|e| EngineError::weights(path, format!("`{name}`: {e}")))?;
        let numel = t.numel();
        let mut data = vec![0u8; numel * kind.elt_size_in_bytes()];
        t.f_copy_data_u8(&mut data, numel)?;
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        buffers.push((name.clone(), dtype, shape, data));
    }
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, data)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), data)
                .map(|v| (name.as_str(), v))
                .map_err(|e| EngineError::weights(path, format!("`{name}`: {e:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = if metadata.is_empty() { None } else { Some(metadata.clone()) };
    let bytes = safetensors::tensor::serialize(views, &meta).map_err(|e| EngineError::weights(path, format!("{e:?}")))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    let tmp = path.with_extension("safetensors.tmp");
    std::fs::write(&tmp, bytes).map_err(|e| EngineError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| EngineError::io(path, e))
}

#[cfg(test)]
mod tests;

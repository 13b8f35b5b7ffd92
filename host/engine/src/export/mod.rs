//! Model export: a trained weights file → the formats people deploy with, written by the
//! engine itself (no Python at run time).
//!
//! - [`ExportFormat::Onnx`]: the graph from the model definition (`onnx.rs`), BatchNorm folded
//!   into the convs, opset 17, input `images` `[N, 3, H, W]` float 0–1 and Ultralytics' output
//!   names and shapes, with Ultralytics' `metadata_props` (`names`, `stride`, `task`, `imgsz`,
//!   …), so tools written for Ultralytics' ONNX files read ours unchanged.
//! - [`ExportFormat::TorchScript`]: the fused model's eval forward traced by libtorch
//!   (`torch.jit.load`-able, same outputs), with Ultralytics' `extra/config.txt` metadata.
//! - [`ExportFormat::Safetensors`]: the weights re-written (f32, or f16 with `half`) with our
//!   metadata header, e.g. to hand a model to Ultralytics' `load_state_dict`.
//!
//! [`ExportOptions::check`] turns bad options into an [`OptionError`] naming the option (the
//! CLI prints it, the API answers 422 with it) before anything is loaded.

pub mod onnx;
pub mod proto;
pub mod torchscript;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use af_core::TaskType;
use tch::Device;

use crate::error::{EngineError, Result};
use crate::nn::{ModelSpec, MAX_STRIDE};
use crate::predict::default_names;
use crate::weights::{load_model, LoadedModel};

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Onnx,
    #[serde(rename = "torchscript")]
    TorchScript,
    Safetensors,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [ExportFormat::Onnx, ExportFormat::TorchScript, ExportFormat::Safetensors];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Onnx => "onnx",
            ExportFormat::TorchScript => "torchscript",
            ExportFormat::Safetensors => "safetensors",
        }
    }

    /// The file extension Ultralytics uses (`best.onnx`, `best.torchscript`).
    pub fn extension(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExportFormat {
    type Err = OptionError;
    fn from_str(s: &str) -> std::result::Result<Self, OptionError> {
        let lower = s.trim().to_ascii_lowercase();
        ExportFormat::ALL.into_iter().find(|f| f.as_str() == lower).ok_or_else(|| {
            OptionError::new("format", format!("unknown export format `{s}` (expected onnx, torchscript or safetensors)"))
        })
    }
}

/// A bad export option, with the option's name (`format`, `imgsz`, `batch`, `half`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    pub field: &'static str,
    pub message: String,
}

impl OptionError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        OptionError { field, message: message.into() }
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for OptionError {}

impl From<OptionError> for EngineError {
    fn from(e: OptionError) -> Self {
        EngineError::invalid(e.to_string())
    }
}

/// What to export. `imgsz: None` means the size stored in the weights (else the task's
/// default, 640 or 224).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    pub format: ExportFormat,
    pub imgsz: Option<i64>,
    pub batch: i64,
    /// ONNX only: the batch dimension is symbolic (`batch`), any batch runs.
    pub dynamic: bool,
    /// Float16 weights (and ONNX / TorchScript inputs and outputs); needs a CUDA device.
    pub half: bool,
    /// Where the model is loaded and traced (TorchScript files keep this device).
    pub device: Device,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions { format: ExportFormat::Onnx, imgsz: None, batch: 1, dynamic: false, half: false, device: Device::Cpu }
    }
}

/// The largest export image size we accept (Ultralytics has no limit; this keeps a request
/// from asking the server for a gigapixel trace).
pub const MAX_IMGSZ: i64 = 4096;
/// The largest fixed batch.
pub const MAX_BATCH: i64 = 256;
/// The largest input a TorchScript trace may run its example forward on (batch × H × W):
/// four 640² images. The trace runs the network for real, so this bounds its memory; ONNX
/// export runs nothing and takes any size up to [`MAX_IMGSZ`].
pub const MAX_TRACE_PIXELS: i64 = 4 * 640 * 640;

/// The stride Ultralytics writes for a task: 32 for detect/segment, and 1 for classify
/// (its `ClassificationModel.stride`), whose input size is free.
pub fn model_stride(task: TaskType) -> i64 {
    if task == TaskType::Classify {
        1
    } else {
        MAX_STRIDE
    }
}

impl ExportOptions {
    /// Checks the options for a model of `task` whose weights say `trained_imgsz`; returns
    /// the image size to export at. Errors name the option.
    pub fn check(&self, task: TaskType, trained_imgsz: Option<i64>) -> std::result::Result<i64, OptionError> {
        let imgsz = self.imgsz.or(trained_imgsz).unwrap_or_else(|| i64::from(task.default_imgsz()));
        let stride = model_stride(task);
        if imgsz < 1 || imgsz > MAX_IMGSZ {
            return Err(OptionError::new("imgsz", format!("must be between 1 and {MAX_IMGSZ}, got {imgsz}")));
        }
        if imgsz % stride != 0 {
            return Err(OptionError::new(
                "imgsz",
                format!("{imgsz} is not a multiple of the model stride {stride} (try {})", (imgsz + stride - 1) / stride * stride),
            ));
        }
        if self.batch < 1 || self.batch > MAX_BATCH {
            return Err(OptionError::new("batch", format!("must be between 1 and {MAX_BATCH}, got {}", self.batch)));
        }
        if self.format == ExportFormat::TorchScript && self.batch * imgsz * imgsz > MAX_TRACE_PIXELS {
            let field = if self.batch > 1 { "batch" } else { "imgsz" };
            return Err(OptionError::new(
                field,
                format!(
                    "a TorchScript trace runs the model on its example input: batch × imgsz² is at most {MAX_TRACE_PIXELS} (4 × 640²), got {} × {imgsz}²",
                    self.batch
                ),
            ));
        }
        if self.dynamic && self.format != ExportFormat::Onnx {
            return Err(OptionError::new("dynamic", format!("a dynamic batch is only possible for onnx, not {}", self.format)));
        }
        if self.half && self.device == Device::Cpu {
            return Err(OptionError::new("half", "half precision export needs a CUDA device (the model is on the CPU)"));
        }
        Ok(imgsz)
    }

    /// A file name that tells every option apart (the server caches one file per name):
    /// `best-640.onnx`, `best-640-b4-dynamic-fp16.onnx`, `best-640-fp32.safetensors`.
    pub fn file_name(&self, stem: &str, imgsz: i64) -> String {
        let mut name = format!("{stem}-{imgsz}");
        if self.batch != 1 {
            name.push_str(&format!("-b{}", self.batch));
        }
        if self.dynamic {
            name.push_str("-dynamic");
        }
        if self.half {
            name.push_str("-fp16");
        } else if self.format == ExportFormat::Safetensors {
            name.push_str("-fp32");
        }
        format!("{name}.{}", self.format.extension())
    }

    /// The CLI's default output beside the weights, as Ultralytics names it: `best.onnx`,
    /// `best.torchscript`; safetensors (same extension as the input) `best-fp32.safetensors`.
    pub fn default_output(&self, model_path: &Path) -> PathBuf {
        let stem = model_path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
        let name = match self.format {
            ExportFormat::Safetensors => format!("{stem}-{}.safetensors", if self.half { "fp16" } else { "fp32" }),
            f => format!("{stem}.{}", f.extension()),
        };
        model_path.with_file_name(name)
    }
}

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exported {
    pub format: ExportFormat,
    pub path: PathBuf,
    pub bytes: u64,
    pub imgsz: i64,
    /// Wall time of building and writing the file (not of loading the weights).
    pub seconds: f64,
}

/// Loads `model_path` onto `opts.device` and exports it to `out` (default: beside the
/// weights, named by [`ExportOptions::file_name`]).
pub fn export_file(model_path: &Path, opts: &ExportOptions, out: Option<&Path>) -> Result<Exported> {
    let loaded = load_model(model_path, opts.device)?;
    opts.check(loaded.model.task(), loaded.imgsz)?;
    let out = out.map_or_else(|| opts.default_output(model_path), Path::to_path_buf);
    if out.canonicalize().ok().is_some_and(|o| model_path.canonicalize().ok().as_ref() == Some(&o)) {
        return Err(OptionError::new("out", "the export would overwrite the weights it is made from").into());
    }
    export_loaded(loaded, opts, &out)
}

/// Exports an already loaded model (consumed: it is fused, and cast for `half`).
pub fn export_loaded(mut loaded: LoadedModel, opts: &ExportOptions, out: &Path) -> Result<Exported> {
    let spec = loaded.model.spec();
    let imgsz = opts.check(spec.task, loaded.imgsz)?;
    let names = loaded.names.clone().unwrap_or_else(|| default_names(spec.nc));
    if names.len() as i64 != spec.nc {
        return Err(EngineError::invalid(format!("{} class names for a model with {} classes", names.len(), spec.nc)));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    let started = Instant::now();
    let meta = Metadata::new(spec, &names, imgsz, opts);
    // Written next to the target and renamed into place, so a failed export leaves no
    // half-written file under the final name (the server serves that name).
    let tmp = out.with_extension(format!("{}.tmp", opts.format.extension()));
    match opts.format {
        ExportFormat::Safetensors => {
            if opts.half {
                loaded.vs.half();
            }
            write_safetensors(&loaded, &names, &tmp, opts.half)?;
        }
        ExportFormat::Onnx => {
            if opts.half {
                loaded.vs.half();
            }
            loaded.model.fuse();
            let spec = onnx::OnnxSpec { height: imgsz, width: imgsz, batch: opts.batch, dynamic: opts.dynamic, half: opts.half };
            let model = onnx::build(&loaded.model, &spec, meta.onnx_props())?;
            std::fs::write(&tmp, model.encode()).map_err(|e| EngineError::io(&tmp, e))?;
        }
        ExportFormat::TorchScript => {
            if opts.half {
                loaded.vs.half();
            }
            // Parameters that require grad cannot become constants of the trace.
            loaded.vs.freeze();
            loaded.model.fuse();
            torchscript::trace_and_save(&loaded.model, imgsz, opts.batch, opts.half, &meta.json(), &tmp)?;
        }
    }
    std::fs::rename(&tmp, out).map_err(|e| EngineError::io(out, e))?;
    let seconds = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(out).map_err(|e| EngineError::io(out, e))?.len();
    tracing::info!(format = %opts.format, path = %out.display(), bytes, seconds, "exported");
    Ok(Exported { format: opts.format, path: out.to_path_buf(), bytes, imgsz, seconds })
}

fn write_safetensors(loaded: &LoadedModel, names: &[String], path: &Path, half: bool) -> Result<()> {
    use std::collections::{BTreeMap, HashMap};
    let kind = if half { tch::Kind::Half } else { tch::Kind::Float };
    let mut named = BTreeMap::new();
    for (name, t) in loaded.vs.variables() {
        let t = t.detach().to_device(Device::Cpu).to_kind(kind).contiguous();
        if let Some(prefix) = name.strip_suffix(".running_mean") {
            named.insert(format!("{prefix}.num_batches_tracked"), tch::Tensor::from(0i64));
        }
        named.insert(name, t);
    }
    let spec = loaded.model.spec();
    let mut header = HashMap::new();
    header.insert(crate::weights::META_TASK.to_string(), spec.task.as_str().to_string());
    header.insert(crate::weights::META_SCALE.to_string(), spec.scale.to_string());
    header.insert("nc".to_string(), spec.nc.to_string());
    header.insert(crate::weights::META_NAMES.to_string(), serde_json::to_string(names).expect("strings serialise"));
    if let Some(imgsz) = loaded.imgsz {
        header.insert(crate::weights::META_IMGSZ.to_string(), imgsz.to_string());
    }
    crate::weights::write_safetensors(&named, &header, path)
}

/// The metadata Ultralytics' exporter attaches (`Exporter.metadata`), with our producer in
/// `description`/`author`/`version`. ONNX gets each value as `str(value)` of the Python
/// object (so `names` is a dict literal `{0: 'person', 1: 'car'}`, `imgsz` `[640, 640]`),
/// TorchScript gets it as JSON in `extra/config.txt`, exactly as Ultralytics writes them.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub description: String,
    pub author: String,
    pub date: String,
    pub version: String,
    pub license: String,
    pub docs: String,
    pub stride: i64,
    pub task: TaskType,
    /// The head's class name: `Detect`, `Segment`, `Classify`.
    pub head: &'static str,
    pub batch: i64,
    pub imgsz: [i64; 2],
    pub names: Vec<String>,
    pub args: ExportArgs,
    pub channels: i64,
    /// YOLOv8 heads need NMS after them (YOLO26-style end-to-end heads would not).
    pub end2end: bool,
}

/// The `args` entry: the export options that shaped the file.
#[derive(Debug, Clone)]
pub struct ExportArgs {
    pub batch: i64,
    pub half: bool,
    pub dynamic: bool,
}

impl Metadata {
    pub fn new(spec: ModelSpec, names: &[String], imgsz: i64, opts: &ExportOptions) -> Self {
        let pretty = spec.base_name().replacen("yolo", "YOLO", 1);
        Metadata {
            description: format!("AnnotateForge {pretty} model"),
            author: "AnnotateForge".into(),
            date: iso_now(),
            version: env!("CARGO_PKG_VERSION").into(),
            license: "Apache-2.0".into(),
            docs: "https://github.com/annotateforge/annotateforge#readme".into(),
            stride: model_stride(spec.task),
            task: spec.task,
            head: match spec.task {
                TaskType::Detect => "Detect",
                TaskType::Segment => "Segment",
                TaskType::Classify => "Classify",
            },
            batch: opts.batch,
            imgsz: [imgsz, imgsz],
            names: names.to_vec(),
            args: ExportArgs { batch: opts.batch, half: opts.half, dynamic: opts.dynamic },
            channels: 3,
            end2end: false,
        }
    }

    /// `names` as Python's `str(dict)`: `{0: 'person', 1: 'car'}`.
    pub fn names_repr(&self) -> String {
        let items: Vec<String> = self.names.iter().enumerate().map(|(i, n)| format!("{i}: {}", py_repr_str(n))).collect();
        format!("{{{}}}", items.join(", "))
    }

    fn py_bool(b: bool) -> &'static str {
        if b {
            "True"
        } else {
            "False"
        }
    }

    /// `metadata_props` as Ultralytics 8.4 writes them: key, `str(value)`, in its order.
    /// `args` has the keys of its ONNX export (`half` is its `quantize=16`).
    pub fn onnx_props(&self) -> Vec<(String, String)> {
        let a = &self.args;
        let quantize = if a.half { "16" } else { "None" };
        let args = format!(
            "{{'data': None, 'batch': {}, 'fraction': 1.0, 'quantize': {quantize}, 'nms': False, 'dynamic': {}, 'simplify': False, 'opset': {}}}",
            a.batch,
            Self::py_bool(a.dynamic),
            onnx::OPSET
        );
        vec![
            ("description".into(), self.description.clone()),
            ("author".into(), self.author.clone()),
            ("date".into(), self.date.clone()),
            ("version".into(), self.version.clone()),
            ("license".into(), self.license.clone()),
            ("docs".into(), self.docs.clone()),
            ("stride".into(), self.stride.to_string()),
            ("task".into(), self.task.as_str().into()),
            ("head".into(), self.head.into()),
            ("batch".into(), self.batch.to_string()),
            ("imgsz".into(), format!("[{}, {}]", self.imgsz[0], self.imgsz[1])),
            ("names".into(), self.names_repr()),
            ("args".into(), args),
            ("channels".into(), self.channels.to_string()),
            ("end2end".into(), Self::py_bool(self.end2end).into()),
        ]
    }

    /// The same as JSON (`json.dumps(metadata)`: dict keys become strings), as Ultralytics
    /// writes TorchScript's `config.txt`.
    pub fn json(&self) -> String {
        let names: serde_json::Map<String, serde_json::Value> =
            self.names.iter().enumerate().map(|(i, n)| (i.to_string(), serde_json::Value::String(n.clone()))).collect();
        let a = &self.args;
        serde_json::json!({
            "description": self.description,
            "author": self.author,
            "date": self.date,
            "version": self.version,
            "license": self.license,
            "docs": self.docs,
            "stride": self.stride,
            "task": self.task.as_str(),
            "head": self.head,
            "batch": self.batch,
            "imgsz": self.imgsz,
            "names": names,
            "args": {"batch": a.batch, "quantize": if a.half { Some(16) } else { None }, "nms": false, "dynamic": a.dynamic},
            "channels": self.channels,
            "end2end": self.end2end,
        })
        .to_string()
    }
}

/// Python's `repr(str)`: single quotes unless the text has a `'` and no `"`, backslash
/// escapes for quotes, `\\`, `\n`, `\r`, `\t` and other control characters.
pub fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS+00:00` (what Ultralytics'
/// `datetime.now().astimezone().isoformat()` prints, to the second).
fn iso_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests;

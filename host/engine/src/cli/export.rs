//! `annotateforge export --model best.safetensors --format onnx|torchscript|safetensors
//! [--imgsz 640] [--batch 1] [--dynamic] [--half] [--device auto] [--out path]`: writes the
//! exported file (default: beside the weights, `best.onnx` / `best.torchscript`) and prints
//! what it wrote as JSON.

use std::path::PathBuf;

use crate::device::parse_device;
use crate::error::{EngineError, Result};
use crate::export::{export_loaded, ExportFormat, ExportOptions, Exported, OptionError};
use crate::weights::load_model;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Weights file (`.safetensors`).
    #[arg(long)]
    pub model: PathBuf,
    /// `onnx`, `torchscript` or `safetensors`.
    #[arg(long, default_value = "onnx")]
    pub format: String,
    /// Square input size (default: the size stored in the weights, else 640 / 224 for classify);
    /// a multiple of 32 for detect and segment models.
    #[arg(long)]
    pub imgsz: Option<i64>,
    /// Batch size of the exported input.
    #[arg(long, default_value_t = 1)]
    pub batch: i64,
    /// ONNX: symbolic batch dimension (any batch size at run time).
    #[arg(long)]
    pub dynamic: bool,
    /// Float16 weights, input and outputs (needs a CUDA device).
    #[arg(long)]
    pub half: bool,
    /// `cpu` (default), `auto`, `cuda` or `cuda:N`: where the model is traced.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Output file (default: beside the weights).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// An option error as the command line spells the option: `--imgsz: 100 is not a multiple …`.
fn flag(e: OptionError) -> EngineError {
    EngineError::invalid(format!("--{e}"))
}

/// Exports and returns what was written.
pub fn run(args: Args) -> Result<Exported> {
    let format: ExportFormat = args.format.parse().map_err(flag)?;
    let opts = ExportOptions { format, imgsz: args.imgsz, batch: args.batch, dynamic: args.dynamic, half: args.half, device: parse_device(&args.device)? };
    let loaded = load_model(&args.model, opts.device)?;
    opts.check(loaded.model.task(), loaded.imgsz).map_err(flag)?;
    let out = args.out.clone().unwrap_or_else(|| opts.default_output(&args.model));
    if out.canonicalize().ok().is_some_and(|o| args.model.canonicalize().ok().as_ref() == Some(&o)) {
        return Err(flag(OptionError::new("out", "the export would overwrite the weights it is made from")));
    }
    export_loaded(loaded, &opts, &out)
}

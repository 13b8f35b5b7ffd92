//! `annotateforge predict --model best.safetensors img1.jpg dir/ …`: predictions as JSON
//! (stdout or `--output`), optionally drawn onto PNGs (`--render <dir>`).

use std::path::PathBuf;

use serde::Serialize;

use crate::dataset::is_image;
use crate::device::parse_device;
use crate::error::{EngineError, Result};
use crate::predict::render::render;
use crate::predict::{read_image, PredictOptions, Prediction, Predictor};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Weights file (`.safetensors`).
    #[arg(long)]
    pub model: PathBuf,
    /// Image files or folders of images.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Inference size (default: the size stored in the weights).
    #[arg(long)]
    pub imgsz: Option<i64>,
    #[arg(long, default_value_t = 0.25)]
    pub conf: f64,
    #[arg(long, default_value_t = 0.7)]
    pub iou: f64,
    #[arg(long, default_value_t = 300)]
    pub max_det: usize,
    /// Images per forward pass.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Write the JSON here instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also write `<dir>/<image stem>.png` with the predictions drawn.
    #[arg(long)]
    pub render: Option<PathBuf>,
}

/// One image's entry in the JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct ImageResult {
    pub image: PathBuf,
    #[serde(flatten)]
    pub prediction: Prediction,
}

fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut files: Vec<PathBuf> =
                std::fs::read_dir(p).map_err(|e| EngineError::io(p, e))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|f| is_image(f)).collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        return Err(EngineError::invalid("no images given"));
    }
    Ok(out)
}

/// Predicts every image; writes `--output` / `--render` files and returns the results.
pub fn run(args: Args) -> Result<Vec<ImageResult>> {
    let device = parse_device(&args.device)?;
    let mut predictor = Predictor::load(&args.model, device)?;
    if let Some(imgsz) = args.imgsz {
        predictor = predictor.with_imgsz(imgsz)?;
    }
    let opts = PredictOptions { conf: args.conf, iou: args.iou, max_det: args.max_det, ..Default::default() };
    let paths = expand(&args.images)?;
    if let Some(dir) = &args.render {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    let mut results = Vec::with_capacity(paths.len());
    for chunk in paths.chunks(args.batch.max(1)) {
        let images = chunk.iter().map(read_image).collect::<Result<Vec<_>>>()?;
        let preds = predictor.predict(&images, &opts)?;
        for ((path, image), prediction) in chunk.iter().zip(&images).zip(preds) {
            if let Some(dir) = &args.render {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                let out = dir.join(format!("{stem}.png"));
                render(image, &prediction).save(&out).map_err(|e| EngineError::image(out.display().to_string(), e.to_string()))?;
            }
            results.push(ImageResult { image: path.clone(), prediction });
        }
    }
    if let Some(out) = &args.output {
        let json = serde_json::to_string_pretty(&results).expect("results serialise");
        std::fs::write(out, json).map_err(|e| EngineError::io(out, e))?;
    }
    Ok(results)
}

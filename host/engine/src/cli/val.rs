//! `annotateforge val --model best.safetensors --data data.yaml`: validates a model on a
//! dataset's val split and prints Ultralytics' metrics table (or JSON with `--json`).

use std::path::{Path, PathBuf};

use af_core::TaskType;

use crate::dataset::{list_images, read_data_yaml, read_image_folder, read_labels, DataConfig};
use crate::device::parse_device;
use crate::error::{EngineError, Result};
use crate::val::{format_table, validate_classify, validate_detect, ValConfig, ValReport};
use crate::weights::load_model;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Weights file (`.safetensors` with Ultralytics state-dict names).
    #[arg(long)]
    pub model: PathBuf,
    /// Detect/segment: a `data.yaml` (or its folder). Classify: an ImageFolder root with a
    /// `val/` (or `test/`) split, or the split folder itself.
    #[arg(long)]
    pub data: PathBuf,
    /// Image size (default: the size stored in the weights, else 640 / 224 for classify).
    #[arg(long)]
    pub imgsz: Option<i64>,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Confidence threshold of the NMS before matching.
    #[arg(long, default_value_t = 0.001)]
    pub conf: f64,
    /// NMS IoU threshold.
    #[arg(long, default_value_t = 0.7)]
    pub iou: f64,
    #[arg(long, default_value_t = 300)]
    pub max_det: usize,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Print the report as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// The split folder of an ImageFolder dataset: `<root>/val`, `<root>/test`, or `root` itself.
fn classify_split(data: &Path) -> PathBuf {
    ["val", "test"].iter().map(|s| data.join(s)).find(|p| p.is_dir()).unwrap_or_else(|| data.to_path_buf())
}

fn data_yaml(data: &Path) -> Result<DataConfig> {
    let yaml = if data.is_dir() { data.join("data.yaml") } else { data.to_path_buf() };
    read_data_yaml(yaml)
}

/// Runs validation and returns the report (the binary prints it).
pub fn run(args: Args) -> Result<ValReport> {
    let device = parse_device(&args.device)?;
    let mut loaded = load_model(&args.model, device)?;
    let task = loaded.model.task();
    let imgsz = args.imgsz.or(loaded.imgsz).unwrap_or_else(|| i64::from(task.default_imgsz()));
    let cfg = ValConfig { imgsz, batch: args.batch, conf: args.conf, iou: args.iou, max_det: args.max_det };
    loaded.model.fuse();
    let report = if task == TaskType::Classify {
        let (samples, names) = read_image_folder(&classify_split(&args.data))?;
        validate_classify(&loaded.model, &samples, &names, &cfg, None)?
    } else {
        let data = data_yaml(&args.data)?;
        if data.names.len() as i64 != loaded.model.nc() {
            return Err(EngineError::invalid(format!(
                "{} has {} classes but the model has {}",
                data.yaml.display(),
                data.names.len(),
                loaded.model.nc()
            )));
        }
        let samples = list_images(&data.val, &data.root)?
            .iter()
            .map(|img| read_labels(img, data.names.len()))
            .collect::<Result<Vec<_>>>()?;
        validate_detect(&loaded.model, &samples, &data.names, &cfg, None)?
    };
    Ok(report)
}

/// What the binary prints for a report.
pub fn render(report: &ValReport, json: bool) -> String {
    if json {
        serde_json::to_string_pretty(report).expect("report serialises")
    } else {
        let s = &report.speed;
        format!(
            "{}Speed: {:.1}ms preprocess, {:.1}ms inference, {:.1}ms postprocess per image\n",
            format_table(report),
            s.preprocess_ms,
            s.inference_ms,
            s.postprocess_ms
        )
    }
}

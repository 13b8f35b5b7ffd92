//! Training hyperparameters: the `hyperparameters` object of a job config and the `train` CLI's
//! options, with Ultralytics' names and defaults (`ultralytics/cfg/default.yaml`, 8.4.190), so a
//! config moves between `yolo train` and AnnotateForge unchanged.
//!
//! Missing fields take the documented default. Unknown fields are refused
//! (`deny_unknown_fields`); [`Hyperparameters::from_json`] names them as
//! `hyperparameters.<field>`, and [`Hyperparameters::validate`] reports every out-of-range
//! value the same way, so the API can answer one 422 listing all problems.
//!
//! Two defaults depend on the task: `model` (`yolov8n.pt`, `yolov8n-seg.pt`, `yolov8n-cls.pt`)
//! and `imgsz` (640 for detect/segment, 224 for classify); they are `None` until
//! [`Hyperparameters::resolved`] fills them in. The task extras (`dropout` for classify; `iou`,
//! `conf` for detect and segment; `overlap_mask`, `mask_ratio` for segment) are optional and
//! refused for the other tasks.
//!
//! One name differs in meaning: Ultralytics' `augment` is test-time augmentation at predict
//! time; here `augment: false` switches all training augmentation off (mosaic, mixup, affine,
//! HSV, flips), which is what a job config's `augment` flag has always meant in this project.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::FieldError;
use crate::task::TaskType;

/// The optimiser: Ultralytics' `optimizer` argument (names compared case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OptimizerKind {
    /// SGD with Nesterov momentum.
    Sgd,
    Adam,
    AdamW,
    /// Ultralytics' automatic choice: AdamW with `lr0 = round(0.002 · 5 / (4 + nc), 6)` and
    /// momentum 0.9 for short runs (≤ 10 000 optimiser iterations), SGD (lr 0.01, momentum
    /// 0.9) for long ones; `warmup_bias_lr` becomes 0. (Ultralytics 8.4 uses its MuSGD hybrid
    /// for long runs; we use plain SGD there.)
    #[default]
    Auto,
}

impl OptimizerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Adam => "Adam",
            OptimizerKind::AdamW => "AdamW",
            OptimizerKind::Auto => "auto",
        }
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam),
            "adamw" => Ok(OptimizerKind::AdamW),
            "auto" => Ok(OptimizerKind::Auto),
            other => Err(format!("unknown optimizer `{other}` (expected SGD, Adam, AdamW or auto)")),
        }
    }
}

impl Serialize for OptimizerKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OptimizerKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Every training hyperparameter, Ultralytics' name → its default in the field's doc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hyperparameters {
    /// Base model: `yolov8{n,s,m,l,x}[-seg|-cls]` with `.pt`/`.safetensors` (pretrained weights
    /// when the weights directory has them, else from scratch) or `.yaml` (from scratch).
    /// Default by task: `yolov8n.pt`, `yolov8n-seg.pt`, `yolov8n-cls.pt`.
    pub model: Option<String>,
    /// Training epochs. Default 100.
    pub epochs: u32,
    /// Images per batch. Default 16.
    pub batch: u32,
    /// Nominal batch size: gradients of `round(nbs / batch)` batches are accumulated per
    /// optimiser step, and weight decay is scaled by `batch · accumulate / nbs`. Default 64.
    pub nbs: u32,
    /// Square training/validation size in pixels, a multiple of 32. Default 640 (detect,
    /// segment) or 224 (classify).
    pub imgsz: Option<u32>,
    /// Initial learning rate. Default 0.01 (ignored by `optimizer: auto`).
    pub lr0: f64,
    /// Final learning rate as a fraction of `lr0`. Default 0.01.
    pub lrf: f64,
    /// SGD momentum / Adam β1. Default 0.937.
    pub momentum: f64,
    /// Weight decay of conv/linear weights (scaled by `batch · accumulate / 64`). Default 5e-4.
    pub weight_decay: f64,
    /// Warm-up length in epochs (fractions allowed). Default 3.0.
    pub warmup_epochs: f64,
    /// Momentum at the start of warm-up. Default 0.8.
    pub warmup_momentum: f64,
    /// Bias learning rate at the start of warm-up. Default 0.1.
    pub warmup_bias_lr: f64,
    /// `SGD`, `Adam`, `AdamW` or `auto`. Default `auto`.
    pub optimizer: OptimizerKind,
    /// Cosine instead of linear learning-rate decay. Default false.
    pub cos_lr: bool,
    /// Stop after this many epochs without a better fitness; 0 disables. Default 100.
    pub patience: u32,
    /// Seed of every random choice (weights init, shuffling, augmentation). Default 0.
    pub seed: u64,
    /// Box (CIoU) loss gain. Default 7.5.
    #[serde(rename = "box")]
    pub box_gain: f64,
    /// Classification loss gain. Default 0.5.
    #[serde(rename = "cls")]
    pub cls_gain: f64,
    /// Distribution focal loss gain. Default 1.5.
    #[serde(rename = "dfl")]
    pub dfl_gain: f64,
    /// Hue jitter, fraction of the hue circle. Default 0.015.
    pub hsv_h: f64,
    /// Saturation jitter, fraction. Default 0.7.
    pub hsv_s: f64,
    /// Value (brightness) jitter, fraction. Default 0.4.
    pub hsv_v: f64,
    /// Random rotation range, ± degrees. Default 0.
    pub degrees: f64,
    /// Random translation, ± fraction of the image size. Default 0.1.
    pub translate: f64,
    /// Random scale gain, ± fraction (0.5 → 0.5x … 1.5x). Default 0.5.
    pub scale: f64,
    /// Random shear, ± degrees. Default 0.
    pub shear: f64,
    /// Random perspective, ± fraction (0 … 0.001). Default 0.
    pub perspective: f64,
    /// Vertical flip probability. Default 0.
    pub flipud: f64,
    /// Horizontal flip probability. Default 0.5.
    pub fliplr: f64,
    /// Mosaic probability (detect/segment). Default 1.0.
    pub mosaic: f64,
    /// MixUp probability (detect/segment). Default 0.
    pub mixup: f64,
    /// Turn mosaic and mixup off for the last N epochs. Default 10.
    pub close_mosaic: u32,
    /// Apply training augmentation at all (see the module docs). Default true.
    pub augment: bool,
    /// Classify only: dropout before the final linear layer. Default 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    /// Detect/segment only: NMS IoU threshold of the per-epoch validation. Default 0.7.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iou: Option<f64>,
    /// Detect/segment only: confidence threshold of the per-epoch validation. Default 0.001.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conf: Option<f64>,
    /// Segment only: one overlap mask per image (smaller instances on top) instead of one mask
    /// per instance. Default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap_mask: Option<bool>,
    /// Segment only: training masks are `imgsz / mask_ratio` pixels wide. Default 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_ratio: Option<u32>,
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Hyperparameters {
            model: None,
            epochs: 100,
            batch: 16,
            nbs: 64,
            imgsz: None,
            lr0: 0.01,
            lrf: 0.01,
            momentum: 0.937,
            weight_decay: 0.0005,
            warmup_epochs: 3.0,
            warmup_momentum: 0.8,
            warmup_bias_lr: 0.1,
            optimizer: OptimizerKind::Auto,
            cos_lr: false,
            patience: 100,
            seed: 0,
            box_gain: 7.5,
            cls_gain: 0.5,
            dfl_gain: 1.5,
            hsv_h: 0.015,
            hsv_s: 0.7,
            hsv_v: 0.4,
            degrees: 0.0,
            translate: 0.1,
            scale: 0.5,
            shear: 0.0,
            perspective: 0.0,
            flipud: 0.0,
            fliplr: 0.5,
            mosaic: 1.0,
            mixup: 0.0,
            close_mosaic: 10,
            augment: true,
            dropout: None,
            iou: None,
            conf: None,
            overlap_mask: None,
            mask_ratio: None,
        }
    }
}

/// Names accepted in a `hyperparameters` object, in declaration order.
pub const FIELD_NAMES: &[&str] = &[
    "model", "epochs", "batch", "nbs", "imgsz", "lr0", "lrf", "momentum", "weight_decay", "warmup_epochs",
    "warmup_momentum", "warmup_bias_lr", "optimizer", "cos_lr", "patience", "seed", "box", "cls", "dfl",
    "hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "shear", "perspective", "flipud", "fliplr",
    "mosaic", "mixup", "close_mosaic", "augment", "dropout", "iou", "conf", "overlap_mask", "mask_ratio",
];

/// Default validation thresholds (Ultralytics' `val` defaults).
pub const DEFAULT_VAL_IOU: f64 = 0.7;
pub const DEFAULT_VAL_CONF: f64 = 0.001;

fn field(name: &str) -> String {
    format!("hyperparameters.{name}")
}

impl Hyperparameters {
    /// Ultralytics' defaults with the task's model and image size filled in.
    pub fn defaults_for(task: TaskType) -> Self {
        Hyperparameters::default().resolved(task)
    }

    /// Parses a `hyperparameters` JSON object (missing fields → defaults). Every unknown field
    /// and every value of the wrong type becomes a [`FieldError`] naming it, all at once.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, Vec<FieldError>> {
        let Some(obj) = value.as_object() else {
            return Err(vec![FieldError::new("hyperparameters", "must be a JSON object")]);
        };
        let mut errors = Vec::new();
        for (key, v) in obj {
            if !FIELD_NAMES.contains(&key.as_str()) {
                errors.push(FieldError::new(field(key), format!("unknown hyperparameter (known: {})", FIELD_NAMES.join(", "))));
                continue;
            }
            // Deserialise the field alone to name the one that has the wrong type.
            let single = serde_json::Value::Object([(key.clone(), v.clone())].into_iter().collect());
            if let Err(e) = serde_json::from_value::<Hyperparameters>(single) {
                errors.push(FieldError::new(field(key), type_message(&e.to_string())));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        serde_json::from_value(value.clone()).map_err(|e| vec![FieldError::new("hyperparameters", e.to_string())])
    }

    /// The same values with the task-dependent defaults (`model`, `imgsz`) and the task's
    /// extras (`dropout`; `iou`, `conf`; `overlap_mask`, `mask_ratio`) filled in.
    pub fn resolved(mut self, task: TaskType) -> Self {
        self.model.get_or_insert_with(|| default_model(task).to_string());
        self.imgsz.get_or_insert(task.default_imgsz());
        match task {
            TaskType::Classify => {
                self.dropout.get_or_insert(0.0);
            }
            TaskType::Detect | TaskType::Segment => {
                self.iou.get_or_insert(DEFAULT_VAL_IOU);
                self.conf.get_or_insert(DEFAULT_VAL_CONF);
                if task == TaskType::Segment {
                    self.overlap_mask.get_or_insert(true);
                    self.mask_ratio.get_or_insert(4);
                }
            }
        }
        self
    }

    /// `imgsz`, or the task's default.
    pub fn imgsz_or_default(&self, task: TaskType) -> u32 {
        self.imgsz.unwrap_or(task.default_imgsz())
    }

    /// `model`, or the task's default.
    pub fn model_or_default(&self, task: TaskType) -> String {
        self.model.clone().unwrap_or_else(|| default_model(task).to_string())
    }

    /// Checks every value against its range and the task; returns all problems, each named
    /// `hyperparameters.<field>`.
    pub fn validate(&self, task: TaskType) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, name: &str, message: String| {
            if !ok {
                errors.push(FieldError::new(field(name), message));
            }
        };
        let within = |v: f64, lo: f64, hi: f64| v.is_finite() && v >= lo && v <= hi;
        check((1..=10_000).contains(&self.epochs), "epochs", format!("must be between 1 and 10000, got {}", self.epochs));
        check((1..=1024).contains(&self.batch), "batch", format!("must be between 1 and 1024, got {}", self.batch));
        check((1..=1024).contains(&self.nbs), "nbs", format!("must be between 1 and 1024, got {}", self.nbs));
        if let Some(imgsz) = self.imgsz {
            check(
                (32..=4096).contains(&imgsz) && imgsz % 32 == 0,
                "imgsz",
                format!("must be a multiple of 32 between 32 and 4096, got {imgsz}"),
            );
        }
        if let Some(model) = &self.model {
            check(valid_model_name(model), "model", format!(
                "`{model}` is not a YOLOv8 model name (expected yolov8<n|s|m|l|x>[-seg|-cls] with .pt, .yaml or .safetensors)"
            ));
            if let Some(t) = model_task(model) {
                check(t == task, "model", format!("`{model}` is a {t} model but the job trains {task}"));
            }
        }
        let unit = |name: &str, v: f64| (name.to_string(), v, 0.0, 1.0);
        let ranges = [
            ("lr0".to_string(), self.lr0, 1e-9, 1.0),
            ("lrf".to_string(), self.lrf, 1e-9, 1.0),
            ("momentum".to_string(), self.momentum, 0.0, 0.999),
            ("weight_decay".to_string(), self.weight_decay, 0.0, 0.1),
            ("warmup_epochs".to_string(), self.warmup_epochs, 0.0, 10_000.0),
            ("warmup_momentum".to_string(), self.warmup_momentum, 0.0, 0.999),
            unit("warmup_bias_lr", self.warmup_bias_lr),
            ("box".to_string(), self.box_gain, 0.0, 1000.0),
            ("cls".to_string(), self.cls_gain, 0.0, 1000.0),
            ("dfl".to_string(), self.dfl_gain, 0.0, 1000.0),
            unit("hsv_h", self.hsv_h),
            unit("hsv_s", self.hsv_s),
            unit("hsv_v", self.hsv_v),
            ("degrees".to_string(), self.degrees, 0.0, 180.0),
            ("translate".to_string(), self.translate, 0.0, 0.9),
            ("scale".to_string(), self.scale, 0.0, 0.99),
            ("shear".to_string(), self.shear, 0.0, 89.0),
            ("perspective".to_string(), self.perspective, 0.0, 0.001),
            unit("flipud", self.flipud),
            unit("fliplr", self.fliplr),
            unit("mosaic", self.mosaic),
            unit("mixup", self.mixup),
        ];
        for (name, v, lo, hi) in ranges {
            check(within(v, lo, hi), &name, format!("must be between {lo} and {hi}, got {v}"));
        }
        let only = |name: &str, tasks: &[TaskType]| {
            let list: Vec<&str> = tasks.iter().map(|t| t.as_str()).collect();
            format!("`{name}` only applies to {} jobs, not {task}", list.join(" and "))
        };
        if let Some(p) = self.dropout {
            check(task == TaskType::Classify, "dropout", only("dropout", &[TaskType::Classify]));
            check(within(p, 0.0, 0.99), "dropout", format!("must be between 0 and 0.99, got {p}"));
        }
        let det = [TaskType::Detect, TaskType::Segment];
        if let Some(iou) = self.iou {
            check(det.contains(&task), "iou", only("iou", &det));
            check(within(iou, 0.01, 1.0), "iou", format!("must be between 0.01 and 1, got {iou}"));
        }
        if let Some(conf) = self.conf {
            check(det.contains(&task), "conf", only("conf", &det));
            check(within(conf, 0.0, 1.0), "conf", format!("must be between 0 and 1, got {conf}"));
        }
        if self.overlap_mask.is_some() {
            check(task == TaskType::Segment, "overlap_mask", only("overlap_mask", &[TaskType::Segment]));
        }
        if let Some(r) = self.mask_ratio {
            check(task == TaskType::Segment, "mask_ratio", only("mask_ratio", &[TaskType::Segment]));
            check(
                [1, 2, 4, 8].contains(&r),
                "mask_ratio",
                format!("must be 1, 2, 4 or 8 (the prototype resolution is imgsz / 4), got {r}"),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// `yolov8n.pt`, `yolov8n-seg.pt` or `yolov8n-cls.pt`.
pub fn default_model(task: TaskType) -> &'static str {
    match task {
        TaskType::Detect => "yolov8n.pt",
        TaskType::Segment => "yolov8n-seg.pt",
        TaskType::Classify => "yolov8n-cls.pt",
    }
}

/// The stem of a model name without directory and extension, lower-cased.
fn model_stem(name: &str) -> String {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name).to_ascii_lowercase();
    for ext in [".pt", ".yaml", ".yml", ".safetensors"] {
        if let Some(stem) = file.strip_suffix(ext) {
            return stem.to_string();
        }
    }
    file
}

fn valid_model_name(name: &str) -> bool {
    let stem = model_stem(name);
    let Some(rest) = stem.strip_prefix("yolov8") else { return false };
    let scale = match rest.split_once('-') {
        None => rest,
        Some((s, "seg" | "cls")) => s,
        Some(_) => return false,
    };
    matches!(scale, "n" | "s" | "m" | "l" | "x")
}

/// The task a model name implies (`-seg` → segment, `-cls` → classify, else detect).
fn model_task(name: &str) -> Option<TaskType> {
    if !valid_model_name(name) {
        return None;
    }
    let stem = model_stem(name);
    Some(if stem.ends_with("-seg") {
        TaskType::Segment
    } else if stem.ends_with("-cls") {
        TaskType::Classify
    } else {
        TaskType::Detect
    })
}

/// serde's messages say `invalid type: string "x", expected u32`; keep that part readable.
fn type_message(serde_message: &str) -> String {
    let msg = serde_message.split(" at line ").next().unwrap_or(serde_message);
    format!("wrong type: {msg}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_ultralytics() {
        let hp: Hyperparameters = serde_json::from_value(json!({})).unwrap();
        assert_eq!(hp, Hyperparameters::default());
        assert_eq!((hp.epochs, hp.batch, hp.lr0, hp.lrf, hp.momentum), (100, 16, 0.01, 0.01, 0.937));
        assert_eq!((hp.box_gain, hp.cls_gain, hp.dfl_gain), (7.5, 0.5, 1.5));
        assert_eq!((hp.mosaic, hp.fliplr, hp.close_mosaic, hp.patience), (1.0, 0.5, 10, 100));
        let det = Hyperparameters::defaults_for(TaskType::Detect);
        assert_eq!((det.model.as_deref(), det.imgsz, det.iou, det.conf), (Some("yolov8n.pt"), Some(640), Some(0.7), Some(0.001)));
        assert_eq!(det.dropout, None);
        let cls = Hyperparameters::defaults_for(TaskType::Classify);
        assert_eq!((cls.model.as_deref(), cls.imgsz, cls.dropout), (Some("yolov8n-cls.pt"), Some(224), Some(0.0)));
        let seg = Hyperparameters::defaults_for(TaskType::Segment);
        assert_eq!((seg.overlap_mask, seg.mask_ratio), (Some(true), Some(4)));
        for t in TaskType::ALL {
            Hyperparameters::defaults_for(t).validate(t).unwrap();
        }
    }

    #[test]
    fn round_trips_with_ultralytics_names() {
        let hp = Hyperparameters::defaults_for(TaskType::Segment);
        let v = serde_json::to_value(&hp).unwrap();
        assert_eq!(v["box"], json!(7.5));
        assert_eq!(v["optimizer"], json!("auto"));
        assert!(v.get("dropout").is_none(), "absent extras are not written");
        let back: Hyperparameters = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, hp);
        for key in v.as_object().unwrap().keys() {
            assert!(FIELD_NAMES.contains(&key.as_str()), "{key} missing from FIELD_NAMES");
        }
        let partial: Hyperparameters = serde_json::from_value(json!({"epochs": 3, "optimizer": "sgd", "cls": 1.0})).unwrap();
        assert_eq!((partial.epochs, partial.optimizer, partial.cls_gain, partial.batch), (3, OptimizerKind::Sgd, 1.0, 16));
    }

    #[test]
    fn unknown_and_mistyped_fields_are_named() {
        let errs = Hyperparameters::from_json(&json!({"epochs": "ten", "lr": 0.1, "batch": 8, "optimizer": "lion"})).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["hyperparameters.epochs", "hyperparameters.lr", "hyperparameters.optimizer"]);
        assert!(errs[1].message.contains("unknown hyperparameter"), "{}", errs[1].message);
        assert!(errs[2].message.contains("lion"), "{}", errs[2].message);
        assert!(Hyperparameters::from_json(&json!([1])).is_err());
        let ok = Hyperparameters::from_json(&json!({"epochs": 5})).unwrap();
        assert_eq!(ok.epochs, 5);
    }

    #[test]
    fn out_of_range_values_are_reported_per_field() {
        let hp = Hyperparameters {
            epochs: 0,
            imgsz: Some(100),
            lr0: -1.0,
            fliplr: 1.5,
            scale: f64::NAN,
            model: Some("yolov8n-seg.pt".into()),
            ..Hyperparameters::default()
        };
        let errs = hp.validate(TaskType::Detect).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in ["epochs", "imgsz", "lr0", "fliplr", "scale", "model"] {
            assert!(fields.contains(&format!("hyperparameters.{f}").as_str()), "{f} not in {fields:?}");
        }
        assert_eq!(errs.len(), 6, "{errs:?}");
    }

    #[test]
    fn task_extras_belong_to_their_task() {
        let hp = Hyperparameters { dropout: Some(0.2), mask_ratio: Some(4), ..Hyperparameters::default() };
        let errs = hp.validate(TaskType::Detect).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["hyperparameters.dropout", "hyperparameters.mask_ratio"]);
        let seg = Hyperparameters { mask_ratio: Some(3), iou: Some(0.5), ..Hyperparameters::default() };
        let errs = seg.validate(TaskType::Segment).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "hyperparameters.mask_ratio");
        let cls = Hyperparameters { dropout: Some(0.5), ..Hyperparameters::default() };
        cls.validate(TaskType::Classify).unwrap();
    }

    #[test]
    fn model_names() {
        for ok in ["yolov8n.pt", "weights/yolov8s-seg.safetensors", "YOLOv8x-cls.yaml", "yolov8m"] {
            assert!(valid_model_name(ok), "{ok}");
        }
        for bad in ["yolov5n.pt", "yolov8q.pt", "yolov8n-pose.pt", "resnet50"] {
            assert!(!valid_model_name(bad), "{bad}");
        }
        assert_eq!(model_task("yolov8s-seg.pt"), Some(TaskType::Segment));
        assert_eq!(model_task("yolov8s.yaml"), Some(TaskType::Detect));
    }
}

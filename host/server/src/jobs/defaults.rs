//! What a client needs to build a job config form: each hyperparameter's default for a task,
//! its type and allowed range (the ones `af_core::Hyperparameters::validate` enforces — a test
//! probes both ends of every range against it), plus the task's annotation types and the
//! default split.

use af_core::{Hyperparameters, TaskType};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::config::DEFAULT_SPLIT_SEED;

/// One hyperparameter as a form shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldSpec {
    pub name: &'static str,
    /// `integer`, `number`, `boolean`, `string` or `choice`.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// The default value: a number, boolean or string, as the field's `type` says (any JSON).
    pub default: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Allowed values of a `choice`, or a number that must be a multiple of `multiple_of`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiple_of: Option<u32>,
    /// `basic`, `optimizer`, `loss`, `augmentation` or `task`.
    pub group: &'static str,
    pub description: &'static str,
}

/// `GET /api/v1/training/defaults?task_type=`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainingDefaults {
    pub task_type: TaskType,
    /// The complete default `hyperparameters` object for the task.
    #[schema(value_type = Object)]
    pub hyperparameters: Hyperparameters,
    pub fields: Vec<FieldSpec>,
    /// Annotation types the task can train on, and those a job uses by default.
    pub accepted_annotation_types: Vec<af_core::AnnotationType>,
    pub default_annotation_types: Vec<af_core::AnnotationType>,
    #[schema(value_type = Object)]
    pub split: Value,
}

struct Spec {
    name: &'static str,
    ty: &'static str,
    min: Option<f64>,
    max: Option<f64>,
    group: &'static str,
    tasks: &'static [TaskType],
    description: &'static str,
}

const ALL: &[TaskType] = &[TaskType::Classify, TaskType::Detect, TaskType::Segment];
const DET: &[TaskType] = &[TaskType::Detect, TaskType::Segment];
const BOXES: &[TaskType] = &[TaskType::Detect, TaskType::Segment];

const fn spec(name: &'static str, ty: &'static str, min: f64, max: f64, group: &'static str, tasks: &'static [TaskType], description: &'static str) -> Spec {
    Spec { name, ty, min: Some(min), max: Some(max), group, tasks, description }
}

const fn plain(name: &'static str, ty: &'static str, group: &'static str, tasks: &'static [TaskType], description: &'static str) -> Spec {
    Spec { name, ty, min: None, max: None, group, tasks, description }
}

/// Every hyperparameter with the range `validate` enforces.
const SPECS: &[Spec] = &[
    plain("model", "choice", "basic", ALL, "Base model: a YOLOv8 scale (n, s, m, l, x); pretrained when its weights are installed"),
    spec("epochs", "integer", 1.0, 10_000.0, "basic", ALL, "Passes over the training images"),
    spec("batch", "integer", 1.0, 1024.0, "basic", ALL, "Images per batch (lower it if memory runs out)"),
    spec("imgsz", "integer", 32.0, 4096.0, "basic", ALL, "Square training size in pixels, a multiple of 32"),
    spec("patience", "integer", 0.0, f64::MAX, "basic", ALL, "Stop after this many epochs without improvement (0: never)"),
    spec("seed", "integer", 0.0, f64::MAX, "basic", ALL, "Seed of every random choice"),
    plain("optimizer", "choice", "optimizer", ALL, "SGD, Adam, AdamW or auto (AdamW for short runs, SGD for long ones)"),
    spec("lr0", "number", 1e-9, 1.0, "optimizer", ALL, "Initial learning rate (ignored by optimizer auto)"),
    spec("lrf", "number", 1e-9, 1.0, "optimizer", ALL, "Final learning rate as a fraction of lr0"),
    spec("momentum", "number", 0.0, 0.999, "optimizer", ALL, "SGD momentum / Adam beta1"),
    spec("weight_decay", "number", 0.0, 0.1, "optimizer", ALL, "Weight decay"),
    spec("warmup_epochs", "number", 0.0, 10_000.0, "optimizer", ALL, "Warm-up length in epochs"),
    spec("warmup_momentum", "number", 0.0, 0.999, "optimizer", ALL, "Momentum at the start of warm-up"),
    spec("warmup_bias_lr", "number", 0.0, 1.0, "optimizer", ALL, "Bias learning rate at the start of warm-up"),
    plain("cos_lr", "boolean", "optimizer", ALL, "Cosine instead of linear learning-rate decay"),
    spec("box", "number", 0.0, 1000.0, "loss", BOXES, "Box loss gain"),
    spec("cls", "number", 0.0, 1000.0, "loss", BOXES, "Classification loss gain"),
    spec("dfl", "number", 0.0, 1000.0, "loss", BOXES, "Distribution focal loss gain"),
    plain("augment", "boolean", "augmentation", ALL, "Apply training augmentation at all"),
    spec("hsv_h", "number", 0.0, 1.0, "augmentation", ALL, "Hue jitter"),
    spec("hsv_s", "number", 0.0, 1.0, "augmentation", ALL, "Saturation jitter"),
    spec("hsv_v", "number", 0.0, 1.0, "augmentation", ALL, "Brightness jitter"),
    spec("degrees", "number", 0.0, 180.0, "augmentation", ALL, "Random rotation, ± degrees"),
    spec("translate", "number", 0.0, 0.9, "augmentation", ALL, "Random translation, ± fraction"),
    spec("scale", "number", 0.0, 0.99, "augmentation", ALL, "Random scale gain, ± fraction"),
    spec("shear", "number", 0.0, 89.0, "augmentation", ALL, "Random shear, ± degrees"),
    spec("perspective", "number", 0.0, 0.001, "augmentation", ALL, "Random perspective"),
    spec("flipud", "number", 0.0, 1.0, "augmentation", ALL, "Vertical flip probability"),
    spec("fliplr", "number", 0.0, 1.0, "augmentation", ALL, "Horizontal flip probability"),
    spec("mosaic", "number", 0.0, 1.0, "augmentation", DET, "Mosaic probability"),
    spec("mixup", "number", 0.0, 1.0, "augmentation", DET, "MixUp probability"),
    spec("close_mosaic", "integer", 0.0, f64::MAX, "augmentation", DET, "Turn mosaic and mixup off for the last N epochs"),
    spec("dropout", "number", 0.0, 0.99, "task", &[TaskType::Classify], "Dropout before the classifier"),
    spec("iou", "number", 0.01, 1.0, "task", DET, "NMS IoU threshold of the per-epoch validation"),
    spec("conf", "number", 0.0, 1.0, "task", DET, "Confidence threshold of the per-epoch validation"),
    plain("overlap_mask", "boolean", "task", &[TaskType::Segment], "One overlap mask per image instead of one per instance"),
    plain("mask_ratio", "choice", "task", &[TaskType::Segment], "Training masks are imgsz / mask_ratio wide"),
];

fn model_choices(task: TaskType) -> Vec<Value> {
    let suffix = match task {
        TaskType::Detect => "",
        TaskType::Segment => "-seg",
        TaskType::Classify => "-cls",
    };
    ["n", "s", "m", "l", "x"].iter().map(|s| Value::String(format!("yolov8{s}{suffix}.pt"))).collect()
}

/// The defaults and field specs of a task.
pub fn for_task(task: TaskType) -> TrainingDefaults {
    let hp = Hyperparameters::defaults_for(task);
    let values = serde_json::to_value(&hp).expect("hyperparameters serialise");
    let fields = SPECS
        .iter()
        .filter(|s| s.tasks.contains(&task))
        .map(|s| {
            let choices = match s.name {
                "model" => model_choices(task),
                "optimizer" => ["auto", "SGD", "Adam", "AdamW"].iter().map(|v| Value::String(v.to_string())).collect(),
                "mask_ratio" => [1, 2, 4, 8].iter().map(|v| Value::from(*v)).collect(),
                _ => vec![],
            };
            FieldSpec {
                name: s.name,
                ty: s.ty,
                default: values.get(s.name).cloned().unwrap_or(Value::Null),
                min: s.min,
                max: s.max.filter(|m| *m < f64::MAX),
                choices,
                multiple_of: (s.name == "imgsz").then_some(32),
                group: s.group,
                description: s.description,
            }
        })
        .collect();
    TrainingDefaults {
        task_type: task,
        hyperparameters: hp,
        fields,
        accepted_annotation_types: task.accepted_annotation_types().to_vec(),
        default_annotation_types: task.default_annotation_types().to_vec(),
        split: serde_json::json!({"train_ratio": 0.8, "val_ratio": 0.2, "random_seed": DEFAULT_SPLIT_SEED}),
    }
}

/// The defaults of a task as this server accepts them: the ranges of `epochs` and `imgsz` end at
/// the server's limits (`max_epochs`, `max_imgsz`), so a form built from them offers nothing job
/// creation then refuses.
pub fn for_task_within(task: TaskType, limits: &crate::config::Limits) -> TrainingDefaults {
    let mut defaults = for_task(task);
    for field in &mut defaults.fields {
        let cap = match field.name {
            "epochs" => f64::from(limits.max_epochs),
            // The largest multiple of the stride not over the limit.
            "imgsz" => f64::from(limits.max_imgsz / 32 * 32),
            _ => continue,
        };
        field.max = Some(field.max.map_or(cap, |m| m.min(cap)));
    }
    defaults
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ranges_end_at_the_server_limits() {
        let limits = crate::config::Limits { max_epochs: 50, max_imgsz: 700, ..Default::default() };
        let d = for_task_within(TaskType::Detect, &limits);
        let max = |name: &str| d.fields.iter().find(|f| f.name == name).and_then(|f| f.max);
        assert_eq!((max("epochs"), max("imgsz")), (Some(50.0), Some(672.0)));
        // Limits above the engine's own ranges leave those ranges as they are.
        let loose = crate::config::Limits { max_epochs: 1_000_000, max_imgsz: 100_000, ..Default::default() };
        let d = for_task_within(TaskType::Classify, &loose);
        let max = |name: &str| d.fields.iter().find(|f| f.name == name).and_then(|f| f.max);
        assert_eq!((max("epochs"), max("imgsz")), (Some(10_000.0), Some(4096.0)));
    }

    fn errors(task: TaskType, name: &str, v: Value) -> Vec<String> {
        let hp = match Hyperparameters::from_json(&json!({ name: v })) {
            Ok(hp) => hp,
            Err(e) => return e.into_iter().map(|e| e.field).collect(),
        };
        hp.validate(task).err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    /// Every advertised range is exactly the one `validate` enforces: both ends pass, a step
    /// beyond either end fails naming the field.
    #[test]
    fn advertised_ranges_match_validation() {
        for task in TaskType::ALL {
            let d = for_task(task);
            for f in &d.fields {
                let field = format!("hyperparameters.{}", f.name);
                let (Some(min), Some(max)) = (f.min, f.max) else { continue };
                let integer = f.ty == "integer";
                let at = |v: f64| if integer { json!(v as u64) } else { json!(v) };
                let ok_min = if f.name == "imgsz" { 32.0 } else { min };
                let ok_max = if f.name == "imgsz" { 4096.0 } else { max };
                assert!(errors(task, f.name, at(ok_min)).is_empty(), "{task} {}: min {ok_min} rejected", f.name);
                assert!(errors(task, f.name, at(ok_max)).is_empty(), "{task} {}: max {ok_max} rejected", f.name);
                let step = if integer { 1.0 } else { (max - min).max(1e-9) * 1e-3 };
                if min - step >= 0.0 || !integer {
                    assert!(errors(task, f.name, at(min - step)).contains(&field), "{task} {}: below min accepted", f.name);
                }
                assert!(errors(task, f.name, at(max + step)).contains(&field), "{task} {}: above max accepted", f.name);
            }
        }
    }

    #[test]
    fn defaults_are_the_tasks() {
        let cls = for_task(TaskType::Classify);
        assert_eq!(cls.hyperparameters.imgsz, Some(224));
        assert!(cls.fields.iter().any(|f| f.name == "dropout"));
        assert!(!cls.fields.iter().any(|f| f.name == "mosaic" || f.name == "iou"));
        let seg = for_task(TaskType::Segment);
        let model = seg.fields.iter().find(|f| f.name == "model").unwrap();
        assert_eq!(model.default, json!("yolov8n-seg.pt"));
        assert!(model.choices.contains(&json!("yolov8x-seg.pt")));
        assert!(seg.fields.iter().any(|f| f.name == "mask_ratio"));
        // Every field's default passes validation for its task.
        for task in TaskType::ALL {
            let d = for_task(task);
            for f in &d.fields {
                assert!(errors(task, f.name, f.default.clone()).is_empty(), "{task} {} default {}", f.name, f.default);
            }
        }
    }
}

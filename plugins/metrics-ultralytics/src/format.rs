//! The mapping from Ultralytics' metric names to ours, and the fitness.
//!
//! Known names map through [`TABLE`]. Aggregates are added when their parts are present:
//! `train_loss` / `val_loss` = the sum of the task's loss components (detect: box + cls +
//! dfl; segment: box + seg + cls + dfl), unless the engine reports them itself (classify's
//! `train/loss`). Other names are kept (`keep-unknown`, default true) under a snake_case key
//! in the `other` group. Non-finite values are dropped: the API cannot carry them.
//!
//! Fitness, option `fitness` (default `ultralytics`), higher is better:
//! - `ultralytics`, as Ultralytics 8.4 computes it: detect → box mAP50-95; segment → box
//!   mAP50-95 + mask mAP50-95; classify → (top-1 + top-5) / 2;
//! - any display key (e.g. `map50`): that metric, negated if lower is better.
//!
//! It is `None` when a metric it needs is missing (e.g. a training-only epoch).

use af_plugin_common::Settings;

pub const NAME: &str = "metrics-ultralytics";
pub const DESCRIPTION: &str = "Maps Ultralytics results.csv metric names to AnnotateForge's API names (map50, map50_95, top1_accuracy, ...), groups them and computes Ultralytics 8.4's fitness.";

pub const OPT_FITNESS: &str = "fitness";
pub const OPT_FITNESS_DEFAULT: &str = "ultralytics";
pub const OPT_KEEP_UNKNOWN: &str = "keep-unknown";
pub const OPT_KEEP_UNKNOWN_DEFAULT: bool = true;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Classify,
    Detect,
    Segment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Loss,
    Quality,
    LearningRate,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Minimize,
    Maximize,
    Neutral,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub key: String,
    pub label: String,
    pub group: Group,
    pub direction: Direction,
    pub value: f64,
}

use Direction::*;
use Group::*;

/// `(raw name, key, label, group, direction)`.
pub const TABLE: &[(&str, &str, &str, Group, Direction)] = &[
    ("train/box_loss", "train_box_loss", "Box loss (train)", Loss, Minimize),
    ("train/cls_loss", "train_cls_loss", "Class loss (train)", Loss, Minimize),
    ("train/dfl_loss", "train_dfl_loss", "DFL loss (train)", Loss, Minimize),
    ("train/seg_loss", "train_seg_loss", "Mask loss (train)", Loss, Minimize),
    ("train/loss", "train_loss", "Loss (train)", Loss, Minimize),
    ("val/box_loss", "val_box_loss", "Box loss (val)", Loss, Minimize),
    ("val/cls_loss", "val_cls_loss", "Class loss (val)", Loss, Minimize),
    ("val/dfl_loss", "val_dfl_loss", "DFL loss (val)", Loss, Minimize),
    ("val/seg_loss", "val_seg_loss", "Mask loss (val)", Loss, Minimize),
    ("val/loss", "val_loss", "Loss (val)", Loss, Minimize),
    ("metrics/precision(B)", "precision", "Precision", Quality, Maximize),
    ("metrics/recall(B)", "recall", "Recall", Quality, Maximize),
    ("metrics/mAP50(B)", "map50", "mAP50", Quality, Maximize),
    ("metrics/mAP50-95(B)", "map50_95", "mAP50-95", Quality, Maximize),
    ("metrics/precision(M)", "mask_precision", "Mask precision", Quality, Maximize),
    ("metrics/recall(M)", "mask_recall", "Mask recall", Quality, Maximize),
    ("metrics/mAP50(M)", "mask_map50", "Mask mAP50", Quality, Maximize),
    ("metrics/mAP50-95(M)", "mask_map50_95", "Mask mAP50-95", Quality, Maximize),
    ("metrics/accuracy_top1", "top1_accuracy", "Top-1 accuracy", Quality, Maximize),
    ("metrics/accuracy_top5", "top5_accuracy", "Top-5 accuracy", Quality, Maximize),
    ("lr/pg0", "lr_pg0", "Learning rate (group 0)", LearningRate, Neutral),
    ("lr/pg1", "lr_pg1", "Learning rate (group 1)", LearningRate, Neutral),
    ("lr/pg2", "lr_pg2", "Learning rate (group 2)", LearningRate, Neutral),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub fitness: String,
    pub keep_unknown: bool,
}

impl Options {
    pub fn from_settings(s: &Settings) -> Result<Self, String> {
        let fitness = s.text(OPT_FITNESS, OPT_FITNESS_DEFAULT)?.to_string();
        if fitness.is_empty() {
            return Err(format!("option `{OPT_FITNESS}` must name `ultralytics` or a metric key"));
        }
        Ok(Self { fitness, keep_unknown: s.flag(OPT_KEEP_UNKNOWN, OPT_KEEP_UNKNOWN_DEFAULT)? })
    }
}

impl Default for Options {
    fn default() -> Self {
        Self { fitness: OPT_FITNESS_DEFAULT.into(), keep_unknown: OPT_KEEP_UNKNOWN_DEFAULT }
    }
}

/// The display metrics (in input order, aggregates last) and the fitness.
pub fn format(task: Task, raw: &[(String, f64)], options: &Options) -> (Vec<Metric>, Option<f64>) {
    let mut out: Vec<Metric> = Vec::with_capacity(raw.len() + 2);
    for (name, value) in raw {
        if !value.is_finite() {
            continue;
        }
        let metric = match TABLE.iter().find(|row| row.0 == name) {
            Some(&(_, key, label, group, direction)) => Metric { key: key.into(), label: label.into(), group, direction, value: *value },
            None if options.keep_unknown => match snake_case(name) {
                Some(key) => Metric { key, label: name.clone(), group: Other, direction: Neutral, value: *value },
                None => continue,
            },
            None => continue,
        };
        if !out.iter().any(|m| m.key == metric.key) {
            out.push(metric);
        }
    }
    let parts: &[&str] = match task {
        Task::Detect => &["box", "cls", "dfl"],
        Task::Segment => &["box", "seg", "cls", "dfl"],
        Task::Classify => &[],
    };
    for (phase, label) in [("train", "Loss (train)"), ("val", "Loss (val)")] {
        let key = format!("{phase}_loss");
        if parts.is_empty() || out.iter().any(|m| m.key == key) {
            continue;
        }
        let values: Option<Vec<f64>> = parts.iter().map(|p| get(&out, &format!("{phase}_{p}_loss"))).collect();
        if let Some(values) = values {
            out.push(Metric { key, label: label.into(), group: Loss, direction: Minimize, value: values.iter().sum() });
        }
    }
    let fitness = fitness(task, &out, &options.fitness);
    (out, fitness)
}

fn get(metrics: &[Metric], key: &str) -> Option<f64> {
    metrics.iter().find(|m| m.key == key).map(|m| m.value)
}

fn fitness(task: Task, metrics: &[Metric], rule: &str) -> Option<f64> {
    if rule != OPT_FITNESS_DEFAULT {
        let m = metrics.iter().find(|m| m.key == rule)?;
        return Some(if m.direction == Minimize { -m.value } else { m.value });
    }
    match task {
        Task::Detect => get(metrics, "map50_95"),
        Task::Segment => Some(get(metrics, "map50_95")? + get(metrics, "mask_map50_95")?),
        Task::Classify => Some((get(metrics, "top1_accuracy")? + get(metrics, "top5_accuracy")?) / 2.0),
    }
}

/// `metrics/F1(B)` → `metrics_f1_b`; `None` when nothing alphanumeric is left.
fn snake_case(name: &str) -> Option<String> {
    let mut key = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    let key = key.trim_matches('_');
    (!key.is_empty()).then(|| key.chars().take(64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    }

    #[test]
    fn detect_names_groups_losses_and_fitness() {
        let r = raw(&[
            ("train/box_loss", 1.5),
            ("train/cls_loss", 2.0),
            ("train/dfl_loss", 0.5),
            ("metrics/precision(B)", 0.7),
            ("metrics/mAP50(B)", 0.6),
            ("metrics/mAP50-95(B)", 0.4),
            ("lr/pg0", 0.01),
        ]);
        let (m, fitness) = format(Task::Detect, &r, &Options::default());
        let keys: Vec<&str> = m.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["train_box_loss", "train_cls_loss", "train_dfl_loss", "precision", "map50", "map50_95", "lr_pg0", "train_loss"]);
        assert_eq!(m[7].value, 4.0);
        assert_eq!((m[0].group, m[0].direction), (Loss, Minimize));
        assert_eq!((m[4].group, m[4].direction), (Quality, Maximize));
        assert_eq!((m[6].group, m[6].direction), (LearningRate, Neutral));
        assert_eq!(fitness, Some(0.4));
        assert!(m.iter().all(|m| m.key != "val_loss"), "no val losses, no val_loss");
    }

    #[test]
    fn segment_fitness_adds_box_and_mask() {
        let r = raw(&[("metrics/mAP50-95(B)", 0.25), ("metrics/mAP50-95(M)", 0.5)]);
        let (m, fitness) = format(Task::Segment, &r, &Options::default());
        assert_eq!(m[1].key, "mask_map50_95");
        assert_eq!(fitness, Some(0.75));
        assert_eq!(format(Task::Segment, &r[..1], &Options::default()).1, None);
    }

    #[test]
    fn classify_fitness_is_the_mean_of_top1_and_top5() {
        let r = raw(&[("train/loss", 0.9), ("metrics/accuracy_top1", 0.5), ("metrics/accuracy_top5", 1.0)]);
        let (m, fitness) = format(Task::Classify, &r, &Options::default());
        assert_eq!(m.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["train_loss", "top1_accuracy", "top5_accuracy"]);
        assert_eq!(fitness, Some(0.75));
    }

    #[test]
    fn unknown_names_are_kept_or_dropped_and_non_finite_values_dropped() {
        let r = raw(&[("metrics/F1(B)", 0.3), ("metrics/recall(B)", f64::NAN), ("///", 1.0)]);
        let (m, _) = format(Task::Detect, &r, &Options::default());
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].key.as_str(), m[0].label.as_str(), m[0].group), ("metrics_f1_b", "metrics/F1(B)", Other));
        let (m, _) = format(Task::Detect, &r, &Options { keep_unknown: false, ..Options::default() });
        assert!(m.is_empty());
    }

    #[test]
    fn fitness_can_name_a_metric() {
        let r = raw(&[("metrics/mAP50(B)", 0.6), ("val/box_loss", 2.0)]);
        let by = |rule: &str| format(Task::Detect, &r, &Options { fitness: rule.into(), keep_unknown: true }).1;
        assert_eq!(by("map50"), Some(0.6));
        assert_eq!(by("val_box_loss"), Some(-2.0), "a loss counts negatively");
        assert_eq!(by("recall"), None);
    }
}

//! `annotateforge plugin …`: try a plugin component without a server.
//!
//! `plugin info <wasm>` loads and validates a component and prints its kind, hash and
//! metadata; `plugin run <wasm> <sample.json>` runs it once on a sample and prints the result
//! as JSON. The sample's shape depends on the plugin's kind:
//!
//! ```json
//! // converter
//! {"task_type": "detect", "image": {"width": 640, "height": 480, "class_label": null},
//!  "annotations": [{"id": 1, "type": "box", "data": {"corners": [[10,10],[50,10],[50,40],[10,40]]},
//!                   "class_label": "cat"}],
//!  "class_mapping": {"cat": 0}, "options": {}}
//! // splitter
//! {"items": [{"image_id": 1, "project_id": 1, "class_ids": [0]}, …],
//!  "split": {"train_ratio": 0.8, "val_ratio": 0.2, "random_seed": 42}, "options": {}}
//! // formatter
//! {"task_type": "detect", "metrics": {"metrics/mAP50-95(B)": 0.41, "train/box_loss": 1.2}, "options": {}}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use af_core::{AnnotationData, AnnotationType, ClassMapping, TaskType};
use af_plugin_host::bindings::formatter::{Direction, FormatRequest, MetricGroup, RawMetric};
use af_plugin_host::bindings::splitter::{self, Item, SplitRequest};
use af_plugin_host::{task_type, Converter, Label, RequestBuilder, Formatter, HostConfig, Kind, Limits, Plugin, PluginHost, Splitter};
use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::layout::label_text;
use crate::report::{SkipReason, SplitParams};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Load and validate a plugin component; print its kind, hash and metadata.
    Info {
        /// The `.wasm` component.
        wasm: PathBuf,
    },
    /// Run a plugin once on a sample JSON file and print the result as JSON.
    Run {
        /// The `.wasm` component.
        wasm: PathBuf,
        /// The sample input (see `annotateforge plugin --help`).
        sample: PathBuf,
        /// Time budget for the call, in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        /// Memory cap for the plugin, in MiB.
        #[arg(long, default_value_t = 256)]
        memory_mib: usize,
    },
}

/// Runs the subcommand and returns what to print.
pub fn run(args: Args) -> anyhow::Result<String> {
    let (wasm, limits, sample) = match &args.command {
        Command::Info { wasm } => (wasm, Limits::default(), None),
        Command::Run { wasm, sample, timeout_ms, memory_mib } => {
            (wasm, Limits { memory_bytes: memory_mib << 20, call_timeout: Duration::from_millis(*timeout_ms) }, Some(sample))
        }
    };
    let host = PluginHost::new(HostConfig { cache_dir: None, limits })?;
    let plugin = host.load_file(wasm)?;
    let out = match sample {
        None => info(&plugin),
        Some(sample) => run_sample(&plugin, sample)?,
    };
    Ok(format!("{}\n", serde_json::to_string_pretty(&out)?))
}

fn info(plugin: &Plugin) -> Value {
    json!({
        "kind": plugin.kind(),
        "sha256": plugin.sha256(),
        "size": plugin.size(),
        "metadata": plugin.metadata(),
    })
}

fn run_sample(plugin: &Plugin, path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bad = |e: serde_json::Error| anyhow::anyhow!("{} is not a valid {} sample: {e}", path.display(), plugin.kind());
    let result = match plugin.kind() {
        Kind::Converter => run_converter(plugin, serde_json::from_str(&text).map_err(bad)?)?,
        Kind::Splitter => run_splitter(plugin, serde_json::from_str(&text).map_err(bad)?)?,
        Kind::Formatter => run_formatter(plugin, serde_json::from_str(&text).map_err(bad)?)?,
    };
    Ok(json!({ "plugin": { "kind": plugin.kind(), "name": plugin.name(), "version": plugin.version(), "sha256": plugin.sha256() }, "result": result }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConverterSample {
    task_type: TaskType,
    image: SampleImage,
    #[serde(default)]
    annotations: Vec<SampleAnnotation>,
    class_mapping: ClassMapping,
    #[serde(default)]
    options: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleImage {
    width: u32,
    height: u32,
    #[serde(default)]
    class_label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleAnnotation {
    #[serde(default)]
    id: Option<i64>,
    #[serde(rename = "type")]
    annotation_type: AnnotationType,
    data: Value,
    class_label: String,
}

fn run_converter(plugin: &Plugin, s: ConverterSample) -> anyhow::Result<Value> {
    let mut batch = RequestBuilder::new(task_type(s.task_type), &s.class_mapping, plugin.resolve_options(&s.options)?);
    batch.image(1, s.image.width, s.image.height, s.image.class_label.as_deref());
    for (i, a) in s.annotations.iter().enumerate() {
        let data = AnnotationData::parse(a.annotation_type, &a.data).map_err(|e| anyhow::anyhow!("annotations[{i}].{e}"))?;
        batch.annotation_data(a.id.unwrap_or(i as i64 + 1), a.annotation_type, &a.class_label, &data);
    }
    let result = plugin.call::<Converter>(batch.request())?;
    let out = result.images().next().context("the converter returned no result")?;
    let labels: Vec<Value> = out
        .labels
        .iter()
        .map(|l| match l {
            Label::Bbox { class_id, cx, cy, w, h } => json!({"class_id": class_id, "cx": cx, "cy": cy, "w": w, "h": h}),
            Label::Polygon { class_id, points } => json!({"class_id": class_id, "points": points}),
            Label::ImageClass(c) => json!({"class_id": c}),
        })
        .collect();
    let warnings: Vec<Value> = out
        .warnings
        .iter()
        .map(|w| json!({"annotation_id": w.annotation_id, "reason": SkipReason::from(w.reason), "message": w.message}))
        .collect();
    let text = label_text(out.labels);
    let lines: Vec<&str> = text.lines().collect();
    Ok(json!({ "labels": labels, "lines": lines, "warnings": warnings }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitterSample {
    items: Vec<SampleItem>,
    #[serde(default)]
    split: SplitParams,
    #[serde(default)]
    options: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleItem {
    image_id: i64,
    #[serde(default)]
    project_id: i64,
    #[serde(default)]
    class_ids: Vec<u32>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

fn run_splitter(plugin: &Plugin, s: SplitterSample) -> anyhow::Result<Value> {
    let request = SplitRequest {
        items: s.items.into_iter().map(|i| Item { image_id: i.image_id, project_id: i.project_id, class_ids: i.class_ids, metadata: i.metadata.into_iter().collect() }).collect(),
        train_ratio: s.split.train_ratio,
        val_ratio: s.split.val_ratio,
        test_ratio: s.split.test_ratio,
        seed: s.split.random_seed,
        options: plugin.resolve_options(&s.options)?,
    };
    let mut by_subset: BTreeMap<&str, Vec<i64>> = [("train", vec![]), ("val", vec![]), ("test", vec![])].into();
    for a in plugin.call::<Splitter>(&request)? {
        let key = match a.subset {
            splitter::Subset::Train => "train",
            splitter::Subset::Val => "val",
            splitter::Subset::Test => "test",
        };
        by_subset.get_mut(key).unwrap().push(a.image_id);
    }
    for ids in by_subset.values_mut() {
        ids.sort_unstable();
    }
    Ok(json!(by_subset))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatterSample {
    task_type: TaskType,
    metrics: BTreeMap<String, f64>,
    #[serde(default)]
    options: BTreeMap<String, Value>,
}

fn run_formatter(plugin: &Plugin, s: FormatterSample) -> anyhow::Result<Value> {
    if s.metrics.is_empty() {
        bail!("the sample has no metrics");
    }
    let request = FormatRequest {
        task: task_type(s.task_type),
        metrics: s.metrics.into_iter().map(|(name, value)| RawMetric { name, value }).collect(),
        options: plugin.resolve_options(&s.options)?,
    };
    let out = plugin.call::<Formatter>(&request)?;
    let metrics: Vec<Value> = out
        .metrics
        .iter()
        .map(|m| {
            let group = match m.group {
                MetricGroup::Loss => "loss",
                MetricGroup::Quality => "quality",
                MetricGroup::LearningRate => "learning_rate",
                MetricGroup::Other => "other",
            };
            let direction = match m.direction {
                Direction::Minimize => "minimize",
                Direction::Maximize => "maximize",
                Direction::Neutral => "neutral",
            };
            json!({"key": m.key, "label": m.label, "group": group, "direction": direction, "value": m.value})
        })
        .collect();
    Ok(json!({ "metrics": metrics, "fitness": out.fitness }))
}

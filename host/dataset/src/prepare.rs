//! The whole preparation: records → converter → splitter → Ultralytics layout + report.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use af_core::{AnnotationType, ClassMapping, TaskType};
use af_plugin_host::bindings::converter::ConvertResult;
use af_plugin_host::bindings::splitter::{self, Item, SplitRequest};
use af_plugin_host::{ImageLabels, Kind, Plugin, Splitter};

use crate::convert::{annotations_per_image, convert_images, ConvertJob};
use crate::error::DatasetError;
use crate::layout::{self, Subset};
use crate::records::{AnnotationRecord, ImageRecord};
use crate::report::{ClassReport, DatasetReport, PluginUse, PrepareSummary, SkipReason, SplitCounts, SplitParams, WarningRecord, MAX_LISTED_WARNINGS};

/// A plugin and the options a job chose for it (JSON values, checked against the plugin's
/// declared options; missing ones take the plugin's defaults).
#[derive(Debug, Clone)]
pub struct PluginChoice {
    pub plugin: Plugin,
    pub options: BTreeMap<String, serde_json::Value>,
}

impl PluginChoice {
    pub fn new(plugin: Plugin) -> Self {
        Self { plugin, options: BTreeMap::new() }
    }
}

/// Everything one preparation needs.
#[derive(Debug, Clone)]
pub struct PrepareRequest<'a> {
    pub task: TaskType,
    /// The images of the selected projects.
    pub images: &'a [ImageRecord],
    /// Their annotations (any order; annotations of other images are ignored).
    pub annotations: &'a [AnnotationRecord],
    /// The annotation types the job trains on; others are ignored.
    pub annotation_types: &'a [AnnotationType],
    pub class_mapping: &'a ClassMapping,
    /// Optional class names by id (else each id is named after its first label).
    pub class_names: Option<&'a [String]>,
    pub split: SplitParams,
    pub converter: &'a PluginChoice,
    pub splitter: &'a PluginChoice,
    /// The dataset root; must not exist or be empty.
    pub out_dir: &'a Path,
    /// Parallel converter sessions; 0 = the machine's parallelism.
    pub threads: usize,
}

/// Name of the report file in the dataset root.
pub const REPORT_FILE: &str = "dataset_report.json";

/// One image that made it into the dataset.
struct Kept<'a> {
    image: &'a ImageRecord,
    labels: ImageLabels<'a>,
    class_ids: &'a [u32],
}

/// Prepares the dataset. On error nothing is promised about `out_dir` (the caller removes it).
#[tracing::instrument(skip_all, fields(task = %req.task, images = req.images.len(), out = %req.out_dir.display()))]
pub fn prepare(req: &PrepareRequest<'_>) -> Result<PrepareSummary, DatasetError> {
    check_compatible(req)?;
    let names = req.class_mapping.class_names(req.class_names).map_err(|e| DatasetError::Incompatible(e.to_string()))?;
    if req.images.is_empty() {
        return Err(DatasetError::NoImages("the selected projects have no images".into()));
    }
    // Check every file name before any work, so a bad extension fails fast.
    let file_names: Vec<String> = req.images.iter().map(layout::file_name).collect::<Result<_, _>>()?;

    // Stage 1: convert.
    let shape_types: Vec<AnnotationType> = req.annotation_types.iter().copied().filter(|t| t.is_shape()).collect();
    let per_image = annotations_per_image(req.images, req.annotations, &shape_types);
    let converter_settings = req.converter.plugin.resolve_options(&req.converter.options)?;
    let threads = if req.threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { req.threads };
    let job = ConvertJob { converter: &req.converter.plugin, task: req.task, mapping: req.class_mapping, settings: &converter_settings, threads };
    let results = convert_images(&job, req.images, &per_image)?;

    let mut skipped_annotations: BTreeMap<SkipReason, usize> = BTreeMap::new();
    let mut skipped_images: BTreeMap<SkipReason, usize> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut warning_count = 0usize;
    let mut kept: Vec<Kept> = Vec::with_capacity(req.images.len());
    let mut kept_names: Vec<&str> = Vec::with_capacity(req.images.len());
    let converted = results.iter().flat_map(ConvertResult::images);
    for ((image, result), name) in req.images.iter().zip(converted).zip(&file_names) {
        for w in &result.warnings {
            warning_count += 1;
            let reason = SkipReason::from(w.reason);
            if w.annotation_id.is_some() {
                *skipped_annotations.entry(reason).or_default() += 1;
            }
            if warnings.len() < MAX_LISTED_WARNINGS {
                warnings.push(WarningRecord { image_id: image.id, annotation_id: w.annotation_id, reason, message: w.message.clone() });
            }
        }
        let class_ids = result.labels.class_ids();
        if req.task == TaskType::Classify && class_ids.is_empty() {
            let reason = result.warnings.iter().find(|w| w.annotation_id.is_none()).map_or(SkipReason::NoClassLabel, |w| w.reason.into());
            *skipped_images.entry(reason).or_default() += 1;
            continue;
        }
        kept.push(Kept { image, labels: result.labels, class_ids });
        kept_names.push(name);
    }
    if kept.is_empty() {
        let why: Vec<String> = skipped_images.iter().map(|(r, n)| format!("{n} {}", serde_json::to_value(r).unwrap().as_str().unwrap_or(""))).collect();
        return Err(DatasetError::NoImages(format!("no image has a usable class label ({})", why.join(", "))));
    }
    let mut instances = vec![0usize; names.len()];
    for k in &kept {
        for &c in k.class_ids {
            instances[c as usize] += 1;
        }
    }
    let empty: Vec<String> = names.iter().zip(&instances).filter(|(_, n)| **n == 0).map(|(name, _)| name.clone()).collect();
    if !empty.is_empty() {
        return Err(DatasetError::EmptyClasses(empty));
    }

    // Stage 2: split.
    let splitter_settings = req.splitter.plugin.resolve_options(&req.splitter.options)?;
    let split_request = SplitRequest {
        items: kept
            .iter()
            .map(|k| Item {
                image_id: k.image.id,
                project_id: k.image.project_id,
                class_ids: k.class_ids.to_vec(),
                metadata: k.image.metadata.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
            })
            .collect(),
        train_ratio: req.split.train_ratio,
        val_ratio: req.split.val_ratio,
        test_ratio: req.split.test_ratio,
        seed: req.split.random_seed,
        options: splitter_settings,
    };
    let assignment: HashMap<i64, Subset> = req
        .splitter
        .plugin
        .call::<Splitter>(&split_request)?
        .into_iter()
        .map(|a| {
            let s = match a.subset {
                splitter::Subset::Train => Subset::Train,
                splitter::Subset::Val => Subset::Val,
                splitter::Subset::Test => Subset::Test,
            };
            (a.image_id, s)
        })
        .collect();
    let mut images = SplitCounts::default();
    for k in &kept {
        images.add(assignment[&k.image.id], 1);
    }
    if images.train == 0 || images.val == 0 {
        return Err(DatasetError::OneSidedSplit { empty: if images.train == 0 { "train" } else { "val" }, train: images.train, val: images.val });
    }

    // Stage 3: write.
    let root = req.out_dir;
    layout::create_root(root)?;
    let root = root.canonicalize().map_err(DatasetError::io(format!("resolving {}", root.display())))?;
    let subsets: Vec<Subset> = Subset::ALL.into_iter().filter(|s| *s != Subset::Test || images.test > 0).collect();
    let mut classes: Vec<ClassReport> = names.iter().enumerate().map(|(i, n)| ClassReport { id: i as u32, name: n.clone(), instances: SplitCounts::default() }).collect();
    let mut images_without_labels = 0;
    let mut images_linked = 0;
    let data_yaml = if req.task == TaskType::Classify {
        let dirs = layout::class_dirs(&names);
        for s in &subsets {
            for d in &dirs {
                layout::create_dir(&root.join(s.as_str()).join(d))?;
            }
        }
        for (k, name) in kept.iter().zip(&kept_names) {
            let subset = assignment[&k.image.id];
            let class = k.class_ids[0] as usize;
            classes[class].instances.add(subset, 1);
            images_linked += layout::place_image(k.image, &root.join(subset.as_str()).join(&dirs[class]).join(name))? as usize;
        }
        None
    } else {
        for s in &subsets {
            layout::create_dir(&root.join("images").join(s.as_str()))?;
            layout::create_dir(&root.join("labels").join(s.as_str()))?;
        }
        for (k, name) in kept.iter().zip(&kept_names) {
            let subset = assignment[&k.image.id];
            for &c in k.class_ids {
                classes[c as usize].instances.add(subset, 1);
            }
            if k.labels.is_empty() {
                images_without_labels += 1;
            }
            images_linked += layout::place_image(k.image, &root.join("images").join(subset.as_str()).join(name))? as usize;
            layout::write_file(&layout::label_path(&root, subset, name), &layout::label_text(k.labels))?;
        }
        let path = root.join("data.yaml");
        layout::write_file(&path, &layout::data_yaml(&root, &names, images.test > 0))?;
        Some(path)
    };

    let report = DatasetReport {
        task_type: req.task,
        annotation_types: req.annotation_types.to_vec(),
        split: req.split,
        images,
        classes,
        skipped_annotations,
        skipped_images,
        images_without_labels,
        images_linked,
        warnings,
        warnings_truncated: warning_count > MAX_LISTED_WARNINGS,
        plugins: vec![PluginUse::of(&req.converter.plugin, &req.converter.options), PluginUse::of(&req.splitter.plugin, &req.splitter.options)],
    };
    let report_path = root.join(REPORT_FILE);
    layout::write_file(&report_path, &serde_json::to_string_pretty(&report).expect("the report serialises"))?;
    tracing::info!(train = images.train, val = images.val, test = images.test, "dataset prepared");
    Ok(PrepareSummary {
        dataset_path: root,
        data_yaml,
        report_path,
        total_images: images.total,
        train_images: images.train,
        val_images: images.val,
        test_images: images.test,
        class_names: names,
        report,
    })
}

/// Task, annotation types, plugins and ratios must fit together.
fn check_compatible(req: &PrepareRequest<'_>) -> Result<(), DatasetError> {
    use DatasetError::Incompatible;
    for (choice, kind) in [(req.converter, Kind::Converter), (req.splitter, Kind::Splitter)] {
        let p = &choice.plugin;
        if p.kind() != kind {
            return Err(Incompatible(format!("plugin `{}` is a {}, not a {kind}", p.name(), p.kind())));
        }
        if !p.metadata().task_types.contains(&req.task) {
            return Err(Incompatible(format!("the {kind} `{}` does not support {} tasks", p.name(), req.task)));
        }
    }
    if req.annotation_types.is_empty() {
        return Err(Incompatible("choose at least one annotation type".into()));
    }
    let converter = &req.converter.plugin;
    for t in req.annotation_types {
        // Classification converters may read shape annotations (e.g. a majority rule).
        if req.task != TaskType::Classify && !req.task.accepted_annotation_types().contains(t) {
            return Err(Incompatible(format!("{t} annotations cannot be used for {} tasks", req.task)));
        }
        if !converter.metadata().annotation_kinds.contains(t) {
            return Err(Incompatible(format!("the converter `{}` does not accept {t} annotations", converter.name())));
        }
    }
    let s = &req.split;
    for (name, v) in [("train_ratio", s.train_ratio), ("val_ratio", s.val_ratio), ("test_ratio", s.test_ratio)] {
        if !v.is_finite() || v < 0.0 {
            return Err(Incompatible(format!("split.{name} must be a number ≥ 0, got {v}")));
        }
    }
    if s.train_ratio == 0.0 || s.val_ratio == 0.0 {
        return Err(Incompatible("split.train_ratio and split.val_ratio must both be greater than 0".into()));
    }
    Ok(())
}

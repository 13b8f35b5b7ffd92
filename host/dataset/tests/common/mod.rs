//! Helpers shared by the dataset integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use af_core::{AnnotationData, AnnotationType, ClassMapping, TaskType};
use af_dataset::{AnnotationRecord, ImageRecord, PluginChoice, PrepareRequest, SplitParams};
use af_plugin_host::{builtins, HostConfig, Plugin, PluginHost};

pub fn host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| PluginHost::new(HostConfig { cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")), ..Default::default() }).unwrap())
}

pub fn builtin(package: &str) -> Plugin {
    host().load(builtins::by_package(package).unwrap().wasm).unwrap()
}

pub fn choice(package: &str) -> PluginChoice {
    PluginChoice::new(builtin(package))
}

/// Writes a small file standing in for an image (preparation never decodes images).
pub fn image_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("not really a png: {name}")).unwrap();
    path
}

pub fn image(dir: &Path, id: i64, project_id: i64, w: u32, h: u32) -> ImageRecord {
    ImageRecord { id, project_id, path: image_file(dir, &format!("img{id}.png")), width: w, height: h, class_label: None, metadata: BTreeMap::new() }
}

pub fn boxed(id: i64, image_id: i64, x1: f64, y1: f64, x2: f64, y2: f64, label: &str) -> AnnotationRecord {
    AnnotationRecord {
        id,
        image_id,
        annotation_type: AnnotationType::Box,
        data: AnnotationData::Corners { corners: [[x1, y1], [x2, y1], [x2, y2], [x1, y2]] },
        class_label: label.into(),
    }
}

pub fn polygon(id: i64, image_id: i64, points: &[[f64; 2]], label: &str) -> AnnotationRecord {
    AnnotationRecord { id, image_id, annotation_type: AnnotationType::Polygon, data: AnnotationData::Points { points: points.to_vec() }, class_label: label.into() }
}

/// A request with the usual defaults; callers override fields.
pub fn request<'a>(
    task: TaskType,
    images: &'a [ImageRecord],
    annotations: &'a [AnnotationRecord],
    types: &'a [AnnotationType],
    mapping: &'a ClassMapping,
    converter: &'a PluginChoice,
    splitter: &'a PluginChoice,
    out: &'a Path,
) -> PrepareRequest<'a> {
    PrepareRequest {
        task,
        images,
        annotations,
        annotation_types: types,
        class_mapping: mapping,
        class_names: None,
        split: SplitParams { train_ratio: 0.75, val_ratio: 0.25, test_ratio: 0.0, random_seed: 7 },
        converter,
        splitter,
        out_dir: out,
        threads: 2,
    }
}

/// Every file under `root`, relative, sorted.
pub fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push(format!("{}/", p.strip_prefix(root).unwrap().display()));
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    walk(root, root, &mut out);
    out.sort();
    out
}

//! Helpers shared by the plugin-host integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use af_core::ClassMapping;
use af_plugin_host::bindings::converter::ConvertRequest;
use af_plugin_host::bindings::types::{AnnotationKind, Setting, TaskType};
use af_plugin_host::{builtins, HostConfig, Limits, Plugin, PluginHost, RequestBuilder};

/// The compiled-component cache shared by the tests (content-addressed, so sharing is safe).
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")
}

/// One host for the whole test binary, with the default limits.
pub fn host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| PluginHost::new(HostConfig { cache_dir: Some(cache_dir()), limits: Limits::default() }).unwrap())
}

pub fn builtin(package: &str) -> Plugin {
    host().load(builtins::by_package(package).unwrap().wasm).unwrap()
}

pub fn test_plugin(package: &str) -> Vec<u8> {
    std::fs::read(builtins::test_plugin_path(package)).unwrap()
}

pub fn options(plugin: &Plugin, chosen: &[(&str, serde_json::Value)]) -> Vec<Setting> {
    let chosen: BTreeMap<String, serde_json::Value> = chosen.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    plugin.resolve_options(&chosen).unwrap()
}

/// A box's corners as the flat WIT geometry.
pub fn corners(x1: f64, y1: f64, x2: f64, y2: f64) -> Vec<f64> {
    vec![x1, y1, x2, y1, x2, y2, x1, y2]
}

pub fn circle(x: f64, y: f64, radius: f64) -> Vec<f64> {
    vec![x, y, radius]
}

pub fn points(p: &[(f64, f64)]) -> Vec<f64> {
    p.iter().flat_map(|&(x, y)| [x, y]).collect()
}

/// An annotation for [`request`]: id, kind, flat geometry, class label.
pub struct Ann(pub i64, pub AnnotationKind, pub Vec<f64>, pub String);

pub fn annotation(id: i64, kind: AnnotationKind, coords: Vec<f64>, label: &str) -> Ann {
    Ann(id, kind, coords, label.into())
}

/// Classes `a` (0) and `b` (1).
pub fn mapping() -> ClassMapping {
    ClassMapping::from_labels(["a", "b"]).unwrap()
}

/// A request for one 200×100 image (id 1) with classes `a` (0) and `b` (1).
pub fn request(task: TaskType, annotations: Vec<Ann>, options: Vec<Setting>) -> ConvertRequest {
    request_labelled(task, None, annotations, options)
}

/// [`request`] with an image-level class label.
pub fn request_labelled(task: TaskType, image_label: Option<&str>, annotations: Vec<Ann>, options: Vec<Setting>) -> ConvertRequest {
    let mapping = mapping();
    let mut batch = RequestBuilder::new(task, &mapping, options);
    batch.image(1, 200, 100, image_label);
    for Ann(id, kind, coords, label) in &annotations {
        batch.annotation(*id, *kind, label, coords);
    }
    batch.request().clone()
}

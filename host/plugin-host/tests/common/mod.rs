//! Helpers shared by the plugin-host integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use af_plugin_host::bindings::converter::{Annotation, ClassEntry, ConvertRequest, Image, Shape};
use af_plugin_host::bindings::types::{AnnotationKind, Setting, TaskType};
use af_plugin_host::{builtins, HostConfig, Limits, Plugin, PluginHost};

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

pub fn corners(x1: f64, y1: f64, x2: f64, y2: f64) -> Shape {
    Shape::Corners(vec![(x1, y1), (x2, y1), (x2, y2), (x1, y2)])
}

pub fn annotation(id: i64, kind: AnnotationKind, shape: Shape, label: &str) -> Annotation {
    Annotation { id, kind, shape, class_label: label.into() }
}

/// A request for one 200×100 image with classes `a` (0) and `b` (1).
pub fn request(task: TaskType, annotations: Vec<Annotation>, options: Vec<Setting>) -> ConvertRequest {
    ConvertRequest {
        task,
        image: Image { id: 1, width: 200, height: 100, class_label: None },
        annotations,
        class_mapping: vec![ClassEntry { label: "a".into(), class_id: 0 }, ClassEntry { label: "b".into(), class_id: 1 }],
        num_classes: 2,
        options,
    }
}

//! `annotateforge plugin info|run`: the CLI's behaviour through its library entry point.

use std::path::{Path, PathBuf};

use af_dataset::cli::{run, Args, Command};
use serde_json::{json, Value};

fn builtin_file(dir: &Path, package: &str) -> PathBuf {
    let path = dir.join(format!("{package}.wasm"));
    std::fs::write(&path, af_plugin_host::builtins::by_package(package).unwrap().wasm).unwrap();
    path
}

fn run_sample(wasm: &Path, dir: &Path, sample: Value) -> anyhow::Result<Value> {
    let path = dir.join("sample.json");
    std::fs::write(&path, sample.to_string()).unwrap();
    let out = run(Args { command: Command::Run { wasm: wasm.into(), sample: path, timeout_ms: 2000, memory_mib: 64 } })?;
    Ok(serde_json::from_str(&out).unwrap())
}

#[test]
fn run_converts_a_sample_into_label_lines_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = builtin_file(dir.path(), "af-converter-detect");
    let out = run_sample(
        &wasm,
        dir.path(),
        json!({
            "task_type": "detect",
            "image": {"width": 256, "height": 256},
            "annotations": [
                {"type": "box", "data": {"corners": [[87, 136], [98, 136], [98, 175], [87, 175]]}, "class_label": "one"},
                {"type": "circle", "data": {"x": 196.0, "y": 176.0, "size": 13.0}, "class_label": "eight"},
                {"id": 9, "type": "box", "data": {"corners": [[1, 1], [2, 1], [2, 2], [1, 2]]}, "class_label": "nope"}
            ],
            "class_mapping": {"one": 1, "eight": 0},
        }),
    )
    .unwrap();
    assert_eq!(out["plugin"]["name"], "converter-detect");
    assert_eq!(out["result"]["lines"], json!(["1 0.361328 0.607422 0.042969 0.152344", "0 0.765625 0.687500 0.101562 0.101562"]));
    assert_eq!(out["result"]["warnings"], json!([{"annotation_id": 9, "reason": "unmapped_class", "message": "class label `nope` is not in the class mapping"}]));
}

#[test]
fn run_splits_and_formats_samples() {
    let dir = tempfile::tempdir().unwrap();
    let split = builtin_file(dir.path(), "af-split-random");
    let items: Vec<Value> = (1..=10).map(|i| json!({"image_id": i})).collect();
    let out = run_sample(&split, dir.path(), json!({"items": items, "split": {"train_ratio": 0.7, "val_ratio": 0.3, "random_seed": 5}})).unwrap();
    assert_eq!(out["result"]["val"].as_array().unwrap().len(), 3);
    assert_eq!(out["result"]["train"].as_array().unwrap().len(), 7);

    let fmt = builtin_file(dir.path(), "af-metrics-ultralytics");
    let out = run_sample(&fmt, dir.path(), json!({"task_type": "detect", "metrics": {"metrics/mAP50-95(B)": 0.41}})).unwrap();
    assert_eq!(out["result"]["metrics"][0], json!({"key": "map50_95", "label": "mAP50-95", "group": "quality", "direction": "maximize", "value": 0.41}));
    assert_eq!(out["result"]["fitness"], json!(0.41));
}

#[test]
fn info_prints_kind_hash_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = builtin_file(dir.path(), "af-converter-segment");
    let out: Value = serde_json::from_str(&run(Args { command: Command::Info { wasm } }).unwrap()).unwrap();
    assert_eq!(out["kind"], "converter");
    assert_eq!(out["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(out["metadata"]["options"][0]["name"], "circle-vertices");
}

#[test]
fn bad_samples_and_hostile_plugins_give_errors_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = builtin_file(dir.path(), "af-converter-detect");
    let err = run_sample(&wasm, dir.path(), json!({"task_type": "detect", "image": {"width": 10, "height": 10}, "class_mapping": {"a": 0}, "extra": 1})).unwrap_err();
    assert!(err.to_string().contains("unknown field `extra`"), "{err}");
    let err = run_sample(&wasm, dir.path(), json!({"task_type": "detect", "image": {"width": 10, "height": 10}, "annotations": [{"type": "box", "data": {"corners": [[1, 2]]}, "class_label": "a"}], "class_mapping": {"a": 0}})).unwrap_err();
    assert!(err.to_string().contains("annotations[0].data.corners"), "{err}");

    let hostile = af_plugin_host::builtins::test_plugin_path("af-test-hostile-converter");
    let err = run_sample(&hostile, dir.path(), json!({"task_type": "detect", "image": {"width": 10, "height": 10}, "class_mapping": {"a": 0}, "options": {"mode": "loop"}})).unwrap_err();
    assert!(err.to_string().contains("time budget of 2s"), "{err}");
}

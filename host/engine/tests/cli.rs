//! The `val` and `predict` CLIs end to end on a tiny generated dataset and weights saved by
//! the engine itself, plus their bad-input errors.

use std::path::Path;

use af_core::TaskType;
use af_engine::cli::{predict, val};
use af_engine::nn::{ModelSpec, Scale, YoloModel};
use af_engine::weights::{save, SaveMeta};
use af_engine::EngineError;
use image::{Rgb, RgbImage};
use tch::nn::VarStore;
use tch::Device;

fn save_model(dir: &Path, task: TaskType, nc: i64, names: &[&str]) -> std::path::PathBuf {
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let m = YoloModel::new(&vs.root(), ModelSpec::new(task, Scale::N, nc).unwrap());
    let path = dir.join(format!("{task}.safetensors"));
    let meta = SaveMeta { spec: Some(m.spec()), names: Some(names.iter().map(|s| s.to_string()).collect()), imgsz: Some(64) };
    save(&vs, &path, &meta).unwrap();
    path
}

fn det_dataset(dir: &Path) {
    for split in ["images/val", "labels/val"] {
        std::fs::create_dir_all(dir.join(split)).unwrap();
    }
    for i in 0..3u32 {
        let img = RgbImage::from_fn(64 + 16 * i, 48, |x, y| if x > 10 && x < 40 && y > 8 && y < 30 { Rgb([240, 240, 0]) } else { Rgb([20, 60, 90]) });
        img.save(dir.join(format!("images/val/{i}.jpg"))).unwrap();
        std::fs::write(dir.join(format!("labels/val/{i}.txt")), format!("{} 0.4 0.4 0.3 0.4\n", i % 2)).unwrap();
    }
    std::fs::write(dir.join("data.yaml"), "path: .\ntrain: images/train\nval: images/val\nnc: 2\nnames:\n  0: red\n  1: blue\n").unwrap();
}

fn val_args(model: &Path, data: &Path) -> val::Args {
    val::Args { model: model.into(), data: data.into(), imgsz: None, batch: 2, conf: 0.001, iou: 0.7, max_det: 300, device: "cpu".into(), json: false }
}

#[test]
fn val_prints_a_metrics_table_for_detect_and_segment() {
    let dir = tempfile::tempdir().unwrap();
    det_dataset(dir.path());
    for task in [TaskType::Detect, TaskType::Segment] {
        let model = save_model(dir.path(), task, 2, &["red", "blue"]);
        let report = val::run(val_args(&model, dir.path())).unwrap();
        assert_eq!((report.images, report.instances), (3, 3));
        let table = val::render(&report, false);
        assert!(table.contains("all") && table.contains("red") && table.contains("blue") && table.contains("Speed"), "{table}");
        if task == TaskType::Segment {
            assert!(table.contains("Mask(P"), "{table}");
        }
        let json: serde_json::Value = serde_json::from_str(&val::render(&report, true)).unwrap();
        assert_eq!(json["images"], 3);
    }
}

#[test]
fn val_classify_on_an_image_folder() {
    let dir = tempfile::tempdir().unwrap();
    for c in ["a", "b", "c"] {
        std::fs::create_dir_all(dir.path().join("val").join(c)).unwrap();
        RgbImage::from_pixel(30, 40, Rgb([9, 99, 199])).save(dir.path().join("val").join(c).join("x.png")).unwrap();
    }
    let model = save_model(dir.path(), TaskType::Classify, 3, &["a", "b", "c"]);
    let report = val::run(val_args(&model, dir.path())).unwrap();
    assert_eq!(report.classify.as_ref().unwrap().images, 3);
    assert!(val::render(&report, false).contains("top1_acc"));
}

#[test]
fn val_rejects_a_dataset_with_another_class_count() {
    let dir = tempfile::tempdir().unwrap();
    det_dataset(dir.path());
    let model = save_model(dir.path(), TaskType::Detect, 5, &["a", "b", "c", "d", "e"]);
    let err = val::run(val_args(&model, &dir.path().join("data.yaml"))).unwrap_err().to_string();
    assert!(err.contains("2 classes") && err.contains("5"), "{err}");
}

#[test]
fn predict_writes_json_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    det_dataset(dir.path());
    let model = save_model(dir.path(), TaskType::Segment, 2, &["red", "blue"]);
    let out = dir.path().join("pred.json");
    let render = dir.path().join("render");
    let args = predict::Args {
        model,
        images: vec![dir.path().join("images/val")],
        imgsz: None,
        conf: 0.0,
        iou: 0.7,
        max_det: 5,
        batch: 2,
        device: "cpu".into(),
        output: Some(out.clone()),
        render: Some(render.clone()),
    };
    let results = predict::run(args.clone()).unwrap();
    assert_eq!(results.len(), 3);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[0]["task"], "segment");
    assert!(json[0]["detections"].as_array().unwrap().len() <= 5);
    for i in 0..3 {
        let png = image::open(render.join(format!("{i}.png"))).unwrap();
        assert_eq!(png.width(), 64 + 16 * i);
    }

    // Bad inputs: a non-image, a zero-size request, missing weights, weights that are not a model.
    let not_image = dir.path().join("notes.png");
    std::fs::write(&not_image, "hello").unwrap();
    let err = predict::run(predict::Args { images: vec![not_image], output: None, render: None, ..args.clone() }).unwrap_err();
    assert!(matches!(err, EngineError::Image { .. }), "{err}");
    let err = predict::run(predict::Args { model: dir.path().join("missing.safetensors"), ..args.clone() }).unwrap_err();
    assert!(matches!(err, EngineError::Io { .. }), "{err}");
    let err = predict::run(predict::Args { model: dir.path().join("data.yaml"), ..args.clone() }).unwrap_err();
    assert!(matches!(err, EngineError::Weights { .. }), "{err}");
    let err = predict::run(predict::Args { device: "tpu".into(), ..args }).unwrap_err();
    assert!(matches!(err, EngineError::Device { .. }), "{err}");
}

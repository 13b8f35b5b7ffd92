//! End-to-end `Predictor` parity with Ultralytics' own `predict` on the parity-fixture
//! weights: decode → letterbox (auto rectangle, padding) → fused forward → NMS → rescaled
//! boxes (detect), masks (segment), sorted probabilities (classify). The reference is
//! `tests/fixtures/predict/reference.json`, made by `tools/parity/predict_reference.py`.

mod common;

use std::path::PathBuf;

use af_core::TaskType;
use af_engine::nn::{ModelOutput, YoloModel};
use af_engine::predict::letterbox::apply_letterbox;
use af_engine::predict::masks::process_mask;
use af_engine::predict::{image_to_tensor, letterbox_shape, non_max_suppression, read_image, NmsConfig, PredictOptions, Predictor};
use af_engine::weights::{load, LoadMode, StateDict};
use tch::nn::VarStore;
use tch::Kind;
use serde_json::Value;
use tch::Device;

fn predict_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/predict").join(name)
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(predict_fixture("reference.json")).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn check_boxes(task: &str, weights: &str) {
    let reference = reference();
    let settings = &reference["settings"]["detect"];
    let predictor = Predictor::load(common::fixture(weights), Device::Cpu)
        .unwrap()
        .with_imgsz(settings["imgsz"].as_i64().unwrap())
        .unwrap();
    let opts = PredictOptions { conf: settings["conf"].as_f64().unwrap(), iou: settings["iou"].as_f64().unwrap(), ..Default::default() };
    for (name, want) in reference[task].as_object().unwrap() {
        let img = read_image(predict_fixture(name)).unwrap();
        let got = predictor.predict_one(&img, &opts).unwrap();
        let want_conf = floats(&want["conf"]);
        let want_cls = floats(&want["cls"]);
        let want_boxes: Vec<Vec<f64>> = want["boxes_xyxy"].as_array().unwrap().iter().map(floats).collect();
        if want["resized"].as_bool().unwrap() {
            // Our bilinear resize differs from OpenCV's fixed-point one by ≤ 1 grey level on
            // ~13% of pixels, and this random-weight model amplifies that (Ultralytics' own
            // model run on both resizes moves its top confidence from 0.27 to 0.46), so
            // only the geometry is compared here; unresized images are compared exactly below.
            if let Some(shape) = want.get("input_shape") {
                let shape = floats(shape);
                assert_eq!(got.input_size, [shape[0] as i64, shape[1] as i64], "{name}: letterboxed input size");
            }
            assert!(!got.detections.is_empty());
            let (w, h) = (img.width() as f32, img.height() as f32);
            assert!(got.detections.iter().all(|d| d.bbox[0] >= 0.0 && d.bbox[2] <= w && d.bbox[1] >= 0.0 && d.bbox[3] <= h));
            continue;
        }
        assert_eq!(got.detections.len(), want_conf.len(), "{task} {name}: number of detections");
        let (mut worst_box, mut worst_conf) = (0.0f64, 0.0f64);
        for (i, d) in got.detections.iter().enumerate() {
            assert_eq!(d.class_id as f64, want_cls[i], "{task} {name} #{i} class");
            worst_conf = worst_conf.max((d.confidence as f64 - want_conf[i]).abs() / want_conf[i]);
            for c in 0..4 {
                worst_box = worst_box.max((d.bbox[c] as f64 - want_boxes[i][c]).abs());
            }
        }
        eprintln!("{task} {name}: {} detections, worst box diff {worst_box:.2e} px, worst rel conf diff {worst_conf:.2e}", want_conf.len());
        assert!(worst_box < 1e-2, "{task} {name}: boxes differ by {worst_box} px");
        assert!(worst_conf < 1e-3, "{task} {name}: confidences differ by {worst_conf} (relative)");
        if task == "segment" {
            let shape = floats(&want["input_shape"]);
            assert_eq!(got.input_size, [shape[0] as i64, shape[1] as i64], "{name}: letterboxed input size");
            for d in &got.detections {
                let poly = d.polygon.as_ref().expect("every kept instance has a polygon");
                assert!(poly.len() >= 3);
                for p in poly {
                    let inside = p[0] >= d.bbox[0] - 1.0 && p[0] <= d.bbox[2] + 1.0 && p[1] >= d.bbox[1] - 1.0 && p[1] <= d.bbox[3] + 1.0;
                    assert!(inside, "{name}: polygon point {p:?} outside its box {:?}", d.bbox);
                }
            }
        }
    }
}

/// The masks themselves (not exposed by `Predictor`): the stages by hand, compared with the
/// pixel areas of Ultralytics' `process_mask` output.
#[test]
fn segment_masks_match_ultralytics_areas() {
    let reference = reference();
    let sd = StateDict::read(common::fixture("seg_model.safetensors")).unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = YoloModel::new(&vs.root(), sd.infer_spec().unwrap());
    load(&vs, &sd, LoadMode::Exact).unwrap();
    let _guard = tch::no_grad_guard();
    for (name, want) in reference["segment"].as_object().unwrap() {
        if want["resized"].as_bool().unwrap() {
            continue;
        }
        let img = image_to_tensor(&read_image(predict_fixture(name)).unwrap(), Device::Cpu);
        let lb = letterbox_shape((img.size()[1], img.size()[2]), (128, 128), true, 32);
        let x = (apply_letterbox(&img, &lb).to_kind(Kind::Float) / 255.0).unsqueeze(0);
        let ModelOutput::Segment(out) = model.forward_t(&x, false).unwrap() else { panic!("segment") };
        let kept = non_max_suppression(&out.decode(), 3, &NmsConfig { conf: 0.0003, ..Default::default() }).unwrap().remove(0);
        let rows = &kept.rows;
        let masks = process_mask(&out.proto.get(0), &rows.narrow(1, 6, 32), &rows.narrow(1, 0, 4), lb.input);
        let areas: Vec<i64> = masks.sum_dim_intlist([1i64, 2].as_slice(), false, Kind::Int64).try_into().unwrap();
        let want_areas = floats(&want["mask_areas"]);
        assert_eq!(areas.len(), want_areas.len(), "{name}");
        let off: i64 = areas.iter().zip(&want_areas).map(|(a, w)| (*a - *w as i64).abs()).sum();
        let total: f64 = want_areas.iter().sum();
        eprintln!("{name}: {} masks, {off} of {total} mask pixels differ", areas.len());
        assert!((off as f64) <= 1e-3 * total, "{name}: {off} mask pixels differ");
    }
}

#[test]
fn detect_matches_ultralytics_predict() {
    check_boxes("detect", "det_model.safetensors");
}

#[test]
fn segment_matches_ultralytics_predict() {
    check_boxes("segment", "seg_model.safetensors");
}

#[test]
fn classify_matches_ultralytics_predict() {
    let reference = reference();
    let predictor = Predictor::load(common::fixture("cls_model.safetensors"), Device::Cpu)
        .unwrap()
        .with_imgsz(reference["settings"]["classify"]["imgsz"].as_i64().unwrap())
        .unwrap();
    assert_eq!(predictor.task(), TaskType::Classify);
    for (name, want) in reference["classify"].as_object().unwrap() {
        let probs = floats(&want["probs"]);
        let got = predictor.predict_one(&read_image(predict_fixture(name)).unwrap(), &PredictOptions::default()).unwrap();
        assert_eq!(got.classes.len(), probs.len());
        // Resizing included: libtorch's uint8 antialiased kernel reproduces PIL's resize.
        assert!(got.classes.windows(2).all(|w| w[0].confidence >= w[1].confidence), "sorted by probability");
        for c in &got.classes {
            let diff = (c.confidence as f64 - probs[c.class_id as usize]).abs();
            assert!(diff < 1e-5, "{name} class {}: {} vs {}", c.class_id, c.confidence, probs[c.class_id as usize]);
        }
    }
}

#[test]
fn one_predictor_serves_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Predictor>();
    let predictor = std::sync::Arc::new(Predictor::load(common::fixture("seg_model.safetensors"), Device::Cpu).unwrap().with_imgsz(128).unwrap());
    let names = ["det_a_128x128.png", "det_b_96x128.png", "det_c_100x70.png", "det_d_128x100.png"];
    let images: Vec<_> = names.iter().map(|n| read_image(predict_fixture(n)).unwrap()).collect();
    let opts = PredictOptions { conf: 0.001, ..Default::default() };
    let sequential: Vec<_> = images.iter().map(|i| predictor.predict_one(i, &opts).unwrap().detections).collect();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (p, img, o) = (predictor.clone(), images[t % 4].clone(), opts.clone());
            std::thread::spawn(move || (t % 4, p.predict_one(&img, &o).unwrap().detections))
        })
        .collect();
    for h in handles {
        let (i, dets) = h.join().unwrap();
        assert_eq!(dets, sequential[i], "image {i}: concurrent result differs");
    }
    // A batch gives each image what it gets alone (mixed sizes: square letterbox, so compare counts).
    let batched = predictor.predict(&images[..2], &opts).unwrap();
    assert_eq!(batched.len(), 2);
    assert!(batched.iter().all(|p| p.input_size == [128, 128]));
}

#[test]
fn bad_requests_are_errors_not_panics() {
    let p = || Predictor::load(common::fixture("seg_model.safetensors"), Device::Cpu).unwrap();
    assert!(p().require(TaskType::Segment, 3).is_ok());
    let err = p().require(TaskType::Detect, 3).err().unwrap().to_string();
    assert!(err.contains("segment model with 3 classes") && err.contains("expected a detect"), "{err}");
    assert!(p().require(TaskType::Segment, 4).is_err());
    assert!(p().with_names(vec!["a".into()]).is_err(), "one name for three classes");
    assert!(p().with_imgsz(0).is_err());

    let predictor = p();
    let opts = PredictOptions::default();
    let err = predictor.predict_one(&image::RgbImage::new(0, 5), &opts).unwrap_err().to_string();
    assert!(err.contains("zero-size"), "{err}");
    let bad = PredictOptions { iou: 1.5, ..PredictOptions::default() };
    assert!(predictor.predict_one(&image::RgbImage::new(8, 8), &bad).is_err());
    assert!(predictor.predict(&[], &opts).unwrap().is_empty());
}

//! Training-loss parity with Ultralytics 8.4.190 (`tests/fixtures/ultralytics-parity/README.md`,
//! section 3): the fixture weights in train mode on the fixture batch must give the same
//! box / cls / dfl (and seg) losses, the same total, and the same gradient norms.

mod common;

use af_engine::loss::{DetectionLoss, LossGains, SegmentationLoss, Targets};
use af_engine::nn::{ModelOutput, YoloModel};
use af_engine::weights::{load, LoadMode, StateDict};
use serde_json::Value;
use tch::nn::VarStore;
use tch::{Device, Kind};

fn model(file: &str) -> (VarStore, YoloModel) {
    let sd = StateDict::read(common::fixture(file)).unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = YoloModel::new(&vs.root(), sd.infer_spec().unwrap());
    load(&vs, &sd, LoadMode::Exact).unwrap();
    (vs, model)
}

fn reference(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(common::fixture(name)).unwrap()).unwrap()
}

/// Each component within 1e-3 relative of the reference (the parity bar).
#[track_caller]
fn assert_rel(what: &str, got: f64, want: f64, tol: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-6);
    eprintln!("{what}: {got} vs {want} (rel {rel:.2e})");
    assert!(rel <= tol, "{what}: got {got}, want {want} (relative error {rel:e})");
}

fn check_grads(vs: &VarStore, reference: &Value) {
    let vars = vs.variables();
    for (name, want) in reference["grad_l2_norms"].as_object().unwrap() {
        let g = vars[name].grad();
        assert!(g.defined(), "{name} has no gradient");
        let got = g.norm().double_value(&[]);
        assert_rel(&format!("grad |{name}|"), got, want.as_f64().unwrap(), 2e-3);
    }
}

#[test]
fn detection_loss_matches_ultralytics() {
    let (vs, model) = model("det_model.safetensors");
    let r = common::tensors("det_loss.safetensors");
    let want = reference("det_loss.json");
    let ModelOutput::Detect(out) = model.forward_t(&r["img"], true).unwrap() else { panic!("detect") };
    let targets = Targets { batch_idx: r["batch_idx"].shallow_clone(), cls: r["cls"].shallow_clone(), bboxes: r["bboxes"].shallow_clone(), masks: None };
    let loss = DetectionLoss::new(3, LossGains::default()).compute(&out, &targets);
    let items = loss.values();
    for ((name, got), want_v) in items.iter().zip(want["loss_vector"].as_array().unwrap()) {
        assert_rel(name, got * 2.0, want_v.as_f64().unwrap(), 1e-3);
    }
    assert_eq!(items.iter().map(|i| i.0).collect::<Vec<_>>(), ["box_loss", "cls_loss", "dfl_loss"]);
    assert_rel("total", loss.total.double_value(&[]), want["total_loss"].as_f64().unwrap(), 1e-3);
    loss.total.backward();
    check_grads(&vs, &want);
}

#[test]
fn segmentation_loss_matches_ultralytics() {
    let (vs, model) = model("seg_model.safetensors");
    let r = common::tensors("seg_loss.safetensors");
    let want = reference("seg_loss.json");
    let ModelOutput::Segment(out) = model.forward_t(&r["img"], true).unwrap() else { panic!("segment") };
    let targets = Targets {
        batch_idx: r["batch_idx"].shallow_clone(),
        cls: r["cls"].shallow_clone(),
        bboxes: r["bboxes"].shallow_clone(),
        masks: Some(r["masks"].to_kind(Kind::Float)),
    };
    let loss = SegmentationLoss::new(3, LossGains::default(), true).compute(&out, &targets).unwrap();
    let want_vec = want["loss_vector"].as_array().unwrap();
    assert_eq!(want_vec[4].as_f64(), Some(0.0), "YOLOv8-seg has no semantic loss");
    for ((name, got), want_v) in loss.values().iter().zip(want_vec) {
        assert_rel(name, got * 2.0, want_v.as_f64().unwrap(), 1e-3);
    }
    assert_rel("total", loss.total.double_value(&[]), want["total_loss"].as_f64().unwrap(), 1e-3);
    loss.total.backward();
    check_grads(&vs, &want);
}

#[test]
fn segmentation_without_masks_is_an_error() {
    let (_vs, model) = model("seg_model.safetensors");
    let r = common::tensors("seg_loss.safetensors");
    let ModelOutput::Segment(out) = model.forward_t(&r["img"], true).unwrap() else { panic!("segment") };
    let targets = Targets { batch_idx: r["batch_idx"].shallow_clone(), cls: r["cls"].shallow_clone(), bboxes: r["bboxes"].shallow_clone(), masks: None };
    assert!(SegmentationLoss::new(3, LossGains::default(), true).compute(&out, &targets).is_err());
}

//! Eval-mode forward parity with Ultralytics 8.4.190 on the fixture weights and images
//! (`tests/fixtures/ultralytics-parity/README.md`, section 2), per tensor and per layer.

mod common;

use af_core::TaskType;
use af_engine::nn::{ModelOutput, YoloModel};
use af_engine::weights::{load, LoadMode, StateDict};
use common::{assert_close, tensors};
use tch::nn::VarStore;
use tch::Device;

fn load_fixture_model(file: &str) -> (VarStore, YoloModel) {
    let sd = StateDict::read(common::fixture(file)).unwrap();
    let spec = sd.infer_spec().unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = YoloModel::new(&vs.root(), spec);
    let report = load(&vs, &sd, LoadMode::Exact).unwrap();
    assert_eq!(report.loaded.len(), vs.variables().len());
    (vs, model)
}

#[test]
fn detect_matches_every_layer_and_output() {
    let (_vs, model) = load_fixture_model("det_model.safetensors");
    assert_eq!((model.task(), model.nc()), (TaskType::Detect, 3));
    let r = tensors("det_forward.safetensors");
    let (out, layers) = tch::no_grad(|| model.forward_layers(&r["input"], false)).unwrap();
    assert_eq!(layers.len(), 22);
    for (i, got) in layers.iter().enumerate() {
        assert_close(&format!("layer{i}"), got, &r[&format!("layer{i}")]);
    }
    let ModelOutput::Detect(det) = &out else { panic!("detect output") };
    assert_close("boxes_raw", &det.boxes, &r["boxes_raw"]);
    assert_close("scores_raw", &det.scores, &r["scores_raw"]);
    for (i, lvl) in det.raw_levels().iter().enumerate() {
        assert_close(&format!("raw_level{i}"), lvl, &r[&format!("raw_level{i}")]);
    }
    let (anchors, strides) = det.anchors();
    assert_close("anchor_points", &anchors, &r["anchor_points"]);
    assert_close("stride_tensor", &strides, &r["stride_tensor"]);
    assert_close("output", &out.decode(), &r["output"]);
}

#[test]
fn fused_detect_still_matches() {
    let (_vs, mut model) = load_fixture_model("det_model.safetensors");
    model.fuse();
    let r = tensors("det_forward.safetensors");
    let out = tch::no_grad(|| model.forward_t(&r["input"], false)).unwrap();
    assert_close("output (fused)", &out.decode(), &r["output"]);
}

#[test]
fn segment_matches_outputs_coefficients_and_protos() {
    let (_vs, model) = load_fixture_model("seg_model.safetensors");
    assert_eq!((model.task(), model.nc()), (TaskType::Segment, 3));
    let r = tensors("seg_forward.safetensors");
    let out = tch::no_grad(|| model.forward_t(&r["input"], false)).unwrap();
    let ModelOutput::Segment(seg) = &out else { panic!("segment output") };
    assert_close("boxes_raw", &seg.det.boxes, &r["boxes_raw"]);
    assert_close("scores_raw", &seg.det.scores, &r["scores_raw"]);
    assert_close("mask_coefficient", &seg.mask_coef, &r["mask_coefficient"]);
    assert_close("proto", &seg.proto, &r["proto"]);
    assert_close("output", &out.decode(), &r["output"]);
    let flat_levels: Vec<_> = (0..3).map(|i| r[&format!("mc_level{i}")].flatten(2, 3)).collect();
    assert_close("mc_levels", &seg.mask_coef, &tch::Tensor::cat(&flat_levels, 2));
}

#[test]
fn classify_matches_logits_and_probabilities() {
    let (_vs, mut model) = load_fixture_model("cls_model.safetensors");
    assert_eq!((model.task(), model.nc()), (TaskType::Classify, 5));
    let r = tensors("cls_forward.safetensors");
    let out = tch::no_grad(|| model.forward_t(&r["input"], false)).unwrap();
    let ModelOutput::Classify(cls) = &out else { panic!("classify output") };
    assert_close("logits", &cls.logits, &r["logits"]);
    assert_close("probs", &out.decode(), &r["probs"]);
    model.fuse();
    let fused = tch::no_grad(|| model.forward_t(&r["input"], false)).unwrap();
    assert_close("probs (fused)", &fused.decode(), &r["probs"]);
}

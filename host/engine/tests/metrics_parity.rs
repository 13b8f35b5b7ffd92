//! Detection metric parity with Ultralytics' validator on `metrics_det.json` (README
//! section 4): P, R, mAP50, mAP50-95 overall and per class, and AP at every IoU threshold,
//! within 1e-3 absolute.

mod common;

use af_engine::metrics::{box_iou, DetStats};
use serde_json::Value;

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn boxes(v: &Value) -> Vec<[f32; 4]> {
    v.as_array().unwrap().iter().map(|b| f32s(b).try_into().unwrap()).collect()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as i64).collect()
}

#[test]
fn detection_metrics_match_ultralytics() {
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(common::fixture("metrics_det.json")).unwrap()).unwrap();
    let names: Vec<String> = fixture["class_names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
    let mut stats = DetStats::default();
    for img in fixture["images"].as_array().unwrap() {
        let (gt, pred) = (boxes(&img["gt_boxes_xyxy"]), boxes(&img["pred_boxes_xyxy"]));
        stats.update(&f32s(&img["pred_conf"]), &ints(&img["pred_cls"]), &ints(&img["gt_cls"]), &box_iou(&gt, &pred));
    }
    let m = stats.compute(&names);
    let want = &fixture["ultralytics"];
    let close = |what: &str, got: f64, want: &Value| {
        let w = want.as_f64().unwrap();
        assert!((got - w).abs() <= 1e-3, "{what}: {got} vs {w}");
        (got - w).abs()
    };
    let mut worst = 0.0f64;
    worst = worst.max(close("precision", m.precision, &want["precision"]));
    worst = worst.max(close("recall", m.recall, &want["recall"]));
    worst = worst.max(close("mAP50", m.map50, &want["mAP50"]));
    worst = worst.max(close("mAP50-95", m.map50_95, &want["mAP50-95"]));
    worst = worst.max(close("fitness", m.fitness(), &want["fitness"]));
    let per_class = want["per_class"].as_object().unwrap();
    assert_eq!(m.per_class.len(), per_class.len(), "classes with ground truth");
    for c in &m.per_class {
        let w = &per_class[&c.name];
        assert_eq!(c.class_id, w["class_index"].as_i64().unwrap());
        assert_eq!(c.instances as i64, w["n_gt"].as_i64().unwrap(), "{}", c.name);
        worst = worst.max(close(&format!("{} P", c.name), c.precision, &w["precision"]));
        worst = worst.max(close(&format!("{} R", c.name), c.recall, &w["recall"]));
        worst = worst.max(close(&format!("{} AP50", c.name), c.map50, &w["AP50"]));
        worst = worst.max(close(&format!("{} AP50-95", c.name), c.map50_95, &w["AP50-95"]));
        for (t, ap) in w["AP_per_iou"].as_array().unwrap().iter().enumerate() {
            worst = worst.max(close(&format!("{} AP@{t}", c.name), c.ap_per_iou[t], ap));
        }
    }
    eprintln!("metrics parity: worst absolute difference {worst:.2e} over {} classes", m.per_class.len());
}

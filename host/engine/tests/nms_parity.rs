//! NMS parity with Ultralytics' `non_max_suppression` on the fixture's trained-model output
//! and the synthetic edge cases (README section 5), single- and multi-label.

mod common;

use af_engine::predict::{non_max_suppression, NmsConfig};
use serde_json::Value;

#[test]
fn matches_ultralytics_kept_rows_and_anchor_indices() {
    let nms: Value = serde_json::from_str(&std::fs::read_to_string(common::fixture("nms.json")).unwrap()).unwrap();
    let inputs = common::tensors("nms_input.safetensors");
    let settings = &nms["settings"];
    let mut checked = 0;
    for (case, expected) in nms["cases"].as_object().unwrap() {
        let tensor_name = expected["input_tensor"].as_str().unwrap().split(':').nth(1).unwrap();
        let pred = &inputs[tensor_name];
        let nc = pred.size()[1] - 4;
        let cfg = NmsConfig {
            conf: settings["conf_thres"].as_f64().unwrap(),
            iou: settings["iou_thres"].as_f64().unwrap(),
            max_det: settings["max_det"].as_u64().unwrap() as usize,
            max_wh: settings["max_wh"].as_f64().unwrap(),
            multi_label: case.ends_with("multi_label=True"),
            ..NmsConfig::default()
        };
        let kept = non_max_suppression(pred, nc, &cfg).unwrap();
        let per_image = expected["per_image"].as_array().unwrap();
        assert_eq!(kept.len(), per_image.len(), "{case}");
        for (b, (got, want)) in kept.iter().zip(per_image).enumerate() {
            let want_idx: Vec<i64> = want["kept_anchor_indices"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
            assert_eq!(got.anchors, want_idx, "{case} image {b}: kept anchors");
            let want_rows = want["detections_xyxy_conf_cls"].as_array().unwrap();
            assert_eq!(got.rows.size(), [want_rows.len() as i64, 6], "{case} image {b}");
            for (r, row) in want_rows.iter().enumerate() {
                for (c, v) in row.as_array().unwrap().iter().enumerate() {
                    let g = got.rows.double_value(&[r as i64, c as i64]);
                    let w = v.as_f64().unwrap();
                    assert!((g - w).abs() <= 1e-4 * w.abs().max(1.0), "{case} image {b} row {r} col {c}: {g} vs {w}");
                }
            }
            checked += want_rows.len();
        }
    }
    assert!(checked > 20, "the fixture has dozens of kept rows, checked {checked}");
}

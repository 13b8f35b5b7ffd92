//! Detection (and mask) metrics over a validation set: per-image true-positive matrices are
//! accumulated, then reduced with `ap_per_class` into P, R, mAP50, mAP50-95 per class and
//! overall, like Ultralytics' `DetMetrics` / `SegmentMetrics`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ap::{ap_per_class, NUM_IOU};
use super::matching::match_predictions;

/// Accumulates matched predictions of one kind (boxes or masks) image by image.
#[derive(Debug, Clone, Default)]
pub struct DetStats {
    tp: Vec<[bool; NUM_IOU]>,
    conf: Vec<f64>,
    pred_cls: Vec<i64>,
    target_cls: Vec<i64>,
    images: usize,
    /// Images in which each class appears.
    images_per_class: BTreeMap<i64, usize>,
}

impl DetStats {
    /// Adds one image: predictions (descending confidence) with their IoU matrix against the
    /// ground truth (`iou[g][p]`).
    pub fn update(&mut self, pred_conf: &[f32], pred_cls: &[i64], gt_cls: &[i64], iou: &[Vec<f32>]) {
        let tp = match_predictions(pred_cls, gt_cls, iou);
        self.update_matched(&tp, pred_conf, pred_cls, gt_cls);
    }

    /// Adds already matched predictions (e.g. `tp` computed elsewhere).
    pub fn update_matched(&mut self, tp: &[[bool; NUM_IOU]], pred_conf: &[f32], pred_cls: &[i64], gt_cls: &[i64]) {
        self.tp.extend_from_slice(tp);
        self.conf.extend(pred_conf.iter().map(|&c| c as f64));
        self.pred_cls.extend_from_slice(pred_cls);
        self.target_cls.extend_from_slice(gt_cls);
        self.images += 1;
        let mut seen: Vec<i64> = gt_cls.to_vec();
        seen.sort_unstable();
        seen.dedup();
        for c in seen {
            *self.images_per_class.entry(c).or_default() += 1;
        }
    }

    pub fn images(&self) -> usize {
        self.images
    }

    pub fn instances(&self) -> usize {
        self.target_cls.len()
    }

    /// Reduces the accumulated matches. `names` labels the classes (index = class id).
    pub fn compute(&self, names: &[String]) -> DetMetrics {
        let r = ap_per_class(&self.tp, &self.conf, &self.pred_cls, &self.target_cls);
        let n = r.classes.len();
        let mean = |v: &dyn Fn(usize) -> f64| if n == 0 { 0.0 } else { (0..n).map(v).sum::<f64>() / n as f64 };
        let per_class = (0..n)
            .map(|i| {
                let c = r.classes[i];
                ClassMetrics {
                    class_id: c,
                    name: names.get(c as usize).cloned().unwrap_or_else(|| format!("class{c}")),
                    images: self.images_per_class.get(&c).copied().unwrap_or(0),
                    instances: r.n_gt[i],
                    precision: r.p[i],
                    recall: r.r[i],
                    map50: r.ap[i][0],
                    map50_95: r.ap[i].iter().sum::<f64>() / NUM_IOU as f64,
                    ap_per_iou: r.ap[i],
                }
            })
            .collect::<Vec<_>>();
        DetMetrics {
            precision: mean(&|i| r.p[i]),
            recall: mean(&|i| r.r[i]),
            map50: mean(&|i| r.ap[i][0]),
            map50_95: mean(&|i| per_class[i].map50_95),
            per_class,
        }
    }
}

/// One class's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    pub class_id: i64,
    pub name: String,
    /// Images that contain the class.
    pub images: usize,
    /// Ground-truth instances.
    pub instances: usize,
    pub precision: f64,
    pub recall: f64,
    pub map50: f64,
    pub map50_95: f64,
    pub ap_per_iou: [f64; NUM_IOU],
}

/// P, R, mAP50, mAP50-95 over the classes that have ground truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetMetrics {
    pub precision: f64,
    pub recall: f64,
    pub map50: f64,
    pub map50_95: f64,
    pub per_class: Vec<ClassMetrics>,
}

impl DetMetrics {
    /// Ultralytics 8.4's fitness: mAP50-95.
    pub fn fitness(&self) -> f64 {
        self.map50_95
    }

    /// The `results.csv` entries, with `suffix` `B` (boxes) or `M` (masks).
    pub fn raw(&self, suffix: char) -> BTreeMap<String, f64> {
        [("precision", self.precision), ("recall", self.recall), ("mAP50", self.map50), ("mAP50-95", self.map50_95)]
            .into_iter()
            .map(|(k, v)| (format!("metrics/{k}({suffix})"), v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::matching::box_iou;

    #[test]
    fn perfect_predictions_score_one() {
        let mut s = DetStats::default();
        let gt = [[0.0f32, 0.0, 10.0, 10.0], [20.0, 20.0, 40.0, 40.0]];
        s.update(&[0.9, 0.8], &[0, 1], &[0, 1], &box_iou(&gt, &gt));
        let m = s.compute(&["a".into(), "b".into()]);
        assert!(m.map50 > 0.99 && m.map50_95 > 0.99 && m.precision > 0.99 && m.recall > 0.99, "{m:?}");
        assert_eq!(m.per_class[1].name, "b");
        assert_eq!(m.raw('B')["metrics/mAP50-95(B)"], m.map50_95);
    }

    #[test]
    fn no_predictions_score_zero() {
        let mut s = DetStats::default();
        s.update(&[], &[], &[0, 0], &[vec![], vec![]]);
        let m = s.compute(&[]);
        assert_eq!((m.map50, m.precision, m.recall), (0.0, 0.0, 0.0));
        assert_eq!(m.per_class[0].instances, 2);
    }
}

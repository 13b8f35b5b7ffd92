//! Classification accuracy as Ultralytics' `ClassifyMetrics`: top-1 and top-5 (over
//! min(5, nc) classes), fitness = their mean.

use std::collections::BTreeMap;

use serde::Serialize;
use tch::{Kind, Tensor};

#[derive(Debug, Clone, Default)]
pub struct ClsStats {
    correct1: usize,
    correct5: usize,
    total: usize,
}

impl ClsStats {
    /// Adds a batch: `scores` `[B, nc]` (logits or probabilities), `targets` class ids.
    pub fn update(&mut self, scores: &Tensor, targets: &[i64]) {
        let nc = scores.size()[1];
        let k = nc.min(5);
        let top = scores.to_kind(Kind::Float).argsort(1, true).narrow(1, 0, k).to_device(tch::Device::Cpu); // [B, k]
        for (b, &t) in targets.iter().enumerate() {
            let row: Vec<i64> = top.get(b as i64).try_into().expect("i64 indices");
            self.correct1 += usize::from(row[0] == t);
            self.correct5 += usize::from(row.contains(&t));
            self.total += 1;
        }
    }

    pub fn compute(&self) -> ClsMetrics {
        let n = self.total.max(1) as f64;
        ClsMetrics { top1: self.correct1 as f64 / n, top5: self.correct5 as f64 / n, images: self.total }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClsMetrics {
    pub top1: f64,
    pub top5: f64,
    pub images: usize,
}

impl ClsMetrics {
    pub fn fitness(&self) -> f64 {
        (self.top1 + self.top5) / 2.0
    }

    /// `metrics/accuracy_top1`, `metrics/accuracy_top5`.
    pub fn raw(&self) -> BTreeMap<String, f64> {
        BTreeMap::from([("metrics/accuracy_top1".to_string(), self.top1), ("metrics/accuracy_top5".to_string(), self.top5)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_top1_and_top5() {
        let scores = Tensor::from_slice(&[
            0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, // best 6, then 5..2; 0 and 1 outside the top 5
            0.9, 0.0, 0.01, 0.02, 0.03, 0.04, 0.05, // top 5: 0, 6, 5, 4, 3
        ])
        .view([2, 7]);
        let mut s = ClsStats::default();
        s.update(&scores, &[6, 1]);
        let m = s.compute();
        assert_eq!((m.top1, m.top5), (0.5, 0.5));
        s.update(&scores, &[2, 0]);
        assert_eq!(s.compute().top5, 0.75);
        // With fewer than 5 classes top-5 is always right.
        let mut s = ClsStats::default();
        s.update(&Tensor::from_slice(&[0.2f32, 0.8]).view([1, 2]), &[0]);
        assert_eq!((s.compute().top1, s.compute().top5), (0.0, 1.0));
    }
}

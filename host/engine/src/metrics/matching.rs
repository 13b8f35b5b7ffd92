//! Matching predictions to ground truth, as Ultralytics 8.4's validator: IoU matrices (boxes
//! in f32 with `eps = 1e-7` like `box_iou`; masks as `mask_iou`), pairs of different classes
//! zeroed, then greedy matching in descending confidence: each prediction takes the
//! unclaimed ground truth with the highest IoU and is a true positive at every threshold that
//! IoU reaches (`match_predictions`, COCO-like).

use tch::{Kind, Tensor};

use super::ap::{iou_thresholds, NUM_IOU};

/// IoU of every ground-truth box (rows) with every predicted box (columns), xyxy, in f32.
pub fn box_iou(gt: &[[f32; 4]], pred: &[[f32; 4]]) -> Vec<Vec<f32>> {
    const EPS: f32 = 1e-7;
    gt.iter()
        .map(|a| {
            pred.iter()
                .map(|b| {
                    let inter = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0) * (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
                    let area_a = (a[2] - a[0]) * (a[3] - a[1]);
                    let area_b = (b[2] - b[0]) * (b[3] - b[1]);
                    inter / (area_a + area_b - inter + EPS)
                })
                .collect()
        })
        .collect()
}

/// IoU of binary masks: `gt` `[M, H, W]`, `pred` `[N, H, W]` (any numeric kind, 0/1) → `[M][N]`.
pub fn mask_iou(gt: &Tensor, pred: &Tensor) -> Vec<Vec<f32>> {
    const EPS: f64 = 1e-7;
    let (m, n) = (gt.size()[0], pred.size()[0]);
    if m == 0 || n == 0 {
        return vec![vec![0.0; n as usize]; m as usize];
    }
    let a = gt.to_kind(Kind::Float).flatten(1, -1); // [M, HW]
    let b = pred.to_kind(Kind::Float).flatten(1, -1); // [N, HW]
    let inter = a.matmul(&b.transpose(0, 1)).clamp_min(0.0); // [M, N]
    let union = a.sum_dim_intlist(1, false, Kind::Float).unsqueeze(1) + b.sum_dim_intlist(1, false, Kind::Float).unsqueeze(0) - &inter;
    let iou = (inter / (union + EPS)).to_device(tch::Device::Cpu);
    (0..m).map(|i| Vec::<f32>::try_from(iou.get(i)).expect("f32 row")).collect()
}

/// `match_predictions`: `iou[g][p]` for ground truth `g` and prediction `p`, predictions in
/// descending confidence. Returns, per prediction, whether it is a true positive at each of
/// the ten IoU thresholds.
pub fn match_predictions(pred_cls: &[i64], gt_cls: &[i64], iou: &[Vec<f32>]) -> Vec<[bool; NUM_IOU]> {
    let thresholds = iou_thresholds();
    let mut correct = vec![[false; NUM_IOU]; pred_cls.len()];
    if gt_cls.is_empty() || pred_cls.is_empty() {
        return correct;
    }
    let iou: Vec<Vec<f32>> =
        gt_cls.iter().zip(iou).map(|(g, row)| row.iter().zip(pred_cls).map(|(&v, p)| if p == g { v } else { 0.0 }).collect()).collect();
    let mut claimed = vec![[false; NUM_IOU]; gt_cls.len()];
    for (j, correct_j) in correct.iter_mut().enumerate() {
        if !iou.iter().any(|row| row[j] >= thresholds[0]) {
            continue;
        }
        for (t, &thr) in thresholds.iter().enumerate() {
            // Best unclaimed ground truth at this threshold (first on ties, as argmax).
            let mut best = (0usize, f32::NEG_INFINITY);
            for (g, row) in iou.iter().enumerate() {
                let v = if claimed[g][t] { 0.0 } else { row[j] };
                if v > best.1 {
                    best = (g, v);
                }
            }
            if best.1 >= thr {
                correct_j[t] = true;
                claimed[best.0][t] = true;
            }
        }
    }
    correct
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn iou_is_symmetric_and_bounded() {
        let a = [[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 15.0, 15.0], [20.0, 20.0, 20.0, 30.0]];
        let m = box_iou(&a, &a);
        for i in 0..3 {
            for j in 0..3 {
                assert!((m[i][j] - m[j][i]).abs() < 1e-7 && (0.0..=1.0).contains(&m[i][j]));
            }
        }
        assert!((m[0][1] - 25.0 / 175.0).abs() < 1e-6);
        assert!((m[0][0] - 1.0).abs() < 1e-6);
        assert_eq!(m[2][2], 0.0, "zero-area box");
    }

    #[test]
    fn greedy_matching_claims_each_ground_truth_once() {
        // One GT, two predictions of its class on top of it: only the first (more confident) is a TP.
        let gt = [[0.0f32, 0.0, 10.0, 10.0]];
        let pred = [[0.0f32, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 9.0]];
        let tp = match_predictions(&[0, 0], &[0], &box_iou(&gt, &pred));
        assert_eq!(tp[0], [true; NUM_IOU]);
        assert_eq!(tp[1], [false; NUM_IOU]);
        // Wrong class is never a match.
        let tp = match_predictions(&[1, 0], &[0], &box_iou(&gt, &pred));
        assert_eq!(tp[0], [false; NUM_IOU]);
        assert_eq!(tp[1][..8], [true; 8]);
        assert!(!tp[1][9], "IoU 0.9 < 0.95");
    }

    #[test]
    fn mask_iou_counts_pixels() {
        let a = Tensor::zeros([1, 4, 4], (Kind::Uint8, Device::Cpu));
        let _ = a.narrow(1, 0, 2).fill_(1); // 8 pixels
        let b = Tensor::zeros([2, 4, 4], (Kind::Uint8, Device::Cpu));
        let _ = b.get(0).narrow(0, 1, 2).fill_(1); // 8 pixels, 4 shared
        let iou = mask_iou(&a, &b);
        assert!((iou[0][0] - 4.0 / 12.0).abs() < 1e-6);
        assert_eq!(iou[0][1], 0.0);
    }
}

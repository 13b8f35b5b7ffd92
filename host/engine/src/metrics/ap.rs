//! Average precision per class, as Ultralytics 8.4's `ap_per_class` / `compute_ap`
//! (`utils/metrics.py`), including the numpy details that decide the last digits:
//! `np.interp` (duplicates resolve to the last one), 101-point trapezoid AP, the 1000-point
//! P/R/F1 confidence curves and the 101-sample moving-average F1 smoothing that picks one
//! confidence for all classes.

/// Number of IoU thresholds (0.50:0.05:0.95).
pub const NUM_IOU: usize = 10;

/// `torch.linspace(0.5, 0.95, 10)` in f32, computed the way torch does (from both ends), so
/// `iou >= threshold` comparisons agree with Ultralytics' bit for bit.
pub fn iou_thresholds() -> [f32; NUM_IOU] {
    let (start, end, steps) = (0.5f32, 0.95f32, NUM_IOU);
    let step = (end - start) / (steps - 1) as f32;
    std::array::from_fn(|i| if i < steps / 2 { start + step * i as f32 } else { end - step * (steps - 1 - i) as f32 })
}

/// `np.linspace(0, 1, n)`.
fn linspace01(n: usize) -> Vec<f64> {
    let step = 1.0 / (n - 1) as f64;
    (0..n).map(|i| if i == n - 1 { 1.0 } else { i as f64 * step }).collect()
}

/// `np.interp(x, xp, fp, left, right)` for non-decreasing `xp`.
pub fn interp(x: f64, xp: &[f64], fp: &[f64], left: f64, right: f64) -> f64 {
    let n = xp.len();
    if n == 1 {
        return if x < xp[0] { left } else if x > xp[0] { right } else { fp[0] };
    }
    if x > xp[n - 1] {
        return right;
    }
    if x < xp[0] {
        return left;
    }
    let j = xp.partition_point(|&v| v <= x) - 1; // largest j with xp[j] <= x
    if j == n - 1 || xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let y = slope * (x - xp[j]) + fp[j];
    if y.is_nan() {
        let y2 = slope * (x - xp[j + 1]) + fp[j + 1];
        if y2.is_nan() && fp[j] == fp[j + 1] {
            return fp[j];
        }
        return y2;
    }
    y
}

/// `np.trapz(y, x)`.
fn trapz(y: &[f64], x: &[f64]) -> f64 {
    (1..y.len()).map(|i| (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0).sum()
}

/// `compute_ap`: AP from one recall/precision curve (in descending-confidence order).
pub fn compute_ap(recall: &[f64], precision: &[f64]) -> f64 {
    let mut mrec = Vec::with_capacity(recall.len() + 3);
    mrec.push(0.0);
    mrec.extend_from_slice(recall);
    mrec.push(recall.last().copied().unwrap_or(1.0));
    mrec.push(1.0);
    let mut mpre = Vec::with_capacity(precision.len() + 3);
    mpre.push(1.0);
    mpre.extend_from_slice(precision);
    mpre.extend([0.0, 0.0]);
    // Precision envelope: running maximum from the right.
    for i in (0..mpre.len() - 1).rev() {
        mpre[i] = mpre[i].max(mpre[i + 1]);
    }
    let x = linspace01(101);
    let y: Vec<f64> = x.iter().map(|&xi| interp(xi, &mrec, &mpre, mpre[0], *mpre.last().unwrap())).collect();
    trapz(&y, &x)
}

/// `smooth(y, f)`: box filter of `round(len * f * 2) // 2 + 1` samples, edges padded.
fn smooth(y: &[f64], f: f64) -> Vec<f64> {
    let nf = ((y.len() as f64 * f * 2.0).round_ties_even() as usize) / 2 + 1;
    let pad = nf / 2;
    let mut yp = vec![y[0]; pad];
    yp.extend_from_slice(y);
    yp.extend(std::iter::repeat_n(*y.last().unwrap(), pad));
    let w = 1.0 / nf as f64;
    (0..y.len()).map(|i| yp[i..i + nf].iter().map(|v| v * w).sum()).collect()
}

/// Per-class results of [`ap_per_class`], for the classes that have ground truth (sorted).
#[derive(Debug, Clone, PartialEq)]
pub struct ApPerClass {
    pub classes: Vec<i64>,
    /// Ground-truth instances per class.
    pub n_gt: Vec<usize>,
    /// AP at each IoU threshold, per class.
    pub ap: Vec<[f64; NUM_IOU]>,
    /// Precision, recall and F1 at the confidence that maximises the smoothed mean F1.
    pub p: Vec<f64>,
    pub r: Vec<f64>,
    pub f1: Vec<f64>,
}

/// `ap_per_class(tp, conf, pred_cls, target_cls)`: `tp[i][t]` says whether prediction `i` is a
/// true positive at IoU threshold `t`. Predictions are ordered by descending confidence
/// (stable for ties; numpy's unstable sort may order exact ties differently).
pub fn ap_per_class(tp: &[[bool; NUM_IOU]], conf: &[f64], pred_cls: &[i64], target_cls: &[i64]) -> ApPerClass {
    const EPS: f64 = 1e-16;
    let mut order: Vec<usize> = (0..conf.len()).collect();
    order.sort_by(|&a, &b| conf[b].total_cmp(&conf[a]));
    let mut classes: Vec<i64> = target_cls.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let n_gt: Vec<usize> = classes.iter().map(|c| target_cls.iter().filter(|t| *t == c).count()).collect();
    let x = linspace01(1000);
    let nc = classes.len();
    let mut ap = vec![[0.0; NUM_IOU]; nc];
    let mut p_curve = vec![vec![0.0; 1000]; nc];
    let mut r_curve = vec![vec![0.0; 1000]; nc];
    for (ci, &c) in classes.iter().enumerate() {
        let idx: Vec<usize> = order.iter().copied().filter(|&i| pred_cls[i] == c).collect();
        let n_l = n_gt[ci] as f64;
        if idx.is_empty() {
            continue;
        }
        let neg_conf: Vec<f64> = idx.iter().map(|&i| -conf[i]).collect();
        for t in 0..NUM_IOU {
            let (mut tpc, mut fpc) = (0.0, 0.0);
            let (mut recall, mut precision) = (Vec::with_capacity(idx.len()), Vec::with_capacity(idx.len()));
            for &i in &idx {
                if tp[i][t] {
                    tpc += 1.0;
                } else {
                    fpc += 1.0;
                }
                recall.push(tpc / (n_l + EPS));
                precision.push(tpc / (tpc + fpc));
            }
            if t == 0 {
                for (k, &xk) in x.iter().enumerate() {
                    r_curve[ci][k] = interp(-xk, &neg_conf, &recall, 0.0, *recall.last().unwrap());
                    p_curve[ci][k] = interp(-xk, &neg_conf, &precision, 1.0, *precision.last().unwrap());
                }
            }
            ap[ci][t] = compute_ap(&recall, &precision);
        }
    }
    let f1_curve: Vec<Vec<f64>> =
        (0..nc).map(|ci| (0..1000).map(|k| 2.0 * p_curve[ci][k] * r_curve[ci][k] / (p_curve[ci][k] + r_curve[ci][k] + EPS)).collect()).collect();
    let best = if nc == 0 {
        0
    } else {
        let mean: Vec<f64> = (0..1000).map(|k| f1_curve.iter().map(|c| c[k]).sum::<f64>() / nc as f64).collect();
        let s = smooth(&mean, 0.1);
        // First maximum, as np.argmax.
        s.iter().enumerate().fold(0, |b, (k, &v)| if v > s[b] { k } else { b })
    };
    ApPerClass {
        p: p_curve.iter().map(|c| c[best]).collect(),
        r: r_curve.iter().map(|c| c[best]).collect(),
        f1: f1_curve.iter().map(|c| c[best]).collect(),
        classes,
        n_gt,
        ap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interp_matches_numpy_edge_rules() {
        let xp = [0.0, 1.0, 1.0, 2.0];
        let fp = [0.0, 10.0, 20.0, 30.0];
        assert_eq!(interp(-1.0, &xp, &fp, -5.0, 99.0), -5.0);
        assert_eq!(interp(3.0, &xp, &fp, -5.0, 99.0), 99.0);
        assert_eq!(interp(0.5, &xp, &fp, 0.0, 0.0), 5.0);
        assert_eq!(interp(1.0, &xp, &fp, 0.0, 0.0), 20.0, "duplicates resolve to the last");
        assert_eq!(interp(1.5, &xp, &fp, 0.0, 0.0), 25.0);
        assert_eq!(interp(2.0, &xp, &fp, 0.0, 0.0), 30.0);
        assert_eq!(interp(0.3, &[0.3], &[7.0], 1.0, 2.0), 7.0);
    }

    #[test]
    fn perfect_detector_has_ultralytics_ap() {
        // 0.995, not 1: np.interp at recall 1.0 lands on the appended (1, 0) point, so the last
        // 0.01 trapezoid is half — the same 0.995 Ultralytics reports for a perfect model.
        let ap = compute_ap(&[0.5, 1.0], &[1.0, 1.0]);
        assert!((ap - 0.995).abs() < 1e-12, "{ap}");
        let half = compute_ap(&[0.5, 0.5], &[1.0, 0.5]);
        assert!((half - 0.5).abs() < 0.01, "{half}");
    }

    #[test]
    fn thresholds_are_torch_linspace() {
        let t = iou_thresholds();
        assert_eq!(t[0], 0.5);
        assert_eq!(t[9], 0.95);
        assert!((t[4] - 0.7).abs() < 1e-6);
    }

    #[test]
    fn class_without_predictions_gets_zero_and_predictions_without_gt_are_ignored() {
        let tp = [[true; NUM_IOU], [false; NUM_IOU]];
        let r = ap_per_class(&tp, &[0.9, 0.8], &[0, 7], &[0, 1]);
        assert_eq!(r.classes, [0, 1]);
        assert!(r.ap[0][0] > 0.99);
        assert_eq!(r.ap[1], [0.0; NUM_IOU]);
        assert_eq!((r.p[1], r.r[1]), (0.0, 0.0));
    }
}

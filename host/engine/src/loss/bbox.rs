//! Box geometry the assigner and the box losses share: format conversions, CIoU
//! (Ultralytics' `bbox_iou(..., xywh=False, CIoU=True)`), `bbox2dist`, and the box loss itself
//! (`BboxLoss`: CIoU + distribution focal loss, weighted by the assigned target scores).

use std::f64::consts::PI;

use tch::{Kind, Tensor};

/// `(x1, y1, x2, y2)` → `(cx, cy, w, h)` along the last dimension.
pub fn xyxy_to_xywh(b: &Tensor) -> Tensor {
    let p = b.split(2, -1);
    let (x1y1, x2y2) = (&p[0], &p[1]);
    Tensor::cat(&[(x1y1 + x2y2) / 2.0, x2y2 - x1y1], -1)
}

/// `(cx, cy, w, h)` → `(x1, y1, x2, y2)` along the last dimension.
pub fn xywh_to_xyxy(b: &Tensor) -> Tensor {
    let p = b.split(2, -1);
    let (xy, half) = (&p[0], &p[1] / 2.0);
    Tensor::cat(&[xy - &half, xy + &half], -1)
}

/// Complete IoU of paired xyxy boxes `[..., 4]` → `[..., 1]`. The aspect-ratio weight `α` is
/// treated as a constant in the backward pass, as Ultralytics computes it under `no_grad`.
pub fn ciou(box1: &Tensor, box2: &Tensor) -> Tensor {
    const EPS: f64 = 1e-7;
    let a = box1.split(1, -1);
    let b = box2.split(1, -1);
    let (b1x1, b1y1, b1x2, b1y2) = (&a[0], &a[1], &a[2], &a[3]);
    let (b2x1, b2y1, b2x2, b2y2) = (&b[0], &b[1], &b[2], &b[3]);
    let (w1, h1) = (b1x2 - b1x1, b1y2 - b1y1 + EPS);
    let (w2, h2) = (b2x2 - b2x1, b2y2 - b2y1 + EPS);
    let inter = (b1x2.minimum(b2x2) - b1x1.maximum(b2x1)).clamp_min(0.0)
        * (b1y2.minimum(b2y2) - b1y1.maximum(b2y1)).clamp_min(0.0);
    let union = &w1 * &h1 + &w2 * &h2 - &inter + EPS;
    let iou = &inter / union;
    let cw = b1x2.maximum(b2x2) - b1x1.minimum(b2x1);
    let ch = b1y2.maximum(b2y2) - b1y1.minimum(b2y1);
    let c2 = cw.square() + ch.square() + EPS;
    let rho2 = ((b2x1 + b2x2 - b1x1 - b1x2).square() + (b2y1 + b2y2 - b1y1 - b1y2).square()) / 4.0;
    let v = ((&w2 / &h2).atan() - (&w1 / &h1).atan()).square() * (4.0 / (PI * PI));
    let alpha = tch::no_grad(|| &v / (-&iou + 1.0 + &v + EPS));
    iou - (rho2 / c2 + v * alpha)
}

/// xyxy boxes → distances `(l, t, r, b)` from the anchor points, clamped to `[0, reg_max - 0.01]`.
pub fn bbox2dist(anchor_points: &Tensor, bbox: &Tensor, reg_max: f64) -> Tensor {
    let p = bbox.split(2, -1);
    Tensor::cat(&[anchor_points - &p[0], &p[1] - anchor_points], -1).clamp(0.0, reg_max - 0.01)
}

/// Distribution focal loss: cross-entropy of the logits `[K, reg_max]` against the two bins
/// around each continuous target `[K]`, weighted by proximity; mean over the 4 sides → `[K/4, 1]`.
fn dfl(pred_dist: &Tensor, target: &Tensor, reg_max: i64) -> Tensor {
    let target = target.clamp(0.0, (reg_max - 1) as f64 - 0.01); // [K/4, 4]
    let tl = target.to_kind(Kind::Int64);
    let tr = &tl + 1;
    let wl = tr.to_kind(target.kind()) - &target;
    let wr = -&wl + 1.0;
    let logp = pred_dist.log_softmax(1, Kind::Float); // [K, R]
    let pick = |t: &Tensor| logp.gather(1, &t.view([-1, 1]), false).view(t.size().as_slice());
    (-(pick(&tl) * wl + pick(&tr) * wr)).mean_dim(-1, true, Kind::Float)
}

/// `BboxLoss`: CIoU and DFL over the foreground anchors, each weighted by the anchor's summed
/// target score and divided by `target_scores_sum`. Inputs in grid units (pixels / stride):
/// `pred_dist` `[B, N, 4·R]`, `pred_bboxes` and `target_bboxes` `[B, N, 4]` xyxy, `anchor_points`
/// `[N, 2]`, `target_scores` `[B, N, nc]`, `fg_mask` `[B, N]` bool. Returns `(iou, dfl)`, scalars
/// that stay in the graph even with no foreground.
pub fn bbox_loss(
    pred_dist: &Tensor,
    pred_bboxes: &Tensor,
    anchor_points: &Tensor,
    target_bboxes: &Tensor,
    target_scores: &Tensor,
    target_scores_sum: &Tensor,
    fg_mask: &Tensor,
    reg_max: i64,
) -> (Tensor, Tensor) {
    let fg = fg_mask.nonzero(); // [K, 2] (image, anchor)
    let (bi, ai) = (fg.select(1, 0), fg.select(1, 1));
    let at = |t: &Tensor| t.index(&[Some(&bi), Some(&ai)]); // [K, ...]
    let weight = at(target_scores).sum_dim_intlist(-1, true, Kind::Float); // [K, 1]
    let iou = ciou(&at(pred_bboxes), &at(target_bboxes)); // [K, 1]
    let loss_iou = ((-iou + 1.0) * &weight).sum(Kind::Float) / target_scores_sum;
    let target_ltrb = bbox2dist(&anchor_points.index_select(0, &ai), &at(target_bboxes), (reg_max - 1) as f64); // [K, 4]
    let loss_dfl = (dfl(&at(pred_dist).view([-1, reg_max]), &target_ltrb, reg_max) * weight).sum(Kind::Float)
        / target_scores_sum;
    (loss_iou, loss_dfl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn t(v: &[f32], shape: &[i64]) -> Tensor {
        Tensor::from_slice(v).view(shape)
    }

    #[test]
    fn conversions_round_trip() {
        let xyxy = t(&[10., 20., 30., 60.], &[1, 4]);
        let xywh = xyxy_to_xywh(&xyxy);
        assert_eq!(Vec::<f32>::try_from(xywh.view(-1)).unwrap(), [20., 40., 20., 40.]);
        assert!(xywh_to_xyxy(&xywh).equal(&xyxy));
    }

    #[test]
    fn ciou_is_one_for_identical_boxes_and_penalises_distance() {
        let a = t(&[0., 0., 10., 10., 0., 0., 10., 10.], &[2, 4]);
        let b = t(&[0., 0., 10., 10., 20., 0., 30., 10.], &[2, 4]);
        let v: Vec<f32> = ciou(&a, &b).view(-1).try_into().unwrap();
        assert!((v[0] - 1.0).abs() < 1e-5, "{v:?}");
        // Disjoint boxes: IoU 0, centre distance 20 over enclosing diagonal² 30² + 10².
        assert!((v[1] - (0.0 - 400.0 / 1000.0)).abs() < 1e-4, "{v:?}");
    }

    #[test]
    fn dfl_is_smallest_at_the_target_bins() {
        // A target of 3.25 over 16 bins: the best logits put 0.75 on bin 3 and 0.25 on bin 4.
        let target = Tensor::from_slice(&[3.25f32, 3.25, 3.25, 3.25]).view([1, 4]);
        let mut good = vec![-20.0f32; 64];
        for s in 0..4 {
            good[s * 16 + 3] = 0.75f32.ln();
            good[s * 16 + 4] = 0.25f32.ln();
        }
        let good = dfl(&t(&good, &[4, 16]), &target, 16).double_value(&[0, 0]);
        let flat = dfl(&Tensor::zeros([4, 16], (Kind::Float, Device::Cpu)), &target, 16).double_value(&[0, 0]);
        let entropy = -(0.75f64 * 0.75f64.ln() + 0.25 * 0.25f64.ln());
        assert!((good - entropy).abs() < 1e-4, "{good} vs {entropy}");
        assert!(flat > good + 1.0);
    }
}

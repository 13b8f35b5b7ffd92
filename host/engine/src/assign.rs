//! The task-aligned assigner (TOOD; Ultralytics 8.4 `utils/tal.py::TaskAlignedAssigner`):
//! decides which anchors learn which ground-truth box, and with what soft class target.
//!
//! For every (image, gt, anchor) whose anchor centre lies inside the gt box (boxes smaller
//! than `stride_val` = 16 px are widened to 16 px for this test only), the alignment metric
//! is `score(gt class)^α · CIoU(gt, predicted box)^β`. Each gt keeps its `topk` best anchors;
//! an anchor claimed by several gts goes to the one it overlaps most. The positive anchors'
//! class targets are one-hot scaled by the metric, normalised per gt so that its best anchor
//! gets that gt's best IoU. Everything here runs without gradients.

use tch::{Device, Kind, Tensor};

use crate::loss::bbox::{ciou, xywh_to_xyxy, xyxy_to_xywh};

/// Ground truth of a batch, padded to the largest per-image count `M`.
#[derive(Debug)]
pub struct GtBatch {
    /// `[B, M, 1]` class ids as floats.
    pub labels: Tensor,
    /// `[B, M, 4]` xyxy boxes in input pixels.
    pub bboxes: Tensor,
    /// `[B, M, 1]` 1.0 for a real box, 0.0 for padding.
    pub mask: Tensor,
}

impl GtBatch {
    pub fn max_boxes(&self) -> i64 {
        self.bboxes.size()[1]
    }
}

/// The assignment: per anchor, its target and whether it is foreground.
#[derive(Debug)]
pub struct Assignment {
    /// `[B, N]` class of the assigned gt (`nc` where nothing can be assigned at all).
    pub target_labels: Tensor,
    /// `[B, N, 4]` xyxy pixels of the assigned gt.
    pub target_bboxes: Tensor,
    /// `[B, N, nc]` soft class targets (zero for background anchors).
    pub target_scores: Tensor,
    /// `[B, N]` bool, foreground anchors.
    pub fg_mask: Tensor,
    /// `[B, N]` i64 index of the assigned gt within its image.
    pub target_gt_idx: Tensor,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskAlignedAssigner {
    pub topk: i64,
    pub num_classes: i64,
    pub alpha: f64,
    pub beta: f64,
    /// Smallest gt side used for the "anchor inside box" test: the second stride (16).
    pub stride_val: f64,
    pub eps: f64,
}

impl TaskAlignedAssigner {
    /// Ultralytics' v8 settings: top-k 10, α 0.5, β 6, strides 8/16/32.
    pub fn v8(num_classes: i64) -> Self {
        TaskAlignedAssigner { topk: 10, num_classes, alpha: 0.5, beta: 6.0, stride_val: 16.0, eps: 1e-9 }
    }

    /// `pd_scores` `[B, N, nc]` probabilities, `pd_bboxes` `[B, N, 4]` xyxy pixels, `anchors`
    /// `[N, 2]` anchor centres in pixels.
    pub fn assign(&self, pd_scores: &Tensor, pd_bboxes: &Tensor, anchors: &Tensor, gt: &GtBatch) -> Assignment {
        tch::no_grad(|| self.assign_inner(pd_scores, pd_bboxes, anchors, gt))
    }

    fn assign_inner(&self, pd_scores: &Tensor, pd_bboxes: &Tensor, anchors: &Tensor, gt: &GtBatch) -> Assignment {
        let (bs, na, _) = pd_scores.size3().expect("pd_scores is [B, N, nc]");
        let n_max = gt.max_boxes();
        let device = pd_scores.device();
        if n_max == 0 {
            return Assignment {
                target_labels: Tensor::full([bs, na], self.num_classes, (Kind::Int64, device)),
                target_bboxes: pd_bboxes.zeros_like(),
                target_scores: pd_scores.zeros_like(),
                fg_mask: Tensor::zeros([bs, na], (Kind::Bool, device)),
                target_gt_idx: Tensor::zeros([bs, na], (Kind::Int64, device)),
            };
        }
        // Positive candidates.
        let mask_in_gts = self.candidates_in_gts(anchors, &gt.bboxes, &gt.mask); // [B, M, N] bool
        let (mut align_metric, mut overlaps) =
            self.box_metrics(pd_scores, pd_bboxes, gt, &mask_in_gts.logical_and(&gt.mask.to_kind(Kind::Bool)));
        let mask_topk = self.topk_candidates(&align_metric, &gt.mask); // [B, M, N] i8
        let mask_pos = mask_topk * &mask_in_gts * gt.mask.to_kind(Kind::Bool); // [B, M, N] i8

        // An anchor claimed by several gts keeps the one with the highest overlap.
        let fg_count = mask_pos.sum_dim_intlist(-2, false, Kind::Int64); // [B, N]
        let multi = fg_count.unsqueeze(1).gt(1).expand([-1, n_max, -1], false); // [B, M, N]
        let max_overlap_idx = overlaps.max_dim(1, false).1; // [B, N]
        let is_max = mask_pos.zeros_like().scatter_value(1, &max_overlap_idx.unsqueeze(1), 1); // [B, M, N]
        let mask_pos = is_max.where_self(&multi, &mask_pos);
        let (fg_mask, target_gt_idx) = mask_pos.max_dim(-2, false); // [B, N] each

        // Targets of the assigned gts.
        let batch_ind = Tensor::arange(bs, (Kind::Int64, device)).unsqueeze(-1); // [B, 1]
        let flat_idx = (&target_gt_idx + batch_ind * n_max).view(-1); // [B*N]
        let target_labels =
            gt.labels.to_kind(Kind::Int64).view(-1).index_select(0, &flat_idx).view([bs, na]).clamp_min(0);
        let target_bboxes = gt.bboxes.view([-1, 4]).index_select(0, &flat_idx).view([bs, na, 4]);
        let one_hot = Tensor::zeros([bs, na, self.num_classes], (Kind::Int8, device))
            .scatter_value(2, &target_labels.unsqueeze(-1), 1)
            * fg_mask.unsqueeze(-1).gt(0); // [B, N, nc]

        // Normalise: each gt's best anchor gets that gt's best overlap.
        align_metric *= &mask_pos;
        let pos_align = align_metric.amax(-1, true); // [B, M, 1]
        overlaps *= &mask_pos;
        let pos_overlaps = overlaps.amax(-1, true); // [B, M, 1]
        let norm = (align_metric * pos_overlaps / (pos_align + self.eps)).amax(-2, false).unsqueeze(-1); // [B, N, 1]
        let target_scores = one_hot.to_kind(Kind::Float) * norm;
        Assignment { target_labels, target_bboxes, target_scores, fg_mask: fg_mask.gt(0), target_gt_idx }
    }

    /// `[B, M, N]` bool: anchor centre strictly inside the (minimum-size-widened) gt box.
    fn candidates_in_gts(&self, anchors: &Tensor, gt_bboxes: &Tensor, mask_gt: &Tensor) -> Tensor {
        let xywh = xyxy_to_xywh(gt_bboxes); // [B, M, 4]
        let wh = xywh.narrow(-1, 2, 2);
        let small = wh.lt(self.stride_val).logical_and(&mask_gt.to_kind(Kind::Bool)); // [B, M, 2]
        let wh = wh.where_scalarother(&small.logical_not(), self.stride_val);
        let boxes = xywh_to_xyxy(&Tensor::cat(&[xywh.narrow(-1, 0, 2), wh], -1)).unsqueeze(2); // [B, M, 1, 4]
        let (ax, ay) = (anchors.select(1, 0), anchors.select(1, 1)); // [N]
        let eps = 1e-9;
        let side = |i: i64| boxes.select(-1, i); // [B, M, 1]
        (&ax - side(0)).gt(eps)
            .logical_and(&(&ay - side(1)).gt(eps))
            .logical_and(&(side(2) - &ax).gt(eps))
            .logical_and(&(side(3) - &ay).gt(eps))
    }

    /// Alignment metric and CIoU (clamped at 0) for the candidate pairs, zero elsewhere.
    fn box_metrics(&self, pd_scores: &Tensor, pd_bboxes: &Tensor, gt: &GtBatch, mask: &Tensor) -> (Tensor, Tensor) {
        let shape = mask.size();
        let idx = mask.nonzero(); // [K, 3] (image, gt, anchor)
        let (b, m, a) = (idx.select(1, 0), idx.select(1, 1), idx.select(1, 2));
        let labels = gt.labels.select(-1, 0).index(&[Some(&b), Some(&m)]).to_kind(Kind::Int64); // [K]
        let scores = pd_scores.index(&[Some(&b), Some(&a), Some(&labels)]); // [K]
        let gt_boxes = gt.bboxes.index(&[Some(&b), Some(&m)]); // [K, 4]
        let pd_boxes = pd_bboxes.index(&[Some(&b), Some(&a)]); // [K, 4]
        let ov = ciou(&gt_boxes, &pd_boxes).squeeze_dim(-1).clamp_min(0.0); // [K]
        let align = scores.pow_tensor_scalar(self.alpha) * ov.pow_tensor_scalar(self.beta);
        let opts = (pd_bboxes.kind(), pd_bboxes.device());
        let indices = [Some(&b), Some(&m), Some(&a)];
        let mut overlaps = Tensor::zeros(shape.as_slice(), opts);
        let _ = overlaps.index_put_(&indices, &ov, false);
        let mut metric = Tensor::zeros(shape.as_slice(), (align.kind(), opts.1));
        let _ = metric.index_put_(&indices, &align, false);
        (metric, overlaps)
    }

    /// `[B, M, N]` i8: 1 for each real gt's top-k anchors by metric.
    fn topk_candidates(&self, metrics: &Tensor, mask_gt: &Tensor) -> Tensor {
        let n = metrics.size()[2];
        let k = self.topk.min(n);
        let (_, idx) = metrics.topk(k, -1, true, true); // [B, M, k]
        let valid = mask_gt.to_kind(Kind::Bool).expand([-1, -1, k], false);
        let idx = idx.masked_fill(&valid.logical_not(), 0);
        let count = Tensor::zeros(metrics.size().as_slice(), (Kind::Int8, metrics.device()))
            .scatter_add(-1, &idx, &Tensor::ones(idx.size().as_slice(), (Kind::Int8, metrics.device())));
        // Padded gts put all k picks on anchor 0: discard anchors picked more than once.
        count.masked_fill(&count.gt(1), 0)
    }
}

/// Pads flat targets (`batch_idx` `[n]`, `cls` `[n]` or `[n, 1]`, `bboxes` `[n, 4]` normalised
/// xywh) into a [`GtBatch`] of xyxy pixel boxes for images of `(height, width)`.
pub fn pad_targets(
    batch_idx: &Tensor,
    cls: &Tensor,
    bboxes: &Tensor,
    batch_size: i64,
    (height, width): (i64, i64),
    device: Device,
) -> GtBatch {
    let idx: Vec<i64> = batch_idx.to_kind(Kind::Int64).to_device(Device::Cpu).view(-1).try_into().expect("batch_idx");
    let cls: Vec<f32> = cls.to_kind(Kind::Float).to_device(Device::Cpu).view(-1).try_into().expect("cls");
    let boxes: Vec<f32> = bboxes.to_kind(Kind::Float).to_device(Device::Cpu).view(-1).try_into().expect("bboxes");
    let mut counts = vec![0usize; batch_size as usize];
    for &i in &idx {
        counts[i as usize] += 1;
    }
    let m = counts.iter().copied().max().unwrap_or(0);
    let b = batch_size as usize;
    let mut labels = vec![0f32; b * m];
    let mut xyxy = vec![0f32; b * m * 4];
    let mut mask = vec![0f32; b * m];
    let mut fill = vec![0usize; b];
    let (w, h) = (width as f32, height as f32);
    for (k, &i) in idx.iter().enumerate() {
        let i = i as usize;
        let slot = i * m + fill[i];
        fill[i] += 1;
        labels[slot] = cls[k];
        mask[slot] = 1.0;
        let (cx, cy, bw, bh) = (boxes[4 * k] * w, boxes[4 * k + 1] * h, boxes[4 * k + 2] * w, boxes[4 * k + 3] * h);
        xyxy[4 * slot..4 * slot + 4].copy_from_slice(&[cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0]);
    }
    let m = m as i64;
    GtBatch {
        labels: Tensor::from_slice(&labels).view([batch_size, m, 1]).to_device(device),
        bboxes: Tensor::from_slice(&xyxy).view([batch_size, m, 4]).to_device(device),
        mask: Tensor::from_slice(&mask).view([batch_size, m, 1]).to_device(device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::make_anchors;

    const CPU: (Kind, Device) = (Kind::Float, Device::Cpu);

    #[test]
    fn pads_targets_per_image() {
        let gt = pad_targets(
            &Tensor::from_slice(&[0i64, 1, 1]),
            &Tensor::from_slice(&[2.0f32, 0.0, 1.0]),
            &Tensor::from_slice(&[0.5f32, 0.5, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 0.1, 0.1]).view([3, 4]),
            3,
            (64, 128),
            Device::Cpu,
        );
        assert_eq!(gt.bboxes.size(), [3, 2, 4]);
        let mask: Vec<f32> = gt.mask.view(-1).try_into().unwrap();
        assert_eq!(mask, [1., 0., 1., 1., 0., 0.]);
        let first: Vec<f32> = gt.bboxes.get(0).get(0).try_into().unwrap();
        assert_eq!(first, [32., 16., 96., 48.]);
        assert_eq!(gt.labels.double_value(&[1, 1, 0]), 1.0);
    }

    #[test]
    fn assigns_anchors_inside_a_box_to_it_with_top_k() {
        // One 64x64 image, one 32x32 box in the top-left quadrant, class 1 of 2.
        let (anchors, strides) = make_anchors(&[(8, 8), (4, 4), (2, 2)], &[8.0, 16.0, 32.0], 0.5, CPU);
        let anchors_px = &anchors * &strides; // [N, 2]
        let n = anchors.size()[0];
        let gt = GtBatch {
            labels: Tensor::from_slice(&[1.0f32]).view([1, 1, 1]),
            bboxes: Tensor::from_slice(&[0.0f32, 0.0, 32.0, 32.0]).view([1, 1, 4]),
            mask: Tensor::ones([1, 1, 1], CPU),
        };
        // Every anchor predicts the gt box itself with score 0.5: the metric ranks only by
        // whether the anchor is inside.
        let pd_boxes = Tensor::from_slice(&[0.0f32, 0.0, 32.0, 32.0]).view([1, 1, 4]).expand([1, n, 4], false);
        let pd_scores = Tensor::full([1, n, 2], 0.5, CPU);
        let a = TaskAlignedAssigner::v8(2).assign(&pd_scores, &pd_boxes, &anchors_px, &gt);
        let fg: Vec<bool> = a.fg_mask.view(-1).try_into().unwrap();
        let ax: Vec<f32> = anchors_px.select(1, 0).try_into().unwrap();
        let ay: Vec<f32> = anchors_px.select(1, 1).try_into().unwrap();
        let count = fg.iter().filter(|&&f| f).count();
        assert_eq!(count, 10, "top-k of the 16 stride-8 + 4 stride-16 + 1 stride-32 anchors inside");
        for (i, &f) in fg.iter().enumerate() {
            if f {
                assert!(ax[i] < 32.0 && ay[i] < 32.0, "fg anchor {i} at ({}, {}) outside the box", ax[i], ay[i]);
            }
        }
        // Soft targets only on class 1, equal to the (perfect) IoU ≈ 1 at the best anchor.
        assert_eq!(a.target_scores.select(2, 0).abs().sum(Kind::Float).double_value(&[]), 0.0);
        let best = a.target_scores.select(2, 1).max().double_value(&[]);
        assert!((best - 1.0).abs() < 1e-4, "{best}");
        assert_eq!(a.target_labels.int64_value(&[0, 0]), 1);
    }

    #[test]
    fn an_anchor_shared_by_two_boxes_goes_to_the_better_overlap() {
        let anchors = Tensor::from_slice(&[20.0f32, 20.0]).view([1, 2]).repeat([12, 1]); // 12 identical anchors
        let gt = GtBatch {
            labels: Tensor::from_slice(&[0.0f32, 0.0]).view([1, 2, 1]),
            bboxes: Tensor::from_slice(&[0.0f32, 0.0, 40.0, 40.0, 10.0, 10.0, 30.0, 30.0]).view([1, 2, 4]),
            mask: Tensor::ones([1, 2, 1], CPU),
        };
        let pd = Tensor::from_slice(&[11.0f32, 11.0, 29.0, 29.0]).view([1, 1, 4]).expand([1, 12, 4], false);
        let a = TaskAlignedAssigner::v8(1).assign(&Tensor::full([1, 12, 1], 0.9, CPU), &pd, &anchors, &gt);
        let idx: Vec<i64> = a.target_gt_idx.view(-1).try_into().unwrap();
        let fg: Vec<bool> = a.fg_mask.view(-1).try_into().unwrap();
        for (i, f) in fg.iter().enumerate() {
            if *f {
                assert_eq!(idx[i], 1, "the smaller box overlaps the prediction better");
            }
        }
        assert!(fg.iter().filter(|&&f| f).count() >= 10);
    }

    #[test]
    fn no_targets_means_all_background() {
        let gt = GtBatch {
            labels: Tensor::zeros([2, 0, 1], CPU),
            bboxes: Tensor::zeros([2, 0, 4], CPU),
            mask: Tensor::zeros([2, 0, 1], CPU),
        };
        let a = TaskAlignedAssigner::v8(3).assign(
            &Tensor::rand([2, 21, 3], CPU),
            &Tensor::rand([2, 21, 4], CPU),
            &Tensor::rand([21, 2], CPU),
            &gt,
        );
        assert_eq!(a.fg_mask.any().int64_value(&[]), 0);
        assert_eq!(a.target_scores.sum(Kind::Float).double_value(&[]), 0.0);
        assert_eq!(a.target_labels.int64_value(&[1, 5]), 3);
    }
}

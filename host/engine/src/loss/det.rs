//! Detection loss (`v8DetectionLoss`): assign targets to anchors, then CIoU + DFL on the
//! foreground and BCE on every anchor's class logits.

use tch::{Kind, Reduction, Tensor};

use super::bbox::bbox_loss;
use super::{LossGains, LossOutput, Targets};
use crate::assign::{pad_targets, TaskAlignedAssigner};
use crate::nn::{DetectOut, REG_MAX};

pub const NAMES: &[&str] = &["box_loss", "cls_loss", "dfl_loss"];

#[derive(Debug, Clone, Copy)]
pub struct DetectionLoss {
    pub nc: i64,
    pub gains: LossGains,
    pub assigner: TaskAlignedAssigner,
}

/// The detection terms and the assignment they came from (the mask loss reuses it).
#[derive(Debug)]
pub(crate) struct DetParts {
    /// `[3]` box, cls, dfl with gains applied (in the graph).
    pub loss: Tensor,
    pub fg_mask: Tensor,
    pub target_gt_idx: Tensor,
    /// `[B, N, 4]` xyxy input pixels.
    pub target_bboxes: Tensor,
    /// Input `(height, width)` in pixels.
    pub imgsz: (i64, i64),
}

impl DetectionLoss {
    pub fn new(nc: i64, gains: LossGains) -> Self {
        DetectionLoss { nc, gains, assigner: TaskAlignedAssigner::v8(nc) }
    }

    /// Ultralytics' `loss(batch, preds)`: total = (box, cls, dfl) × batch size, summed.
    pub fn compute(&self, out: &DetectOut, targets: &Targets) -> LossOutput {
        let p = self.parts(out, targets);
        let bs = out.boxes.size()[0] as f64;
        LossOutput { total: p.loss.sum(Kind::Float) * bs, items: p.loss.detach(), names: NAMES }
    }

    pub(crate) fn parts(&self, out: &DetectOut, targets: &Targets) -> DetParts {
        let device = out.boxes.device();
        let pred_distri = out.boxes.to_kind(Kind::Float).permute([0, 2, 1]).contiguous(); // [B, N, 64]
        let pred_scores = out.scores.to_kind(Kind::Float).permute([0, 2, 1]).contiguous(); // [B, N, nc]
        let (anchor_points, stride_tensor) = out.anchors(); // [N, 2], [N, 1]
        let bs = pred_scores.size()[0];
        let (h0, w0) = out.level_sizes[0];
        let imgsz = ((h0 as f64 * out.strides[0]) as i64, (w0 as f64 * out.strides[0]) as i64);
        let gt = pad_targets(&targets.batch_idx, &targets.cls, &targets.bboxes, bs, imgsz, device);

        let pred_bboxes = decode(&anchor_points, &pred_distri); // [B, N, 4] xyxy, grid units
        let assigned = self.assigner.assign(
            &pred_scores.detach().sigmoid(),
            &(pred_bboxes.detach() * &stride_tensor),
            &(&anchor_points * &stride_tensor),
            &gt,
        );
        let target_scores_sum = assigned.target_scores.sum(Kind::Float).clamp_min(1.0);
        let cls = pred_scores
            .binary_cross_entropy_with_logits::<Tensor>(&assigned.target_scores, None, None, Reduction::None)
            .sum(Kind::Float)
            / &target_scores_sum;
        let (iou, dfl) = bbox_loss(
            &pred_distri,
            &pred_bboxes,
            &anchor_points,
            &(&assigned.target_bboxes / &stride_tensor),
            &assigned.target_scores,
            &target_scores_sum,
            &assigned.fg_mask,
            REG_MAX,
        );
        let g = self.gains;
        let loss = Tensor::stack(&[iou * g.box_gain, cls * g.cls_gain, dfl * g.dfl_gain], 0);
        DetParts {
            loss,
            fg_mask: assigned.fg_mask,
            target_gt_idx: assigned.target_gt_idx,
            target_bboxes: assigned.target_bboxes,
            imgsz,
        }
    }
}

/// DFL logits `[B, N, 4·16]` → xyxy boxes `[B, N, 4]` in grid units around the anchors.
pub fn decode(anchor_points: &Tensor, pred_dist: &Tensor) -> Tensor {
    let (b, n, c) = pred_dist.size3().expect("[B, N, 4*reg_max]");
    let proj = Tensor::arange(c / 4, (Kind::Float, pred_dist.device()));
    let dist = pred_dist.view([b, n, 4, c / 4]).softmax(3, Kind::Float).matmul(&proj); // [B, N, 4]
    crate::nn::dist2bbox(&dist, anchor_points, false, -1)
}

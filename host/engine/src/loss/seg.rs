//! Segmentation loss (`v8SegmentationLoss`): the detection terms plus, for every foreground
//! anchor, the BCE between its mask (`coefficients @ prototypes`) and its assigned instance's
//! mask, cropped to the instance box and normalised by the box's area; averaged over the
//! foreground anchors and scaled by the `box` gain.

use tch::{Kind, Reduction, Tensor};

use super::det::DetectionLoss;
use super::{zero_of, LossGains, LossOutput, Targets};
use crate::nn::SegmentOut;

pub const NAMES: &[&str] = &["box_loss", "seg_loss", "cls_loss", "dfl_loss"];

#[derive(Debug, Clone, Copy)]
pub struct SegmentationLoss {
    pub det: DetectionLoss,
    /// Masks come as one overlap map per image (`overlap_mask`), not one map per instance.
    pub overlap: bool,
}

impl SegmentationLoss {
    pub fn new(nc: i64, gains: LossGains, overlap: bool) -> Self {
        SegmentationLoss { det: DetectionLoss::new(nc, gains), overlap }
    }

    /// Total = (box, seg, cls, dfl) × batch size, summed. `targets.masks` is required.
    pub fn compute(&self, out: &SegmentOut, targets: &Targets) -> crate::Result<LossOutput> {
        let masks = targets
            .masks
            .as_ref()
            .ok_or_else(|| crate::EngineError::invalid("segmentation loss needs instance masks in the targets"))?;
        let parts = self.det.parts(&out.det, targets);
        let pred_masks = out.mask_coef.to_kind(Kind::Float).permute([0, 2, 1]).contiguous(); // [B, N, 32]
        let mut proto = out.proto.to_kind(Kind::Float); // [B, 32, Hp, Wp]
        let (bs, _, ph, pw) = proto.size4()?;
        let fg_count = parts.fg_mask.sum(Kind::Int64).int64_value(&[]);
        let seg = if fg_count > 0 {
            let masks = masks.to_device(proto.device()).to_kind(Kind::Float);
            let (mh, mw) = (masks.size()[1], masks.size()[2]);
            if (mh, mw) != (ph, pw) {
                // Masks at another ratio than the prototypes: resample the prototypes.
                proto = proto.upsample_bilinear2d([mh, mw], false, None, None);
            }
            let batch_idx = targets.batch_idx.to_device(proto.device()).to_kind(Kind::Int64).view(-1);
            self.mask_loss(&parts.fg_mask, &masks, &parts.target_gt_idx, &parts.target_bboxes, &batch_idx, &proto, &pred_masks, parts.imgsz)
                / fg_count as f64
        } else {
            zero_of(&proto) + zero_of(&pred_masks)
        };
        let seg = seg * self.det.gains.box_gain;
        let l = &parts.loss;
        let loss = Tensor::stack(&[l.get(0), seg, l.get(1), l.get(2)], 0);
        Ok(LossOutput { total: loss.sum(Kind::Float) * bs as f64, items: loss.detach(), names: NAMES })
    }

    #[allow(clippy::too_many_arguments)]
    fn mask_loss(
        &self,
        fg_mask: &Tensor,
        masks: &Tensor,
        target_gt_idx: &Tensor,
        target_bboxes: &Tensor,
        batch_idx: &Tensor,
        proto: &Tensor,
        pred_masks: &Tensor,
        (ih, iw): (i64, i64),
    ) -> Tensor {
        let (bs, nm, mh, mw) = proto.size4().expect("[B, 32, H, W]");
        let scale = Tensor::from_slice(&[iw as f32, ih as f32, iw as f32, ih as f32]).to_device(proto.device());
        let norm = target_bboxes / &scale; // [B, N, 4] normalised xyxy
        let area = (norm.select(-1, 2) - norm.select(-1, 0)) * (norm.select(-1, 3) - norm.select(-1, 1)); // [B, N]
        let mscale = Tensor::from_slice(&[mw as f32, mh as f32, mw as f32, mh as f32]).to_device(proto.device());
        let mxyxy = &norm * mscale; // [B, N, 4] mask pixels
        let mut total = Tensor::zeros([], (Kind::Float, proto.device()));
        for i in 0..bs {
            let fg = fg_mask.get(i); // [N]
            if fg.any().int64_value(&[]) == 0 {
                total = total + zero_of(proto) + zero_of(pred_masks);
                continue;
            }
            let mask_idx = target_gt_idx.get(i).masked_select(&fg); // [K]
            let gt = if self.overlap {
                masks.get(i).unsqueeze(0).eq_tensor(&(&mask_idx + 1).view([-1, 1, 1]).to_kind(Kind::Float)).to_kind(Kind::Float)
            } else {
                let own = batch_idx.eq(i).nonzero().view(-1);
                masks.index_select(0, &own).index_select(0, &mask_idx)
            }; // [K, H, W]
            let coef = pred_masks.get(i).index(&[Some(&fg)]); // [K, 32]
            let pred = coef.matmul(&proto.get(i).view([nm, -1])).view([-1, mh, mw]); // [K, H, W]
            let bce = pred.binary_cross_entropy_with_logits::<Tensor>(&gt, None, None, Reduction::None);
            let boxes = mxyxy.get(i).index(&[Some(&fg)]); // [K, 4]
            let cropped = crop_mask(&bce, &boxes);
            let per = cropped.mean_dim([1, 2].as_slice(), false, Kind::Float) / area.get(i).index(&[Some(&fg)]);
            total = total + per.sum(Kind::Float);
        }
        total
    }
}

/// Zeroes `masks` `[K, H, W]` outside each xyxy box `[K, 4]` (mask pixel units; a pixel
/// column c is kept when x1 ≤ c < x2).
pub fn crop_mask(masks: &Tensor, boxes: &Tensor) -> Tensor {
    let (_, h, w) = masks.size3().expect("[K, H, W]");
    let b = boxes.unsqueeze(-1); // [K, 4, 1]
    let (x1, y1, x2, y2) = (b.select(1, 0).unsqueeze(1), b.select(1, 1).unsqueeze(-1), b.select(1, 2).unsqueeze(1), b.select(1, 3).unsqueeze(-1));
    let opts = (boxes.kind(), masks.device());
    let cols = Tensor::arange(w, opts).view([1, 1, w]);
    let rows = Tensor::arange(h, opts).view([1, h, 1]);
    let keep_c = cols.ge_tensor(&x1).logical_and(&cols.lt_tensor(&x2)); // [K, 1, W]
    let keep_r = rows.ge_tensor(&y1).logical_and(&rows.lt_tensor(&y2)); // [K, H, 1]
    masks * keep_c * keep_r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_keeps_only_the_box() {
        let m = Tensor::ones([1, 4, 5], (Kind::Float, tch::Device::Cpu));
        let c = crop_mask(&m, &Tensor::from_slice(&[1.0f32, 0.5, 3.0, 2.0]).view([1, 4]));
        let rows: Vec<Vec<f32>> = (0..4).map(|r| c.get(0).get(r).try_into().unwrap()).collect();
        assert_eq!(rows[0], [0., 0., 0., 0., 0.]);
        assert_eq!(rows[1], [0., 1., 1., 0., 0.]);
        assert_eq!(rows[2], [0., 0., 0., 0., 0.]);
    }
}

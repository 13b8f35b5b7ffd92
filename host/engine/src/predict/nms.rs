//! Non-maximum suppression as Ultralytics' `utils/nms.py::non_max_suppression` with
//! torchvision's `nms`: keep anchors whose best class score is `> conf`, xywh → xyxy, one row
//! per anchor (best class) or per (anchor, class) above `conf` (`multi_label`, what `val`
//! uses), at most `max_nms` by score, class-aware by offsetting boxes by `class * max_wh`,
//! greedy suppression of IoU `> iou` in descending score (stable for ties), at most `max_det`.
//!
//! The filtering runs as tensor ops on the prediction's device; the greedy loop runs on the
//! (few) candidates on the CPU in f32, as torchvision's CPU kernel computes it.

use tch::{Device, IndexOp, Kind, Tensor};

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct NmsConfig {
    pub conf: f64,
    pub iou: f64,
    pub max_det: usize,
    /// One row per (anchor, class) above `conf` instead of per anchor (ignored when nc = 1).
    pub multi_label: bool,
    /// Suppress across classes.
    pub agnostic: bool,
    /// Keep only these classes.
    pub classes: Option<Vec<i64>>,
    pub max_nms: usize,
    pub max_wh: f64,
}

impl Default for NmsConfig {
    /// Ultralytics' predict defaults: conf 0.25, IoU 0.7, 300 detections, single label.
    fn default() -> Self {
        NmsConfig { conf: 0.25, iou: 0.7, max_det: 300, multi_label: false, agnostic: false, classes: None, max_nms: 30_000, max_wh: 7680.0 }
    }
}

impl NmsConfig {
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.conf) {
            return Err(EngineError::invalid(format!("conf must be within [0, 1], got {}", self.conf)));
        }
        if !(0.0..=1.0).contains(&self.iou) {
            return Err(EngineError::invalid(format!("iou must be within [0, 1], got {}", self.iou)));
        }
        Ok(())
    }
}

/// The detections NMS kept for one image.
#[derive(Debug)]
pub struct Kept {
    /// `[K, 6 + extra]`: x1, y1, x2, y2, confidence, class, then the extra channels (mask
    /// coefficients), in descending confidence; on the prediction's device.
    pub rows: Tensor,
    /// Anchor index (into N) of each row.
    pub anchors: Vec<i64>,
}

/// `prediction`: `[B, 4 + nc + extra, N]` (the eval output of a detect or segment model, xywh).
pub fn non_max_suppression(prediction: &Tensor, nc: i64, cfg: &NmsConfig) -> Result<Vec<Kept>> {
    cfg.validate()?;
    let size = prediction.size();
    if size.len() != 3 || size[1] < 4 + nc || nc < 1 {
        return Err(EngineError::invalid(format!("NMS expects [B, 4 + nc + extra, N] with nc = {nc}, got {size:?}")));
    }
    let _guard = tch::no_grad_guard();
    let pred = prediction.to_kind(Kind::Float);
    (0..size[0]).map(|b| nms_one(&pred.get(b).transpose(0, 1), nc, cfg)).collect()
}

fn xywh2xyxy(b: &Tensor) -> Tensor {
    let xy = b.narrow(1, 0, 2);
    let half = b.narrow(1, 2, 2) / 2.0;
    Tensor::cat(&[&xy - &half, &xy + &half], 1)
}

fn nms_one(x: &Tensor, nc: i64, cfg: &NmsConfig) -> Result<Kept> {
    let device = x.device();
    let extra = x.size()[1] - 4 - nc;
    let empty = || Kept { rows: Tensor::zeros([0, 6 + extra], (Kind::Float, device)), anchors: vec![] };
    let scores = x.narrow(1, 4, nc); // [N, nc]
    let cand = scores.amax([1i64].as_slice(), false).gt(cfg.conf).nonzero().squeeze_dim(1); // [M]
    if cand.size()[0] == 0 {
        return Ok(empty());
    }
    let x = x.index_select(0, &cand); // [M, C]
    let boxes = xywh2xyxy(&x.narrow(1, 0, 4)); // [M, 4]
    let cls = x.narrow(1, 4, nc); // [M, nc]
    let mask = x.narrow(1, 4 + nc, extra); // [M, extra]
    let (mut rows, mut anchors) = if cfg.multi_label && nc > 1 {
        let ij = cls.gt(cfg.conf).nonzero(); // [K, 2], anchor-major
        let (i, j) = (ij.select(1, 0), ij.select(1, 1));
        let conf = cls.index_select(0, &i).gather(1, &j.unsqueeze(1), false); // [K, 1]
        let rows = Tensor::cat(&[boxes.index_select(0, &i), conf, j.unsqueeze(1).to_kind(Kind::Float), mask.index_select(0, &i)], 1);
        (rows, cand.index_select(0, &i))
    } else {
        let (conf, j) = cls.max_dim(1, true); // [M, 1] each
        let keep = conf.view(-1).gt(cfg.conf).nonzero().squeeze_dim(1);
        let rows = Tensor::cat(&[boxes, conf, j.to_kind(Kind::Float), mask], 1).index_select(0, &keep);
        (rows, cand.index_select(0, &keep))
    };
    if let Some(classes) = &cfg.classes {
        let wanted = Tensor::from_slice(classes).to_device(device).to_kind(Kind::Float);
        let keep = rows.i((.., 5..6)).eq_tensor(&wanted.unsqueeze(0)).any_dim(1, false).nonzero().squeeze_dim(1);
        rows = rows.index_select(0, &keep);
        anchors = anchors.index_select(0, &keep);
    }
    let n = rows.size()[0] as usize;
    if n == 0 {
        return Ok(empty());
    }
    if n > cfg.max_nms {
        let top = rows.select(1, 4).argsort(0, true).narrow(0, 0, cfg.max_nms as i64);
        rows = rows.index_select(0, &top);
        anchors = anchors.index_select(0, &top);
    }
    let offset = if cfg.agnostic { 0.0 } else { cfg.max_wh };
    let shifted = rows.narrow(1, 0, 4) + rows.narrow(1, 5, 1) * offset; // [n, 4]
    let shifted: Vec<f32> = shifted.to_device(Device::Cpu).contiguous().view(-1).try_into()?;
    let conf: Vec<f32> = rows.select(1, 4).to_device(Device::Cpu).try_into()?;
    let mut keep = greedy_nms(&shifted, &conf, cfg.iou as f32);
    keep.truncate(cfg.max_det);
    let keep_t = Tensor::from_slice(&keep).to_device(device);
    let anchors: Vec<i64> = anchors.index_select(0, &keep_t).to_device(Device::Cpu).try_into()?;
    Ok(Kept { rows: rows.index_select(0, &keep_t), anchors })
}

/// torchvision's CPU `nms`: boxes flattened xyxy; returns kept indices in descending score.
pub fn greedy_nms(boxes: &[f32], scores: &[f32], iou_thres: f32) -> Vec<i64> {
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    // Stable descending sort, like torch.sort(stable=True, descending=True).
    order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(std::cmp::Ordering::Equal));
    let b = |i: usize| (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]);
    let areas: Vec<f32> = (0..n).map(|i| { let (x1, y1, x2, y2) = b(i); (x2 - x1) * (y2 - y1) }).collect();
    let mut suppressed = vec![false; n];
    let mut keep = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        if suppressed[i] {
            continue;
        }
        keep.push(i as i64);
        let (ix1, iy1, ix2, iy2) = b(i);
        for &j in &order[pos + 1..] {
            if suppressed[j] {
                continue;
            }
            let (jx1, jy1, jx2, jy2) = b(j);
            let w = (ix2.min(jx2) - ix1.max(jx1)).max(0.0);
            let h = (iy2.min(jy2) - iy1.max(jy1)).max(0.0);
            let inter = w * h;
            let iou = inter / (areas[i] + areas[j] - inter);
            if iou > iou_thres {
                suppressed[j] = true;
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(rows: &[[f32; 6]]) -> Tensor {
        // rows: cx, cy, w, h, p0, p1 → [1, 6, N]
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_slice(&flat).view([rows.len() as i64, 6]).transpose(0, 1).unsqueeze(0)
    }

    #[test]
    fn suppresses_same_class_overlaps_only() {
        let p = pred(&[
            [50.0, 50.0, 20.0, 20.0, 0.9, 0.0],
            [51.0, 50.0, 20.0, 20.0, 0.8, 0.0], // IoU ~0.9 with the first, same class → gone
            [51.0, 50.0, 20.0, 20.0, 0.0, 0.7], // same place, other class → kept
            [150.0, 50.0, 20.0, 20.0, 0.25, 0.0], // exactly conf → dropped (strict >)
        ]);
        let kept = non_max_suppression(&p, 2, &NmsConfig::default()).unwrap();
        assert_eq!(kept[0].anchors, [0, 2]);
        let rows: Vec<f32> = kept[0].rows.view(-1).try_into().unwrap();
        assert_eq!(&rows[..6], &[40.0, 40.0, 60.0, 60.0, 0.9, 0.0]);
        assert_eq!(rows[11], 1.0);
        let agnostic = non_max_suppression(&p, 2, &NmsConfig { agnostic: true, ..Default::default() }).unwrap();
        assert_eq!(agnostic[0].anchors, [0]);
        let only1 = non_max_suppression(&p, 2, &NmsConfig { classes: Some(vec![1]), ..Default::default() }).unwrap();
        assert_eq!(only1[0].anchors, [2]);
    }

    #[test]
    fn empty_and_bad_inputs() {
        let p = pred(&[[50.0, 50.0, 20.0, 20.0, 0.1, 0.1]]);
        let kept = non_max_suppression(&p, 2, &NmsConfig::default()).unwrap();
        assert_eq!(kept[0].rows.size(), [0, 6]);
        assert!(non_max_suppression(&p, 5, &NmsConfig::default()).is_err());
        assert!(non_max_suppression(&p, 2, &NmsConfig { conf: 1.5, ..Default::default() }).is_err());
    }

    #[test]
    fn max_det_truncates_in_score_order() {
        let rows: Vec<[f32; 6]> = (0..10).map(|i| [i as f32 * 100.0 + 10.0, 10.0, 10.0, 10.0, 0.3 + i as f32 * 0.05, 0.0]).collect();
        let kept = non_max_suppression(&pred(&rows), 2, &NmsConfig { max_det: 3, ..Default::default() }).unwrap();
        assert_eq!(kept[0].anchors, [9, 8, 7]);
    }
}

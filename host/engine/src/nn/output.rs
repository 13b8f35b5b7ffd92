//! What a forward pass returns. The heads always return their raw outputs (what the losses
//! need, in train and eval mode alike); decoding into Ultralytics' eval-mode tensors is a
//! method here, so validation can compute both losses and predictions from one forward.

use tch::{Kind, Tensor};

use super::anchors::{dfl_expectation, dist2bbox, make_anchors};

/// Raw detection head output, all levels concatenated along the anchor axis.
#[derive(Debug)]
pub struct DetectOut {
    /// DFL box logits `[B, 4·16, N]`, channel = side·16 + bin (sides l, t, r, b).
    pub boxes: Tensor,
    /// Class logits `[B, nc, N]` (before the sigmoid).
    pub scores: Tensor,
    /// `(H, W)` of each level's feature map, in level order.
    pub level_sizes: Vec<(i64, i64)>,
    /// Stride of each level in input pixels (8, 16, 32).
    pub strides: Vec<f64>,
    pub(crate) bins: Tensor, // [16]
}

impl DetectOut {
    pub fn num_anchors(&self) -> i64 {
        self.level_sizes.iter().map(|(h, w)| h * w).sum()
    }

    /// `make_anchors(feats, strides, 0.5)`: `([N, 2] anchor centres in grid units, [N, 1] strides)`.
    pub fn anchors(&self) -> (Tensor, Tensor) {
        make_anchors(&self.level_sizes, &self.strides, 0.5, (Kind::Float, self.boxes.device()))
    }

    /// The per-level raw tensors `[B, 64 + nc, H, W]` (box channels first), i.e. what older
    /// Ultralytics versions returned in training mode.
    pub fn raw_levels(&self) -> Vec<Tensor> {
        let b = self.boxes.size()[0];
        let cat = Tensor::cat(&[&self.boxes, &self.scores], 1); // [B, 64+nc, N]
        let c = cat.size()[1];
        let lens: Vec<i64> = self.level_sizes.iter().map(|(h, w)| h * w).collect();
        cat.split_with_sizes(&lens, 2)
            .into_iter()
            .zip(&self.level_sizes)
            .map(|(t, &(h, w))| t.contiguous().view([b, c, h, w]))
            .collect()
    }

    /// Decoded boxes `[B, 4, N]` as xywh in input pixels: DFL expectation → distances from
    /// the anchors → boxes, times the anchor's stride.
    pub fn decode_boxes(&self) -> Tensor {
        let (anchors, strides) = self.anchors(); // [N, 2], [N, 1]
        let dist = dfl_expectation(&self.boxes, &self.bins); // [B, 4, N]
        dist2bbox(&dist, &anchors.transpose(0, 1).unsqueeze(0), true, 1) * strides.transpose(0, 1) // [B, 4, N]
    }

    /// Ultralytics' eval output `[B, 4 + nc, N]`: xywh pixels, then class probabilities.
    pub fn decode(&self) -> Tensor {
        Tensor::cat(&[self.decode_boxes(), self.scores.sigmoid()], 1)
    }
}

/// Raw segmentation head output: the detection part plus mask coefficients and prototypes.
#[derive(Debug)]
pub struct SegmentOut {
    pub det: DetectOut,
    /// Raw mask coefficients `[B, 32, N]`.
    pub mask_coef: Tensor,
    /// Mask prototypes `[B, 32, H/4, W/4]`.
    pub proto: Tensor,
}

impl SegmentOut {
    /// Ultralytics' eval output `[B, 4 + nc + 32, N]` (boxes, probabilities, raw coefficients);
    /// the prototypes stay in `proto`.
    pub fn decode(&self) -> Tensor {
        Tensor::cat(&[self.det.decode(), self.mask_coef.shallow_clone()], 1)
    }
}

/// Raw classification output.
#[derive(Debug)]
pub struct ClassifyOut {
    /// `[B, nc]` logits (what the cross-entropy loss takes).
    pub logits: Tensor,
}

impl ClassifyOut {
    /// Softmax probabilities `[B, nc]` (Ultralytics' eval output).
    pub fn probs(&self) -> Tensor {
        self.logits.softmax(1, Kind::Float)
    }
}

/// A forward pass's raw output, by task.
#[derive(Debug)]
pub enum ModelOutput {
    Classify(ClassifyOut),
    Detect(DetectOut),
    Segment(SegmentOut),
}

impl ModelOutput {
    /// The detection part (detect and segment models).
    pub fn detect(&self) -> Option<&DetectOut> {
        match self {
            ModelOutput::Detect(d) => Some(d),
            ModelOutput::Segment(s) => Some(&s.det),
            ModelOutput::Classify(_) => None,
        }
    }

    /// Ultralytics' eval-mode tensor: `[B, 4+nc, N]` (detect), `[B, 4+nc+32, N]` (segment),
    /// `[B, nc]` probabilities (classify).
    pub fn decode(&self) -> Tensor {
        match self {
            ModelOutput::Detect(d) => d.decode(),
            ModelOutput::Segment(s) => s.decode(),
            ModelOutput::Classify(c) => c.probs(),
        }
    }
}

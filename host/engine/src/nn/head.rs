//! The three heads, as Ultralytics 8.4's legacy v8 heads (`nn/modules/head.py`):
//! `Detect` (per level `cv2.i` box branch → 4·16 DFL logits, `cv3.i` class branch → nc
//! logits, and the fixed `dfl.conv` bins), `Segment` (Detect + `proto` + `cv4.i` mask
//! coefficient branches) and `Classify` (Conv 1x1 → 1280, global average pool, dropout,
//! linear). Heads return raw outputs (`output.rs`); decoding lives on those outputs.

use tch::{nn, Kind, Tensor};

use super::conv::{Conv, Conv2d, ConvTranspose2d, Linear};
use super::output::{ClassifyOut, DetectOut, SegmentOut};

/// DFL bins per box side.
pub const REG_MAX: i64 = 16;
/// Mask coefficients / prototypes of the v8 segmentation head.
pub const NUM_MASKS: i64 = 32;

/// `nn.Sequential(Conv(c1, c, 3), Conv(c, c, 3), nn.Conv2d(c, c_out, 1))`, named `.0 .1 .2`.
#[derive(Debug)]
pub(crate) struct Branch {
    pub(crate) a: Conv,
    pub(crate) b: Conv,
    pub(crate) out: Conv2d,
}

impl Branch {
    fn new(p: &nn::Path, c1: i64, c: i64, c_out: i64) -> Self {
        Branch { a: Conv::new(&(p / 0), c1, c, 3, 1), b: Conv::new(&(p / 1), c, c, 3, 1), out: Conv2d::new(&(p / 2), c, c_out, 1) }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.out.forward(&self.b.forward_t(&self.a.forward_t(x, train), train))
    }

    fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        f(&mut self.a);
        f(&mut self.b);
    }
}

/// Flattens per-level `[B, C, H, W]` outputs to `[B, C, ΣHW]`.
fn flatten_levels(levels: &[Tensor]) -> Tensor {
    let flat: Vec<Tensor> = levels.iter().map(|t| t.flatten(2, 3)).collect();
    Tensor::cat(&flat, 2)
}

#[derive(Debug)]
pub struct Detect {
    nc: i64,
    pub(crate) cv2: Vec<Branch>,
    pub(crate) cv3: Vec<Branch>,
    pub(crate) bins: Tensor, // [REG_MAX] — view of `dfl.conv.weight` [1, REG_MAX, 1, 1]
    pub(crate) strides: Vec<f64>,
}

impl Detect {
    /// `ch` are the input channels of the levels, `strides` their strides (8, 16, 32).
    pub fn new(p: &nn::Path, nc: i64, ch: &[i64], strides: &[f64]) -> Self {
        let c2 = 16.max(ch[0] / 4).max(REG_MAX * 4);
        let c3 = ch[0].max(nc.min(100));
        let mut cv2: Vec<Branch> = ch.iter().enumerate().map(|(i, &c)| Branch::new(&(p / "cv2" / i), c, c2, 4 * REG_MAX)).collect();
        let mut cv3: Vec<Branch> = ch.iter().enumerate().map(|(i, &c)| Branch::new(&(p / "cv3" / i), c, c3, nc)).collect();
        // Ultralytics' `bias_init` (8.4): box logits start at 2.0; class logits at the prior of
        // ~5 objects per 640² image spread over nc classes at the level's grid resolution.
        tch::no_grad(|| {
            for (i, (a, b)) in cv2.iter_mut().zip(cv3.iter_mut()).enumerate() {
                let _ = a.out.bias.fill_(2.0);
                let _ = b.out.bias.fill_((5.0 / nc as f64 / (640.0 / strides[i]).powi(2)).ln());
            }
        });
        let dfl = Tensor::arange(REG_MAX, (Kind::Float, p.device())).view([1, REG_MAX, 1, 1]);
        let dfl = (p / "dfl" / "conv").add("weight", dfl, false);
        Detect { nc, cv2, cv3, bins: dfl.view([REG_MAX]), strides: strides.to_vec() }
    }

    pub fn nc(&self) -> i64 {
        self.nc
    }

    pub fn forward_t(&self, xs: &[Tensor], train: bool) -> DetectOut {
        let boxes: Vec<Tensor> = self.cv2.iter().zip(xs).map(|(m, x)| m.forward_t(x, train)).collect();
        let scores: Vec<Tensor> = self.cv3.iter().zip(xs).map(|(m, x)| m.forward_t(x, train)).collect();
        DetectOut {
            boxes: flatten_levels(&boxes),   // [B, 64, N]
            scores: flatten_levels(&scores), // [B, nc, N]
            level_sizes: xs.iter().map(|x| (x.size()[2], x.size()[3])).collect(),
            strides: self.strides.clone(),
            bins: self.bins.shallow_clone(),
        }
    }

    fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        self.cv2.iter_mut().chain(self.cv3.iter_mut()).for_each(|b| b.for_each_conv(f));
    }
}

/// Mask prototypes: Conv 3x3, ConvTranspose 2x2 stride 2, Conv 3x3, Conv 1x1 → `nm` channels
/// at stride 4.
#[derive(Debug)]
pub(crate) struct Proto {
    pub(crate) cv1: Conv,
    pub(crate) upsample: ConvTranspose2d,
    pub(crate) cv2: Conv,
    pub(crate) cv3: Conv,
}

impl Proto {
    fn new(p: &nn::Path, c1: i64, c_: i64, nm: i64) -> Self {
        Proto {
            cv1: Conv::new(&(p / "cv1"), c1, c_, 3, 1),
            upsample: ConvTranspose2d::new(&(p / "upsample"), c_, c_, 2),
            cv2: Conv::new(&(p / "cv2"), c_, c_, 3, 1),
            cv3: Conv::new(&(p / "cv3"), c_, nm, 1, 1),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = self.upsample.forward(&self.cv1.forward_t(x, train));
        self.cv3.forward_t(&self.cv2.forward_t(&y, train), train)
    }

    fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        f(&mut self.cv1);
        f(&mut self.cv2);
        f(&mut self.cv3);
    }
}

#[derive(Debug)]
pub struct Segment {
    pub(crate) detect: Detect,
    pub(crate) proto: Proto,
    pub(crate) cv4: Vec<Branch>,
}

impl Segment {
    /// `npr` is the (already width-scaled) prototype width: 64 for the n scale.
    pub fn new(p: &nn::Path, nc: i64, npr: i64, ch: &[i64], strides: &[f64]) -> Self {
        let detect = Detect::new(p, nc, ch, strides);
        let proto = Proto::new(&(p / "proto"), ch[0], npr, NUM_MASKS);
        let c4 = (ch[0] / 4).max(NUM_MASKS);
        let cv4 = ch.iter().enumerate().map(|(i, &c)| Branch::new(&(p / "cv4" / i), c, c4, NUM_MASKS)).collect();
        Segment { detect, proto, cv4 }
    }

    pub fn nc(&self) -> i64 {
        self.detect.nc
    }

    pub fn forward_t(&self, xs: &[Tensor], train: bool) -> SegmentOut {
        let det = self.detect.forward_t(xs, train);
        let coefs: Vec<Tensor> = self.cv4.iter().zip(xs).map(|(m, x)| m.forward_t(x, train)).collect();
        SegmentOut {
            det,
            mask_coef: flatten_levels(&coefs),      // [B, 32, N]
            proto: self.proto.forward_t(&xs[0], train), // [B, 32, H/4, W/4]
        }
    }

    fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        self.detect.for_each_conv(f);
        self.proto.for_each_conv(f);
        self.cv4.iter_mut().for_each(|b| b.for_each_conv(f));
    }
}

/// Width of the classification head's hidden conv (EfficientNet-B0's 1280).
const CLS_HIDDEN: i64 = 1280;

#[derive(Debug)]
pub struct Classify {
    pub(crate) conv: Conv,
    pub(crate) linear: Linear,
    dropout: f64,
}

impl Classify {
    pub fn new(p: &nn::Path, c1: i64, nc: i64) -> Self {
        Classify { conv: Conv::new(&(p / "conv"), c1, CLS_HIDDEN, 1, 1), linear: Linear::new(&(p / "linear"), CLS_HIDDEN, nc), dropout: 0.0 }
    }

    pub fn set_dropout(&mut self, p: f64) {
        self.dropout = p;
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> ClassifyOut {
        let pooled = self.conv.forward_t(x, train).adaptive_avg_pool2d([1, 1]).flatten(1, -1); // [B, 1280]
        let dropped = if train && self.dropout > 0.0 { pooled.dropout(self.dropout, true) } else { pooled };
        ClassifyOut { logits: self.linear.forward(&dropped) } // [B, nc]
    }

    fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        f(&mut self.conv);
    }
}

/// One of the three heads.
#[derive(Debug)]
pub enum Head {
    Detect(Detect),
    Segment(Segment),
    Classify(Classify),
}

impl Head {
    pub(crate) fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        match self {
            Head::Detect(h) => h.for_each_conv(f),
            Head::Segment(h) => h.for_each_conv(f),
            Head::Classify(h) => h.for_each_conv(f),
        }
    }
}

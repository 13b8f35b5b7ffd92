//! `YoloModel`: the v8 topology of `yolov8.yaml`, `yolov8-seg.yaml` and `yolov8-cls.yaml`
//! assembled from the blocks, with every layer on its own `model.<i>` sub-path so the var
//! store's names are exactly Ultralytics' state-dict keys.

use af_core::TaskType;
use tch::{nn, Kind, Tensor};

use super::block::{Sppf, C2f};
use super::conv::{Conv, TORCH_BN_EPS, TORCH_BN_MOMENTUM};
use super::head::{Classify, Detect, Head, Segment};
use super::output::ModelOutput;
use super::scale::{Multiples, ModelSpec};
use crate::error::{EngineError, Result};

/// Strides of the three detection levels (inputs of the head: layers 15, 18, 21).
pub const STRIDES: [f64; 3] = [8.0, 16.0, 32.0];
/// The largest stride: detect/segment inputs must be multiples of it.
pub const MAX_STRIDE: i64 = 32;

/// One backbone/neck layer with parameters (Upsample and Concat have none).
#[derive(Debug)]
pub(crate) enum Layer {
    Conv(Conv),
    C2f(C2f),
    Sppf(Sppf),
}

impl Layer {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match self {
            Layer::Conv(m) => m.forward_t(x, train),
            Layer::C2f(m) => m.forward_t(x, train),
            Layer::Sppf(m) => m.forward_t(x, train),
        }
    }

    fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        match self {
            Layer::Conv(m) => f(m),
            Layer::C2f(m) => m.for_each_conv(f),
            Layer::Sppf(m) => m.for_each_conv(f),
        }
    }
}

#[derive(Debug)]
pub struct YoloModel {
    spec: ModelSpec,
    /// Layers 0–8 (backbone), 9 (SPPF, det/seg), and 12, 15, 16, 18, 19, 21 (neck), keyed by
    /// yaml index; the neck's Upsample (10, 13) and Concat (11, 14, 17, 20) are in `forward`.
    pub(crate) layers: Vec<(usize, Layer)>,
    pub(crate) head: Head,
    device: tch::Device,
}

/// Fresh parameters come from libtorch's one process-wide generator. A seeded build holds
/// this lock from `manual_seed` to its last parameter, and every other build holds it too, so a
/// model built at the same time on another thread (a second job in the same server, a test)
/// cannot draw from the seeded stream and change the seeded model's initial weights.
static INIT_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn init_rng() -> std::sync::MutexGuard<'static, ()> {
    // The guarded data is `()`: a panic elsewhere while holding it leaves nothing to repair.
    INIT_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl YoloModel {
    /// Builds the model with fresh (PyTorch-default) parameters under `p / "model"`. Pass the
    /// var store's root to get the keys `model.0.conv.weight`, … .
    pub fn new(p: &nn::Path, spec: ModelSpec) -> Self {
        let _rng = init_rng();
        Self::build(p, spec)
    }

    /// [`YoloModel::new`] with the generator seeded first: the same `seed` gives the same
    /// initial weights whatever else the process builds meanwhile.
    pub fn seeded(p: &nn::Path, spec: ModelSpec, seed: i64) -> Self {
        let _rng = init_rng();
        tch::manual_seed(seed);
        Self::build(p, spec)
    }

    fn build(p: &nn::Path, spec: ModelSpec) -> Self {
        let m = spec.scale.multiples(spec.task);
        let root = p / "model";
        let at = |i: usize| &root / i;
        let c = |ch: i64| m.channels(ch);
        let n = |r: i64| m.repeats(r);
        let mut layers = vec![
            (0, Layer::Conv(Conv::new(&at(0), 3, c(64), 3, 2))),
            (1, Layer::Conv(Conv::new(&at(1), c(64), c(128), 3, 2))),
            (2, Layer::C2f(C2f::new(&at(2), c(128), c(128), n(3), true))),
            (3, Layer::Conv(Conv::new(&at(3), c(128), c(256), 3, 2))),
            (4, Layer::C2f(C2f::new(&at(4), c(256), c(256), n(6), true))),
            (5, Layer::Conv(Conv::new(&at(5), c(256), c(512), 3, 2))),
            (6, Layer::C2f(C2f::new(&at(6), c(512), c(512), n(6), true))),
            (7, Layer::Conv(Conv::new(&at(7), c(512), c(1024), 3, 2))),
            (8, Layer::C2f(C2f::new(&at(8), c(1024), c(1024), n(3), true))),
        ];
        let head = if spec.task == TaskType::Classify {
            Head::Classify(Classify::new(&at(9), c(1024), spec.nc))
        } else {
            layers.extend(Self::neck_layers(&at, &m));
            let ch = [c(256), c(512), c(1024)];
            if spec.task == TaskType::Segment {
                let npr = m.channels(256); // Segment's `npr` arg is width-scaled too
                Head::Segment(Segment::new(&at(22), spec.nc, npr, &ch, &STRIDES))
            } else {
                Head::Detect(Detect::new(&at(22), spec.nc, &ch, &STRIDES))
            }
        };
        let mut model = YoloModel { spec, layers, head, device: p.device() };
        if spec.task == TaskType::Classify {
            model.for_each_conv(&mut |c| c.set_batch_norm(TORCH_BN_EPS, TORCH_BN_MOMENTUM));
        }
        model
    }

    fn neck_layers<'a>(at: &dyn Fn(usize) -> nn::Path<'a>, m: &Multiples) -> Vec<(usize, Layer)> {
        let c = |ch: i64| m.channels(ch);
        let n = m.repeats(3);
        vec![
            (9, Layer::Sppf(Sppf::new(&at(9), c(1024), c(1024), 5))),
            (12, Layer::C2f(C2f::new(&at(12), c(1024) + c(512), c(512), n, false))),
            (15, Layer::C2f(C2f::new(&at(15), c(512) + c(256), c(256), n, false))),
            (16, Layer::Conv(Conv::new(&at(16), c(256), c(256), 3, 2))),
            (18, Layer::C2f(C2f::new(&at(18), c(256) + c(512), c(512), n, false))),
            (19, Layer::Conv(Conv::new(&at(19), c(512), c(512), 3, 2))),
            (21, Layer::C2f(C2f::new(&at(21), c(512) + c(1024), c(1024), n, false))),
        ]
    }

    pub fn spec(&self) -> ModelSpec {
        self.spec
    }

    pub fn task(&self) -> TaskType {
        self.spec.task
    }

    pub fn nc(&self) -> i64 {
        self.spec.nc
    }

    /// The device the parameters were created on.
    pub fn device(&self) -> tch::Device {
        self.device
    }

    /// Yaml index of the head layer: 22 (detect, segment) or 9 (classify).
    pub fn head_index(&self) -> usize {
        if self.spec.task == TaskType::Classify {
            9
        } else {
            22
        }
    }

    /// Var-store prefix of the head's parameters (`model.22.`), the part re-initialised when
    /// pretrained weights have another class count.
    pub fn head_prefix(&self) -> String {
        format!("model.{}.", self.head_index())
    }

    pub fn head_mut(&mut self) -> &mut Head {
        &mut self.head
    }

    /// Sets the classification head's dropout (the `dropout` hyperparameter); no-op otherwise.
    pub fn set_dropout(&mut self, p: f64) {
        if let Head::Classify(h) = &mut self.head {
            h.set_dropout(p);
        }
    }

    /// Folds every BatchNorm into its conv for faster eval-mode forwards (inference only;
    /// train-mode forwards are unaffected). Call after loading weights.
    pub fn fuse(&mut self) {
        self.for_each_conv(&mut Conv::fuse);
    }

    /// Visits every `Conv` (conv + BN + SiLU) of the model.
    pub fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv)) {
        self.layers.iter_mut().for_each(|(_, l)| l.for_each_conv(f));
        self.head.for_each_conv(f);
    }

    /// Checks an input batch: float `[B, 3, H, W]`, B ≥ 1, and for detect/segment H and W
    /// multiples of 32 (the letterbox guarantees it), so shape bugs surface as errors here
    /// rather than as libtorch panics deep in the neck.
    pub fn check_input(&self, x: &Tensor) -> Result<()> {
        let size = x.size();
        if size.len() != 4 || size[1] != 3 || size[0] < 1 || size[2] < 1 || size[3] < 1 {
            return Err(EngineError::invalid(format!("model input must be [B, 3, H, W] with B, H, W ≥ 1, got {size:?}")));
        }
        if !matches!(x.kind(), Kind::Float | Kind::Half | Kind::BFloat16 | Kind::Double) {
            return Err(EngineError::invalid(format!("model input must be floating point, got {:?}", x.kind())));
        }
        if self.spec.task != TaskType::Classify && (size[2] % MAX_STRIDE != 0 || size[3] % MAX_STRIDE != 0) {
            return Err(EngineError::invalid(format!(
                "detect/segment input height and width must be multiples of {MAX_STRIDE}, got {}x{}",
                size[2], size[3]
            )));
        }
        Ok(())
    }

    /// The forward pass: RGB in [0, 1], `[B, 3, H, W]`. `train` switches BatchNorm to batch
    /// statistics (updating the running ones) and enables classification dropout.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<ModelOutput> {
        self.check_input(x)?;
        Ok(self.run(x, train, None))
    }

    /// The forward pass that also returns the output of every layer before the head
    /// (`layer0` … `layer21` of the parity fixture), for bisecting mismatches.
    pub fn forward_layers(&self, x: &Tensor, train: bool) -> Result<(ModelOutput, Vec<Tensor>)> {
        self.check_input(x)?;
        let mut outs = Vec::new();
        let out = self.run(x, train, Some(&mut outs));
        Ok((out, outs))
    }

    fn run(&self, x: &Tensor, train: bool, record: Option<&mut Vec<Tensor>>) -> ModelOutput {
        // Outputs later layers read (the yaml's `save` list); all of them when recording.
        const SAVED: [usize; 7] = [4, 6, 9, 12, 15, 18, 21];
        let recording = record.is_some();
        let mut y: Vec<Option<Tensor>> = Vec::with_capacity(22);
        let keep = |y: &mut Vec<Option<Tensor>>, t: &Tensor| {
            let i = y.len();
            y.push((recording || SAVED.contains(&i)).then(|| t.shallow_clone()));
        };
        let saved = |y: &[Option<Tensor>], i: usize| y[i].as_ref().expect("saved layer output").shallow_clone();
        let mut layers = self.layers.iter().map(|(_, l)| l);
        let mut cur = x.shallow_clone();
        for _ in 0..=8 {
            cur = layers.next().expect("backbone layer").forward_t(&cur, train);
            keep(&mut y, &cur);
        }
        let out = match &self.head {
            Head::Classify(h) => ModelOutput::Classify(h.forward_t(&cur, train)),
            Head::Detect(_) | Head::Segment(_) => {
                let mut layer = |t: &Tensor| layers.next().expect("neck layer").forward_t(t, train);
                let up = |t: &Tensor| t.upsample_nearest2d_vec(None::<&[i64]>, &[2.0, 2.0][..]);
                cur = layer(&cur); // 9 SPPF: [B, c1024, H/32, W/32]
                keep(&mut y, &cur);
                cur = up(&cur); // 10
                keep(&mut y, &cur);
                cur = Tensor::cat(&[&cur, &saved(&y, 6)], 1); // 11
                keep(&mut y, &cur);
                cur = layer(&cur); // 12: [B, c512, H/16, W/16]
                keep(&mut y, &cur);
                cur = up(&cur); // 13
                keep(&mut y, &cur);
                cur = Tensor::cat(&[&cur, &saved(&y, 4)], 1); // 14
                keep(&mut y, &cur);
                cur = layer(&cur); // 15: [B, c256, H/8, W/8]
                keep(&mut y, &cur);
                cur = layer(&cur); // 16
                keep(&mut y, &cur);
                cur = Tensor::cat(&[&cur, &saved(&y, 12)], 1); // 17
                keep(&mut y, &cur);
                cur = layer(&cur); // 18: [B, c512, H/16, W/16]
                keep(&mut y, &cur);
                cur = layer(&cur); // 19
                keep(&mut y, &cur);
                cur = Tensor::cat(&[&cur, &saved(&y, 9)], 1); // 20
                keep(&mut y, &cur);
                cur = layer(&cur); // 21: [B, c1024, H/32, W/32]
                keep(&mut y, &cur);
                let feats = [saved(&y, 15), saved(&y, 18), cur];
                match &self.head {
                    Head::Detect(h) => ModelOutput::Detect(h.forward_t(&feats, train)),
                    Head::Segment(h) => ModelOutput::Segment(h.forward_t(&feats, train)),
                    Head::Classify(_) => unreachable!("handled above"),
                }
            }
        };
        if let Some(r) = record {
            r.extend(y.into_iter().flatten());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Scale;
    use tch::{nn::VarStore, Device};

    fn build(task: TaskType, nc: i64) -> (VarStore, YoloModel) {
        let vs = VarStore::new(Device::Cpu);
        let m = YoloModel::new(&vs.root(), ModelSpec::new(task, Scale::N, nc).unwrap());
        (vs, m)
    }

    fn input(b: i64, h: i64, w: i64) -> Tensor {
        Tensor::rand([b, 3, h, w], (Kind::Float, Device::Cpu))
    }

    #[test]
    fn train_forward_returns_raw_detect_outputs_and_updates_bn() {
        let (vs, m) = build(TaskType::Detect, 2);
        let rm = vs.variables()["model.0.bn.running_mean"].copy();
        let out = m.forward_t(&input(2, 64, 96), true).unwrap();
        let ModelOutput::Detect(d) = &out else { panic!("detect") };
        let n = 8 * 12 + 4 * 6 + 2 * 3;
        assert_eq!(d.boxes.size(), [2, 64, n]);
        assert_eq!(d.scores.size(), [2, 2, n]);
        assert_eq!(d.level_sizes, [(8, 12), (4, 6), (2, 3)]);
        assert_eq!(d.strides, STRIDES);
        let shapes: Vec<Vec<i64>> = d.raw_levels().iter().map(Tensor::size).collect();
        assert_eq!(shapes, [vec![2, 66, 8, 12], vec![2, 66, 4, 6], vec![2, 66, 2, 3]]);
        let (a, s) = d.anchors();
        assert_eq!((a.size(), s.size()), (vec![n, 2], vec![n, 1]));
        assert!(d.boxes.requires_grad(), "train outputs carry gradients");
        assert_eq!(out.decode().size(), [2, 6, n]);
        assert!(!vs.variables()["model.0.bn.running_mean"].equal(&rm), "train mode updates BN statistics");
        let rm = vs.variables()["model.0.bn.running_mean"].copy();
        tch::no_grad(|| m.forward_t(&input(1, 64, 64), false)).unwrap();
        assert!(vs.variables()["model.0.bn.running_mean"].equal(&rm), "eval mode leaves them");
    }

    #[test]
    fn segment_outputs_coefficients_and_quarter_resolution_protos() {
        let (_vs, m) = build(TaskType::Segment, 3);
        let out = m.forward_t(&input(1, 64, 64), true).unwrap();
        let ModelOutput::Segment(s) = &out else { panic!("segment") };
        assert_eq!(s.mask_coef.size(), [1, 32, 84]);
        assert_eq!(s.proto.size(), [1, 32, 16, 16]);
        assert_eq!(out.decode().size(), [1, 4 + 3 + 32, 84]);
    }

    #[test]
    fn classify_returns_logits_and_dropout_only_in_training() {
        let (_vs, mut m) = build(TaskType::Classify, 4);
        let x = input(3, 48, 40);
        let eval1 = tch::no_grad(|| m.forward_t(&x, false)).unwrap();
        let ModelOutput::Classify(c) = &eval1 else { panic!("classify") };
        assert_eq!(c.logits.size(), [3, 4]);
        let sums: Vec<f32> = eval1.decode().sum_dim_intlist(1, false, Kind::Float).try_into().unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5));
        m.set_dropout(0.5);
        let eval2 = tch::no_grad(|| m.forward_t(&x, false)).unwrap();
        assert!(eval1.decode().equal(&eval2.decode()), "dropout is off in eval");
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let (_vs, det) = build(TaskType::Detect, 1);
        for bad in [
            Tensor::rand([3, 64, 64], (Kind::Float, Device::Cpu)),
            Tensor::rand([1, 4, 64, 64], (Kind::Float, Device::Cpu)),
            Tensor::rand([1, 3, 100, 64], (Kind::Float, Device::Cpu)),
            Tensor::zeros([0, 3, 64, 64], (Kind::Float, Device::Cpu)),
            Tensor::zeros([1, 3, 64, 64], (Kind::Uint8, Device::Cpu)),
        ] {
            assert!(matches!(det.forward_t(&bad, false), Err(EngineError::InvalidInput(_))), "{:?}", bad.size());
        }
    }
}

//! The leaf layers: Ultralytics' `Conv` (Conv2d without bias → BatchNorm2d → SiLU; BN eps
//! 1e-3 / momentum 0.03 in detect and segment models, PyTorch's 1e-5 / 0.1 in classify), a plain `Conv2d` with bias (the heads' last 1x1 convs), the
//! `ConvTranspose2d` of the segmentation prototype net and a `Linear` layer.
//!
//! Variables are created on the given `nn::Path` under PyTorch's names (`conv.weight`,
//! `bn.running_var`, …) so a var store holds exactly Ultralytics' state-dict keys (without
//! `num_batches_tracked`, which `weights::save` adds back). Initialisation follows PyTorch's
//! defaults (weights and biases `U(-1/√fan_in, 1/√fan_in)`, BN weight 1, bias 0, running
//! mean 0, var 1), as Ultralytics trains from scratch with them.

use tch::{nn, Tensor};

/// BatchNorm epsilon and momentum Ultralytics sets on every BatchNorm2d of detection and
/// segmentation models (`initialize_weights` in `utils/torch_utils.py`).
pub const BN_EPS: f64 = 1e-3;
pub const BN_MOMENTUM: f64 = 0.03;
/// PyTorch's BatchNorm2d defaults, which classification models keep: `ClassificationModel`
/// never calls `initialize_weights`.
pub const TORCH_BN_EPS: f64 = 1e-5;
pub const TORCH_BN_MOMENTUM: f64 = 0.1;

/// PyTorch's default init for conv/linear weights and biases: `kaiming_uniform_(a=√5)`
/// reduces to `U(-1/√fan_in, 1/√fan_in)`, and biases use the same bound.
pub(crate) fn torch_default_init(fan_in: i64) -> nn::Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    nn::Init::Uniform { lo: -bound, up: bound }
}

/// Conv2d(c1→c2, k, s, padding k/2, no bias) + BatchNorm2d + SiLU.
#[derive(Debug)]
pub struct Conv {
    pub(crate) weight: Tensor,      // [c2, c1, k, k]
    bn_weight: Tensor,   // [c2]
    bn_bias: Tensor,     // [c2]
    running_mean: Tensor, // [c2]
    running_var: Tensor, // [c2]
    pub(crate) stride: i64,
    pub(crate) padding: i64,
    bn_eps: f64,
    bn_momentum: f64,
    /// BN folded into the conv (weight, bias) for inference; see [`Conv::fuse`].
    pub(crate) fused: Option<(Tensor, Tensor)>,
}

impl Conv {
    pub fn new(p: &nn::Path, c1: i64, c2: i64, k: i64, s: i64) -> Self {
        let conv = p / "conv";
        let bn = p / "bn";
        Conv {
            weight: conv.var("weight", &[c2, c1, k, k], torch_default_init(c1 * k * k)),
            bn_weight: bn.var("weight", &[c2], nn::Init::Const(1.0)),
            bn_bias: bn.var("bias", &[c2], nn::Init::Const(0.0)),
            running_mean: bn.zeros_no_train("running_mean", &[c2]),
            running_var: bn.ones_no_train("running_var", &[c2]),
            stride: s,
            padding: k / 2,
            bn_eps: BN_EPS,
            bn_momentum: BN_MOMENTUM,
            fused: None,
        }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        if let (Some((w, b)), false) = (&self.fused, train) {
            return x.conv2d(w, Some(b), self.stride, self.padding, 1, 1).silu();
        }
        let y = x.conv2d::<&Tensor>(&self.weight, None, self.stride, self.padding, 1, 1);
        y.batch_norm(
            Some(&self.bn_weight),
            Some(&self.bn_bias),
            Some(&self.running_mean),
            Some(&self.running_var),
            train,
            self.bn_momentum,
            self.bn_eps,
            true,
        )
        .silu()
    }

    /// Sets the BatchNorm's epsilon and momentum (see [`TORCH_BN_EPS`]).
    pub fn set_batch_norm(&mut self, eps: f64, momentum: f64) {
        self.bn_eps = eps;
        self.bn_momentum = momentum;
        self.fused = None;
    }

    /// Folds the BatchNorm's current statistics into a conv weight and bias used by eval-mode
    /// forwards (what Ultralytics' `fuse()` does before predicting): one op instead of two,
    /// equal up to float rounding. Train-mode forwards keep using the unfused parameters; call
    /// again after the statistics change.
    pub fn fuse(&mut self) {
        let _guard = tch::no_grad_guard();
        let scale = &self.bn_weight / (&self.running_var + self.bn_eps).sqrt(); // [c2]
        let w = &self.weight * scale.view([-1, 1, 1, 1]); // [c2, c1, k, k]
        let b = &self.bn_bias - &self.running_mean * &scale; // [c2]
        self.fused = Some((w.detach(), b.detach()));
    }
}

/// A plain Conv2d with bias (no BN, no activation), padding k/2.
#[derive(Debug)]
pub struct Conv2d {
    pub weight: Tensor, // [c2, c1, k, k]
    pub bias: Tensor,   // [c2]
    pub(crate) padding: i64,
}

impl Conv2d {
    pub fn new(p: &nn::Path, c1: i64, c2: i64, k: i64) -> Self {
        let init = torch_default_init(c1 * k * k);
        Conv2d {
            weight: p.var("weight", &[c2, c1, k, k], init),
            bias: p.var("bias", &[c2], init),
            padding: k / 2,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.conv2d(&self.weight, Some(&self.bias), 1, self.padding, 1, 1)
    }
}

/// ConvTranspose2d(c1→c2, k, stride k, no padding) with bias: the x2 upsampler of `Proto`.
#[derive(Debug)]
pub struct ConvTranspose2d {
    pub(crate) weight: Tensor, // [c1, c2, k, k]
    pub(crate) bias: Tensor,   // [c2]
    pub(crate) stride: i64,
}

impl ConvTranspose2d {
    pub fn new(p: &nn::Path, c1: i64, c2: i64, k: i64) -> Self {
        // PyTorch computes fan_in from weight dim 1 (= out channels) for transposed convs.
        let init = torch_default_init(c2 * k * k);
        ConvTranspose2d {
            weight: p.var("weight", &[c1, c2, k, k], init),
            bias: p.var("bias", &[c2], init),
            stride: k,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.conv_transpose2d(&self.weight, Some(&self.bias), self.stride, 0, 0, 1, 1)
    }
}

/// Linear(c1→c2) with bias.
#[derive(Debug)]
pub struct Linear {
    pub(crate) weight: Tensor, // [c2, c1]
    pub(crate) bias: Tensor,   // [c2]
}

impl Linear {
    pub fn new(p: &nn::Path, c1: i64, c2: i64) -> Self {
        let init = torch_default_init(c1);
        Linear { weight: p.var("weight", &[c2, c1], init), bias: p.var("bias", &[c2], init) }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn conv_names_shapes_and_padding() {
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = Conv::new(&(vs.root() / "model" / 0), 3, 16, 3, 2);
        let mut names: Vec<_> = vs.variables().into_keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "model.0.bn.bias",
                "model.0.bn.running_mean",
                "model.0.bn.running_var",
                "model.0.bn.weight",
                "model.0.conv.weight"
            ]
        );
        let y = conv.forward_t(&Tensor::rand([1, 3, 32, 32], (Kind::Float, Device::Cpu)), false);
        assert_eq!(y.size(), [1, 16, 16, 16]);
        // Only conv/bn weights and biases are trainable, not the running statistics.
        assert_eq!(vs.trainable_variables().len(), 3);
    }

    #[test]
    fn fused_conv_matches_conv_then_bn() {
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut conv = Conv::new(&vs.root(), 4, 8, 3, 1);
        tch::no_grad(|| {
            for (name, mut t) in vs.variables() {
                if name.contains("bn") {
                    let _ = t.uniform_(0.5, 1.5);
                }
            }
        });
        let x = Tensor::randn([2, 4, 10, 10], (Kind::Float, Device::Cpu));
        let plain = conv.forward_t(&x, false);
        conv.fuse();
        let fused = conv.forward_t(&x, false);
        let diff = (&plain - &fused).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{diff}");
        // A train-mode forward still normalises with batch statistics (unfused path).
        let train = conv.forward_t(&x, true);
        assert!((&train - &fused).abs().max().double_value(&[]) > 1e-3);
    }

    #[test]
    fn default_init_bound_is_one_over_sqrt_fan_in() {
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = Conv2d::new(&vs.root(), 64, 8, 3);
        let bound = 1.0 / ((64 * 9) as f64).sqrt();
        let max = conv.weight.abs().max().double_value(&[]);
        assert!(max <= bound && max > 0.9 * bound, "{max} vs {bound}");
    }
}

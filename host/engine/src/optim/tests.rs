//! The update rules against PyTorch's optimizers. Reference values were produced with
//! torch 2.11 (`torch.optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)`,
//! `Adam` / `AdamW(lr=0.01, betas=(0.9, 0.999), weight_decay=0.01)`) from p = [1, -2, 0.5]
//! with gradients [0.1, 0.2, -0.3]·t at steps t = 1, 2, 3, and `clip_grad_norm_(max_norm=10)`.

use super::*;
use tch::{nn::Init, Device};

fn run(rule: Rule, lr: f64) -> Vec<f32> {
    let vs = VarStore::new(Device::Cpu);
    let p = (vs.root() / "layer" / "conv").var("weight", &[3], Init::Const(0.0));
    tch::no_grad(|| p.shallow_clone().copy_(&Tensor::from_slice(&[1.0f32, -2.0, 0.5])));
    let mut opt = Optimizer::new(&vs, rule, lr, 0.9, 0.01);
    assert_eq!(opt.group_sizes(), [1, 0, 0]);
    for t in 1..=3 {
        opt.zero_grad();
        let g = Tensor::from_slice(&[0.1f32, 0.2, -0.3]) * t as f64;
        (&p * g).sum(Kind::Float).backward();
        opt.step();
    }
    p.detach().try_into().unwrap()
}

#[track_caller]
fn close(got: &[f32], want: &[f32]) {
    for (a, b) in got.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{got:?} vs {want:?}");
    }
}

#[test]
fn sgd_nesterov_matches_pytorch() {
    close(&run(Rule::Sgd, 0.1), &[0.846_549_99, -2.274_759_5, 0.932_227_13]);
}

#[test]
fn adam_matches_pytorch() {
    close(&run(Rule::Adam, 0.01), &[0.970_669_8, -2.029_117_3, 0.529_214_3]);
}

#[test]
fn adamw_matches_pytorch() {
    close(&run(Rule::AdamW, 0.01), &[0.970_471_1, -2.028_628_8, 0.529_078_8]);
}

#[test]
fn clipping_matches_pytorch() {
    let a = Tensor::zeros([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let b = Tensor::zeros([1], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    ((&a * Tensor::from_slice(&[3.0f32, 4.0])).sum(Kind::Float) + (&b * 12.0).sum(Kind::Float)).backward();
    let n = clip_grad_norm([&a, &b].into_iter(), 10.0).unwrap();
    assert!((n.double_value(&[]) - 13.0).abs() < 1e-5);
    close(&Vec::<f32>::try_from(a.grad()).unwrap(), &[2.307_692, 3.076_923]);
    close(&Vec::<f32>::try_from(b.grad()).unwrap(), &[9.230_768]);
}

#[test]
fn groups_follow_ultralytics() {
    assert_eq!(group_of("model.0.conv.weight"), 0);
    assert_eq!(group_of("model.9.linear.weight"), 0);
    assert_eq!(group_of("model.0.bn.weight"), 1);
    assert_eq!(group_of("model.0.bn.bias"), 2);
    assert_eq!(group_of("model.22.cv2.0.2.bias"), 2);
    let hyp = af_core::Hyperparameters::default();
    let short = resolve(OptimizerKind::Auto, &hyp, 3, 150);
    assert_eq!((short.rule, short.lr0, short.momentum, short.warmup_bias_lr), (Rule::AdamW, 0.001429, 0.9, 0.0));
    assert_eq!(resolve(OptimizerKind::Auto, &hyp, 80, 20_000).rule, Rule::Sgd);
    let sgd = resolve(OptimizerKind::Sgd, &hyp, 3, 10);
    assert_eq!((sgd.lr0, sgd.momentum, sgd.warmup_bias_lr), (0.01, 0.937, 0.1));
}

#[test]
fn state_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let vs = VarStore::new(Device::Cpu);
    let p = (vs.root() / "m" / "conv").var("weight", &[4], Init::Const(1.0));
    let mut opt = Optimizer::new(&vs, Rule::AdamW, 0.01, 0.9, 0.0);
    (&p * 2.0).sum(Kind::Float).backward();
    opt.step();
    opt.groups[0].lr = 0.5;
    let path = dir.path().join("opt.safetensors");
    opt.save(&path).unwrap();
    let mut other = Optimizer::new(&vs, Rule::AdamW, 0.01, 0.9, 0.0);
    other.load(&path).unwrap();
    assert_eq!(other.groups[0].lr, 0.5);
    assert_eq!(other.params[0].step, 1);
    assert!(other.params[0].buf.as_ref().unwrap().equal(opt.params[0].buf.as_ref().unwrap()));
    let mut sgd = Optimizer::new(&vs, Rule::Sgd, 0.01, 0.9, 0.0);
    assert!(sgd.load(&path).unwrap_err().to_string().contains("AdamW"));
}

#[test]
fn grad_scaler_skips_non_finite_steps() {
    let mut s = GradScaler::new(true);
    let p = Tensor::zeros([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    s.scale(&(&p * 3.0).sum(Kind::Float)).backward();
    assert!(s.unscale([&p].into_iter()));
    close(&Vec::<f32>::try_from(p.grad()).unwrap(), &[3.0, 3.0]);
    s.update(false);
    assert_eq!(s.scale, 32768.0);
    let mut off = GradScaler::new(false);
    off.update(false);
    assert_eq!(off.scale, 65536.0);
}

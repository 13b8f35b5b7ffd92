//! Optimisation, as Ultralytics' trainer does it (`engine/trainer.py`, `utils/torch_utils.py`):
//!
//! - [`Optimizer`]: SGD with Nesterov momentum, Adam or AdamW with PyTorch's exact update
//!   rules, over three parameter groups — `pg0` conv/linear weights (with weight decay), `pg1`
//!   BatchNorm weights and `pg2` biases (no decay) — with per-group learning rate and momentum
//!   that warm-up and the schedule set; [`resolve`] turns `optimizer: auto` into Ultralytics'
//!   choice;
//! - [`clip_grad_norm`] (max norm 10) and [`GradScaler`] (mixed precision on CUDA);
//! - `schedule`: linear / cosine decay to `lrf` and the warm-up ramps;
//! - `ema`: the exponential moving average of the weights that is validated and saved.
//!
//! Optimizer state is saved beside a checkpoint ([`Optimizer::save`]) so training resumes
//! with the same momentum buffers.

pub mod ema;
pub mod schedule;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use af_core::OptimizerKind;
use tch::{nn::VarStore, Kind, Tensor};

use crate::error::{EngineError, Result};
use crate::weights::{write_safetensors, StateDict};

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Rule {
    Sgd,
    Adam,
    AdamW,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::Sgd => "SGD",
            Rule::Adam => "Adam",
            Rule::AdamW => "AdamW",
        }
    }
}

/// What `optimizer` resolves to for a run: the rule, initial learning rate and momentum
/// (Adam's β1), and the bias learning rate warm-up starts from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    pub rule: Rule,
    pub lr0: f64,
    pub momentum: f64,
    pub warmup_bias_lr: f64,
}

/// Ultralytics' `build_optimizer` choice. `iterations` = optimiser steps of the whole run
/// (`ceil(images / max(batch, 64)) · epochs`).
pub fn resolve(kind: OptimizerKind, hyp: &af_core::Hyperparameters, nc: usize, iterations: usize) -> Resolved {
    let keep = |rule| Resolved { rule, lr0: hyp.lr0, momentum: hyp.momentum, warmup_bias_lr: hyp.warmup_bias_lr };
    match kind {
        OptimizerKind::Sgd => keep(Rule::Sgd),
        OptimizerKind::Adam => keep(Rule::Adam),
        OptimizerKind::AdamW => keep(Rule::AdamW),
        OptimizerKind::Auto => {
            let lr_fit = (0.002 * 5.0 / (4.0 + nc as f64) * 1e6).round() / 1e6;
            let (rule, lr0) = if iterations > 10_000 { (Rule::Sgd, 0.01) } else { (Rule::AdamW, lr_fit) };
            Resolved { rule, lr0, momentum: 0.9, warmup_bias_lr: 0.0 }
        }
    }
}

/// Parameter group of a variable by its name: 0 weights (decay), 1 BatchNorm weights, 2 biases.
pub fn group_of(name: &str) -> usize {
    if name.ends_with(".bias") {
        2
    } else if name.ends_with(".bn.weight") {
        1
    } else {
        0
    }
}

/// Learning rate, momentum and weight decay of one parameter group.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    pub lr: f64,
    /// The schedule's base (`initial_lr`).
    pub initial_lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
}

#[derive(Debug)]
struct Param {
    name: String,
    tensor: Tensor,
    group: usize,
    /// SGD: momentum buffer. Adam: first moment.
    buf: Option<Tensor>,
    /// Adam: second moment.
    buf2: Option<Tensor>,
    step: u64,
}

/// SGD (Nesterov) / Adam / AdamW over the three groups.
#[derive(Debug)]
pub struct Optimizer {
    pub rule: Rule,
    pub groups: [Group; 3],
    params: Vec<Param>,
}

const ADAM_BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;

impl Optimizer {
    /// Every trainable variable of `vs`, grouped by name. `decay` is the (batch-scaled)
    /// weight decay of group 0.
    pub fn new(vs: &VarStore, rule: Rule, lr: f64, momentum: f64, decay: f64) -> Self {
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let params = vars
            .into_iter()
            .map(|(name, tensor)| Param { group: group_of(&name), name, tensor, buf: None, buf2: None, step: 0 })
            .collect();
        let g = |weight_decay| Group { lr, initial_lr: lr, momentum, weight_decay };
        Optimizer { rule, groups: [g(decay), g(0.0), g(0.0)], params }
    }

    /// Number of parameters in each group.
    pub fn group_sizes(&self) -> [usize; 3] {
        let mut n = [0; 3];
        self.params.iter().for_each(|p| n[p.group] += 1);
        n
    }

    /// The trainable tensors (for gradient clipping and scaling).
    pub fn tensors(&self) -> impl Iterator<Item = &Tensor> {
        self.params.iter().map(|p| &p.tensor)
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.tensor.zero_grad();
        }
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&mut self) {
        let _guard = tch::no_grad_guard();
        for p in &mut self.params {
            let grad = p.tensor.grad();
            if !grad.defined() {
                continue;
            }
            let g = self.groups[p.group];
            p.step += 1;
            match self.rule {
                Rule::Sgd => {
                    let mut d = if g.weight_decay != 0.0 { &grad + &p.tensor * g.weight_decay } else { grad.shallow_clone() };
                    if g.momentum != 0.0 {
                        let buf = match p.buf.take() {
                            None => d.detach().copy(),
                            Some(mut b) => {
                                b *= g.momentum;
                                b += &d;
                                b
                            }
                        };
                        d = d + &buf * g.momentum; // Nesterov
                        p.buf = Some(buf);
                    }
                    p.tensor -= d * g.lr;
                }
                Rule::Adam | Rule::AdamW => {
                    let beta1 = g.momentum;
                    let grad = if self.rule == Rule::Adam && g.weight_decay != 0.0 { &grad + &p.tensor * g.weight_decay } else { grad };
                    if self.rule == Rule::AdamW && g.weight_decay != 0.0 {
                        p.tensor *= 1.0 - g.lr * g.weight_decay;
                    }
                    let mut m = p.buf.take().unwrap_or_else(|| grad.zeros_like());
                    let mut v = p.buf2.take().unwrap_or_else(|| grad.zeros_like());
                    let _ = m.lerp_(&grad, 1.0 - beta1);
                    v *= ADAM_BETA2;
                    v += grad.square() * (1.0 - ADAM_BETA2);
                    let bc1 = 1.0 - beta1.powi(p.step as i32);
                    let bc2 = 1.0 - ADAM_BETA2.powi(p.step as i32);
                    let denom = v.sqrt() / bc2.sqrt() + ADAM_EPS;
                    p.tensor -= &m / denom * (g.lr / bc1);
                    p.buf = Some(m);
                    p.buf2 = Some(v);
                }
            }
        }
    }

    /// Writes the optimizer state (buffers, steps, groups) as safetensors.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.save_with(path, None)
    }

    /// [`Optimizer::save`] plus every variable of the raw (non-EMA) model as `model:<name>`:
    /// checkpoints hold the EMA weights, so without these a resumed run would restart the raw
    /// weights from the EMA (as Ultralytics does) instead of continuing exactly where it stopped.
    /// [`load_model_state`] puts them back.
    pub fn save_with_model(&self, path: &Path, model: &VarStore) -> Result<()> {
        self.save_with(path, Some(model))
    }

    fn save_with(&self, path: &Path, model: Option<&VarStore>) -> Result<()> {
        let mut tensors = BTreeMap::new();
        for (name, t) in model.map(|vs| vs.variables()).unwrap_or_default() {
            tensors.insert(format!("model:{name}"), t.detach().to_device(tch::Device::Cpu).contiguous());
        }
        let mut steps = BTreeMap::new();
        for p in &self.params {
            if let Some(b) = &p.buf {
                tensors.insert(format!("{}.buf", p.name), b.to_device(tch::Device::Cpu).to_kind(Kind::Float).contiguous());
            }
            if let Some(b) = &p.buf2 {
                tensors.insert(format!("{}.buf2", p.name), b.to_device(tch::Device::Cpu).to_kind(Kind::Float).contiguous());
            }
            steps.insert(p.name.clone(), p.step);
        }
        let meta = HashMap::from([
            ("rule".to_string(), serde_json::to_string(&self.rule).expect("serialisable")),
            ("groups".to_string(), serde_json::to_string(&self.groups).expect("serialisable")),
            ("steps".to_string(), serde_json::to_string(&steps).expect("serialisable")),
        ]);
        write_safetensors(&tensors, &meta, path)
    }

    /// Restores state written by [`Optimizer::save`] for the same model and rule.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let sd = StateDict::read(path)?;
        let bad = |m: String| EngineError::weights(path, m);
        let rule: Rule = serde_json::from_str(sd.metadata.get("rule").ok_or_else(|| bad("no `rule` in the optimizer state".into()))?)
            .map_err(|e| bad(format!("bad `rule`: {e}")))?;
        if rule != self.rule {
            return Err(bad(format!("optimizer state is for {} but this run uses {}", rule.name(), self.rule.name())));
        }
        self.groups = serde_json::from_str(sd.metadata.get("groups").ok_or_else(|| bad("no `groups`".into()))?).map_err(|e| bad(format!("bad `groups`: {e}")))?;
        let steps: HashMap<String, u64> =
            serde_json::from_str(sd.metadata.get("steps").ok_or_else(|| bad("no `steps`".into()))?).map_err(|e| bad(format!("bad `steps`: {e}")))?;
        for p in &mut self.params {
            let device = p.tensor.device();
            let take = |k: String| -> Result<Option<Tensor>> {
                match sd.tensors.get(&k) {
                    None => Ok(None),
                    Some(t) if t.size() == p.tensor.size() => Ok(Some(t.to_device(device).to_kind(p.tensor.kind()))),
                    Some(t) => Err(bad(format!("`{k}` is {:?} but the parameter is {:?}", t.size(), p.tensor.size()))),
                }
            };
            p.buf = take(format!("{}.buf", p.name))?;
            p.buf2 = take(format!("{}.buf2", p.name))?;
            p.step = steps.get(&p.name).copied().unwrap_or(0);
        }
        Ok(())
    }
}

/// Copies the raw model variables saved by [`Optimizer::save_with_model`] into `model`;
/// `false` when the file has none (state written by [`Optimizer::save`]).
pub fn load_model_state(path: &Path, model: &VarStore) -> Result<bool> {
    let sd = StateDict::read(path)?;
    if !sd.tensors.keys().any(|k| k.starts_with("model:")) {
        return Ok(false);
    }
    let mut vars = model.variables();
    tch::no_grad(|| -> Result<()> {
        for (name, var) in vars.iter_mut() {
            let saved = sd.tensors.get(&format!("model:{name}")).ok_or_else(|| EngineError::weights(path, format!("no saved state for `{name}`")))?;
            if saved.size() != var.size() {
                return Err(EngineError::weights(path, format!("`{name}` is {:?} but the model has {:?}", saved.size(), var.size())));
            }
            var.copy_(saved);
        }
        Ok(())
    })?;
    Ok(true)
}

/// Scales all gradients so their global L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`, which never scales up). Returns the norm before clipping (a tensor, so
/// no device sync is forced).
pub fn clip_grad_norm<'a>(params: impl Iterator<Item = &'a Tensor>, max_norm: f64) -> Option<Tensor> {
    let _guard = tch::no_grad_guard();
    let grads: Vec<Tensor> = params.map(Tensor::grad).filter(Tensor::defined).collect();
    if grads.is_empty() {
        return None;
    }
    let norms: Vec<Tensor> = grads.iter().map(|g| g.to_kind(Kind::Float).norm()).collect();
    let total = Tensor::stack(&norms, 0).norm();
    let coef = ((&total + 1e-6).reciprocal() * max_norm).clamp_max(1.0);
    for mut g in grads {
        g *= &coef.to_kind(g.kind());
    }
    Some(total)
}

/// Dynamic loss scaling for float16 training (`torch.amp.GradScaler` defaults: scale 2¹⁶,
/// ×2 after 2000 clean steps, ×0.5 and skip the step on inf/NaN gradients).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GradScaler {
    pub enabled: bool,
    pub scale: f64,
    pub growth_tracker: u32,
}

impl GradScaler {
    pub fn new(enabled: bool) -> Self {
        GradScaler { enabled, scale: 65536.0, growth_tracker: 0 }
    }

    pub fn scale(&self, loss: &Tensor) -> Tensor {
        if self.enabled {
            loss * self.scale
        } else {
            loss.shallow_clone()
        }
    }

    /// Divides the gradients by the scale; returns false when any is not finite (the step
    /// must then be skipped).
    pub fn unscale<'a>(&self, params: impl Iterator<Item = &'a Tensor>) -> bool {
        if !self.enabled {
            return true;
        }
        let _guard = tch::no_grad_guard();
        let mut finite = true;
        let mut checks = Vec::new();
        for g in params.map(Tensor::grad).filter(Tensor::defined) {
            let mut g = g;
            g *= 1.0 / self.scale;
            checks.push(g.isfinite().all());
        }
        if !checks.is_empty() {
            finite = Tensor::stack(&checks, 0).all().int64_value(&[]) != 0;
        }
        finite
    }

    /// Adjusts the scale after a step attempt.
    pub fn update(&mut self, found_finite: bool) {
        if !self.enabled {
            return;
        }
        if found_finite {
            self.growth_tracker += 1;
            if self.growth_tracker >= 2000 {
                self.scale *= 2.0;
                self.growth_tracker = 0;
            }
        } else {
            self.scale *= 0.5;
            self.growth_tracker = 0;
        }
    }
}

#[cfg(test)]
mod tests;

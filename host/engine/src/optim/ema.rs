//! `ModelEMA`: an exponential moving average of every floating-point variable of the model
//! (weights and BatchNorm statistics), with Ultralytics' ramped decay
//! `0.9999 · (1 − e^(−updates / 2000))`, so early epochs follow the model closely. The EMA is
//! what validation runs and what checkpoints store.

use tch::{nn::VarStore, Tensor};

use crate::error::Result;
use crate::nn::{ModelSpec, YoloModel};

pub struct Ema {
    pub vs: VarStore,
    pub model: YoloModel,
    pub updates: u64,
    pub decay: f64,
    pub tau: f64,
    /// (EMA variable, model variable) of every floating variable, by name.
    pairs: Vec<(Tensor, Tensor)>,
}

impl Ema {
    /// A copy of `model_vs` (same spec) on the same device.
    pub fn new(model_vs: &VarStore, spec: ModelSpec) -> Result<Self> {
        let mut vs = VarStore::new(model_vs.device());
        let model = YoloModel::new(&vs.root(), spec);
        vs.copy(model_vs)?;
        vs.freeze();
        let ours = vs.variables();
        let theirs = model_vs.variables();
        let mut names: Vec<&String> = ours.keys().collect();
        names.sort();
        let pairs = names
            .into_iter()
            .filter(|n| ours[*n].is_floating_point())
            .filter_map(|n| Some((ours[n].shallow_clone(), theirs.get(n)?.shallow_clone())))
            .collect();
        Ok(Ema { vs, model, updates: 0, decay: 0.9999, tau: 2000.0, pairs })
    }

    /// The decay of update number `updates`.
    pub fn decay_at(&self, updates: u64) -> f64 {
        self.decay * (1.0 - (-(updates as f64) / self.tau).exp())
    }

    /// `ema ← d · ema + (1 − d) · model`.
    pub fn update(&mut self) {
        self.updates += 1;
        let d = self.decay_at(self.updates);
        tch::no_grad(|| {
            for (e, m) in &mut self.pairs {
                let _ = e.lerp_(&m.detach(), 1.0 - d);
            }
        });
    }

    /// Copies the EMA back into the model (used when resuming: training continues from the
    /// saved EMA weights, as Ultralytics resumes).
    pub fn copy_into_model(&self) {
        tch::no_grad(|| {
            for (e, m) in &self.pairs {
                let mut m = m.shallow_clone();
                m.copy_(e);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use af_core::TaskType;
    use tch::{Device, Kind};

    #[test]
    fn tracks_the_model_with_the_ramped_decay() {
        let vs = VarStore::new(Device::Cpu);
        let spec = ModelSpec::new(TaskType::Classify, crate::nn::Scale::N, 2).unwrap();
        let _model = YoloModel::new(&vs.root(), spec);
        let mut ema = Ema::new(&vs, spec).unwrap();
        let name = "model.0.conv.weight";
        let w0 = vs.variables()[name].copy();
        assert!(ema.vs.variables()[name].equal(&w0));
        tch::no_grad(|| {
            let mut w = vs.variables()[name].shallow_clone();
            w += 1.0;
        });
        ema.update();
        let d = ema.decay_at(1);
        assert!((d - 0.9999 * (1.0 - (-1.0f64 / 2000.0).exp())).abs() < 1e-12);
        let moved = (&ema.vs.variables()[name] - &w0).mean(Kind::Float).double_value(&[]);
        assert!((moved - (1.0 - d)).abs() < 1e-5, "{moved}");
        // BatchNorm statistics are averaged too; EMA variables never need gradients.
        assert!(!ema.vs.variables()["model.0.bn.running_var"].requires_grad());
        assert!(!ema.vs.variables()[name].requires_grad());
        ema.copy_into_model();
        assert!(vs.variables()[name].equal(&ema.vs.variables()[name]));
    }
}

//! Classification loss: mean cross-entropy over the batch (`v8ClassificationLoss`).

use tch::{Kind, Reduction, Tensor};

use super::LossOutput;

pub const NAMES: &[&str] = &["loss"];

/// `logits` `[B, nc]`, `labels` `[B]` class ids.
pub fn classification_loss(logits: &Tensor, labels: &Tensor) -> LossOutput {
    let loss = logits.to_kind(Kind::Float).cross_entropy_loss::<Tensor>(
        &labels.to_kind(Kind::Int64).to_device(logits.device()),
        None,
        Reduction::Mean,
        -100,
        0.0,
    );
    LossOutput { items: loss.detach().view([1]), total: loss, names: NAMES }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_log_softmax_by_hand() {
        let logits = Tensor::from_slice(&[2.0f32, 0.0, -1.0, 0.5, 0.5, 3.0]).view([2, 3]);
        let labels = Tensor::from_slice(&[0i64, 2]);
        let out = classification_loss(&logits, &labels);
        let ls = |v: [f64; 3], k: usize| v[k] - v.iter().map(|x| x.exp()).sum::<f64>().ln();
        let want = -(ls([2.0, 0.0, -1.0], 0) + ls([0.5, 0.5, 3.0], 2)) / 2.0;
        assert!((out.total.double_value(&[]) - want).abs() < 1e-6);
        assert_eq!(out.values()[0].0, "loss");
    }
}

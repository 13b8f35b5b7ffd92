//! Learning-rate schedule and warm-up (Ultralytics' `_setup_scheduler` and the warm-up block of
//! `_do_train`).
//!
//! Epoch `e` (0-based) runs at `initial_lr · lf(e)` with `lf` linear,
//! `(1 − e/epochs)(1 − lrf) + lrf`, or cosine, `((1 − cos(π e / epochs)) / 2)(lrf − 1) + 1`.
//! During the first `nw` iterations the bias group's rate falls from `warmup_bias_lr` and the
//! others rise from 0 to the scheduled rate, momentum rises from `warmup_momentum`, and the
//! number of batches accumulated per step rises from 1 to its nominal value.

/// The schedule factor `lf(epoch)`.
pub fn lr_factor(epoch: usize, epochs: usize, lrf: f64, cosine: bool) -> f64 {
    let (x, n) = (epoch as f64, epochs as f64);
    if cosine {
        ((1.0 - (x * std::f64::consts::PI / n).cos()) / 2.0).max(0.0) * (lrf - 1.0) + 1.0
    } else {
        (1.0 - x / n).max(0.0) * (1.0 - lrf) + lrf
    }
}

/// Warm-up iterations: `round(min(warmup_epochs, epochs − 1) · batches)`, leaving at least the
/// last epoch for regular training.
pub fn warmup_iterations(warmup_epochs: f64, epochs: usize, batches: usize) -> usize {
    let w = warmup_epochs.min(epochs.saturating_sub(1) as f64);
    if w > 0.0 {
        (w * batches as f64).round() as usize
    } else {
        0
    }
}

/// `np.interp(x, [0, x1], [y0, y1])` for `0 ≤ x ≤ x1`.
pub fn interp(x: f64, x1: f64, y0: f64, y1: f64) -> f64 {
    if x1 <= 0.0 {
        return y1;
    }
    y0 + (y1 - y0) * (x / x1).clamp(0.0, 1.0)
}

/// Batches per optimizer step: `max(round(nbs / batch), 1)`, capped at the run's batches.
pub fn accumulate(batch: usize, nbs: usize, batches_per_epoch: usize, epochs: usize) -> usize {
    ((nbs as f64 / batch as f64).round() as usize).max(1).min((batches_per_epoch * epochs).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_cosine_end_at_lrf() {
        assert_eq!(lr_factor(0, 10, 0.01, false), 1.0);
        assert!((lr_factor(10, 10, 0.01, false) - 0.01).abs() < 1e-12);
        assert!((lr_factor(5, 10, 0.01, false) - 0.505).abs() < 1e-12);
        assert!((lr_factor(0, 10, 0.01, true) - 1.0).abs() < 1e-12);
        assert!((lr_factor(10, 10, 0.01, true) - 0.01).abs() < 1e-12);
        assert!((lr_factor(5, 10, 0.01, true) - 0.505).abs() < 1e-12);
    }

    #[test]
    fn warmup_and_accumulation() {
        assert_eq!(warmup_iterations(3.0, 30, 19), 57);
        assert_eq!(warmup_iterations(3.0, 2, 10), 10, "leaves the last epoch");
        assert_eq!(warmup_iterations(3.0, 1, 10), 0);
        assert_eq!(interp(5.0, 10.0, 0.1, 0.01), 0.055);
        assert_eq!(accumulate(16, 64, 100, 10), 4);
        assert_eq!(accumulate(64, 64, 100, 10), 1);
        assert_eq!(accumulate(2, 64, 3, 2), 6, "capped at the run's batches");
        assert_eq!(accumulate(24, 64, 100, 10), 3);
        assert_eq!(accumulate(8, 8, 100, 10), 1);
    }
}

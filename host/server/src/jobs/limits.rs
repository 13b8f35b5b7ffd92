//! What one user may make this server train (`Config.limits`), checked before a job is queued
//! so that a single request cannot tie up the machine: the number of epochs, the image size,
//! and an estimate of the job's peak memory against the server's training budget. (How many
//! jobs one user may have queued or running at once is checked by the API, which counts them.)
//!
//! # The memory estimate
//!
//! Training memory is a fixed part — the libtorch runtime, the model's weights, their
//! gradients, the optimiser's moments and the EMA copy (about 20 bytes per parameter) — plus
//! the activations autograd keeps for the backward pass, which grow with the images per batch
//! and with the pixels per image:
//!
//! ```text
//! peak MiB ≈ fixed(task, scale) + per_image(task, scale) · batch · (imgsz / reference)²
//! ```
//!
//! `reference` is 640 for detect and segment, 224 for classify. The coefficients were fitted
//! to the peak resident memory (`ru_maxrss`) of one-epoch runs of `annotateforge train` on CPU
//! (`tools/train_memory.py`); see [`FOOTPRINTS`] for the measurements. The
//! batch is the one asked for, not the number of images the projects have now: images can be
//! added while the job waits in the queue, and the estimate must hold when it runs.

use af_core::{FieldError, TaskType};
use af_engine::nn::scale::{parse_model_name, Scale};

use super::config::JobConfig;
use crate::config::Limits;

/// A job config over one of this server's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitError {
    /// The config field to change (`hyperparameters.epochs`).
    pub field: &'static str,
    /// The setting that imposes the limit (`max_epochs`), so an admin knows what to raise.
    pub limit: &'static str,
    pub message: String,
    /// The memory estimate, for the budget.
    pub estimated_mb: Option<u64>,
}

impl LimitError {
    pub fn field_error(&self) -> FieldError {
        FieldError::new(self.field, self.message.clone())
    }
}

/// The memory a job of one task and model scale needs: a fixed part and the training
/// activations of one image at the task's reference size, both in MiB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    pub fixed_mb: f64,
    pub per_image_mb: f64,
}

/// Calibrated footprints, by task and scale (n, s, m, l, x): a least-squares line through
/// the peak RSS of `tools/train_memory.py` runs (CPU, libtorch 2.11, fp32, `--epochs 1`,
/// `mosaic=0`, the debug `annotateforge train`). Measured, MiB:
///
/// | run (imgsz, batch) | peak RSS |   | run | peak RSS |
/// |---|---|---|---|---|
/// | detect n 320, 2 | 635 | | detect m 320, 8 | 2193 |
/// | detect n 320, 8 | 995 | | detect l 320, 4 | 2165 |
/// | detect n 640, 2 | 1017 | | detect x 320, 2 | 2407 |
/// | detect s 320, 2 | 829 | | detect x 320, 6 | 3361 |
/// | detect s 320, 8 | 1467 | | segment n 320, 2 / 8 | 697 / 1068 |
/// | detect m 320, 2 | 1324 | | segment m 320, 4 | 1619 |
/// | classify n 224, 2 / 16 | 555 / 750 | | classify x 224, 2 / 16 | 2157 / 3322 |
///
/// Two points per scale give the fixed part and the slope; `n 640, 2` confirms that the
/// activations grow with imgsz² (1017 measured, 995 predicted). The fixed part is about
/// 515 MiB plus 22 bytes per parameter, which places detect `l` (one measurement); segment is
/// detect plus its mask prototypes (+60 MiB, +4 % per image, checked at `m`); classify `s`,
/// `m`, `l` are interpolated between `n` and `x` by parameters and by detect's per-image
/// ratios. [`MARGIN`] covers what one-epoch runs miss.
pub const FOOTPRINTS: [(TaskType, [Footprint; 5]); 3] = [
    (TaskType::Detect, [fp(515.0, 240.0), fp(616.0, 426.0), fp(1035.0, 579.0), fp(1398.0, 767.0), fp(1929.0, 954.0)]),
    (TaskType::Segment, [fp(573.0, 248.0), fp(676.0, 443.0), fp(1095.0, 602.0), fp(1458.0, 798.0), fp(1989.0, 992.0)]),
    (TaskType::Classify, [fp(527.0, 14.0), fp(625.0, 32.0), fp(912.0, 47.0), fp(1460.0, 65.0), fp(1990.0, 83.0)]),
];

/// Headroom over the fitted line: a 3-epoch run (with mosaic) peaked 7 % above the 1-epoch
/// one (detect n 320, 8: 1061 vs 995 MiB), and a server holds a little more than the CLI.
pub const MARGIN: f64 = 1.10;

const fn fp(fixed_mb: f64, per_image_mb: f64) -> Footprint {
    Footprint { fixed_mb, per_image_mb }
}

/// The size the per-image activations of [`FOOTPRINTS`] are given at.
pub fn reference_imgsz(task: TaskType) -> u32 {
    match task {
        TaskType::Classify => 224,
        TaskType::Detect | TaskType::Segment => 640,
    }
}

fn scale_index(scale: Scale) -> usize {
    Scale::ALL.iter().position(|s| *s == scale).expect("every scale is in ALL")
}

pub fn footprint(task: TaskType, scale: Scale) -> Footprint {
    let (_, rows) = FOOTPRINTS.iter().find(|(t, _)| *t == task).expect("every task has footprints");
    rows[scale_index(scale)]
}

/// Estimated peak memory, in MiB, of training `scale` for `task` at `imgsz` with `batch`
/// images per batch.
pub fn estimate_train_memory_mb(task: TaskType, scale: Scale, imgsz: u32, batch: u32) -> f64 {
    let f = footprint(task, scale);
    let pixels = (f64::from(imgsz) / f64::from(reference_imgsz(task))).powi(2);
    (f.fixed_mb + f.per_image_mb * f64::from(batch) * pixels) * MARGIN
}

/// The model scale a config trains (an unreadable name counts as the largest).
fn scale_of(config: &JobConfig) -> Scale {
    let name = config.hyperparameters.model_or_default(config.task_type);
    parse_model_name(&name).map(|(_, s)| s).unwrap_or(Scale::X)
}

/// `8 GB`, `23.4 GB` (binary gigabytes, as the budget is set in MiB).
fn gb(mb: f64) -> String {
    let g = mb / 1024.0;
    if (g - g.round()).abs() < 0.05 {
        format!("{:.0} GB", g.round())
    } else {
        format!("{g:.1} GB")
    }
}

/// Every limit the config is over (empty: it may be queued).
pub fn check(limits: &Limits, config: &JobConfig) -> Vec<LimitError> {
    let mut out = Vec::new();
    let epochs = config.epochs();
    if epochs > limits.max_epochs {
        out.push(LimitError {
            field: "hyperparameters.epochs",
            limit: "max_epochs",
            message: format!("must be at most {} on this server (max_epochs), got {epochs}", limits.max_epochs),
            estimated_mb: None,
        });
    }
    let imgsz = config.imgsz();
    if imgsz > limits.max_imgsz {
        out.push(LimitError {
            field: "hyperparameters.imgsz",
            limit: "max_imgsz",
            message: format!("must be at most {} on this server (max_imgsz), got {imgsz}", limits.max_imgsz),
            estimated_mb: None,
        });
    }
    let batch = config.hyperparameters.batch;
    let estimate = estimate_train_memory_mb(config.task_type, scale_of(config), imgsz, batch);
    if estimate > limits.max_train_memory_mb as f64 {
        out.push(LimitError {
            field: "hyperparameters.batch",
            limit: "max_train_memory_mb",
            message: format!(
                "estimated peak memory {} (model {}, imgsz {imgsz}, batch {batch}) exceeds this server's training budget of {} \
                 (max_train_memory_mb); lower batch or imgsz or pick a smaller model",
                gb(estimate),
                config.hyperparameters.model_or_default(config.task_type),
                gb(limits.max_train_memory_mb as f64),
            ),
            estimated_mb: Some(estimate.ceil() as u64),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_grows_with_scale_batch_and_size() {
        for (task, _) in FOOTPRINTS {
            let r = reference_imgsz(task);
            let mut last = 0.0;
            for scale in Scale::ALL {
                let m = estimate_train_memory_mb(task, scale, r, 16);
                assert!(m > last, "{task} {scale:?}: {m} after {last}");
                last = m;
            }
            let one = estimate_train_memory_mb(task, Scale::N, r, 1);
            let f = footprint(task, Scale::N);
            assert!((estimate_train_memory_mb(task, Scale::N, r, 8) - one - 7.0 * f.per_image_mb * MARGIN).abs() < 1e-6);
            assert!((estimate_train_memory_mb(task, Scale::N, r * 2, 1) - (f.fixed_mb + 4.0 * f.per_image_mb) * MARGIN).abs() < 1e-6);
        }
    }

    /// The estimate covers every measurement it was fitted to, by at most the margin and a
    /// little (it is an upper bound, not a guess that is low half the time).
    #[test]
    fn the_estimate_bounds_the_measurements() {
        let measured = [
            (TaskType::Detect, Scale::N, 320, 2, 635.1),
            (TaskType::Detect, Scale::N, 320, 8, 994.5),
            (TaskType::Detect, Scale::N, 640, 2, 1016.9),
            (TaskType::Detect, Scale::S, 320, 8, 1467.4),
            (TaskType::Detect, Scale::M, 320, 8, 2192.7),
            (TaskType::Detect, Scale::L, 320, 4, 2165.4),
            (TaskType::Detect, Scale::X, 320, 6, 3360.7),
            (TaskType::Segment, Scale::N, 320, 8, 1068.4),
            (TaskType::Segment, Scale::M, 320, 4, 1618.7),
            (TaskType::Classify, Scale::N, 224, 16, 750.1),
            (TaskType::Classify, Scale::X, 224, 16, 3322.2),
        ];
        for (task, scale, imgsz, batch, rss) in measured {
            let e = estimate_train_memory_mb(task, scale, imgsz, batch);
            assert!(e >= rss * 1.05 && e <= rss * 1.2, "{task} {scale:?} {imgsz} {batch}: estimate {e:.0} vs measured {rss}");
        }
    }

    #[test]
    fn gigabytes_read_well() {
        assert_eq!(gb(8192.0), "8 GB");
        assert_eq!(gb(23_961.6), "23.4 GB");
        assert_eq!(gb(1536.0), "1.5 GB");
    }
}

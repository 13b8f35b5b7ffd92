//! Validation: run a model over a dataset's val split and compute Ultralytics' metrics.
//!
//! Detect/segment: rectangular batches (`loader`), eval forward, NMS with the validator's
//! settings (conf 0.001, IoU 0.7, 300 detections, multi-label), box IoU matching in input
//! pixels, and for segment mask IoU at 1/4 resolution between `process_mask` masks and the
//! overlap ground truth. Classify: top-1 / top-5. A per-batch hook receives each batch and
//! the raw model output, which is how training computes its validation losses.
//!
//! The model is used as given (train code passes its EMA model); this module never changes
//! it, and runs under `no_grad`.

pub mod loader;
pub mod raster;

use std::collections::BTreeMap;
use std::time::Instant;

use af_core::TaskType;
use serde::Serialize;
use tch::{Device, Kind};

use crate::dataset::{ClsSample, YoloSample};
use crate::error::{EngineError, Result};
use crate::metrics::{box_iou, mask_iou, ClsMetrics, ClsStats, DetMetrics, DetStats};
use crate::nn::{ModelOutput, YoloModel, MAX_STRIDE};
use crate::predict::masks::process_mask_proto;
use crate::predict::nms::{non_max_suppression, NmsConfig};
pub use loader::{ImageTargets, ValBatch};

/// Validator settings; defaults are Ultralytics' `val` defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ValConfig {
    pub imgsz: i64,
    pub batch: usize,
    pub conf: f64,
    pub iou: f64,
    pub max_det: usize,
}

impl ValConfig {
    pub fn new(imgsz: i64) -> Self {
        ValConfig { imgsz, batch: 16, conf: 0.001, iou: 0.7, max_det: 300 }
    }
}

/// Seconds per image spent in each stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ValSpeed {
    pub preprocess_ms: f64,
    pub inference_ms: f64,
    pub postprocess_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValReport {
    pub task: TaskType,
    pub images: usize,
    /// Ground-truth objects (detect/segment).
    pub instances: usize,
    pub boxes: Option<DetMetrics>,
    pub masks: Option<DetMetrics>,
    pub classify: Option<ClsMetrics>,
    pub speed: ValSpeed,
}

impl ValReport {
    /// Ultralytics' fitness: box mAP50-95 (+ mask mAP50-95 for segment); classify: mean of
    /// top-1 and top-5.
    pub fn fitness(&self) -> f64 {
        self.classify.as_ref().map(ClsMetrics::fitness).unwrap_or(0.0)
            + self.boxes.as_ref().map(DetMetrics::fitness).unwrap_or(0.0)
            + self.masks.as_ref().map(DetMetrics::fitness).unwrap_or(0.0)
    }

    /// The metrics under their `results.csv` names (`metrics/mAP50-95(B)`, …).
    pub fn raw_metrics(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        if let Some(b) = &self.boxes {
            m.extend(b.raw('B'));
        }
        if let Some(s) = &self.masks {
            m.extend(s.raw('M'));
        }
        if let Some(c) = &self.classify {
            m.extend(c.raw());
        }
        m
    }
}

/// Called with every batch and the model's raw output (e.g. to accumulate validation losses).
pub type BatchHook<'a> = &'a mut dyn FnMut(&ValBatch, &ModelOutput) -> Result<()>;

/// Validates a detect or segment model on labelled images.
pub fn validate_detect(model: &YoloModel, samples: &[YoloSample], names: &[String], cfg: &ValConfig, mut hook: Option<BatchHook>) -> Result<ValReport> {
    let task = model.task();
    if task == TaskType::Classify {
        return Err(EngineError::invalid("validate_detect needs a detect or segment model"));
    }
    check(cfg, samples.len(), names.len() as i64, model.nc())?;
    let _guard = tch::no_grad_guard();
    let nms = NmsConfig { conf: cfg.conf, iou: cfg.iou, max_det: cfg.max_det, multi_label: true, ..NmsConfig::default() };
    let seg = task == TaskType::Segment;
    let shapes: Vec<(i64, i64)> = samples
        .iter()
        .map(|s| image::image_dimensions(&s.image).map(|(w, h)| (h as i64, w as i64)).map_err(|e| EngineError::image(s.image.display().to_string(), e.to_string())))
        .collect::<Result<_>>()?;
    let (order, batch_shapes) = loader::rect_batches(&shapes, cfg.batch, cfg.imgsz, MAX_STRIDE);
    let (mut box_stats, mut mask_stats) = (DetStats::default(), DetStats::default());
    let mut speed = [0.0f64; 3];
    for (chunk, &shape) in order.chunks(cfg.batch).zip(&batch_shapes) {
        let t0 = Instant::now();
        let batch_samples: Vec<&YoloSample> = chunk.iter().map(|&i| &samples[i]).collect();
        let batch = loader::detect_batch(&batch_samples, shape, cfg.imgsz, seg, model.device())?;
        let t1 = Instant::now();
        let out = model.forward_t(&batch.images, false)?;
        let pred = out.decode();
        sync(model.device());
        let t2 = Instant::now();
        if let Some(h) = hook.as_mut() {
            h(&batch, &out)?;
        }
        let kept = non_max_suppression(&pred, model.nc(), &nms)?;
        for (b, (k, gt)) in kept.iter().zip(&batch.gt).enumerate() {
            let rows = k.rows.to_device(Device::Cpu);
            let pred_boxes: Vec<[f32; 4]> = Vec::<f32>::try_from(rows.narrow(1, 0, 4).contiguous().view(-1))?.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
            let conf: Vec<f32> = rows.select(1, 4).try_into()?;
            let cls: Vec<i64> = Vec::<f32>::try_from(rows.select(1, 5))?.into_iter().map(|c| c as i64).collect();
            box_stats.update(&conf, &cls, &gt.cls, &box_iou(&gt.boxes, &pred_boxes));
            if let (ModelOutput::Segment(s), Some(gt_masks)) = (&out, &gt.masks) {
                let pm = process_mask_proto(&s.proto.get(b as i64), &k.rows.narrow(1, 6, k.rows.size()[1] - 6), &k.rows.narrow(1, 0, 4), shape);
                mask_stats.update(&conf, &cls, &gt.cls, &mask_iou(gt_masks, &pm));
            }
        }
        let t3 = Instant::now();
        for (acc, d) in speed.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
            *acc += d.as_secs_f64() * 1e3;
        }
    }
    let n = samples.len() as f64;
    Ok(ValReport {
        task,
        images: samples.len(),
        instances: box_stats.instances(),
        boxes: Some(box_stats.compute(names)),
        masks: seg.then(|| mask_stats.compute(names)),
        classify: None,
        speed: ValSpeed { preprocess_ms: speed[0] / n, inference_ms: speed[1] / n, postprocess_ms: speed[2] / n },
    })
}

/// Validates a classification model on an ImageFolder split.
pub fn validate_classify(model: &YoloModel, samples: &[ClsSample], names: &[String], cfg: &ValConfig, mut hook: Option<BatchHook>) -> Result<ValReport> {
    if model.task() != TaskType::Classify {
        return Err(EngineError::invalid("validate_classify needs a classify model"));
    }
    check(cfg, samples.len(), names.len() as i64, model.nc())?;
    let _guard = tch::no_grad_guard();
    let mut stats = ClsStats::default();
    let mut speed = [0.0f64; 3];
    for chunk in samples.chunks(cfg.batch) {
        let t0 = Instant::now();
        let refs: Vec<&ClsSample> = chunk.iter().collect();
        let batch = loader::classify_batch(&refs, cfg.imgsz, model.device())?;
        let t1 = Instant::now();
        let out = model.forward_t(&batch.images, false)?;
        let ModelOutput::Classify(c) = &out else { unreachable!("classify model") };
        let logits = c.logits.to_kind(Kind::Float);
        sync(model.device());
        let t2 = Instant::now();
        if let Some(h) = hook.as_mut() {
            h(&batch, &out)?;
        }
        let targets: Vec<i64> = batch.cls.to_device(Device::Cpu).try_into()?;
        stats.update(&logits, &targets);
        for (acc, d) in speed.iter_mut().zip([t1 - t0, t2 - t1, Instant::now() - t2]) {
            *acc += d.as_secs_f64() * 1e3;
        }
    }
    let n = samples.len() as f64;
    Ok(ValReport {
        task: TaskType::Classify,
        images: samples.len(),
        instances: 0,
        boxes: None,
        masks: None,
        classify: Some(stats.compute()),
        speed: ValSpeed { preprocess_ms: speed[0] / n, inference_ms: speed[1] / n, postprocess_ms: speed[2] / n },
    })
}

fn check(cfg: &ValConfig, n: usize, names: i64, nc: i64) -> Result<()> {
    if n == 0 {
        return Err(EngineError::invalid("the validation split has no images"));
    }
    if cfg.batch == 0 || cfg.imgsz < MAX_STRIDE {
        return Err(EngineError::invalid(format!("batch must be ≥ 1 and imgsz ≥ {MAX_STRIDE} (got {} and {})", cfg.batch, cfg.imgsz)));
    }
    if names != nc {
        return Err(EngineError::invalid(format!("the dataset has {names} classes but the model has {nc}")));
    }
    Ok(())
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// The metrics table Ultralytics prints after `val`.
pub fn format_table(report: &ValReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if let Some(c) = &report.classify {
        let _ = writeln!(s, "{:>22}{:>11}{:>11}", "classes", "top1_acc", "top5_acc");
        let _ = writeln!(s, "{:>22}{:>11.3}{:>11.3}", "all", c.top1, c.top5);
        return s;
    }
    let kinds: Vec<(&str, &DetMetrics)> = [("Box", report.boxes.as_ref()), ("Mask", report.masks.as_ref())].into_iter().filter_map(|(k, m)| Some((k, m?))).collect();
    let _ = write!(s, "{:>22}{:>11}{:>11}", "Class", "Images", "Instances");
    for (k, _) in &kinds {
        let _ = write!(s, "{:>11}{:>11}{:>11}{:>11}", format!("{k}(P"), "R", "mAP50", "mAP50-95)");
    }
    s.push('\n');
    let row = |s: &mut String, name: &str, images: usize, inst: usize, vals: Vec<[f64; 4]>| {
        let _ = write!(s, "{name:>22}{images:>11}{inst:>11}");
        for v in vals {
            let _ = write!(s, "{:>11.3}{:>11.3}{:>11.3}{:>11.3}", v[0], v[1], v[2], v[3]);
        }
        s.push('\n');
    };
    row(&mut s, "all", report.images, report.instances, kinds.iter().map(|(_, m)| [m.precision, m.recall, m.map50, m.map50_95]).collect());
    if let Some((_, first)) = kinds.first() {
        for (i, c) in first.per_class.iter().enumerate() {
            let vals = kinds.iter().map(|(_, m)| { let c = &m.per_class[i]; [c.precision, c.recall, c.map50, c.map50_95] }).collect();
            row(&mut s, &c.name, c.images, c.instances, vals);
        }
    }
    s
}

#[cfg(test)]
mod tests;

//! The training loop (see the module docs of `train`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use af_core::TaskType;
use tch::{nn::VarStore, Device, Tensor};

use super::checkpoint::{CheckpointInfo, RunPaths, Stopper};
use super::events::{CancelToken, TrainEvent, TrainOutcome};
use super::results::{append_row, metric_keys};
use super::TrainConfig;
use crate::data::augment::AugmentConfig;
use crate::data::loader::{EpochPlan, Loader};
use crate::data::{open_classify, open_detect, ClassifySet, ClsBatch, DetBatch, DetectSet, Skipped};
use crate::dataset::{ClsSample, YoloSample};
use crate::device::{device_name, parse_device};
use crate::error::{EngineError, Result};
use crate::loss::{classification_loss, loss_names, DetectionLoss, LossGains, LossOutput, SegmentationLoss, Targets};
use crate::nn::{parse_model_name, ModelOutput, ModelSpec, YoloModel};
use crate::optim::ema::Ema;
use crate::optim::schedule::{accumulate, interp, lr_factor, warmup_iterations};
use crate::optim::{clip_grad_norm, load_model_state, resolve, GradScaler, Optimizer, Resolved};
use crate::val::{validate_classify, validate_detect, ValBatch, ValConfig, ValReport};
use crate::weights::{self, init_from_base, BaseWeights, LoadMode, SaveMeta, StateDict};

/// Gradient clipping norm.
const MAX_GRAD_NORM: f64 = 10.0;
/// How many skipped images are named individually in warnings.
const SKIP_WARNINGS: usize = 10;

enum Data {
    Detect { set: Arc<DetectSet>, val: Vec<YoloSample> },
    Classify { set: Arc<ClassifySet>, val: Vec<ClsSample> },
}

enum Criterion {
    Detect(DetectionLoss),
    Segment(SegmentationLoss),
    Classify,
}

enum BatchTargets {
    Det(Targets),
    Cls(Tensor),
}

enum AnyLoader {
    Det(Loader<DetBatch>),
    Cls(Loader<ClsBatch>),
}

struct TrainBatch {
    images: Tensor,
    targets: BatchTargets,
    count: usize,
    instances: usize,
}

impl AnyLoader {
    fn next_batch(&mut self, device: Device) -> Option<Result<TrainBatch>> {
        match self {
            AnyLoader::Det(l) => l.next().map(|r| {
                r.map(|b| {
                    let (images, t) = b.to_tensors(device);
                    TrainBatch { images, targets: BatchTargets::Det(t), count: b.count, instances: b.instances() }
                })
            }),
            AnyLoader::Cls(l) => l.next().map(|r| {
                r.map(|b| {
                    let (images, y) = b.to_tensors(device);
                    let n = b.labels.len();
                    TrainBatch { images, targets: BatchTargets::Cls(y), count: n, instances: n }
                })
            }),
        }
    }
}

pub(super) struct Trainer {
    cfg: TrainConfig,
    task: TaskType,
    device: Device,
    paths: RunPaths,
    names: Vec<String>,
    imgsz: u32,
    batch: usize,
    epochs: usize,
    start_epoch: usize,
    spec: ModelSpec,
    /// The model's variables (the optimiser and EMA hold handles to them).
    vs: VarStore,
    model: YoloModel,
    ema: Ema,
    opt: Optimizer,
    resolved: Resolved,
    scaler: GradScaler,
    criterion: Criterion,
    val_criterion: Criterion,
    data: Data,
    train_images: usize,
    batches: usize,
    accumulate: usize,
    warmup: usize,
    workers: usize,
    best_fitness: Option<f64>,
    best_metrics: BTreeMap<String, f64>,
    stopper: Stopper,
    base: String,
}

fn warn(sink: &mut dyn FnMut(&TrainEvent), message: String) {
    tracing::warn!("{message}");
    sink(&TrainEvent::Warning { message });
}

fn report_skips(sink: &mut dyn FnMut(&TrainEvent), split: &str, skipped: &[Skipped]) {
    for s in skipped.iter().take(SKIP_WARNINGS) {
        warn(sink, format!("{split}: skipped {}: {}", s.path.display(), s.reason));
    }
    if skipped.len() > SKIP_WARNINGS {
        warn(sink, format!("{split}: {} more images skipped", skipped.len() - SKIP_WARNINGS));
    }
}

impl Trainer {
    /// Builds everything: data, model (fresh, pretrained or from a checkpoint), EMA,
    /// optimiser, losses. `resume` = (sidecar, weights file, sidecar path).
    pub(super) fn setup(cfg: TrainConfig, resume: Option<(CheckpointInfo, PathBuf, PathBuf)>, sink: &mut dyn FnMut(&TrainEvent)) -> Result<Self> {
        let task = cfg.task;
        let hyp = cfg.hyp.clone();
        let device = parse_device(&cfg.device)?;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        if device == Device::Cpu {
            tch::set_num_threads(if cfg.threads > 0 { cfg.threads } else { cores } as i32);
        } else {
            tch::Cuda::cudnn_set_benchmark(true);
        }
        let workers = if cfg.workers > 0 { cfg.workers } else { cores.clamp(1, 8) };
        let imgsz = hyp.imgsz_or_default(task);
        let batch = hyp.batch as usize;
        let epochs = hyp.epochs as usize;

        // Data.
        let (names, data) = match task {
            TaskType::Classify => {
                let d = open_classify(&cfg.data)?;
                report_skips(sink, "dataset", &d.skipped);
                (d.names.clone(), Data::Classify { set: Arc::new(ClassifySet::new(d.train, imgsz as usize)), val: d.val })
            }
            TaskType::Detect | TaskType::Segment => {
                let d = open_detect(&cfg.data)?;
                report_skips(sink, "train", &d.train.skipped);
                report_skips(sink, "val", &d.val.skipped);
                for dup in d.train.duplicates.iter().chain(&d.val.duplicates).take(SKIP_WARNINGS) {
                    warn(sink, format!("{}: {}", dup.path.display(), dup.reason));
                }
                let masks = (task == TaskType::Segment).then(|| (hyp.overlap_mask.unwrap_or(true), hyp.mask_ratio.unwrap_or(4) as usize));
                let val = d.val.records.iter().map(|r| r.to_sample()).collect();
                let set = DetectSet::new(d.train.records, imgsz as usize, masks, batch);
                (d.config.names.clone(), Data::Detect { set: Arc::new(set), val })
            }
        };
        let nc = names.len();
        let train_images = match &data {
            Data::Detect { set, .. } => set.records.len(),
            Data::Classify { set, .. } => set.samples.len(),
        };

        // Model.
        let model_name = hyp.model_or_default(task);
        let (model_task, scale) = parse_model_name(&model_name)?;
        if model_task != task {
            return Err(EngineError::invalid(format!("`{model_name}` is a {model_task} model but the run trains {task}")));
        }
        let spec = ModelSpec::new(task, scale, nc as i64)?;
        let vs = VarStore::new(device);
        let mut model = YoloModel::seeded(&vs.root(), spec, hyp.seed as i64);
        if let Some(p) = hyp.dropout {
            model.set_dropout(p);
        }
        let base = match &resume {
            Some((info, weights_path, _)) => {
                let sd = StateDict::read(weights_path)?;
                weights::load(&vs, &sd, LoadMode::Exact)?;
                format!("resumed from {} after epoch {}", weights_path.display(), info.epoch)
            }
            None => match init_from_base(&vs, &model_name, cfg.weights_dir.as_deref())? {
                BaseWeights::Pretrained { path, report } => {
                    format!("pretrained {} ({} of {} tensors)", path.display(), report.loaded.len(), report.total())
                }
                BaseWeights::Scratch { reason } => reason,
            },
        };
        let mut ema = Ema::new(&vs, spec)?;

        // Optimisation.
        let batches = EpochPlan::new(train_images, batch, 0, hyp.seed, false).num_batches();
        let nbs = hyp.nbs as usize;
        let acc = accumulate(batch, nbs, batches, epochs);
        let decay = hyp.weight_decay * batch as f64 * acc as f64 / nbs as f64;
        let iterations = train_images.div_ceil(batch.max(nbs)) * epochs;
        let resolved = resolve(hyp.optimizer, &hyp, nc, iterations);
        let mut opt = Optimizer::new(&vs, resolved.rule, resolved.lr0, resolved.momentum, decay);
        let mut scaler = GradScaler::new(cfg.amp && device != Device::Cpu);
        let mut stopper = Stopper::new(hyp.patience as usize);
        let (mut start_epoch, mut best_fitness, mut best_metrics) = (0, None, BTreeMap::new());
        if let Some((info, _, info_path)) = &resume {
            if let Some(state) = &info.optimizer_state {
                let dir = info_path.parent().unwrap_or(std::path::Path::new("."));
                opt.load(&dir.join(state))?;
                // The raw weights as they were (the checkpoint itself holds the EMA).
                load_model_state(&dir.join(state), &vs)?;
            }
            ema.updates = info.ema_updates;
            scaler = GradScaler { enabled: scaler.enabled, ..info.scaler };
            stopper = Stopper { patience: hyp.patience as usize, ..info.stopper };
            start_epoch = info.epoch;
            best_fitness = info.best_fitness;
            if let Ok(best) = CheckpointInfo::read(&RunPaths::new(&cfg.run_dir).best_info()) {
                best_metrics = best.metrics;
            }
        }
        let gains = LossGains { box_gain: hyp.box_gain, cls_gain: hyp.cls_gain, dfl_gain: hyp.dfl_gain };
        let (criterion, val_criterion) = match task {
            TaskType::Detect => (Criterion::Detect(DetectionLoss::new(nc as i64, gains)), Criterion::Detect(DetectionLoss::new(nc as i64, gains))),
            // Validation batches always carry overlap masks.
            TaskType::Segment => (
                Criterion::Segment(SegmentationLoss::new(nc as i64, gains, hyp.overlap_mask.unwrap_or(true))),
                Criterion::Segment(SegmentationLoss::new(nc as i64, gains, true)),
            ),
            TaskType::Classify => (Criterion::Classify, Criterion::Classify),
        };

        let paths = RunPaths::new(&cfg.run_dir);
        std::fs::create_dir_all(&paths.weights).map_err(|e| EngineError::io(&paths.weights, e))?;
        if resume.is_none() {
            // A fresh run owns its results file.
            let _ = std::fs::remove_file(paths.results());
        }
        std::fs::write(paths.args(), serde_json::to_string_pretty(&cfg).expect("serialisable")).map_err(|e| EngineError::io(paths.args(), e))?;

        Ok(Trainer {
            task,
            device,
            names,
            imgsz,
            batch,
            epochs,
            start_epoch,
            spec,
            vs,
            model,
            ema,
            opt,
            resolved,
            scaler,
            criterion,
            val_criterion,
            data,
            train_images,
            batches,
            accumulate: acc,
            warmup: warmup_iterations(hyp.warmup_epochs, epochs, batches),
            workers,
            best_fitness,
            best_metrics,
            stopper,
            base,
            paths,
            cfg,
        })
    }

    fn val_images(&self) -> usize {
        match &self.data {
            Data::Detect { val, .. } => val.len(),
            Data::Classify { val, .. } => val.len(),
        }
    }

    pub(super) fn run(&mut self, sink: &mut dyn FnMut(&TrainEvent), cancel: &CancelToken) -> Result<TrainOutcome> {
        let started = Instant::now();
        let hyp = self.cfg.hyp.clone();
        let [n0, n1, n2] = self.opt.group_sizes();
        tracing::info!(
            "optimizer: {}(lr={}, momentum={}) with parameter groups {n1} weight(decay=0.0), {n0} weight(decay={}), {n2} bias(decay=0.0)",
            self.resolved.rule.name(),
            self.resolved.lr0,
            self.resolved.momentum,
            self.opt.groups[0].weight_decay
        );
        sink(&TrainEvent::Started {
            task: self.task,
            names: self.names.clone(),
            imgsz: self.imgsz,
            batch: hyp.batch,
            epochs: self.epochs,
            start_epoch: self.start_epoch + 1,
            device: device_name(self.device),
            train_images: self.train_images,
            val_images: self.val_images(),
            model: self.spec.base_name(),
            base: self.base.clone(),
            optimizer: format!("{}(lr={}, momentum={})", self.resolved.rule.name(), self.resolved.lr0, self.resolved.momentum),
            run_dir: self.paths.dir.clone(),
        });
        let mut last_opt_step: i64 = -1;
        let mut stopped_early = false;
        let mut epochs_completed = self.start_epoch;
        for epoch in self.start_epoch..self.epochs {
            let epoch_start = Instant::now();
            let final_epoch = epoch + 1 == self.epochs;
            sink(&TrainEvent::EpochStart { epoch: epoch + 1, epochs: self.epochs, batches: self.batches });
            // The scheduler: every group at initial_lr · lf(epoch).
            let lf = lr_factor(epoch, self.epochs, hyp.lrf, hyp.cos_lr);
            for g in &mut self.opt.groups {
                g.lr = g.initial_lr * lf;
            }
            let mosaic_closed = hyp.close_mosaic > 0 && epoch + hyp.close_mosaic as usize >= self.epochs;
            let aug = AugmentConfig::from_hyp(&hyp, self.imgsz as usize, mosaic_closed);
            let plan = Arc::new(EpochPlan::new(self.train_images, self.batch, epoch, hyp.seed, true));
            let mut loader = match &self.data {
                Data::Detect { set, .. } => AnyLoader::Det(Loader::start(Arc::new(set.epoch(aug)), plan.clone(), self.workers, self.workers * 2)),
                Data::Classify { set, .. } => AnyLoader::Cls(Loader::start(Arc::new(set.epoch(aug)), plan.clone(), self.workers, self.workers * 2)),
            };
            let names = loss_names(self.task);
            let mut tloss = vec![0.0f64; names.len()];
            let (mut seen, train_start) = (0usize, Instant::now());
            let mut i = 0usize;
            while let Some(batch) = loader.next_batch(self.device) {
                if cancel.is_cancelled() {
                    return Err(EngineError::Cancelled);
                }
                let batch = batch?;
                let ni = i + self.batches * epoch;
                self.warmup_step(ni, lf, &hyp);
                let loss = self.forward_loss(&batch)?;
                self.scaler.scale(&loss.total).backward();
                if ni as i64 - last_opt_step >= self.accumulate as i64 {
                    self.optimizer_step();
                    last_opt_step = ni as i64;
                }
                for (acc, (_, v)) in tloss.iter_mut().zip(loss.values()) {
                    *acc = (*acc * i as f64 + v) / (i + 1) as f64;
                }
                seen += batch.count;
                i += 1;
                sink(&TrainEvent::Batch {
                    epoch: epoch + 1,
                    epochs: self.epochs,
                    batch: i,
                    batches: self.batches,
                    losses: names.iter().zip(&tloss).map(|(n, v)| (format!("train/{n}"), *v)).collect(),
                    instances: batch.instances,
                    imgsz: self.imgsz,
                    images_per_second: seen as f64 / train_start.elapsed().as_secs_f64().max(1e-9),
                });
            }
            drop(loader);
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            let images_per_second = seen as f64 / train_start.elapsed().as_secs_f64().max(1e-9);
            if tloss.iter().any(|v| !v.is_finite()) {
                return Err(EngineError::invalid(format!(
                    "training diverged in epoch {}: a loss became {:?} (try a lower lr0)",
                    epoch + 1,
                    tloss
                )));
            }
            let mut metrics: BTreeMap<String, f64> = names.iter().zip(&tloss).map(|(n, v)| (format!("train/{n}"), *v)).collect();

            // Validation of the EMA model.
            let mut fitness = None;
            if self.cfg.val || final_epoch || self.stopper.possible_stop(epoch + 1) {
                sink(&TrainEvent::Validating { epoch: epoch + 1, epochs: self.epochs });
                let (report, val_losses) = self.validate()?;
                metrics.extend(report.raw_metrics());
                metrics.extend(names.iter().zip(&val_losses).map(|(n, v)| (format!("val/{n}"), *v)));
                fitness = Some(report.fitness());
            } else {
                metrics.extend(metric_keys(self.task).into_iter().map(|k| (k, 0.0)));
            }
            for (k, g) in self.opt.groups.iter().enumerate() {
                metrics.insert(format!("lr/pg{k}"), g.lr);
            }
            let is_best = match (fitness, self.best_fitness) {
                (Some(f), None) => f >= 0.0,
                (Some(f), Some(b)) => f >= b,
                _ => false,
            };
            if is_best {
                self.best_fitness = fitness;
                self.best_metrics = metrics.clone();
            }
            append_row(&self.paths.results(), self.task, epoch + 1, started.elapsed().as_secs_f64(), &metrics)?;
            let stop = self.stopper.observe(epoch + 1, fitness);
            epochs_completed = epoch + 1;
            let done = stop || final_epoch;
            self.save(epoch + 1, fitness, &metrics, is_best, done)?;
            sink(&TrainEvent::EpochEnd {
                epoch: epoch + 1,
                epochs: self.epochs,
                metrics,
                fitness,
                best_fitness: self.best_fitness,
                is_best,
                epoch_time_seconds: epoch_start.elapsed().as_secs_f64(),
                images_per_second,
            });
            sink(&TrainEvent::Checkpoint { epoch: epoch + 1, last: self.paths.last(), best: is_best.then(|| self.paths.best()) });
            if stop && !final_epoch {
                stopped_early = true;
                tracing::info!("stopping early: no improvement in the last {} epochs (best epoch {})", hyp.patience, self.stopper.best_epoch);
                break;
            }
        }
        let outcome = TrainOutcome {
            task: self.task,
            names: self.names.clone(),
            imgsz: self.imgsz,
            run_dir: self.paths.dir.clone(),
            best: if self.paths.best().exists() { self.paths.best() } else { self.paths.last() },
            last: self.paths.last(),
            results_csv: self.paths.results(),
            epochs_completed,
            best_epoch: self.stopper.best_epoch,
            final_metrics: self.best_metrics.clone(),
            best_fitness: self.best_fitness.unwrap_or(0.0),
            stopped_early,
            train_seconds: started.elapsed().as_secs_f64(),
        };
        sink(&TrainEvent::Finished { outcome: outcome.clone() });
        Ok(outcome)
    }

    /// Warm-up: learning rates, momentum and accumulation ramp over the first iterations.
    fn warmup_step(&mut self, ni: usize, lf: f64, hyp: &af_core::Hyperparameters) {
        if self.warmup == 0 || ni > self.warmup {
            return;
        }
        let nw = self.warmup as f64;
        let acc0 = accumulate(self.batch, hyp.nbs as usize, self.batches, self.epochs) as f64;
        self.accumulate = (interp(ni as f64, nw, 1.0, acc0).round() as usize).max(1);
        for (k, g) in self.opt.groups.iter_mut().enumerate() {
            let start = if k == 2 { self.resolved.warmup_bias_lr } else { 0.0 };
            g.lr = interp(ni as f64, nw, start, g.initial_lr * lf);
            if self.resolved.rule == crate::optim::Rule::Sgd {
                g.momentum = interp(ni as f64, nw, hyp.warmup_momentum, self.resolved.momentum);
            }
        }
    }

    fn forward_loss(&mut self, batch: &TrainBatch) -> Result<LossOutput> {
        let amp = self.scaler.enabled;
        let model = &self.model;
        let out = tch::autocast(amp, || model.forward_t(&batch.images, true))?;
        compute_loss(&self.criterion, &out, &batch.targets)
    }

    /// Unscale, clip, step, zero, EMA (Ultralytics' `optimizer_step`).
    fn optimizer_step(&mut self) {
        let finite = self.scaler.unscale(self.opt.tensors());
        if finite {
            clip_grad_norm(self.opt.tensors(), MAX_GRAD_NORM);
            self.opt.step();
        } else {
            tracing::warn!("non-finite gradients at loss scale {}: step skipped", self.scaler.scale);
        }
        self.scaler.update(finite);
        self.opt.zero_grad();
        if finite {
            self.ema.update();
        }
    }

    /// Validates the EMA model; returns the report and the mean validation losses.
    fn validate(&mut self) -> Result<(ValReport, Vec<f64>)> {
        let hyp = &self.cfg.hyp;
        let vcfg = ValConfig {
            imgsz: self.imgsz as i64,
            batch: (self.batch * 2).max(1),
            conf: hyp.conf.unwrap_or(af_core::hyperparams::DEFAULT_VAL_CONF),
            iou: hyp.iou.unwrap_or(af_core::hyperparams::DEFAULT_VAL_IOU),
            max_det: 300,
        };
        let n = loss_names(self.task).len();
        let mut sums = vec![0.0f64; n];
        let mut count = 0usize;
        let criterion = &self.val_criterion;
        let mut hook = |b: &ValBatch, out: &ModelOutput| -> Result<()> {
            let targets = match out {
                ModelOutput::Classify(_) => BatchTargets::Cls(b.cls.shallow_clone()),
                _ => BatchTargets::Det(Targets {
                    batch_idx: b.batch_idx.shallow_clone(),
                    cls: b.cls.shallow_clone(),
                    bboxes: b.bboxes.shallow_clone(),
                    masks: b.masks.as_ref().map(|m| m.shallow_clone()),
                }),
            };
            let l = compute_loss(criterion, out, &targets)?;
            for (s, (_, v)) in sums.iter_mut().zip(l.values()) {
                *s += v;
            }
            count += 1;
            Ok(())
        };
        let report = match &self.data {
            Data::Detect { val, .. } => validate_detect(&self.ema.model, val, &self.names, &vcfg, Some(&mut hook))?,
            Data::Classify { val, .. } => validate_classify(&self.ema.model, val, &self.names, &vcfg, Some(&mut hook))?,
        };
        let losses = sums.iter().map(|s| s / count.max(1) as f64).collect();
        Ok((report, losses))
    }

    /// Writes `last` (+ optimiser state unless the run is done) and, when best, `best`.
    fn save(&self, epoch: usize, fitness: Option<f64>, metrics: &BTreeMap<String, f64>, is_best: bool, done: bool) -> Result<()> {
        let meta = SaveMeta { spec: Some(self.spec), names: Some(self.names.clone()), imgsz: Some(self.imgsz as i64) };
        weights::save(&self.ema.vs, self.paths.last(), &meta)?;
        let optim_name = self.paths.last_optim().file_name().map(|f| f.to_string_lossy().into_owned());
        if done {
            let _ = std::fs::remove_file(self.paths.last_optim());
        } else {
            self.opt.save_with_model(&self.paths.last_optim(), &self.vs)?;
        }
        let info = CheckpointInfo {
            epoch,
            epochs: self.epochs,
            task: self.task,
            names: self.names.clone(),
            imgsz: self.imgsz,
            fitness,
            best_fitness: self.best_fitness,
            metrics: metrics.clone(),
            optimizer_state: if done { None } else { optim_name },
            optimizer: self.resolved.rule.name().to_string(),
            ema_updates: self.ema.updates,
            scaler: self.scaler,
            stopper: self.stopper,
            config: self.cfg.clone(),
            saved_at_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            engine_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        info.write(&self.paths.last_info())?;
        if is_best {
            weights::save(&self.ema.vs, self.paths.best(), &meta)?;
            CheckpointInfo { optimizer_state: None, ..info }.write(&self.paths.best_info())?;
        }
        Ok(())
    }
}

fn compute_loss(criterion: &Criterion, out: &ModelOutput, targets: &BatchTargets) -> Result<LossOutput> {
    match (criterion, out, targets) {
        (Criterion::Detect(l), ModelOutput::Detect(d), BatchTargets::Det(t)) => Ok(l.compute(d, t)),
        (Criterion::Segment(l), ModelOutput::Segment(s), BatchTargets::Det(t)) => l.compute(s, t),
        (Criterion::Classify, ModelOutput::Classify(c), BatchTargets::Cls(y)) => Ok(classification_loss(&c.logits, y)),
        _ => Err(EngineError::invalid("model output, loss and targets belong to different tasks")),
    }
}

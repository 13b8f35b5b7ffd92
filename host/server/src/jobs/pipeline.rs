//! One job, start to end, on the worker that claimed it:
//!
//! 1. **prepare** — the projects' images and annotations are read from the database into
//!    plain records, and `af_dataset::prepare` runs the converter and splitter plugins and
//!    writes the Ultralytics layout under `<data>/datasets/job-<id>/` (on the blocking pool);
//!    the dataset and the plugins used are recorded.
//! 2. **train** — `af_engine::train` (or `resume`, when an earlier start left a checkpoint)
//!    runs on a blocking thread. Its events go through an unbounded channel (the trainer
//!    never waits for the database) to this task, which turns them into job events:
//!    `epoch_start`, throttled `batch_progress`, and at each epoch end the metrics formatter
//!    plugin's names, a `training_metrics` row and the job's progress, in one transaction.
//!    The job's stop flag is the trainer's cancel token: a cancel, a lost job or a shutdown
//!    stops it between two batches.
//! 3. **register** — the best weights are copied into the registry and the model row, the
//!    job's completion and `training_complete` are written in one transaction.
//!
//! Every write names this worker: if the job was taken away (re-queued after a missed
//! heartbeat) the writes do nothing and the run stops.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use af_core::{AnnotationData, JobStatus, TaskType};
use af_dataset::{AnnotationRecord, ImageRecord, PrepareRequest, SplitParams};
use af_db::jobs::{Job, JobUpdate, NewEpochMetrics};
use af_engine::train::{CheckpointInfo, ResumeOptions, RunPaths, TrainConfig, TrainEvent, TrainOutcome};
use af_engine::EngineError;
use af_plugin_host::bindings::formatter::{Direction, FormatRequest, MetricGroup, RawMetric};
use af_plugin_host::Kind;

use super::config::{JobConfig, PluginSelection};
use super::events::{JobEvent, MetricInfo};
use super::{messages, registry, StopFlag, StopReason};
use crate::plugins::ResolvedPlugins;
use crate::state::AppState;

/// Why a job did not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// Stopped on purpose (cancel, lost, shutdown).
    Stopped(StopReason),
    /// Failed; the message is for the user.
    Failed(String),
}

fn failed(message: impl Into<String>) -> JobError {
    JobError::Failed(message.into())
}

/// A failure of the server's own machinery (database, storage, a crashed thread) while doing
/// `what`: logged with its cause; the job's reason says it was the server's fault.
fn server_fault(what: &str, cause: impl std::fmt::Display) -> JobError {
    failed(messages::internal(what, &cause))
}

/// The job being run and where it writes.
struct Ctx<'a> {
    state: &'a AppState,
    worker: &'a str,
    job: Job,
    config: JobConfig,
    flag: StopFlag,
}

impl Ctx<'_> {
    fn id(&self) -> i64 {
        self.job.id
    }

    /// Returns early once the job was told to stop.
    fn check(&self) -> Result<(), JobError> {
        match self.flag.reason() {
            Some(reason) if self.flag.is_stopped() => Err(JobError::Stopped(reason)),
            _ => Ok(()),
        }
    }

    fn lost(&self) -> JobError {
        self.flag.stop(StopReason::Lost);
        JobError::Stopped(StopReason::Lost)
    }

    /// Stores and publishes an event; a job this worker lost stops the run.
    /// Log messages lose the server's paths (the engine's warnings name files).
    async fn emit(&self, event: JobEvent) -> Result<(), JobError> {
        let event = match event {
            JobEvent::Log { level, message } => JobEvent::Log { level, message: messages::redact(self.state, &message) },
            other => other,
        };
        match self.state.jobs.append(&self.state.db, self.id(), self.worker, &event).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(self.lost()),
            Err(e) => Err(server_fault("recording a job event", e)),
        }
    }
}

/// Runs a claimed job. `Ok` means completed and registered.
pub async fn run(state: &AppState, worker: &str, job: Job, flag: StopFlag) -> Result<(), JobError> {
    let config: JobConfig =
        serde_json::from_value(job.config.0.clone()).map_err(|e| server_fault("reading the job's stored config", e))?;
    // Checked again when a worker starts (or resumes) the job: this worker's limits may be
    // lower than those of the server that queued it, or an admin lowered them since.
    if let Some(over) = super::limits::check(&state.config.limits, &config).first() {
        return Err(failed(format!("this job is over the limits of the worker that picked it up: {}", over.field_error())));
    }
    let ctx = Ctx { state, worker, job, config, flag };
    let plugins = job_plugins(&ctx).await?;

    let run_dir = state.storage.job_run_dir(ctx.id());
    let paths = RunPaths::new(&run_dir);
    let checkpoint = (ctx.job.attempts > 1).then(|| CheckpointInfo::read(&paths.last_info()).ok()).flatten();
    let stored = af_db::jobs::dataset(&state.db, ctx.id()).await.map_err(|e| server_fault("reading the job's dataset", e))?;
    let data = match (&checkpoint, stored) {
        (Some(info), Some(d)) if Path::new(&d.dataset_path).is_dir() => {
            ctx.emit(JobEvent::info(format!(
                "resuming after epoch {} of {} from the last checkpoint, on the dataset prepared earlier",
                info.epoch, info.epochs
            )))
            .await?;
            data_path(ctx.config.task_type, Path::new(&d.dataset_path))
        }
        _ => {
            // A fresh start (or nothing usable left by an earlier one).
            remove_dir(&run_dir);
            prepare(&ctx, &plugins).await?
        }
    };
    ctx.check()?;
    let to_training = JobUpdate { from: &[JobStatus::Preparing], worker_id: Some(worker), status: Some(JobStatus::Training), ..Default::default() };
    let event = JobEvent::status(JobStatus::Training, Some(JobStatus::Preparing), None);
    state
        .jobs
        .update(&state.db, ctx.id(), &to_training, Some(&event))
        .await
        .map_err(|e| server_fault("recording the job's status", e))?
        .ok_or_else(|| ctx.lost())?;

    let (outcome, base) = train(&ctx, &plugins, data, &paths, checkpoint).await?;
    register(&ctx, &plugins, outcome, base).await?;
    remove_dir(&run_dir);
    Ok(())
}

/// The plugins this run uses, recorded on the job at once. A job that already recorded its
/// plugins (resumed after its worker died or the server restarted) keeps exactly those,
/// whatever the defaults are now; otherwise the registry resolves the config now, so a default
/// changed while the job was queued applies to it (hot-swap, no restart).
async fn job_plugins(ctx: &Ctx<'_>) -> Result<ResolvedPlugins, JobError> {
    let state = ctx.state;
    let recorded: Vec<af_dataset::PluginUse> = match &ctx.job.plugins {
        Some(v) => serde_json::from_value(v.0.clone()).map_err(|e| server_fault("reading the job's recorded plugins", e))?,
        None => Vec::new(),
    };
    let config = if recorded.is_empty() { ctx.config.clone() } else { pinned(&ctx.config, &recorded) };
    let plugins = state.plugins.resolve(&state.db, &config).await.map_err(|e| match (e, recorded.is_empty()) {
        (crate::error::AppError::Internal(e), _) => server_fault("choosing the job's plugins", e),
        (e, true) => failed(format!("choosing the job's plugins failed: {e}")),
        (e, false) => failed(format!("a plugin this job started with is no longer usable: {e}")),
    })?;
    let uses = plugins.uses_json();
    let record = JobUpdate { from: &[JobStatus::Preparing, JobStatus::Training], worker_id: Some(ctx.worker), plugins: Some(&uses), ..Default::default() };
    state.jobs.update(&state.db, ctx.id(), &record, None).await.map_err(|e| server_fault("recording the job's plugins", e))?.ok_or_else(|| ctx.lost())?;
    Ok(plugins)
}

/// `config` with each plugin pinned to the name, version and options the job recorded.
fn pinned(config: &JobConfig, recorded: &[af_dataset::PluginUse]) -> JobConfig {
    let mut config = config.clone();
    for u in recorded {
        let sel = Some(PluginSelection { id: None, name: Some(u.name.clone()), version: Some(u.version.clone()), options: u.options.clone() });
        match u.kind {
            Kind::Converter => config.plugins.converter = sel,
            Kind::Splitter => config.plugins.splitter = sel,
            Kind::Formatter => config.plugins.formatter = sel,
        }
    }
    config
}

fn remove_dir(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %dir.display(), error = %e, "removing a job directory");
        }
    }
}

/// What the trainer reads: `data.yaml` for detect/segment, the ImageFolder root for classify.
fn data_path(task: TaskType, root: &Path) -> PathBuf {
    match task {
        TaskType::Classify => root.to_path_buf(),
        TaskType::Detect | TaskType::Segment => root.join("data.yaml"),
    }
}

/// Reads the records, prepares the dataset with the plugins and records it.
async fn prepare(ctx: &Ctx<'_>, plugins: &ResolvedPlugins) -> Result<PathBuf, JobError> {
    let state = ctx.state;
    let db_err = |e: af_db::DbError| server_fault("reading the projects' images and annotations", e);
    let mut images = Vec::new();
    let mut annotations = Vec::new();
    let mut unreadable = 0usize;
    for &project in &ctx.config.projects {
        for i in af_db::images::list_all(&state.db, project).await.map_err(db_err)? {
            let path = state.storage.image_file(&i.storage_key).map_err(|e| server_fault(&format!("finding the file of image {}", i.id), e))?;
            images.push(ImageRecord {
                id: i.id,
                project_id: i.project_id,
                path,
                width: i.width as u32,
                height: i.height as u32,
                class_label: i.class_label,
                metadata: BTreeMap::new(),
            });
        }
        for a in af_db::annotations::list_all_by_project(&state.db, project).await.map_err(db_err)? {
            match AnnotationData::parse(a.ty, &a.data.0) {
                Ok(data) => annotations.push(AnnotationRecord { id: a.id, image_id: a.image_id, annotation_type: a.ty, data, class_label: a.class_label }),
                Err(_) => unreadable += 1,
            }
        }
    }
    ctx.check()?;
    let out_dir = state.storage.job_dataset_dir(ctx.id());
    remove_dir(&out_dir);
    let config = ctx.config.clone();
    let (converter, splitter) = (plugins.converter.clone(), plugins.splitter.clone());
    let dir = out_dir.clone();
    let summary = tokio::task::spawn_blocking(move || {
        af_dataset::prepare(&PrepareRequest {
            task: config.task_type,
            images: &images,
            annotations: &annotations,
            annotation_types: &config.annotation_types,
            class_mapping: &config.class_mapping,
            class_names: Some(&config.class_names),
            split: SplitParams {
                train_ratio: config.split.train_ratio,
                val_ratio: config.split.val_ratio,
                test_ratio: config.split.test_ratio,
                random_seed: config.split.random_seed,
            },
            converter: &converter,
            splitter: &splitter,
            out_dir: &dir,
            threads: 0,
        })
    })
    .await
    .map_err(|e| server_fault("preparing the dataset", e))?
    .map_err(|e| {
        remove_dir(&out_dir);
        match e {
            // Reading an image or writing the dataset: the server's files, not the user's choices.
            af_dataset::DatasetError::Io { .. } | af_dataset::DatasetError::OutputNotEmpty(_) => server_fault("writing the dataset", e),
            e => {
                tracing::warn!(error = %e, "preparing the dataset failed");
                failed(format!("preparing the dataset failed: {}", messages::redact(state, &e.to_string())))
            }
        }
    })?;

    let report = serde_json::to_value(&summary.report).expect("reports serialise");
    let uses = plugins.uses_json();
    let row = af_db::jobs::Dataset {
        job_id: ctx.id(),
        project_ids: af_db::Json(ctx.config.projects.clone()),
        total_images: summary.total_images as i64,
        train_images: summary.train_images as i64,
        val_images: summary.val_images as i64,
        class_mapping: af_db::Json(serde_json::to_value(&ctx.config.class_mapping).expect("serialises")),
        class_names: Some(af_db::Json(summary.class_names.clone())),
        annotation_types: af_db::Json(serde_json::to_value(&ctx.config.annotation_types).expect("serialises")),
        dataset_path: summary.dataset_path.display().to_string(),
        report: Some(af_db::Json(report)),
        plugins: Some(af_db::Json(uses)),
        created_at: chrono::Utc::now(),
    };
    af_db::jobs::save_dataset(&state.db, &row).await.map_err(|e| server_fault("recording the dataset", e))?;
    let skipped: usize = summary.report.skipped_annotations.values().sum::<usize>() + unreadable;
    let mut message = format!(
        "dataset ready: {} images ({} train, {} val{}), {} classes",
        summary.total_images,
        summary.train_images,
        summary.val_images,
        if summary.test_images > 0 { format!(", {} test", summary.test_images) } else { String::new() },
        summary.class_names.len()
    );
    if skipped > 0 {
        message.push_str(&format!("; {skipped} annotations skipped (see the dataset report)"));
    }
    ctx.emit(JobEvent::info(message)).await?;
    Ok(data_path(ctx.config.task_type, &summary.dataset_path))
}

/// Formats raw engine metrics with the job's formatter plugin (on the blocking pool).
async fn format_metrics(plugins: &ResolvedPlugins, task: TaskType, raw: &BTreeMap<String, f64>) -> Result<(BTreeMap<String, f64>, Vec<MetricInfo>, Option<f64>), JobError> {
    let plugin = plugins.formatter.plugin.clone();
    let options = plugins.formatter.options.clone();
    let request = RawMetricRequest { task, metrics: raw.iter().map(|(k, v)| (k.clone(), *v)).collect() };
    tokio::task::spawn_blocking(move || {
        let settings = plugin.resolve_options(&options).map_err(|e| e.to_string())?;
        let req = FormatRequest {
            task: af_plugin_host::task_type(request.task),
            metrics: request.metrics.into_iter().map(|(name, value)| RawMetric { name, value }).collect(),
            options: settings,
        };
        let out = plugin.call::<af_plugin_host::Formatter>(&req).map_err(|e| e.to_string())?;
        let mut values = BTreeMap::new();
        let mut info = Vec::new();
        for m in out.metrics {
            values.insert(m.key.clone(), m.value);
            info.push(MetricInfo {
                name: m.key,
                label: m.label,
                group: match m.group {
                    MetricGroup::Loss => "loss",
                    MetricGroup::Quality => "quality",
                    MetricGroup::LearningRate => "learning_rate",
                    MetricGroup::Other => "other",
                }
                .to_string(),
                higher_is_better: match m.direction {
                    Direction::Maximize => Some(true),
                    Direction::Minimize => Some(false),
                    Direction::Neutral => None,
                },
            });
        }
        Ok((values, info, out.fitness))
    })
    .await
    .map_err(|e| server_fault("running the metrics formatter", e))?
    .map_err(|e: String| failed(format!("the metrics formatter plugin failed: {e}")))
}

struct RawMetricRequest {
    task: TaskType,
    metrics: Vec<(String, f64)>,
}

/// The training and validation loss of an epoch: the sum of the task's loss terms.
fn loss_sum(raw: &BTreeMap<String, f64>, prefix: &str) -> Option<f64> {
    let terms: Vec<f64> = raw.iter().filter(|(k, _)| k.starts_with(prefix) && k.ends_with("loss")).map(|(_, v)| *v).collect();
    (!terms.is_empty()).then(|| terms.iter().sum())
}

/// Puts a registered base model where the engine looks for pretrained weights: a directory
/// holding `<model_type>.safetensors`.
async fn stage_base_model(ctx: &Ctx<'_>, run_dir: &Path) -> Result<Option<(PathBuf, String)>, JobError> {
    let Some(base_id) = ctx.config.base_model else { return Ok(None) };
    let model = af_db::models::get(&ctx.state.db, base_id)
        .await
        .map_err(|_| failed(format!("the base model {base_id} no longer exists")))?;
    let staging = format!("preparing the base model {base_id}");
    let src = ctx.state.storage.model_file(&model.model_path).map_err(|e| server_fault(&staging, e))?;
    if !src.is_file() {
        tracing::error!(model = base_id, path = %src.display(), "the base model's weights file is missing");
        return Err(failed(format!(
            "the weights file of the base model {base_id} ({}) is missing on the server; choose another base model, or ask an admin to restore it",
            model.name
        )));
    }
    let dir = run_dir.join("base");
    std::fs::create_dir_all(&dir).map_err(|e| server_fault(&staging, format!("creating {}: {e}", dir.display())))?;
    let dest = dir.join(format!("{}.safetensors", model.model_type));
    if std::fs::hard_link(&src, &dest).is_err() {
        std::fs::copy(&src, &dest).map_err(|e| server_fault(&staging, format!("copying {} to {}: {e}", src.display(), dest.display())))?;
    }
    Ok(Some((dir, format!("model {base_id} ({})", model.name))))
}

/// Trains (or resumes) on a blocking thread, turning its events into job events.
async fn train(
    ctx: &Ctx<'_>,
    plugins: &ResolvedPlugins,
    data: PathBuf,
    paths: &RunPaths,
    checkpoint: Option<CheckpointInfo>,
) -> Result<(TrainOutcome, String), JobError> {
    let settings = &ctx.state.config.jobs;
    let device = ctx.state.config.device.to_string();
    let token = ctx.flag.token();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<TrainEvent>();
    let finished_checkpoint = checkpoint.as_ref().is_some_and(|c| c.epoch >= c.epochs);
    let base_dir = stage_base_model(ctx, &paths.dir).await?;
    let weights_dir = base_dir.as_ref().map(|(d, _)| d.clone()).unwrap_or_else(|| settings.weights_dir.clone());
    let mut cfg = TrainConfig::new(ctx.config.task_type, data.clone(), paths.dir.clone(), ctx.config.hyperparameters.clone());
    cfg.device = device.clone();
    cfg.weights_dir = Some(weights_dir);
    let run_dir = paths.dir.clone();
    let resume = checkpoint.is_some();
    let blocking = tokio::task::spawn_blocking(move || {
        let mut sink = |e: &TrainEvent| {
            // Unbounded: the trainer never waits for the job's database writes.
            let _ = tx.send(e.clone());
        };
        if finished_checkpoint {
            return finished_outcome(&run_dir);
        }
        if resume {
            let opts = ResumeOptions { device: Some(device), data: Some(data), ..Default::default() };
            af_engine::train::resume(&run_dir, opts, &mut sink, &token)
        } else {
            af_engine::train::train(cfg, &mut sink, &token)
        }
    });

    let total_epochs = ctx.config.epochs();
    let mut base = base_dir.map(|(_, b)| b).unwrap_or_default();
    let mut last_batch_event: Option<Instant> = None;
    let mut error: Option<JobError> = None;
    while let Some(event) = rx.recv().await {
        if error.is_some() {
            continue; // drain while the trainer stops
        }
        let handled = handle_event(ctx, plugins, event, total_epochs, &mut last_batch_event, &mut base).await;
        if let Err(e) = handled {
            ctx.flag.token().cancel();
            error = Some(e);
        }
    }
    let result = blocking.await.map_err(|e| server_fault("training (the trainer crashed)", e))?;
    if let Some(e) = error {
        return Err(e);
    }
    match result {
        Ok(outcome) => Ok((outcome, base)),
        Err(EngineError::Cancelled) => Err(JobError::Stopped(ctx.flag.reason().unwrap_or(StopReason::Cancelled))),
        Err(e) => {
            tracing::warn!(job = ctx.id(), error = %e, "training failed");
            Err(failed(messages::redact(ctx.state, &explain(&e, &ctx.config))))
        }
    }
}

/// The outcome of a run whose checkpoint says every epoch is done (the worker died between
/// the last epoch and registering the model).
fn finished_outcome(run_dir: &Path) -> af_engine::Result<TrainOutcome> {
    let paths = RunPaths::new(run_dir);
    let best = CheckpointInfo::read(&paths.best_info())?;
    let last = CheckpointInfo::read(&paths.last_info())?;
    Ok(TrainOutcome {
        task: best.task,
        names: best.names.clone(),
        imgsz: best.imgsz,
        run_dir: run_dir.to_path_buf(),
        best: paths.best(),
        last: paths.last(),
        results_csv: paths.results(),
        epochs_completed: last.epoch,
        best_epoch: best.epoch,
        final_metrics: best.metrics.clone(),
        best_fitness: best.fitness.unwrap_or_default(),
        stopped_early: last.epoch < last.epochs,
        train_seconds: 0.0,
    })
}

async fn handle_event(
    ctx: &Ctx<'_>,
    plugins: &ResolvedPlugins,
    event: TrainEvent,
    total_epochs: u32,
    last_batch_event: &mut Option<Instant>,
    base: &mut String,
) -> Result<(), JobError> {
    let state = ctx.state;
    match event {
        TrainEvent::Started { device, model, base: from, optimizer, start_epoch, train_images, val_images, .. } => {
            // The model's lineage and the job log name weights files, not where they are.
            let from = messages::redact(state, &from);
            if base.is_empty() {
                *base = from.clone();
            }
            let update = JobUpdate { from: &[JobStatus::Training], worker_id: Some(ctx.worker), device: Some(&device), ..Default::default() };
            state
                .jobs
                .update(&state.db, ctx.id(), &update, None)
                .await
                .map_err(|e| server_fault("recording the job's device", e))?
                .ok_or_else(|| ctx.lost())?;
            let start = if start_epoch > 1 { format!(", resuming at epoch {start_epoch}") } else { String::new() };
            ctx.emit(JobEvent::info(format!(
                "training {model} on {device} ({train_images} train / {val_images} val images{start}); initial weights: {from}; optimizer {optimizer}"
            )))
            .await
        }
        TrainEvent::Warning { message } => ctx.emit(JobEvent::warning(message)).await,
        TrainEvent::EpochStart { epoch, epochs, .. } => {
            *last_batch_event = Some(Instant::now());
            ctx.emit(JobEvent::EpochStart { epoch: epoch as u32, total_epochs: epochs as u32 }).await
        }
        TrainEvent::Batch { epoch, epochs, batch, batches, losses, .. } => {
            let due = last_batch_event.is_none_or(|t| t.elapsed() >= state.config.jobs.batch_event_interval);
            if !due {
                return Ok(());
            }
            *last_batch_event = Some(Instant::now());
            let done = (epoch as f64 - 1.0 + batch as f64 / batches.max(1) as f64) / epochs.max(1) as f64;
            let loss = (!losses.is_empty()).then(|| losses.values().sum::<f64>());
            ctx.emit(JobEvent::BatchProgress {
                epoch: epoch as u32,
                batch: batch as u32,
                total_batches: batches as u32,
                loss,
                progress_percent: (done * 100.0 * 100.0).round() / 100.0,
            })
            .await
        }
        TrainEvent::EpochEnd { epoch, epochs, metrics, epoch_time_seconds, .. } => {
            let recorded = epoch_end(state, ctx.worker, ctx.id(), plugins, ctx.config.task_type, epoch, epochs.max(total_epochs as usize), &metrics, epoch_time_seconds).await?;
            if recorded {
                Ok(())
            } else {
                Err(ctx.lost())
            }
        }
        TrainEvent::Validating { .. } | TrainEvent::Checkpoint { .. } | TrainEvent::Finished { .. } => Ok(()),
    }
}

/// What a worker does when an epoch ends: the formatter names the raw metrics, then the
/// epoch's row, the job's progress and `epoch_complete` are written in one transaction and
/// the event is published. `false` when the worker no longer holds the job.
#[allow(clippy::too_many_arguments)]
async fn epoch_end(
    state: &AppState,
    worker: &str,
    job_id: i64,
    plugins: &ResolvedPlugins,
    task: TaskType,
    epoch: usize,
    epochs: usize,
    raw: &BTreeMap<String, f64>,
    epoch_time_seconds: f64,
) -> Result<bool, JobError> {
    let (named, info, fitness) = format_metrics(plugins, task, raw).await?;
    let progress = (epoch as f64 / epochs.max(1) as f64 * 10_000.0).round() / 100.0;
    let row = NewEpochMetrics {
        epoch: epoch as i64,
        train_loss: loss_sum(raw, "train/"),
        val_loss: loss_sum(raw, "val/"),
        metrics: serde_json::to_value(&named).expect("serialises"),
        epoch_time_seconds: Some(epoch_time_seconds),
    };
    let event = JobEvent::EpochComplete {
        epoch: epoch as u32,
        total_epochs: epochs as u32,
        metrics: named,
        metric_info: info,
        epoch_time_seconds,
        fitness,
        progress_percent: progress,
    };
    match af_db::jobs::record_epoch(&state.db, job_id, worker, &row, progress, &event.to_new()).await {
        Ok(Some(stored)) => {
            state.jobs.hub.publish(&stored);
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(e) => Err(server_fault(&format!("recording epoch {epoch}"), e)),
    }
}

/// For the benchmark: the plugins a config resolves to.
pub async fn bench_plugins(state: &AppState, config: &JobConfig) -> anyhow::Result<ResolvedPlugins> {
    state.plugins.resolve(&state.db, config).await.map_err(|e| anyhow::anyhow!("{e}"))
}

/// For the benchmark: exactly what a worker does at an epoch end (format, record, publish).
pub async fn bench_epoch_end(
    state: &AppState,
    worker: &str,
    job_id: i64,
    plugins: &ResolvedPlugins,
    epoch: usize,
    epochs: usize,
    raw: BTreeMap<String, f64>,
) -> anyhow::Result<()> {
    match epoch_end(state, worker, job_id, plugins, TaskType::Detect, epoch, epochs, &raw, 1.0).await {
        Ok(true) => Ok(()),
        Ok(false) => anyhow::bail!("the job is not held by {worker}"),
        Err(e) => anyhow::bail!("{e:?}"),
    }
}

/// Copies the best weights into the registry and completes the job with its model.
async fn register(ctx: &Ctx<'_>, plugins: &ResolvedPlugins, outcome: TrainOutcome, base: String) -> Result<(), JobError> {
    let state = ctx.state;
    let (final_metrics, _, _) = format_metrics(plugins, ctx.config.task_type, &outcome.final_metrics).await?;
    let key = format!("job-{}-{}.safetensors", ctx.id(), ctx.job.attempts);
    let storage = state.storage.clone();
    let (src, k) = (outcome.best.clone(), key.clone());
    let (size, sha) = tokio::task::spawn_blocking(move || storage.put_model(&src, &k))
        .await
        .map_err(|e| server_fault("storing the trained weights", e))?
        .map_err(|e| server_fault("storing the trained weights", format!("{e:#}")))?;
    let dataset = af_db::jobs::dataset(&state.db, ctx.id()).await.map_err(|e| server_fault("reading the job's dataset", e))?.map(|d| {
        serde_json::json!({
            "total_images": d.total_images,
            "train_images": d.train_images,
            "val_images": d.val_images,
            "class_mapping": d.class_mapping.0,
            "class_names": d.class_names.map(|n| n.0),
            "annotation_types": d.annotation_types.0,
            "project_ids": d.project_ids.0,
            "classes": d.report.as_ref().map(|r| r.0["classes"].clone()),
        })
    });
    let model_name = ctx.config.hyperparameters.model_or_default(ctx.config.task_type);
    let new = af_db::models::NewModel {
        training_job_id: Some(ctx.id()),
        name: ctx.config.name.clone(),
        description: ctx.config.description.clone(),
        task_type: ctx.config.task_type,
        model_path: key.clone(),
        model_type: registry::model_type(&model_name),
        image_size: i64::from(outcome.imgsz),
        classes: outcome.names.clone(),
        performance_metrics: Some(serde_json::to_value(&final_metrics).expect("serialises")),
        created_by: ctx.job.created_by,
        config: Some(ctx.job.config.0.clone()),
        dataset,
        plugins: Some(plugins.uses_json()),
        base_model_id: ctx.config.base_model,
        base_weights: Some(base),
        file_size: Some(size as i64),
        sha256: Some(sha),
        project_ids: ctx.config.projects.clone(),
    };
    let metrics_json = serde_json::to_value(&final_metrics).expect("serialises");
    let completed = af_db::models::complete_job(&state.db, ctx.id(), ctx.worker, &new, &metrics_json, |m| {
        JobEvent::TrainingComplete { final_metrics: final_metrics.clone(), model_id: m.id, model_name: m.name.clone() }.to_new()
    })
    .await;
    match completed {
        Ok(Some((job, model, event))) => {
            state.jobs.hub.publish(&event);
            tracing::info!(job = job.id, model = model.id, name = %model.name, "training job completed; model registered");
            Ok(())
        }
        Ok(None) => {
            let _ = state.storage.remove_model(&key);
            Err(ctx.lost())
        }
        Err(e) => {
            let _ = state.storage.remove_model(&key);
            Err(server_fault("registering the model", e))
        }
    }
}

/// An engine error in words a user can act on. Libtorch's own messages (C++ frames, source
/// locations) and file-system errors stay in the log; the caller also strips server paths.
fn explain(e: &EngineError, config: &JobConfig) -> String {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let hp = &config.hyperparameters;
    if lower.contains("out of memory") || lower.contains("can't allocate memory") || lower.contains("cannot allocate memory") {
        return format!(
            "training ran out of memory (batch {}, imgsz {}, model {}): lower `batch` or `imgsz`, or choose a smaller model",
            hp.batch,
            config.imgsz(),
            hp.model_or_default(config.task_type)
        );
    }
    match e {
        EngineError::Device { .. } => format!("{text} — change the server's device setting (AF_DEVICE) or run the job on a machine with that device"),
        EngineError::Dataset { message, .. } => format!("the prepared dataset could not be read: {message}"),
        EngineError::Weights { path, message } => {
            let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| "the weights file".into());
            format!("the initial weights ({file}) could not be used: {message}; choose another base model or train from scratch (a `.yaml` model)")
        }
        EngineError::Io { source, .. } => format!(
            "training could not read or write its files on the server ({}); try again, or ask an admin to check the server's disk",
            io_kind(source)
        ),
        EngineError::Torch(_) => "training failed inside libtorch (the server log has the details); try a smaller batch or imgsz, \
             or ask an admin if it keeps failing"
            .to_string(),
        EngineError::Image { .. } | EngineError::InvalidInput(_) | EngineError::Cancelled => format!("training failed: {text}"),
    }
}

/// An I/O error's kind in words (`no such file`, `permission denied`), without the OS's code.
fn io_kind(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "a file was missing".into(),
        PermissionDenied => "permission denied".into(),
        StorageFull => "the disk is full".into(),
        other => other.to_string(),
    }
}

//! `annotateforge train --task detect --data data.yaml --model yolov8n.yaml --epochs 30
//! --imgsz 320 --batch 16 [key=value …]`: trains without the server, printing Ultralytics'
//! progress line and per-epoch validation table, and writing `results.csv` and
//! `weights/{last,best}.safetensors` into `<project>/<name>` (`runs/train/exp`, `exp2`, …).
//!
//! Any hyperparameter can be given Ultralytics-style as `key=value` (`mosaic=0.5
//! cos_lr=true optimizer=SGD`); the common ones also have flags. `--resume <run dir |
//! last.safetensors>` continues an interrupted run.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use af_core::{Hyperparameters, TaskType};
use serde_json::{Map, Value};

use crate::error::{EngineError, Result};
use crate::loss::loss_names;
use crate::nn::parse_model_name;
use crate::train::{resume, train, CancelToken, ResumeOptions, TrainConfig, TrainEvent, TrainOutcome};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// `detect`, `segment` or `classify` (default: from the model name, else detect).
    #[arg(long)]
    pub task: Option<TaskType>,
    /// Detect/segment: `data.yaml` (or its folder). Classify: ImageFolder root with `train/`
    /// and `val/`.
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// `yolov8n.yaml` (scratch), `yolov8s-seg.pt` (pretrained if found in --weights-dir), …
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub epochs: Option<u32>,
    #[arg(long)]
    pub imgsz: Option<u32>,
    #[arg(long)]
    pub batch: Option<u32>,
    #[arg(long)]
    pub lr0: Option<f64>,
    /// `SGD`, `Adam`, `AdamW` or `auto`.
    #[arg(long)]
    pub optimizer: Option<String>,
    #[arg(long)]
    pub patience: Option<u32>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// `auto`, `cpu`, `cuda`, `cuda:N`.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Runs are written to `<project>/<name>`.
    #[arg(long, default_value = "runs/train")]
    pub project: PathBuf,
    #[arg(long, default_value = "exp")]
    pub name: String,
    /// Reuse `<project>/<name>` instead of picking `<name>2`, `<name>3`, ….
    #[arg(long)]
    pub exist_ok: bool,
    /// Folder of pretrained base weights (`yolov8n.pt` → `<dir>/yolov8n.safetensors`).
    #[arg(long, env = "AF_WEIGHTS_DIR")]
    pub weights_dir: Option<PathBuf>,
    /// Data loader threads (0: one per core, at most 8).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    /// libtorch CPU threads (0: every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Validate only the final epoch.
    #[arg(long)]
    pub no_val: bool,
    /// Full precision on CUDA (no autocast / gradient scaling).
    #[arg(long)]
    pub no_amp: bool,
    /// Continue the run in this directory (or from this `last.safetensors`).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Print every event as one JSON line instead of the progress display.
    #[arg(long)]
    pub json: bool,
    /// Further hyperparameters as `key=value` (Ultralytics names).
    #[arg(value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// Builds the hyperparameters from the flags and `key=value` overrides, naming bad ones.
pub fn hyperparameters(args: &Args) -> Result<Hyperparameters> {
    let mut m = Map::new();
    for kv in &args.overrides {
        let (k, v) = kv.split_once('=').ok_or_else(|| EngineError::invalid(format!("`{kv}` is not key=value")))?;
        let v = v.trim();
        let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.to_string()));
        m.insert(k.trim().to_string(), value);
    }
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    put("model", args.model.clone().map(Value::from));
    put("epochs", args.epochs.map(Value::from));
    put("imgsz", args.imgsz.map(Value::from));
    put("batch", args.batch.map(Value::from));
    put("lr0", args.lr0.map(Value::from));
    put("optimizer", args.optimizer.clone().map(Value::from));
    put("patience", args.patience.map(Value::from));
    put("seed", args.seed.map(Value::from));
    Hyperparameters::from_json(&Value::Object(m))
        .map_err(|errs| EngineError::invalid(errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")))
}

/// The task: `--task`, else the model name's, else classify for an ImageFolder, else detect.
fn task_of(args: &Args, hyp: &Hyperparameters) -> TaskType {
    if let Some(t) = args.task {
        return t;
    }
    if let Some((t, _)) = hyp.model.as_deref().and_then(|m| parse_model_name(m).ok()) {
        return t;
    }
    match &args.data {
        Some(d) if d.is_dir() && d.join("train").is_dir() && !d.join("data.yaml").exists() => TaskType::Classify,
        _ => TaskType::Detect,
    }
}

/// `<project>/<name>`, or the first free `<name>N` (N = 2, 3, …) unless `exist_ok`.
pub fn run_dir(project: &Path, name: &str, exist_ok: bool) -> PathBuf {
    let first = project.join(name);
    if exist_ok || !first.exists() {
        return first;
    }
    (2..).map(|i| project.join(format!("{name}{i}"))).find(|p| !p.exists()).expect("some free name")
}

/// Runs training (or resumes it) with the console display; returns the outcome.
pub fn run(args: Args) -> Result<TrainOutcome> {
    let cancel = CancelToken::new();
    let mut display = Display::new(args.json);
    let mut sink = |e: &TrainEvent| display.show(e);
    if let Some(from) = &args.resume {
        let opts = ResumeOptions {
            device: Some(args.device.clone()),
            workers: (args.workers > 0).then_some(args.workers),
            threads: (args.threads > 0).then_some(args.threads),
            data: args.data.clone(),
        };
        return resume(from, opts, &mut sink, &cancel);
    }
    let hyp = hyperparameters(&args)?;
    let task = task_of(&args, &hyp);
    let data = args.data.clone().ok_or_else(|| EngineError::invalid("--data is required"))?;
    let cfg = TrainConfig {
        device: args.device.clone(),
        weights_dir: args.weights_dir.clone(),
        workers: args.workers,
        threads: args.threads,
        val: !args.no_val,
        amp: !args.no_amp,
        ..TrainConfig::new(task, data, run_dir(&args.project, &args.name, args.exist_ok), hyp)
    };
    train(cfg, &mut sink, &cancel)
}

/// Ultralytics-like console output: a progress line per epoch (redrawn on a terminal) and the
/// validation summary under it.
struct Display {
    json: bool,
    tty: bool,
    task: TaskType,
    losses: Vec<String>,
    val_images: usize,
    epoch_start: Instant,
}

impl Display {
    fn new(json: bool) -> Self {
        Display { json, tty: std::io::stderr().is_terminal(), task: TaskType::Detect, losses: vec![], val_images: 0, epoch_start: Instant::now() }
    }

    fn show(&mut self, e: &TrainEvent) {
        if self.json {
            println!("{}", serde_json::to_string(e).expect("serialisable"));
            return;
        }
        let mut err = std::io::stderr();
        match e {
            TrainEvent::Started { task, model, device, train_images, val_images, base, optimizer, run_dir, epochs, start_epoch, imgsz, .. } => {
                self.task = *task;
                self.losses = loss_names(*task).iter().map(|s| s.to_string()).collect();
                self.val_images = *val_images;
                let _ = writeln!(err, "{model} on {device}: {base}");
                let _ = writeln!(err, "optimizer: {optimizer}");
                let _ = writeln!(err, "{train_images} train, {val_images} val images at imgsz={imgsz}; logging to {}", run_dir.display());
                let _ = writeln!(err, "training epochs {start_epoch}..={epochs}");
            }
            TrainEvent::Warning { message } => {
                let _ = writeln!(err, "WARNING: {message}");
            }
            TrainEvent::EpochStart { .. } => {
                self.epoch_start = Instant::now();
                let mut head = format!("\n{:>11}{:>11}", "Epoch", "GPU_mem");
                for l in &self.losses {
                    head.push_str(&format!("{l:>11}"));
                }
                head.push_str(&format!("{:>11}{:>11}", "Instances", "Size"));
                let _ = writeln!(err, "{head}");
            }
            TrainEvent::Batch { epoch, epochs, batch, batches, losses, instances, imgsz, images_per_second } => {
                if !self.tty && batch != batches {
                    return;
                }
                let mut line = format!("{:>11}{:>11}", format!("{epoch}/{epochs}"), "0G");
                for l in &self.losses {
                    line.push_str(&format!("{:>11.4}", losses.get(&format!("train/{l}")).copied().unwrap_or(0.0)));
                }
                let done = batch * 20 / batches.max(&1);
                let bar: String = "█".repeat(done) + &" ".repeat(20 - done);
                line.push_str(&format!(
                    "{instances:>11}{imgsz:>11}: {:>3}%|{bar}| {batch}/{batches} {:.1}s {images_per_second:.1}img/s",
                    batch * 100 / batches.max(&1),
                    self.epoch_start.elapsed().as_secs_f64()
                ));
                if self.tty {
                    let _ = write!(err, "\r{line}");
                    if batch == batches {
                        let _ = writeln!(err);
                    }
                } else {
                    let _ = writeln!(err, "{line}");
                }
            }
            TrainEvent::EpochEnd { metrics, epoch_time_seconds, fitness, .. } => {
                if fitness.is_some() {
                    let _ = write!(err, "{}", val_table(self.task, self.val_images, metrics));
                }
                let _ = writeln!(err, "{:>22} {epoch_time_seconds:.1}s", "epoch time");
            }
            TrainEvent::Finished { outcome } => {
                let _ = writeln!(
                    err,
                    "\n{} epochs completed in {:.3} hours{}.\nbest epoch {} (fitness {:.5}): {}\nresults saved to {}",
                    outcome.epochs_completed,
                    outcome.train_seconds / 3600.0,
                    if outcome.stopped_early { " (stopped early)" } else { "" },
                    outcome.best_epoch,
                    outcome.best_fitness,
                    outcome.best.display(),
                    outcome.run_dir.display()
                );
            }
            TrainEvent::Validating { .. } | TrainEvent::Checkpoint { .. } => {}
        }
    }
}

/// The validation summary row(s) Ultralytics prints after each epoch.
pub fn val_table(task: TaskType, images: usize, m: &BTreeMap<String, f64>) -> String {
    let g = |k: &str| m.get(k).copied().unwrap_or(0.0);
    if task == TaskType::Classify {
        return format!(
            "{:>22}{:>11}{:>11}\n{:>22}{:>11.3}{:>11.3}\n",
            "classes", "top1_acc", "top5_acc", "all", g("metrics/accuracy_top1"), g("metrics/accuracy_top5")
        );
    }
    let kinds: &[(&str, char)] = if task == TaskType::Segment { &[("Box", 'B'), ("Mask", 'M')] } else { &[("Box", 'B')] };
    let mut head = format!("{:>22}{:>11}", "Class", "Images");
    let mut row = format!("{:>22}{:>11}", "all", images);
    for (name, s) in kinds {
        head.push_str(&format!("{:>11}{:>11}{:>11}{:>11}", format!("{name}(P"), "R", "mAP50", "mAP50-95)"));
        for k in ["precision", "recall", "mAP50", "mAP50-95"] {
            row.push_str(&format!("{:>11.3}", g(&format!("metrics/{k}({s})"))));
        }
    }
    format!("{head}\n{row}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(argv: &[&str]) -> Args {
        Cli::try_parse_from(std::iter::once("train").chain(argv.iter().copied())).unwrap().args
    }

    #[test]
    fn flags_and_key_values_make_hyperparameters() {
        let a = parse(&["--data", "d.yaml", "--model", "yolov8s-seg.yaml", "--epochs", "3", "mosaic=0.5", "cos_lr=true", "optimizer=SGD"]);
        let hyp = hyperparameters(&a).unwrap();
        assert_eq!((hyp.epochs, hyp.mosaic, hyp.cos_lr, hyp.optimizer), (3, 0.5, true, af_core::OptimizerKind::Sgd));
        assert_eq!(task_of(&a, &hyp), TaskType::Segment);
        let bad = parse(&["--data", "d.yaml", "mosiac=0.5"]);
        assert!(hyperparameters(&bad).unwrap_err().to_string().contains("hyperparameters.mosiac"));
        assert!(Cli::try_parse_from(["train", "--epochs", "3"]).is_err(), "--data or --resume is required");
        assert!(Cli::try_parse_from(["train", "--resume", "runs/train/exp"]).is_ok());
    }

    #[test]
    fn run_dirs_increment() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(run_dir(dir.path(), "exp", false), dir.path().join("exp"));
        std::fs::create_dir_all(dir.path().join("exp")).unwrap();
        std::fs::create_dir_all(dir.path().join("exp2")).unwrap();
        assert_eq!(run_dir(dir.path(), "exp", false), dir.path().join("exp3"));
        assert_eq!(run_dir(dir.path(), "exp", true), dir.path().join("exp"));
    }

    #[test]
    fn tables_name_the_metrics() {
        let m = BTreeMap::from([("metrics/mAP50(B)".to_string(), 0.5), ("metrics/mAP50-95(M)".to_string(), 0.25)]);
        let t = val_table(TaskType::Segment, 7, &m);
        assert!(t.contains("Mask(P") && t.contains("0.500") && t.contains("0.250"), "{t}");
    }
}

//! End-to-end training on tiny generated datasets: a model overfits, runs are reproducible,
//! resume continues where a run stopped, cancellation stops within a batch.

use std::path::{Path, PathBuf};

use af_core::{Hyperparameters, TaskType};

use super::*;
use crate::data::synth::{write_classify, write_detect, SynthSpec};

/// A detect/segment dataset whose val split is its train split (to measure fitting).
fn dataset(dir: &Path, n: usize, size: usize, polygons: bool) -> PathBuf {
    let spec = SynthSpec { objects: (1, 2), scale: (0.3, 0.5), polygons, seed: 3, ..SynthSpec::new(n, 2, size, 2) };
    let yaml = write_detect(dir, &spec).unwrap();
    let text = std::fs::read_to_string(&yaml).unwrap().replace("val: images/val", "val: images/train");
    std::fs::write(&yaml, text).unwrap();
    yaml
}

fn quick_hyp(epochs: u32, batch: u32, imgsz: u32) -> Hyperparameters {
    Hyperparameters {
        epochs,
        batch,
        nbs: batch,
        imgsz: Some(imgsz),
        model: Some("yolov8n.yaml".into()),
        warmup_epochs: 0.0,
        ..Hyperparameters::default()
    }
}

fn config(task: TaskType, data: &Path, run: &Path, hyp: Hyperparameters) -> TrainConfig {
    TrainConfig { device: "cpu".into(), workers: 2, ..TrainConfig::new(task, data, run, hyp) }
}

fn collect(events: &mut Vec<TrainEvent>) -> impl FnMut(&TrainEvent) + '_ {
    move |e| events.push(e.clone())
}

#[test]
fn a_tiny_detector_overfits_a_tiny_dataset() {
    // 64 images of one large shape at 64 px, no augmentation, an AdamW step per batch of 8:
    // 160 steps. From scratch a YOLO needs that many before its BatchNorm running statistics
    // (momentum 0.03) describe the network well enough for eval-mode predictions — Ultralytics
    // behaves the same on such a set — so only the final epoch is validated.
    const EPOCHS: u32 = 20;
    let dir = tempfile::tempdir().unwrap();
    let spec = SynthSpec { objects: (1, 1), scale: (0.4, 0.6), seed: 3, ..SynthSpec::new(64, 2, 64, 1) };
    let data = write_detect(dir.path(), &spec).unwrap();
    let text = std::fs::read_to_string(&data).unwrap().replace("val: images/val", "val: images/train");
    std::fs::write(&data, text).unwrap();
    let hyp = Hyperparameters {
        augment: false,
        optimizer: af_core::OptimizerKind::AdamW,
        lr0: 0.002,
        momentum: 0.9,
        ..quick_hyp(EPOCHS, 8, 64)
    };
    let mut events = vec![];
    let t = std::time::Instant::now();
    let cfg = TrainConfig { val: false, ..config(TaskType::Detect, &data, &dir.path().join("run"), hyp) };
    let out = train(cfg, &mut collect(&mut events), &CancelToken::new()).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let ends = epoch_ends(&events);
    let loss = |m: &std::collections::BTreeMap<String, f64>| m["train/box_loss"] + m["train/cls_loss"] + m["train/dfl_loss"];
    let (first, last) = (loss(&ends[0].1), loss(&ends[ends.len() - 1].1));
    let map50 = out.final_metrics["metrics/mAP50(B)"];
    eprintln!("overfit: loss {first:.3} → {last:.3}, mAP50 on the training images {map50:.3}, {secs:.1} s");
    assert!(last < 0.5 * first, "loss {first} → {last}");
    assert!(map50 > 0.5, "mAP50 on the training images {map50}");
    assert_eq!((out.epochs_completed, out.best_epoch), (EPOCHS as usize, EPOCHS as usize));
    assert!(ends[..ends.len() - 1].iter().all(|(_, m)| m["metrics/mAP50(B)"] == 0.0), "unvalidated epochs report zeros");
    // The saved model is usable as is.
    let loaded = crate::weights::load_model(&out.best, tch::Device::Cpu).unwrap();
    assert_eq!((loaded.names.as_deref(), loaded.imgsz), (Some(&["rectangle".to_string()][..]), Some(64)));
    let rows = std::fs::read_to_string(&out.results_csv).unwrap().lines().count();
    assert_eq!(rows, EPOCHS as usize + 1, "header + one row per epoch");
}

fn epoch_ends(events: &[TrainEvent]) -> Vec<(usize, std::collections::BTreeMap<String, f64>)> {
    events.iter().filter_map(|e| if let TrainEvent::EpochEnd { epoch, metrics, .. } = e { Some((*epoch, metrics.clone())) } else { None }).collect()
}

#[test]
fn runs_are_reproducible_whatever_the_loader_threads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), 6, 64, false);
    // Full augmentation (mosaic, mixup, flips, HSV) to cover the loader's determinism too.
    let hyp = Hyperparameters { mixup: 0.5, degrees: 5.0, close_mosaic: 0, ..quick_hyp(2, 3, 64) };
    let run = |name: &str, workers: usize| {
        let mut events = vec![];
        let cfg = TrainConfig { workers, ..config(TaskType::Detect, &data, &dir.path().join(name), hyp.clone()) };
        let out = train(cfg, &mut collect(&mut events), &CancelToken::new()).unwrap();
        (epoch_ends(&events), crate::weights::StateDict::read(&out.last).unwrap())
    };
    let (a, wa) = run("a", 1);
    let (b, wb) = run("b", 3);
    for ((_, ma), (_, mb)) in a.iter().zip(&b) {
        assert_eq!(ma["train/box_loss"], mb["train/box_loss"]);
        assert_eq!(ma["val/cls_loss"], mb["val/cls_loss"]);
    }
    for (k, t) in &wa.tensors {
        assert!(t.equal(&wb.tensors[k]), "{k} differs between runs");
    }
    let other = Hyperparameters { seed: 1, ..hyp.clone() };
    let mut events = vec![];
    train(config(TaskType::Detect, &data, &dir.path().join("c"), other), &mut collect(&mut events), &CancelToken::new()).unwrap();
    assert_ne!(epoch_ends(&events)[0].1["train/box_loss"], a[0].1["train/box_loss"], "another seed, another run");
}

#[test]
fn resume_continues_from_the_saved_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), 4, 64, false);
    let run_dir = dir.path().join("run");
    let cancel = CancelToken::new();
    let mut events = vec![];
    {
        let c = cancel.clone();
        let mut sink = |e: &TrainEvent| {
            if matches!(e, TrainEvent::EpochEnd { epoch: 2, .. }) {
                c.cancel(); // stop after epoch 2 of 3
            }
            events.push(e.clone());
        };
        let err = train(config(TaskType::Detect, &data, &run_dir, quick_hyp(3, 2, 64)), &mut sink, &cancel).unwrap_err();
        assert!(matches!(err, crate::EngineError::Cancelled), "{err}");
    }
    assert_eq!(epoch_ends(&events).len(), 2);
    let info = CheckpointInfo::read(&run_dir.join("weights/last.json")).unwrap();
    assert_eq!((info.epoch, info.epochs), (2, 3));
    assert!(run_dir.join("weights/last.optim.safetensors").exists(), "optimiser state kept for resuming");

    let mut resumed = vec![];
    let out = resume(&run_dir, ResumeOptions::default(), &mut collect(&mut resumed), &CancelToken::new()).unwrap();
    let Some(TrainEvent::Started { start_epoch, .. }) = resumed.first() else { panic!("started first") };
    assert_eq!(*start_epoch, 3);
    assert_eq!(epoch_ends(&resumed).iter().map(|e| e.0).collect::<Vec<_>>(), [3]);
    assert_eq!(out.epochs_completed, 3);
    let csv = std::fs::read_to_string(&out.results_csv).unwrap();
    let epochs: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(epochs, ["1", "2", "3"]);
    assert!(!run_dir.join("weights/last.optim.safetensors").exists(), "a finished run drops the optimiser state");
    let err = resume(&run_dir, ResumeOptions::default(), &mut |_| {}, &CancelToken::new()).unwrap_err();
    assert!(err.to_string().contains("nothing to resume"), "{err}");
}

#[test]
fn cancellation_stops_within_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), 8, 64, false);
    let cancel = CancelToken::new();
    let mut batches = 0;
    let c = cancel.clone();
    let mut sink = |e: &TrainEvent| {
        if matches!(e, TrainEvent::Batch { .. }) {
            batches += 1;
            c.cancel();
        }
    };
    let err = train(config(TaskType::Detect, &data, &dir.path().join("run"), quick_hyp(5, 2, 64)), &mut sink, &cancel).unwrap_err();
    assert!(matches!(err, crate::EngineError::Cancelled));
    assert_eq!(batches, 1);
}

#[test]
fn segment_and_classify_train_and_report_their_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let seg = dataset(&dir.path().join("seg"), 4, 64, true);
    let mut events = vec![];
    let out = train(config(TaskType::Segment, &seg, &dir.path().join("s"), Hyperparameters { model: Some("yolov8n-seg.yaml".into()), ..quick_hyp(2, 2, 64) }), &mut collect(&mut events), &CancelToken::new()).unwrap();
    let m = &epoch_ends(&events)[1].1;
    for k in ["train/seg_loss", "val/seg_loss", "metrics/mAP50-95(M)", "metrics/mAP50(B)", "lr/pg2"] {
        assert!(m.get(k).is_some_and(|v| v.is_finite()), "{k} missing in {m:?}");
    }
    assert!(m["train/seg_loss"] > 0.0);
    assert_eq!(crate::weights::load_model(&out.best, tch::Device::Cpu).unwrap().model.task(), TaskType::Segment);

    write_classify(&dir.path().join("cls"), &SynthSpec::new(8, 4, 48, 3)).unwrap();
    let mut events = vec![];
    let hyp = Hyperparameters { model: Some("yolov8n-cls.yaml".into()), dropout: Some(0.1), ..quick_hyp(2, 4, 32) };
    let out = train(config(TaskType::Classify, &dir.path().join("cls"), &dir.path().join("c"), hyp), &mut collect(&mut events), &CancelToken::new()).unwrap();
    let m = &epoch_ends(&events)[1].1;
    for k in ["train/loss", "val/loss", "metrics/accuracy_top1", "metrics/accuracy_top5"] {
        assert!(m.get(k).is_some_and(|v| v.is_finite()), "{k} missing in {m:?}");
    }
    assert_eq!(m["metrics/accuracy_top5"], 1.0, "3 classes are always in the top 5");
    assert_eq!(out.names.len(), 3);
}

#[test]
fn bad_configs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), 2, 64, false);
    let run = |task, hyp| train(config(task, &data, &dir.path().join("r"), hyp), &mut |_| {}, &CancelToken::new()).unwrap_err().to_string();
    let e = run(TaskType::Detect, Hyperparameters { model: Some("yolov8n-cls.yaml".into()), ..quick_hyp(1, 2, 64) });
    assert!(e.contains("hyperparameters.model"), "{e}");
    let e = run(TaskType::Detect, Hyperparameters { imgsz: Some(50), ..quick_hyp(1, 2, 64) });
    assert!(e.contains("hyperparameters.imgsz"), "{e}");
    let e = train(config(TaskType::Detect, &dir.path().join("nothing.yaml"), &dir.path().join("r"), quick_hyp(1, 2, 64)), &mut |_| {}, &CancelToken::new()).unwrap_err().to_string();
    assert!(e.contains("nothing.yaml"), "{e}");
    let e = run(TaskType::Classify, Hyperparameters { model: Some("yolov8n-cls.yaml".into()), ..quick_hyp(1, 2, 64) });
    assert!(e.contains("ImageFolder") || e.contains("train"), "{e}");
}

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

#[test]
fn a_tiny_segmenter_overfits_a_tiny_dataset() {
    // The detector's recipe with polygon labels: box and mask quality both rise on the
    // training images.
    const EPOCHS: u32 = 20;
    let dir = tempfile::tempdir().unwrap();
    let spec = SynthSpec { objects: (1, 1), scale: (0.4, 0.6), seed: 3, polygons: true, ..SynthSpec::new(64, 2, 64, 1) };
    let data = write_detect(dir.path(), &spec).unwrap();
    let text = std::fs::read_to_string(&data).unwrap().replace("val: images/val", "val: images/train");
    std::fs::write(&data, text).unwrap();
    let hyp = Hyperparameters {
        augment: false,
        model: Some("yolov8n-seg.yaml".into()),
        optimizer: af_core::OptimizerKind::AdamW,
        lr0: 0.002,
        momentum: 0.9,
        ..quick_hyp(EPOCHS, 8, 64)
    };
    let mut events = vec![];
    let t = std::time::Instant::now();
    let cfg = TrainConfig { val: false, ..config(TaskType::Segment, &data, &dir.path().join("run"), hyp) };
    let out = train(cfg, &mut collect(&mut events), &CancelToken::new()).unwrap();
    let ends = epoch_ends(&events);
    let loss = |m: &std::collections::BTreeMap<String, f64>| m["train/box_loss"] + m["train/seg_loss"] + m["train/cls_loss"] + m["train/dfl_loss"];
    let (first, last) = (loss(&ends[0].1), loss(&ends[ends.len() - 1].1));
    let (seg_first, seg_last) = (ends[0].1["train/seg_loss"], ends[ends.len() - 1].1["train/seg_loss"]);
    let (box50, mask50) = (out.final_metrics["metrics/mAP50(B)"], out.final_metrics["metrics/mAP50(M)"]);
    eprintln!("overfit seg: loss {first:.3} → {last:.3}, seg loss {seg_first:.3} → {seg_last:.3}, mAP50 box {box50:.3} mask {mask50:.3}, {:.1} s", t.elapsed().as_secs_f64());
    assert!(last < 0.5 * first, "loss {first} → {last}");
    assert!(seg_last < 0.7 * seg_first, "seg loss {seg_first} → {seg_last}");
    assert!(box50 > 0.5 && mask50 > 0.5, "mAP50 on the training images: box {box50}, mask {mask50}");
}

#[test]
fn a_tiny_classifier_overfits_a_tiny_dataset() {
    // 36 images of three shapes at 32 px, 180 AdamW steps (as for the detector, eval-mode
    // BatchNorm statistics need that many); validation on the training images themselves.
    const EPOCHS: u32 = 30;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cls");
    write_classify(&root, &SynthSpec { seed: 5, ..SynthSpec::new(36, 0, 32, 3) }).unwrap();
    std::fs::remove_dir_all(root.join("val")).unwrap();
    copy_dir(&root.join("train"), &root.join("val"));
    let hyp = Hyperparameters {
        model: Some("yolov8n-cls.yaml".into()),
        augment: false,
        optimizer: af_core::OptimizerKind::AdamW,
        lr0: 0.002,
        momentum: 0.9,
        ..quick_hyp(EPOCHS, 6, 32)
    };
    let mut events = vec![];
    let t = std::time::Instant::now();
    let out = train(config(TaskType::Classify, &root, &dir.path().join("run"), hyp), &mut collect(&mut events), &CancelToken::new()).unwrap();
    let ends = epoch_ends(&events);
    let (first, last) = (ends[0].1["train/loss"], ends[ends.len() - 1].1["train/loss"]);
    let top1 = out.final_metrics["metrics/accuracy_top1"];
    eprintln!("overfit cls: loss {first:.3} → {last:.3}, top-1 on the training images {top1:.3}, {:.1} s", t.elapsed().as_secs_f64());
    assert!(last < 0.5 * first, "loss {first} → {last}");
    assert!(top1 >= 0.8, "top-1 on the training images {top1} (chance is 1/3)");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
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

    // Same optimiser, EMA and raw weights as before the stop: the resumed run ends exactly
    // where an uninterrupted one does.
    let mut straight = vec![];
    let whole = train(config(TaskType::Detect, &data, &dir.path().join("straight"), quick_hyp(3, 2, 64)), &mut collect(&mut straight), &CancelToken::new()).unwrap();
    let (a, b) = (&epoch_ends(&straight)[2].1, &epoch_ends(&resumed)[0].1);
    assert_eq!(a["train/box_loss"], b["train/box_loss"], "epoch 3 trains identically");
    assert_eq!(a["val/dfl_loss"], b["val/dfl_loss"]);
    let (wa, wb) = (crate::weights::StateDict::read(&whole.last).unwrap(), crate::weights::StateDict::read(&out.last).unwrap());
    for (k, t) in &wa.tensors {
        assert!(t.equal(&wb.tensors[k]), "{k} differs from the uninterrupted run");
    }
    let ema_updates = |p: &Path| CheckpointInfo::read(&p.join("weights/last.json")).unwrap().ema_updates;
    assert_eq!(ema_updates(&run_dir), ema_updates(&dir.path().join("straight")));
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
    let e = run(TaskType::Detect, Hyperparameters { lr0: -1.0, batch: 0, ..quick_hyp(1, 2, 64) });
    assert!(e.contains("hyperparameters.lr0") && e.contains("hyperparameters.batch"), "every bad field is named: {e}");
    let e = train(config(TaskType::Detect, dir.path(), &dir.path().join("r"), quick_hyp(1, 2, 64)), &mut |_| {}, &CancelToken::new());
    assert!(e.is_ok(), "a folder holding data.yaml is accepted: {:?}", e.err());
}

#[test]
fn bad_datasets_stop_training_with_clear_errors_or_warnings() {
    let run = |data: &Path, run: &Path| {
        let mut warnings = vec![];
        let mut sink = |e: &TrainEvent| {
            if let TrainEvent::Warning { message } = e {
                warnings.push(message.clone());
            }
        };
        train(config(TaskType::Detect, data, run, quick_hyp(1, 2, 64)), &mut sink, &CancelToken::new()).map(|_| warnings).map_err(|e| e.to_string())
    };
    // A missing data.yaml is named.
    let dir = tempfile::tempdir().unwrap();
    let e = run(&dir.path().join("data.yaml"), &dir.path().join("r0")).unwrap_err();
    assert!(e.contains("data.yaml"), "{e}");
    // Every label file empty: nothing to learn.
    let data = dataset(&dir.path().join("empty"), 4, 64, false);
    for f in std::fs::read_dir(dir.path().join("empty/labels/train")).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|x| x == "txt") {
            std::fs::write(f, "").unwrap();
        }
    }
    let e = run(&data, &dir.path().join("r1")).unwrap_err();
    assert!(e.contains("no labelled objects"), "{e}");
    // A corrupt image is skipped with a warning naming it; training goes on.
    let data = dataset(&dir.path().join("corrupt"), 4, 64, false);
    let bad = std::fs::read_dir(dir.path().join("corrupt/images/train")).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&bad, b"\x89PNG but not really").unwrap();
    let warnings = run(&data, &dir.path().join("r2")).unwrap();
    let name = bad.file_name().unwrap().to_string_lossy().into_owned();
    assert!(warnings.iter().any(|w| w.contains(&name)), "{warnings:?}");
    // A malformed label line skips its image with a warning naming it and the line.
    let data = dataset(&dir.path().join("malformed"), 4, 64, false);
    let label = std::fs::read_dir(dir.path().join("malformed/labels/train")).unwrap().map(|f| f.unwrap().path()).find(|p| p.extension().is_some_and(|x| x == "txt")).unwrap();
    std::fs::write(&label, "0 0.5 0.5 0.2\n").unwrap();
    let stem = label.file_stem().unwrap().to_string_lossy().into_owned(); // the image's too
    match run(&data, &dir.path().join("r3")) {
        Err(e) => assert!(e.contains(&stem), "{e}"),
        Ok(w) => assert!(w.iter().any(|w| w.contains(&stem) && w.contains("line 1")), "{w:?}"),
    }
}

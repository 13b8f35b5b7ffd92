use std::path::Path;

use super::*;
use crate::dataset::{read_image_folder, read_labels};
use crate::nn::{ModelSpec, Scale};
use image::{Rgb, RgbImage};
use tch::nn::VarStore;

/// Writes `images/val/i.png` with one bright rectangle each, and its label (box or polygon).
fn write_det_dataset(dir: &Path, sizes: &[(u32, u32)], polygons: bool) -> Vec<YoloSample> {
    std::fs::create_dir_all(dir.join("images/val")).unwrap();
    std::fs::create_dir_all(dir.join("labels/val")).unwrap();
    sizes
        .iter()
        .enumerate()
        .map(|(i, &(w, h))| {
            let (x1, y1, x2, y2) = (w / 4, h / 4, 3 * w / 4, 3 * h / 4);
            let img = RgbImage::from_fn(w, h, |x, y| if (x1..x2).contains(&x) && (y1..y2).contains(&y) { Rgb([250, 20, 20]) } else { Rgb([30, 30, 30]) });
            let path = dir.join(format!("images/val/{i}.png"));
            img.save(&path).unwrap();
            let (fx1, fy1, fx2, fy2) = (x1 as f32 / w as f32, y1 as f32 / h as f32, x2 as f32 / w as f32, y2 as f32 / h as f32);
            let line = if polygons {
                format!("{} {fx1} {fy1} {fx2} {fy1} {fx2} {fy2} {fx1} {fy2}\n", i % 2)
            } else {
                format!("{} {} {} {} {}\n", i % 2, (fx1 + fx2) / 2.0, (fy1 + fy2) / 2.0, fx2 - fx1, fy2 - fy1)
            };
            std::fs::write(dir.join(format!("labels/val/{i}.txt")), line).unwrap();
            read_labels(&path, 2).unwrap()
        })
        .collect()
}

fn model(task: TaskType, nc: i64) -> (VarStore, YoloModel) {
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let m = YoloModel::new(&vs.root(), ModelSpec::new(task, Scale::N, nc).unwrap());
    (vs, m)
}

#[test]
fn batches_carry_labels_into_letterboxed_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let samples = write_det_dataset(dir.path(), &[(80, 40)], true);
    // imgsz 64: load_image shrinks 80x40 → 64x32; the rect shape for h/w 0.5 is
    // ceil([0.5, 1] * 64 / 32 + 0.5) * 32 = (64, 96).
    let (_, shapes) = loader::rect_batches(&[(40, 80)], 1, 64, 32);
    assert_eq!(shapes, [(64, 96)]);
    let batch = loader::detect_batch(&[&samples[0]], shapes[0], 64, true, Device::Cpu).unwrap();
    assert_eq!(batch.images.size(), [1, 3, shapes[0].0, shapes[0].1]);
    let (top, left) = ((shapes[0].0 - 32) / 2, (shapes[0].1 - 64) / 2);
    let gt = &batch.gt[0];
    // The rectangle spans x 20..60, y 10..30 of 80x40 → x 16..48, y 8..24 of 64x32, then padding.
    let want = [16.0 + left as f32, 8.0 + top as f32, 48.0 + left as f32, 24.0 + top as f32];
    for (g, w) in gt.boxes[0].iter().zip(want) {
        assert!((g - w).abs() < 0.6, "{:?} vs {want:?}", gt.boxes[0]);
    }
    // The red pixels of the input sit inside that box.
    let red = batch.images.get(0).get(0).gt(0.9).nonzero();
    let (ys, xs) = (red.select(1, 0), red.select(1, 1));
    assert!(xs.min().int64_value(&[]) as f32 >= want[0] - 1.0 && xs.max().int64_value(&[]) as f32 <= want[2]);
    assert!(ys.min().int64_value(&[]) as f32 >= want[1] - 1.0 && ys.max().int64_value(&[]) as f32 <= want[3]);
    // Loss-layout targets: normalised xywh of the input, and a 1/4 overlap mask of the right area.
    assert_eq!(batch.bboxes.size(), [1, 4]);
    let mask = batch.masks.as_ref().unwrap();
    let area = mask.eq(1).sum(Kind::Int64).int64_value(&[]);
    assert!((area - 8 * 4).abs() <= 8, "box 32x16 at 1/4 is 8x4, got {area}");
    assert_eq!(gt.masks.as_ref().unwrap().size()[0], 1);
}

#[test]
fn detect_and_segment_validation_report_metrics_and_call_the_hook() {
    let dir = tempfile::tempdir().unwrap();
    let samples = write_det_dataset(dir.path(), &[(64, 64), (96, 64), (64, 96), (50, 70)], true);
    let names = vec!["a".to_string(), "b".to_string()];
    for task in [TaskType::Detect, TaskType::Segment] {
        let (_vs, m) = model(task, 2);
        let mut batches = 0;
        let mut hook = |b: &ValBatch, out: &ModelOutput| {
            batches += 1;
            assert_eq!(out.detect().unwrap().boxes.size()[0], b.images.size()[0]);
            Ok(())
        };
        let cfg = ValConfig { batch: 2, ..ValConfig::new(64) };
        let r = validate_detect(&m, &samples, &names, &cfg, Some(&mut hook)).unwrap();
        assert_eq!(batches, 2);
        assert_eq!((r.images, r.instances), (4, 4));
        let b = r.boxes.as_ref().unwrap();
        assert_eq!(b.per_class.iter().map(|c| (c.instances, c.images)).collect::<Vec<_>>(), [(2, 2), (2, 2)]);
        for v in [b.precision, b.recall, b.map50, b.map50_95] {
            assert!((0.0..=1.0).contains(&v), "{v}");
        }
        assert_eq!(r.masks.is_some(), task == TaskType::Segment);
        assert!(r.raw_metrics().contains_key("metrics/mAP50-95(B)"));
        assert!(format_table(&r).contains("all"));
    }
}

#[test]
fn classify_validation_counts_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    for (c, colour) in [("cat", [200u8, 10, 10]), ("dog", [10, 10, 200])] {
        std::fs::create_dir_all(dir.path().join(c)).unwrap();
        for i in 0..3 {
            RgbImage::from_pixel(40 + i * 8, 32, Rgb(colour)).save(dir.path().join(format!("{c}/{i}.png"))).unwrap();
        }
    }
    let (samples, names) = read_image_folder(dir.path()).unwrap();
    let (_vs, m) = model(TaskType::Classify, 2);
    let r = validate_classify(&m, &samples, &names, &ValConfig { batch: 4, ..ValConfig::new(32) }, None).unwrap();
    let c = r.classify.unwrap();
    assert_eq!(c.images, 6);
    assert_eq!(c.top5, 1.0, "2 classes: always in the top 5");
    assert!([0.0, 0.5, 1.0].iter().any(|v| (c.top1 - v).abs() < 1e-9) || (0.0..=1.0).contains(&c.top1));
}

#[test]
fn mismatched_inputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let samples = write_det_dataset(dir.path(), &[(64, 64)], false);
    let (_vs, m) = model(TaskType::Detect, 3);
    let names = vec!["a".to_string(), "b".to_string()];
    let err = validate_detect(&m, &samples, &names, &ValConfig::new(64), None).unwrap_err().to_string();
    assert!(err.contains("2 classes") && err.contains("3"), "{err}");
    assert!(validate_detect(&m, &[], &names, &ValConfig::new(64), None).is_err());
    let (_vs, cls) = model(TaskType::Classify, 2);
    assert!(validate_detect(&cls, &samples, &names, &ValConfig::new(64), None).is_err());
}

//! Tests of the training data path on generated datasets: augmentations keep labels on the
//! drawn shapes (property tests over seeds and augmentation strengths), masks follow polygons,
//! batches are reproducible whatever the number of loader threads.

use std::sync::Arc;

use proptest::prelude::*;

use super::augment::AugmentConfig;
use super::loader::{EpochPlan, Loader};
use super::synth::{class_colour, write_classify, write_detect, SynthSpec};
use super::*;

fn spec(polygons: bool) -> SynthSpec {
    SynthSpec {
        objects: (2, 4),
        scale: (0.18, 0.35),
        polygons,
        colour_by_class: true,
        background: Some([90, 90, 90]),
        ..SynthSpec::new(6, 2, 96, 3)
    }
}

fn detect_set(dir: &std::path::Path, polygons: bool, imgsz: usize) -> Arc<DetectSet> {
    let yaml = write_detect(dir, &spec(polygons)).unwrap();
    let data = open_detect(&yaml).unwrap();
    assert!(data.train.skipped.is_empty());
    Arc::new(DetectSet::new(data.train.records, imgsz, polygons.then_some((true, 4)), 4))
}

/// The class whose colour the pixel has (exactly, give or take 6 per channel), if any.
fn class_at(px: &[u8]) -> Option<usize> {
    (0..3).find(|&c| class_colour(c).iter().zip(px).all(|(a, b)| (*a as i32 - *b as i32).abs() <= 6))
}

/// Checks one collated batch: class-coloured pixels lie in boxes of their class, and (for
/// axis-aligned transforms without mosaic, where a moved box is exact unless the border
/// clips it) every box holds some of its colour.
fn check_boxes(batch: &DetBatch, axis_aligned: bool) -> Result<(), String> {
    let (h, w) = batch.size;
    for b in 0..batch.count {
        let img = &batch.images[b * h * w * 3..(b + 1) * h * w * 3];
        let class_px = |x: usize, y: usize| class_at(&img[(y * w + x) * 3..(y * w + x) * 3 + 3]);
        let boxes: Vec<(usize, [f32; 4])> = (0..batch.cls.len())
            .filter(|&k| batch.batch_idx[k] as usize == b)
            .map(|k| {
                let v = &batch.bboxes[4 * k..4 * k + 4];
                let (cx, cy, bw, bh) = (v[0] * w as f32, v[1] * h as f32, v[2] * w as f32, v[3] * h as f32);
                (batch.cls[k] as usize, [cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0])
            })
            .collect();
        // Object pixels outside every box of their class. Objects mostly cut off by the
        // output border, and slivers of 2 px or less, are dropped on purpose
        // (`box_candidates`), so such leftovers are allowed; any other stray pixel means a box
        // moved off its shape.
        let in_box = |x: usize, y: usize, c: usize| {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            boxes.iter().any(|(bc, bb)| *bc == c && fx >= bb[0] - 1.5 && fx <= bb[2] + 1.5 && fy >= bb[1] - 1.5 && fy <= bb[3] + 1.5)
        };
        let mut stray = vec![false; w * h];
        let mut coloured = 0usize;
        for y in 0..h {
            for x in 0..w {
                if let Some(c) = class_px(x, y) {
                    coloured += 1;
                    stray[y * w + x] = !in_box(x, y, c);
                }
            }
        }
        let mut seen = vec![false; w * h];
        let mut unexplained = 0usize;
        for start in 0..w * h {
            if !stray[start] || seen[start] {
                continue;
            }
            let (mut stack, mut size, mut touches_border) = (vec![start], 0usize, false);
            let (mut lo, mut hi) = ((w, h), (0, 0));
            seen[start] = true;
            while let Some(i) = stack.pop() {
                size += 1;
                let (x, y) = (i % w, i / w);
                lo = (lo.0.min(x), lo.1.min(y));
                hi = (hi.0.max(x), hi.1.max(y));
                touches_border |= x == 0 || y == 0 || x == w - 1 || y == h - 1;
                let mut push = |j: usize| {
                    if stray[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                };
                if x > 0 { push(i - 1); }
                if x + 1 < w { push(i + 1); }
                if y > 0 { push(i - w); }
                if y + 1 < h { push(i + w); }
            }
            // Boxes of 2 px or less are dropped too (a sliver left by a mosaic seam).
            let thin = (hi.0 - lo.0).min(hi.1 - lo.1) < 3;
            if !touches_border && !thin {
                unexplained += size;
            }
        }
        // A few edge pixels can round to a class colour just outside a box's margin.
        if unexplained > 3 + coloured / 100 {
            return Err(format!("image {b}: {unexplained} of {coloured} object pixels are outside every box of their class"));
        }
        if axis_aligned {
            // Boxes clipped by the border may be the empty corner of a shape's box (box labels
            // carry no outline), so only whole boxes must hold their colour.
            let whole = |bb: &[f32; 4]| bb[0] > 1.5 && bb[1] > 1.5 && bb[2] < w as f32 - 1.5 && bb[3] < h as f32 - 1.5;
            for (c, bb) in boxes.iter().filter(|(_, bb)| whole(bb)) {
                let (x0, y0) = ((bb[0] - 1.0).max(0.0) as usize, (bb[1] - 1.0).max(0.0) as usize);
                let (x1, y1) = (((bb[2] + 1.0).ceil() as usize).min(w), ((bb[3] + 1.0).ceil() as usize).min(h));
                if !(y0..y1).any(|y| (x0..x1).any(|x| class_px(x, y) == Some(*c))) {
                    return Err(format!("image {b}: box {bb:?} of class {c} holds none of its colour"));
                }
            }
        }
    }
    Ok(())
}

fn geometric(imgsz: usize, degrees: f64, translate: f64, scale: f64, shear: f64, perspective: f64, flip: f64, mosaic: f64) -> AugmentConfig {
    AugmentConfig { imgsz, mosaic, mixup: 0.0, degrees, translate, scale, shear, perspective, hsv: [0.0; 3], flipud: flip, fliplr: flip, random_crop: true }
}

fn shared_set() -> &'static (tempfile::TempDir, Arc<DetectSet>) {
    static SET: std::sync::OnceLock<(tempfile::TempDir, Arc<DetectSet>)> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let set = detect_set(dir.path(), false, 96);
        (dir, set)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn augmented_boxes_cover_the_drawn_shapes(
        seed in 0u64..1_000_000,
        degrees in prop_oneof![Just(0.0f64), 0.0f64..30.0],
        translate in 0.0f64..0.3,
        scale in 0.0f64..0.6,
        shear in prop_oneof![Just(0.0f64), 0.0f64..8.0],
        perspective in prop_oneof![Just(0.0f64), 0.0f64..0.0008],
        flip in prop_oneof![Just(0.0f64), Just(0.5), Just(1.0)],
        mosaic in prop_oneof![Just(0.0f64), Just(1.0)],
    ) {
        let (_, set) = shared_set();
        let aug = geometric(96, degrees, translate, scale, shear, perspective, flip, mosaic);
        let plan = EpochPlan::new(set.records.len(), 3, 0, seed, true);
        let batch = set.epoch(aug).build(&plan, 0..3).unwrap();
        // Rotated, sheared or perspective boxes are the hull of the moved box (box labels carry
        // no outline), so a clipped hull corner may hold no pixel of its shape.
        // Mosaic tiles are clipped by the canvas edge, which may lie inside the output.
        let axis_aligned = degrees < 1e-9 && shear < 1e-9 && perspective == 0.0 && mosaic == 0.0;
        check_boxes(&batch, axis_aligned).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn without_augmentation_images_are_letterboxed_and_labels_exact() {
    let (_, set) = shared_set();
    let plan = EpochPlan::new(set.records.len(), 2, 0, 0, false);
    let batch = set.epoch(AugmentConfig::none(96)).build(&plan, 0..2).unwrap();
    check_boxes(&batch, true).unwrap();
    // 96x96 images at imgsz 96: the boxes are the label file's boxes.
    let rec = &set.records[0];
    let n0 = rec.boxes.len();
    for k in 0..n0 {
        for j in 0..4 {
            assert!((batch.bboxes[4 * k + j] - rec.boxes[k][j]).abs() < 1e-5);
        }
    }
}

#[test]
fn colour_jitter_moves_no_label() {
    let (_, set) = shared_set();
    let mut aug = AugmentConfig::none(96);
    let plan = EpochPlan::new(set.records.len(), 2, 0, 3, false);
    let plain = set.epoch(aug).build(&plan, 0..2).unwrap();
    aug.hsv = [0.015, 0.7, 0.4];
    let jittered = set.epoch(aug).build(&plan, 0..2).unwrap();
    assert_eq!(plain.bboxes, jittered.bboxes);
    assert_ne!(plain.images, jittered.images);
}

#[test]
fn mixup_blends_two_images_and_keeps_both_label_sets() {
    let (_, set) = shared_set();
    let mut aug = AugmentConfig::none(96);
    aug.mixup = 1.0;
    let plan = EpochPlan::new(set.records.len(), 1, 0, 5, false);
    let mixed = set.epoch(aug).build(&plan, 0..1).unwrap();
    let single = set.epoch(AugmentConfig::none(96)).build(&plan, 0..1).unwrap();
    assert!(mixed.cls.len() > single.cls.len(), "{} vs {}", mixed.cls.len(), single.cls.len());
    assert_eq!(&mixed.bboxes[..single.bboxes.len()], &single.bboxes[..]);
}

#[test]
fn segment_masks_follow_the_polygons_and_targets_follow_mask_order() {
    let dir = tempfile::tempdir().unwrap();
    let set = detect_set(dir.path(), true, 96);
    for (seed, aug) in [(1, AugmentConfig::none(96)), (2, geometric(96, 10.0, 0.1, 0.4, 2.0, 0.0, 0.5, 1.0))] {
        let plan = EpochPlan::new(set.records.len(), 4, 0, seed, true);
        let batch = set.epoch(aug).build(&plan, 0..4).unwrap();
        let (masks, shape) = batch.masks.clone().expect("segment batches carry masks");
        assert_eq!(shape, [4, 24, 24], "overlap masks at 1/4");
        let (agree, mut total) = (std::cell::Cell::new(0usize), 0usize);
        for b in 0..4usize {
            let targets: Vec<usize> = (0..batch.cls.len()).filter(|&k| batch.batch_idx[k] as usize == b).collect();
            let img = &batch.images[b * 96 * 96 * 3..(b + 1) * 96 * 96 * 3];
            let mut areas = vec![0usize; targets.len()];
            for y in 0..24 {
                for x in 0..24 {
                    let v = masks[b * 576 + y * 24 + x];
                    if v == 0 {
                        continue;
                    }
                    let k = (v - 1) as usize;
                    assert!(k < targets.len(), "mask value {v} but {} targets", targets.len());
                    areas[k] += 1;
                    total += 1;
                    let (px, py) = (4 * x + 2, 4 * y + 2);
                    if class_at(&img[(py * 96 + px) * 3..(py * 96 + px) * 3 + 3]) == Some(batch.cls[targets[k]] as usize) {
                        agree.set(agree.get() + 1);
                    }
                }
            }
            // Targets are in descending mask area (ties aside, the layering keeps smaller on top).
            let full: Vec<usize> = areas.clone();
            assert!(full.iter().all(|&a| a > 0) || full.len() <= targets.len());
        }
        assert!(total > 100, "masks are not empty");
        eprintln!("seed {seed}: {} of {total} mask pixels on their object's colour", agree.get());
        assert!(agree.get() as f64 >= 0.8 * total as f64, "{} of {total} mask pixels on their object's colour", agree.get());
    }
}

#[test]
fn batches_are_reproducible_across_threads_and_runs() {
    let (_, set) = shared_set();
    let hyp = af_core::Hyperparameters { mixup: 0.3, degrees: 5.0, ..af_core::Hyperparameters::default() };
    let aug = AugmentConfig::from_hyp(&hyp, 96, false);
    let plan = Arc::new(EpochPlan::new(set.records.len(), 2, 1, 11, true));
    let run = |workers| {
        Loader::start(Arc::new(set.epoch(aug)), plan.clone(), workers, 2).map(|b| b.unwrap()).map(|b| (b.images, b.bboxes, b.cls)).collect::<Vec<_>>()
    };
    let a = run(1);
    assert_eq!(a, run(3));
    let other = Arc::new(EpochPlan::new(set.records.len(), 2, 2, 11, true));
    let b: Vec<_> = Loader::start(Arc::new(set.epoch(aug)), other, 2, 2).map(|b| b.unwrap().images).collect();
    assert_ne!(a[0].0, b[0], "another epoch, other augmentations");
}

#[test]
fn batches_become_tensors_with_loss_targets() {
    let (_, set) = shared_set();
    let plan = EpochPlan::new(set.records.len(), 3, 0, 0, false);
    let batch = set.epoch(AugmentConfig::none(96)).build(&plan, 0..3).unwrap();
    let (x, t) = batch.to_tensors(tch::Device::Cpu);
    assert_eq!(x.size(), [3, 3, 96, 96]);
    let max = x.max().double_value(&[]);
    assert!(max <= 1.0 && max > 0.5);
    assert_eq!(t.bboxes.size(), [batch.instances() as i64, 4]);
    assert_eq!(t.cls.size(), [batch.instances() as i64, 1]);
    // Background pixel (90, 90, 90) at a corner of image 0.
    assert!((x.double_value(&[0, 1, 0, 0]) - 90.0 / 255.0).abs() < 1e-6);
}

#[test]
fn classification_batches() {
    let dir = tempfile::tempdir().unwrap();
    write_classify(dir.path(), &SynthSpec::new(8, 4, 48, 3)).unwrap();
    let data = open_classify(dir.path()).unwrap();
    assert_eq!(data.names, ["ellipse", "rectangle", "triangle"], "sorted folder names, as Ultralytics");
    assert_eq!((data.train.len(), data.val.len()), (8, 4));
    let set = Arc::new(ClassifySet::new(data.train.clone(), 32));
    let hyp = af_core::Hyperparameters::default();
    let plan = EpochPlan::new(8, 4, 0, 0, true);
    let batch = set.epoch(AugmentConfig::from_hyp(&hyp, 32, false)).build(&plan, 0..4).unwrap();
    let (x, y) = batch.to_tensors(tch::Device::Cpu);
    assert_eq!(x.size(), [4, 3, 32, 32]);
    let labels: Vec<i64> = y.try_into().unwrap();
    let want: Vec<i64> = plan.order[..4].iter().map(|&i| data.train[i].class_id).collect();
    assert_eq!(labels, want);
}

#[test]
fn bad_datasets_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // No images at all.
    std::fs::create_dir_all(dir.path().join("images/train")).unwrap();
    std::fs::create_dir_all(dir.path().join("images/val")).unwrap();
    std::fs::write(dir.path().join("data.yaml"), "train: images/train\nval: images/val\nnames: [a]\n").unwrap();
    let e = open_detect(&dir.path().join("data.yaml")).unwrap_err().to_string();
    assert!(e.contains("no images"), "{e}");
    // Every label has a class beyond nc: all skipped, which is an error naming one.
    let yaml = write_detect(dir.path(), &SynthSpec::new(3, 1, 64, 3)).unwrap();
    std::fs::write(&yaml, "train: images/train\nval: images/val\nnames: [a]\n").unwrap();
    let e = open_detect(&yaml).unwrap_err().to_string();
    assert!(e.contains("all 3 were skipped") || e.contains("not in 0..1") || e.contains("no labelled objects"), "{e}");
    // Classification without a train folder.
    let e = open_classify(&dir.path().join("images")).unwrap_err().to_string();
    assert!(e.contains("no `train` folder") || e.contains("class folders"), "{e}");
}



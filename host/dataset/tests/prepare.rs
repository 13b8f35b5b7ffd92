//! Preparation end to end: layout and label syntax exactly as Ultralytics reads them, the
//! report, and the clear refusals.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use af_core::{AnnotationType, ClassMapping, TaskType};
use af_dataset::{prepare, DatasetError, ImageRecord, PluginChoice, SkipReason, SplitParams};
use common::*;
use serde_json::json;

/// 12 images (two projects): boxes of `cat` and `dog`, one out-of-image box, one unmapped
/// label, and one image without annotations.
fn detect_data(dir: &std::path::Path) -> (Vec<ImageRecord>, Vec<af_dataset::AnnotationRecord>) {
    let images: Vec<ImageRecord> = (1..=12).map(|i| image(dir, i, if i <= 6 { 1 } else { 2 }, 200, 100)).collect();
    let mut anns = Vec::new();
    for i in 1..=11 {
        anns.push(boxed(i * 10, i, 10.0, 10.0, 50.0, 30.0, "cat"));
        anns.push(boxed(i * 10 + 1, i, 100.0, 50.0, 180.0, 90.0, if i % 2 == 0 { "dog" } else { "puppy" }));
    }
    anns.push(boxed(1000, 3, 300.0, 10.0, 350.0, 30.0, "cat"));
    anns.push(boxed(1001, 4, 10.0, 10.0, 50.0, 30.0, "zebra"));
    (images, anns)
}

fn mapping() -> ClassMapping {
    serde_json::from_value(json!({"cat": 0, "dog": 1, "puppy": 1})).unwrap()
}

#[test]
fn detect_layout_labels_yaml_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let (images, anns) = detect_data(dir.path());
    let (conv, split) = (choice("af-converter-detect"), choice("af-split-random"));
    let out = dir.path().join("dataset");
    let types = [AnnotationType::Box];
    let m = mapping();
    let s = prepare(&request(TaskType::Detect, &images, &anns, &types, &m, &conv, &split, &out)).unwrap();

    assert_eq!((s.total_images, s.train_images, s.val_images, s.test_images), (12, 9, 3, 0));
    assert_eq!(s.class_names, vec!["cat", "dog"]);
    let root = out.canonicalize().unwrap();
    assert_eq!(s.data_yaml.as_deref(), Some(root.join("data.yaml").as_path()));
    assert_eq!(
        std::fs::read_to_string(root.join("data.yaml")).unwrap(),
        format!("path: {}\ntrain: images/train\nval: images/val\nnc: 2\nnames:\n  0: \"cat\"\n  1: \"dog\"\n", serde_json::to_string(&root.display().to_string()).unwrap())
    );

    let files = tree(&root);
    let dirs: Vec<&String> = files.iter().filter(|f| f.ends_with('/')).collect();
    assert_eq!(dirs, ["images/", "images/train/", "images/val/", "labels/", "labels/train/", "labels/val/"]);
    for subset in ["train", "val"] {
        let imgs: Vec<&String> = files.iter().filter(|f| f.starts_with(&format!("images/{subset}/")) && !f.ends_with('/')).collect();
        let labels: Vec<&String> = files.iter().filter(|f| f.starts_with(&format!("labels/{subset}/")) && !f.ends_with('/')).collect();
        assert_eq!(imgs.len(), labels.len());
        for img in imgs {
            let label = img.replacen("images/", "labels/", 1).replace(".png", ".txt");
            assert!(labels.contains(&&label), "{img} has {label}");
        }
    }
    // Every label line is `cls cx cy w h` with 6 decimals and a newline.
    let line = |l: &str| {
        let f: Vec<&str> = l.split(' ').collect();
        f.len() == 5 && f[0].parse::<u32>().is_ok() && f[1..].iter().all(|v| v.len() == 8 && v.as_bytes()[1] == b'.' && v.parse::<f64>().is_ok_and(|x| (0.0..=1.0).contains(&x)))
    };
    let mut lines = 0;
    for f in files.iter().filter(|f| f.starts_with("labels/") && f.ends_with(".txt")) {
        let text = std::fs::read_to_string(root.join(f)).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'));
        for l in text.lines() {
            assert!(line(l), "{f}: `{l}`");
            lines += 1;
        }
    }
    assert_eq!(lines, 22, "two mapped boxes on each of 11 images; the out-of-image and unmapped ones are skipped");
    let img1 = files.iter().find(|f| f.ends_with("/1_img1.png")).unwrap();
    assert_eq!(std::fs::read_to_string(root.join(img1.replacen("images/", "labels/", 1).replace(".png", ".txt"))).unwrap(), "0 0.150000 0.200000 0.200000 0.200000\n1 0.700000 0.700000 0.400000 0.400000\n");
    let empty = files.iter().find(|f| f.ends_with("/12_img12.txt")).unwrap();
    assert_eq!(std::fs::read_to_string(root.join(empty)).unwrap(), "", "background image");
    // Hard links, not copies.
    assert_eq!(std::fs::metadata(root.join(img1)).unwrap().ino(), std::fs::metadata(&images[0].path).unwrap().ino());

    let r = &s.report;
    assert_eq!(r.images.total, 12);
    assert_eq!(r.classes[0].instances.total, 11);
    assert_eq!(r.classes[1].instances.total, 11, "dog and puppy merge into class 1");
    assert_eq!(r.classes[0].instances.train + r.classes[0].instances.val, 11);
    assert_eq!(r.skipped_annotations, BTreeMap::from([(SkipReason::OutOfImage, 1), (SkipReason::UnmappedClass, 1)]));
    assert_eq!(r.images_without_labels, 1);
    assert_eq!(r.images_linked, 12);
    assert_eq!(r.warnings.len(), 2);
    assert_eq!((r.warnings[0].image_id, r.warnings[0].annotation_id), (3, Some(1000)));
    assert_eq!(r.plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["converter-detect", "split-random"]);
    assert_eq!(r.plugins[0].sha256, conv.plugin.sha256());
    let on_disk: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&s.report_path).unwrap()).unwrap();
    assert_eq!(on_disk["skipped_annotations"], json!({"unmapped_class": 1, "out_of_image": 1}));
    assert_eq!(on_disk["images"], json!({"total": 12, "train": 9, "val": 3, "test": 0}));
}

#[test]
fn the_same_inputs_give_the_same_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let (images, anns) = detect_data(dir.path());
    let (conv, split) = (choice("af-converter-detect"), choice("af-split-stratified"));
    let types = [AnnotationType::Box];
    let m = mapping();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let mut req = request(TaskType::Detect, &images, &anns, &types, &m, &conv, &split, &a);
    req.threads = 1;
    prepare(&req).unwrap();
    let mut req = request(TaskType::Detect, &images, &anns, &types, &m, &conv, &split, &b);
    req.threads = 3;
    prepare(&req).unwrap();
    assert_eq!(tree(&a), tree(&b));
    for f in tree(&a).iter().filter(|f| f.ends_with(".txt")) {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
}

#[test]
fn segment_labels_are_polygons_and_a_test_split_gets_its_folders() {
    let dir = tempfile::tempdir().unwrap();
    let images: Vec<ImageRecord> = (1..=10).map(|i| image(dir.path(), i, 1, 100, 50)).collect();
    let anns: Vec<_> = (1..=10).map(|i| polygon(i, i, &[[10.0, 5.0], [50.0, 5.0], [30.0, 45.0]], if i % 2 == 0 { "a" } else { "b" })).collect();
    let (conv, split) = (choice("af-converter-segment"), choice("af-split-random"));
    let m = ClassMapping::from_labels(["a", "b"]).unwrap();
    let types = [AnnotationType::Polygon];
    let out = dir.path().join("seg");
    let mut req = request(TaskType::Segment, &images, &anns, &types, &m, &conv, &split, &out);
    req.split = SplitParams { train_ratio: 0.6, val_ratio: 0.2, test_ratio: 0.2, random_seed: 3 };
    let s = prepare(&req).unwrap();
    assert_eq!((s.train_images, s.val_images, s.test_images), (6, 2, 2));
    assert!(std::fs::read_to_string(out.join("data.yaml")).unwrap().contains("\ntest: images/test\n"));
    let labels: Vec<String> = tree(&out).into_iter().filter(|f| f.starts_with("labels/test/") && f.ends_with(".txt")).collect();
    assert_eq!(labels.len(), 2);
    let text = std::fs::read_to_string(out.join(&labels[0])).unwrap();
    assert!(text.ends_with(" 0.100000 0.100000 0.500000 0.100000 0.300000 0.900000\n"), "{text}");
}

#[test]
fn classify_writes_an_image_folder_with_every_class_in_every_subset() {
    let dir = tempfile::tempdir().unwrap();
    let mut images: Vec<ImageRecord> = (1..=9).map(|i| image(dir.path(), i, 1, 32, 32)).collect();
    for (i, img) in images.iter_mut().enumerate() {
        img.class_label = match i {
            0..=5 => Some("zebra".into()),
            6 | 7 => Some("ant".into()),
            _ => None,
        };
    }
    let (conv, split) = (choice("af-converter-classify"), choice("af-split-stratified"));
    // Ids out of alphabetical order: the directories get id prefixes.
    let m: ClassMapping = serde_json::from_value(json!({"zebra": 0, "ant": 1})).unwrap();
    let types = [AnnotationType::ImageClass];
    let out = dir.path().join("cls");
    let mut req = request(TaskType::Classify, &images, &[], &types, &m, &conv, &split, &out);
    req.split = SplitParams { train_ratio: 0.5, val_ratio: 0.5, test_ratio: 0.0, random_seed: 1 };
    let s = prepare(&req).unwrap();
    assert_eq!(s.data_yaml, None);
    assert_eq!((s.total_images, s.train_images, s.val_images), (8, 4, 4));
    let files = tree(&out);
    for d in ["train/0_zebra/", "train/1_ant/", "val/0_zebra/", "val/1_ant/"] {
        assert!(files.contains(&d.to_string()), "{d} in {files:?}");
    }
    assert_eq!(files.iter().filter(|f| f.starts_with("val/1_ant/") && f.ends_with(".png")).count(), 1);
    assert_eq!(s.report.skipped_images, BTreeMap::from([(SkipReason::NoClassLabel, 1)]));
    assert_eq!(s.report.classes[1].instances.total, 2);
}

#[test]
fn refuses_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (images, anns) = detect_data(dir.path());
    let (conv, split) = (choice("af-converter-detect"), choice("af-split-random"));
    let types = [AnnotationType::Box];
    let m = mapping();
    let out = dir.path().join("x");

    let err = prepare(&request(TaskType::Detect, &[], &anns, &types, &m, &conv, &split, &out)).unwrap_err();
    assert!(matches!(err, DatasetError::NoImages(_)), "{err}");

    let m3: ClassMapping = serde_json::from_value(json!({"cat": 0, "dog": 1, "bird": 2})).unwrap();
    let err = prepare(&request(TaskType::Detect, &images, &anns, &types, &m3, &conv, &split, &out)).unwrap_err();
    assert_eq!(err.to_string(), "class `bird` in the class mapping has no instances in the selected data; remove it from the mapping or annotate some images");

    // One project and a group split: everything lands on one side.
    let group = choice("af-split-group");
    let one_project: Vec<ImageRecord> = images.iter().map(|i| ImageRecord { project_id: 1, ..i.clone() }).collect();
    let err = prepare(&request(TaskType::Detect, &one_project, &anns, &types, &m, &conv, &group, &out)).unwrap_err();
    assert!(matches!(err, DatasetError::OneSidedSplit { empty: "val", train: 12, val: 0 }), "{err}");
    assert!(err.to_string().contains("left the val set empty"), "{err}");

    let err = prepare(&request(TaskType::Detect, &images, &anns, &[AnnotationType::ImageClass], &m, &conv, &split, &out)).unwrap_err();
    assert!(matches!(err, DatasetError::Incompatible(ref m) if m.contains("image_class annotations cannot be used for detect")), "{err}");
    let err = prepare(&request(TaskType::Segment, &images, &anns, &[AnnotationType::Polygon], &m, &conv, &split, &out)).unwrap_err();
    assert!(err.to_string().contains("does not support segment"), "{err}");
    let err = prepare(&request(TaskType::Detect, &images, &anns, &types, &m, &split, &split, &out)).unwrap_err();
    assert!(err.to_string().contains("is a splitter, not a converter"), "{err}");

    let mut bad_opts = choice("af-converter-detect");
    bad_opts.options.insert("min-size".into(), json!("big"));
    let err = prepare(&request(TaskType::Detect, &images, &anns, &types, &m, &bad_opts, &split, &out)).unwrap_err();
    assert!(err.to_string().contains("option `min-size`"), "{err}");

    let mut txt = images.clone();
    txt[2].path = image_file(dir.path(), "notes.txt");
    let err = prepare(&request(TaskType::Detect, &txt, &anns, &types, &m, &conv, &split, &out)).unwrap_err();
    assert!(matches!(err, DatasetError::UnsupportedImageFormat { image_id: 3, .. }), "{err}");

    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("old"), "x").unwrap();
    let err = prepare(&request(TaskType::Detect, &images, &anns, &types, &m, &conv, &split, &out)).unwrap_err();
    assert!(matches!(err, DatasetError::OutputNotEmpty(_)), "{err}");
}

#[test]
fn a_third_party_splitter_decides_the_split() {
    let dir = tempfile::tempdir().unwrap();
    let (images, anns) = detect_data(dir.path());
    let modulo = PluginChoice { plugin: host().load(&std::fs::read(af_plugin_host::builtins::test_plugin_path("af-test-split-modulo")).unwrap()).unwrap(), options: [("modulus".to_string(), json!(3))].into() };
    let conv = choice("af-converter-detect");
    let types = [AnnotationType::Box];
    let m = mapping();
    let out = dir.path().join("mod");
    let s = prepare(&request(TaskType::Detect, &images, &anns, &types, &m, &conv, &modulo, &out)).unwrap();
    assert_eq!(s.val_images, 4, "ids 3, 6, 9, 12");
    for id in [3, 6, 9, 12] {
        assert!(out.join("images/val").join(format!("{id}_img{id}.png")).exists());
    }
    assert_eq!(s.report.plugins[1].name, "split-modulo");
    assert_eq!(s.report.plugins[1].options, BTreeMap::from([("modulus".to_string(), json!(3))]));
}

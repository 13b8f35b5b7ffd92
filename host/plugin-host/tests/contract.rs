//! Contract tests: every built-in plugin, loaded as the real component, honours its world.

mod common;

use af_core::{AnnotationType, TaskType as CoreTask};
use af_plugin_host::bindings::converter::WarningReason;
use af_plugin_host::bindings::formatter::{Direction, FormatRequest, MetricGroup, RawMetric};
use af_plugin_host::bindings::splitter::{Item, SplitRequest, Subset};
use af_plugin_host::bindings::types::{AnnotationKind, TaskType};
use af_plugin_host::{builtins, Converter, Formatter, GuestError, Kind, Label, PluginError, Splitter};
use common::*;
use serde_json::json;

#[test]
fn every_builtin_loads_with_valid_metadata() {
    let expected = [
        ("af-converter-detect", Kind::Converter, "converter-detect"),
        ("af-converter-segment", Kind::Converter, "converter-segment"),
        ("af-converter-classify", Kind::Converter, "converter-classify"),
        ("af-split-random", Kind::Splitter, "split-random"),
        ("af-split-stratified", Kind::Splitter, "split-stratified"),
        ("af-split-group", Kind::Splitter, "split-group"),
        ("af-metrics-ultralytics", Kind::Formatter, "metrics-ultralytics"),
    ];
    assert_eq!(builtins::all().count(), expected.len());
    for (package, kind, name) in expected {
        let p = builtin(package);
        assert_eq!((p.kind(), p.name()), (kind, name), "{package}");
        assert_eq!(p.version(), "1.0.0");
        assert_eq!(p.sha256().len(), 64);
        assert!(!p.metadata().description.is_empty());
    }
    let detect = builtin("af-converter-detect");
    assert_eq!(detect.metadata().task_types, vec![CoreTask::Detect]);
    assert_eq!(detect.metadata().annotation_kinds, vec![AnnotationType::Box, AnnotationType::Rectangle, AnnotationType::Circle, AnnotationType::Polygon]);
    let json = serde_json::to_value(builtin("af-converter-segment").metadata()).unwrap();
    assert_eq!(json["options"][0], json!({"name": "circle-vertices", "description": json["options"][0]["description"], "type": "integer", "default": 32}));
}

#[test]
fn detect_converter_boxes_and_warns() {
    let p = builtin("af-converter-detect");
    let req = request(
        TaskType::Detect,
        vec![
            annotation(10, AnnotationKind::Box, corners(20.0, 10.0, 60.0, 50.0), "b"),
            annotation(11, AnnotationKind::Circle, circle(190.0, 90.0, 20.0), "a"),
            annotation(12, AnnotationKind::Box, corners(20.0, 10.0, 60.0, 50.0), "zebra"),
            annotation(13, AnnotationKind::Box, corners(300.0, 10.0, 360.0, 50.0), "a"),
        ],
        options(&p, &[]),
    );
    let result = p.call::<Converter>(&req).unwrap();
    let out = result.images().next().unwrap();
    let boxes: Vec<(u32, f64, f64, f64, f64)> = out
        .labels
        .iter()
        .map(|l| match l {
            Label::Bbox { class_id, cx, cy, w, h } => (class_id, cx, cy, w, h),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(boxes, vec![(1, 0.2, 0.3, 0.2, 0.4), (0, 185.0 / 200.0, 85.0 / 100.0, 30.0 / 200.0, 30.0 / 100.0)]);
    let warnings: Vec<(Option<i64>, WarningReason)> = out.warnings.iter().map(|w| (w.annotation_id, w.reason)).collect();
    assert_eq!(warnings, vec![(Some(12), WarningReason::UnmappedClass), (Some(13), WarningReason::OutOfImage)]);
}

#[test]
fn a_batch_converts_each_image_as_a_call_of_its_own_would() {
    let p = builtin("af-converter-detect");
    let mapping = mapping();
    let images: Vec<(i64, u32, u32, Vec<Ann>)> = vec![
        (7, 200, 100, vec![annotation(1, AnnotationKind::Box, corners(20.0, 10.0, 60.0, 50.0), "b"), annotation(2, AnnotationKind::Circle, circle(10.0, 10.0, 5.0), "zebra")]),
        (8, 640, 480, vec![]),
        (9, 100, 100, vec![annotation(3, AnnotationKind::Polygon, points(&[(10.0, 10.0), (90.0, 20.0), (50.0, 60.0)]), "a"), annotation(4, AnnotationKind::Box, corners(10.0, 10.0, 10.0, 50.0), "a")]),
    ];
    let mut batch = af_plugin_host::RequestBuilder::new(TaskType::Detect, &mapping, options(&p, &[]));
    for (id, w, h, anns) in &images {
        batch.image(*id, *w, *h, None);
        for Ann(aid, kind, coords, label) in anns {
            batch.annotation(*aid, *kind, label, coords);
        }
    }
    // Labels are sent once per request, whatever the number of annotations using them.
    assert_eq!(batch.request().class_labels.iter().map(|c| (c.label.as_str(), c.class_id)).collect::<Vec<_>>(), vec![("b", Some(1)), ("zebra", None), ("a", Some(0))]);
    let result = p.call::<Converter>(batch.request()).unwrap();
    let together: Vec<_> = result.images().collect();
    assert_eq!(together.len(), 3);
    for ((id, w, h, anns), image) in images.into_iter().zip(&together) {
        let mut one = af_plugin_host::RequestBuilder::new(TaskType::Detect, &mapping, options(&p, &[]));
        one.image(id, w, h, None);
        for Ann(aid, kind, coords, label) in &anns {
            one.annotation(*aid, *kind, label, coords);
        }
        let alone = p.call::<Converter>(one.request()).unwrap();
        let alone = alone.images().next().unwrap();
        assert_eq!(alone.labels.iter().collect::<Vec<_>>(), image.labels.iter().collect::<Vec<_>>(), "image {id}");
        let warnings = |w: &[&af_plugin_host::bindings::converter::Warning]| w.iter().map(|w| (w.annotation_id, w.reason, w.message.clone())).collect::<Vec<_>>();
        assert_eq!(warnings(&alone.warnings), warnings(&image.warnings), "image {id}");
    }
    assert_eq!((together[0].labels.len(), together[0].warnings.len()), (1, 1));
    assert!(together[1].labels.is_empty() && together[1].warnings.is_empty());
    assert_eq!(together[2].warnings[0].reason, WarningReason::Degenerate);
    assert_eq!(result.warnings.iter().map(|w| w.image_index).collect::<Vec<_>>(), [0, 2]);

    // Geometry that does not add up is refused as invalid input, not misread.
    let mut bad = batch.request().clone();
    bad.annotations.coords.pop();
    let err = p.call::<Converter>(&bad).unwrap_err();
    assert!(matches!(err, PluginError::Guest { error: GuestError::InvalidInput(ref m), .. } if m.contains("image 9")), "{err}");
}

#[test]
fn converters_refuse_other_tasks_and_bad_options_with_typed_errors() {
    let p = builtin("af-converter-detect");
    let err = p.call::<Converter>(&request(TaskType::Segment, vec![], options(&p, &[]))).unwrap_err();
    assert!(matches!(err, PluginError::Guest { error: GuestError::InvalidInput(_), .. }), "{err}");
    let err = p.call::<Converter>(&request(TaskType::Detect, vec![], options(&p, &[("min-size", json!(-3.0))]))).unwrap_err();
    assert!(matches!(err, PluginError::Guest { error: GuestError::InvalidOption(ref m), .. } if m.contains("min-size")), "{err}");
    // The host refuses unknown options before the call.
    let err = p.resolve_options(&[("min_size".to_string(), json!(1))].into()).unwrap_err();
    assert!(matches!(err, PluginError::InvalidOption { ref option, .. } if option == "min_size"), "{err}");
}

#[test]
fn segment_converter_polygons_circles_and_boxes() {
    let p = builtin("af-converter-segment");
    let req = request(
        TaskType::Segment,
        vec![
            annotation(1, AnnotationKind::Polygon, points(&[(20.0, 10.0), (100.0, 10.0), (60.0, 90.0)]), "a"),
            annotation(2, AnnotationKind::Circle, circle(100.0, 50.0, 10.0), "b"),
            annotation(3, AnnotationKind::Box, corners(0.0, 0.0, 20.0, 20.0), "a"),
            annotation(4, AnnotationKind::Polygon, points(&[(1.0, 1.0), (2.0, 2.0)]), "a"),
        ],
        options(&p, &[("circle-vertices", json!(8))]),
    );
    let result = p.call::<Converter>(&req).unwrap();
    let out = result.images().next().unwrap();
    let polys: Vec<(u32, Vec<[f64; 2]>)> = out
        .labels
        .iter()
        .map(|l| match l {
            Label::Polygon { class_id, points } => (class_id, points.to_vec()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(polys[0], (0, vec![[0.1, 0.1], [0.5, 0.1], [0.3, 0.9]]));
    assert_eq!((polys[1].0, polys[1].1.len(), polys[1].1[0]), (1, 8, [0.55, 0.5]));
    assert_eq!(polys[2].1, vec![[0.0, 0.0], [0.1, 0.0], [0.1, 0.2], [0.0, 0.2]]);
    assert_eq!(out.warnings.len(), 1);
    assert_eq!(out.warnings[0].reason, WarningReason::TooFewPoints);
}

#[test]
fn classify_converter_uses_the_image_label_or_the_majority_rule() {
    let p = builtin("af-converter-classify");
    let b = || vec![annotation(1, AnnotationKind::Box, corners(0.0, 0.0, 5.0, 5.0), "b")];
    let classes = |req| p.call::<Converter>(&req).unwrap().labels.class_ids;
    assert_eq!(classes(request_labelled(TaskType::Classify, Some("a"), b(), options(&p, &[]))), [0]);
    let mut req = request(TaskType::Classify, b(), options(&p, &[]));
    let result = p.call::<Converter>(&req).unwrap();
    let out = result.images().next().unwrap();
    assert!(out.labels.is_empty());
    assert_eq!(out.warnings[0].reason, WarningReason::NoClassLabel);
    req.options = options(&p, &[("fallback", json!("majority"))]);
    let result = p.call::<Converter>(&req).unwrap();
    assert_eq!(result.images().next().unwrap().labels.iter().collect::<Vec<_>>(), [Label::ImageClass(1)]);
}

fn items(n: i64) -> Vec<Item> {
    (0..n).map(|i| Item { image_id: 1000 + i, project_id: i % 3, class_ids: vec![(i % 4) as u32], metadata: vec![] }).collect()
}

#[test]
fn splitters_return_deterministic_partitions_matching_their_native_logic() {
    for package in ["af-split-random", "af-split-stratified", "af-split-group"] {
        let p = builtin(package);
        let req = SplitRequest { items: items(60), train_ratio: 0.7, val_ratio: 0.2, test_ratio: 0.1, seed: 1234, options: options(&p, &[]) };
        let a = p.call::<Splitter>(&req).unwrap();
        assert_eq!(a.len(), 60, "{package}");
        assert_eq!(a, p.call::<Splitter>(&req).unwrap(), "{package}: same seed, same split");
        let reseeded = SplitRequest { seed: 99, ..req.clone() };
        assert_ne!(a, p.call::<Splitter>(&reseeded).unwrap(), "{package}: the seed matters");

        // The component computes exactly what the plugin's logic computes natively.
        let native_items: Vec<af_plugin_common::Item> = req.items.iter().map(|i| af_plugin_common::Item { image_id: i.image_id, project_id: i.project_id, class_ids: i.class_ids.clone(), metadata: vec![] }).collect();
        let ratios = af_plugin_common::ratio::Ratios::new(0.7, 0.2, 0.1).unwrap();
        let native = match package {
            "af-split-random" => af_split_random::random::split(&native_items, ratios, 1234),
            "af-split-stratified" => af_split_stratified::stratified::split(&native_items, ratios, 1234),
            _ => af_split_group::group::split(&native_items, ratios, 1234, "project"),
        };
        let wasm: Vec<(i64, &str)> = a.iter().map(|x| (x.image_id, match x.subset { Subset::Train => "train", Subset::Val => "val", Subset::Test => "test" })).collect();
        let native: Vec<(i64, &str)> = native.iter().map(|(id, s)| (*id, match s { af_plugin_common::Subset::Train => "train", af_plugin_common::Subset::Val => "val", af_plugin_common::Subset::Test => "test" })).collect();
        assert_eq!(wasm, native, "{package}");
    }
}

#[test]
fn splitters_refuse_bad_ratios() {
    let p = builtin("af-split-random");
    let req = SplitRequest { items: items(5), train_ratio: -1.0, val_ratio: 0.2, test_ratio: 0.0, seed: 1, options: vec![] };
    let err = p.call::<Splitter>(&req).unwrap_err();
    assert!(matches!(err, PluginError::Guest { error: GuestError::InvalidInput(_), .. }), "{err}");
}

#[test]
fn metrics_formatter_maps_names_groups_and_fitness() {
    let p = builtin("af-metrics-ultralytics");
    let raw = |pairs: &[(&str, f64)]| pairs.iter().map(|(n, v)| RawMetric { name: n.to_string(), value: *v }).collect();
    let out = p
        .call::<Formatter>(&FormatRequest {
            task: TaskType::Segment,
            metrics: raw(&[("val/seg_loss", 1.0), ("metrics/mAP50(M)", 0.5), ("metrics/mAP50-95(B)", 0.3), ("metrics/mAP50-95(M)", 0.2), ("lr/pg2", 0.001)]),
            options: options(&p, &[]),
        })
        .unwrap();
    let keys: Vec<&str> = out.metrics.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, ["val_seg_loss", "mask_map50", "map50_95", "mask_map50_95", "lr_pg2"]);
    assert_eq!((out.metrics[0].group, out.metrics[0].direction), (MetricGroup::Loss, Direction::Minimize));
    assert_eq!((out.metrics[1].group, out.metrics[1].direction), (MetricGroup::Quality, Direction::Maximize));
    assert_eq!(out.metrics[4].group, MetricGroup::LearningRate);
    assert!((out.fitness.unwrap() - 0.5).abs() < 1e-12);
    let cls = p
        .call::<Formatter>(&FormatRequest { task: TaskType::Classify, metrics: raw(&[("metrics/accuracy_top1", 0.6), ("metrics/accuracy_top5", 0.9)]), options: options(&p, &[]) })
        .unwrap();
    assert!((cls.fitness.unwrap() - 0.75).abs() < 1e-12);
}

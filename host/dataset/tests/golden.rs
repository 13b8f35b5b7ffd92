//! Golden conversion: the built-in converters, run as components, reproduce the YOLO label
//! lines of Ultralytics' parity fixture (`tests/fixtures/ultralytics-parity/conversion.json`,
//! copied from the shared fixtures) byte for byte, through the whole preparation.

mod common;

use std::collections::BTreeMap;

use af_core::{AnnotationData, AnnotationType, ClassMapping, TaskType};
use af_dataset::convert::{convert_images, ConvertJob};
use af_dataset::layout::label_text;
use af_dataset::{prepare, AnnotationRecord, ImageRecord, SplitParams};
use common::*;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/ultralytics-parity/conversion.json");

struct Case {
    image: ImageRecord,
    det: Vec<AnnotationRecord>,
    seg: Vec<AnnotationRecord>,
    det_lines: Vec<String>,
    seg_lines: Vec<String>,
}

fn records(image_id: i64, first_id: i64, list: &Value) -> Vec<AnnotationRecord> {
    list.as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let ty: AnnotationType = a["type"].as_str().unwrap().parse().unwrap();
            AnnotationRecord {
                id: first_id + i as i64,
                image_id,
                annotation_type: ty,
                data: AnnotationData::parse(ty, &a["data"]).unwrap(),
                class_label: a["class_label"].as_str().unwrap().into(),
            }
        })
        .collect()
}

fn lines(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect()
}

fn fixture(dir: &std::path::Path) -> (ClassMapping, Vec<Case>) {
    let f: Value = serde_json::from_str(FIXTURE).unwrap();
    let names: Vec<&str> = f["class_names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let mapping = ClassMapping::new(names.iter().enumerate().map(|(i, n)| (n.to_string(), i as i64)).collect()).unwrap();
    let cases = f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = i as i64 + 1;
            let img = &c["image"];
            Case {
                image: ImageRecord {
                    id,
                    project_id: 1,
                    path: image_file(dir, img["file_name"].as_str().unwrap()),
                    width: img["width"].as_u64().unwrap() as u32,
                    height: img["height"].as_u64().unwrap() as u32,
                    class_label: None,
                    metadata: BTreeMap::new(),
                },
                det: records(id, id * 100, &c["annotateforge_det"]),
                seg: records(id, id * 100 + 50, &c["annotateforge_seg"]),
                det_lines: lines(&c["yolo_detect_lines"]),
                seg_lines: lines(&c["yolo_segment_lines"]),
            }
        })
        .collect();
    (mapping, cases)
}

fn expected_text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn converters_reproduce_the_fixture_label_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (mapping, cases) = fixture(dir.path());
    let images: Vec<ImageRecord> = cases.iter().map(|c| c.image.clone()).collect();
    for (task, package) in [(TaskType::Detect, "af-converter-detect"), (TaskType::Segment, "af-converter-segment")] {
        let converter = builtin(package);
        let settings = converter.resolve_options(&Default::default()).unwrap();
        let job = ConvertJob { converter: &converter, task, mapping: &mapping, settings: &settings, threads: 1 };
        let anns: Vec<Vec<&AnnotationRecord>> = cases.iter().map(|c| if task == TaskType::Detect { c.det.iter().collect() } else { c.seg.iter().collect() }).collect();
        let results = convert_images(&job, &images, &anns).unwrap();
        let converted: Vec<_> = results.iter().flat_map(|r| r.images()).collect();
        assert_eq!(converted.len(), cases.len());
        for (case, result) in cases.iter().zip(converted) {
            assert!(result.warnings.is_empty(), "{:?}", result.warnings);
            let expected = if task == TaskType::Detect { &case.det_lines } else { &case.seg_lines };
            assert_eq!(label_text(result.labels), expected_text(expected), "{task} {}", case.image.path.display());
        }
    }
}

#[test]
fn prepared_detect_and_segment_datasets_hold_exactly_the_fixture_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (mapping, mut cases) = fixture(dir.path());
    // The five fixture images never show a "five"; a sixth image does, so no class is empty.
    let extra = common::image(dir.path(), 6, 1, 256, 256);
    cases.push(Case {
        det: vec![boxed(600, 6, 10.0, 20.0, 50.0, 90.0, "five")],
        seg: vec![polygon(650, 6, &[[10.0, 20.0], [50.0, 20.0], [30.0, 90.0]], "five")],
        det_lines: vec!["5 0.117188 0.214844 0.156250 0.273438".into()],
        seg_lines: vec!["5 0.039062 0.078125 0.195312 0.078125 0.117188 0.351562".into()],
        image: extra,
    });
    let images: Vec<ImageRecord> = cases.iter().map(|c| c.image.clone()).collect();
    for (task, package, types) in [
        (TaskType::Detect, "af-converter-detect", vec![AnnotationType::Box, AnnotationType::Circle]),
        (TaskType::Segment, "af-converter-segment", vec![AnnotationType::Polygon]),
    ] {
        let anns: Vec<AnnotationRecord> = cases.iter().flat_map(|c| if task == TaskType::Detect { c.det.clone() } else { c.seg.clone() }).collect();
        let converter = choice(package);
        let splitter = choice("af-split-random");
        let out = dir.path().join(format!("ds-{task}"));
        let mut req = request(task, &images, &anns, &types, &mapping, &converter, &splitter, &out);
        req.split = SplitParams { train_ratio: 0.5, val_ratio: 0.5, test_ratio: 0.0, random_seed: 1 };
        let summary = prepare(&req).unwrap();
        assert_eq!((summary.train_images, summary.val_images), (3, 3));
        for case in &cases {
            let name = af_dataset::layout::file_name(&case.image).unwrap();
            let stem = name.trim_end_matches(".png");
            let found: Vec<_> = ["train", "val"].iter().map(|s| out.join("labels").join(s).join(format!("{stem}.txt"))).filter(|p| p.exists()).collect();
            assert_eq!(found.len(), 1, "{name} is in exactly one subset");
            let expected = if task == TaskType::Detect { &case.det_lines } else { &case.seg_lines };
            assert_eq!(std::fs::read_to_string(&found[0]).unwrap(), expected_text(expected), "{task} {name}");
        }
    }
}

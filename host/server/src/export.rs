//! Exporting a project as COCO JSON: one image entry per image (with its `class_label` as an
//! extension field), categories from the annotation labels (ids from 1, sorted by name), and
//! one COCO annotation per shape with `bbox`, `area`, `segmentation` (polygons; circles as a
//! 32-gon; boxes none) and an `annotateforge` field holding the exact shape, so an export
//! imports back without loss.

use std::collections::{BTreeSet, HashMap};

use af_core::{annotation::polygon_area, AnnotationData};
use serde_json::{json, Value};

use af_db::annotations::Annotation;
use af_db::images::Image;

const CIRCLE_SEGMENTS: usize = 32;

pub fn coco(project_name: &str, images: &[Image], annotations: &[Annotation]) -> Value {
    // COCO tools match images by file_name: keep names unique by prefixing repeated ones.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for img in images {
        *seen.entry(img.filename.as_str()).or_default() += 1;
    }
    let coco_images: Vec<Value> = images
        .iter()
        .map(|img| {
            let file_name = if seen[img.filename.as_str()] > 1 { format!("{}_{}", img.id, img.filename) } else { img.filename.clone() };
            let mut v = json!({"id": img.id, "file_name": file_name, "width": img.width, "height": img.height});
            if let Some(label) = &img.class_label {
                v["class_label"] = json!(label);
            }
            v
        })
        .collect();
    let labels: BTreeSet<&str> = annotations.iter().map(|a| a.class_label.as_str()).collect();
    let category_id: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (*l, i + 1)).collect();
    let categories: Vec<Value> = labels.iter().map(|l| json!({"id": category_id[l], "name": l, "supercategory": ""})).collect();
    let coco_annotations: Vec<Value> = annotations
        .iter()
        .filter_map(|a| {
            let shape = AnnotationData::parse(a.ty, &a.data.0).ok()?;
            let (x1, y1, x2, y2) = shape.bbox();
            let (segmentation, area) = match &shape {
                AnnotationData::Points { points } => (vec![flatten(points)], polygon_area(points)),
                AnnotationData::Circle { x, y, size } => {
                    let pts: Vec<[f64; 2]> = (0..CIRCLE_SEGMENTS)
                        .map(|k| {
                            let t = k as f64 * std::f64::consts::TAU / CIRCLE_SEGMENTS as f64;
                            [x + size * t.cos(), y + size * t.sin()]
                        })
                        .collect();
                    (vec![flatten(&pts)], std::f64::consts::PI * size * size)
                }
                AnnotationData::Corners { corners } => (Vec::new(), polygon_area(corners)),
            };
            Some(json!({
                "id": a.id,
                "image_id": a.image_id,
                "category_id": category_id[a.class_label.as_str()],
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": area,
                "segmentation": segmentation,
                "iscrowd": 0,
                "score": a.confidence,
                "annotateforge": {"type": a.ty, "data": a.data.0, "source": a.source},
            }))
        })
        .collect();
    json!({
        "info": {"description": format!("AnnotateForge export of {project_name}"), "date_created": chrono::Utc::now().to_rfc3339()},
        "images": coco_images,
        "annotations": coco_annotations,
        "categories": categories,
    })
}

fn flatten(points: &[[f64; 2]]) -> Vec<f64> {
    points.iter().flat_map(|p| [p[0], p[1]]).collect()
}

//! A template converter: boxes and rectangles → YOLO detection labels.
//!
//! Structure worth keeping: the logic is a plain function (`box_label`) that `cargo test`
//! runs natively; the `guest` module is only glue between the WIT types and that function,
//! and is compiled only for wasm.

/// A normalised detection label `(class id, cx, cy, w, h)` for a box given by its corners
/// (pixels) in a `width × height` image, or why there is none. Unlike the built-in
/// `converter-detect` this does not clip: boxes must lie inside the image.
pub fn box_label(corners: &[(f64, f64)], width: u32, height: u32, class_id: u32) -> Result<(u32, f64, f64, f64, f64), String> {
    if corners.len() != 4 {
        return Err(format!("a box needs 4 corners, got {}", corners.len()));
    }
    let xs = corners.iter().map(|c| c.0);
    let ys = corners.iter().map(|c| c.1);
    let (x1, x2) = (xs.clone().fold(f64::INFINITY, f64::min), xs.fold(f64::NEG_INFINITY, f64::max));
    let (y1, y2) = (ys.clone().fold(f64::INFINITY, f64::min), ys.fold(f64::NEG_INFINITY, f64::max));
    let (w, h) = (width as f64, height as f64);
    if x1 < 0.0 || y1 < 0.0 || x2 > w || y2 > h {
        return Err("the box leaves the image".into());
    }
    if x2 <= x1 || y2 <= y1 {
        return Err("the box has no area".into());
    }
    Ok((class_id, (x1 + x2) / 2.0 / w, (y1 + y2) / 2.0 / h, (x2 - x1) / w, (y2 - y1) / h))
}

#[cfg(target_arch = "wasm32")]
mod guest {
    // Generates the Rust types of the WIT world and the `Guest` trait to implement.
    wit_bindgen::generate!({ path: "../../wit", world: "converter-plugin" });

    use annotateforge::plugin::types::{AnnotationKind, PluginError, PluginMetadata, TaskType};
    use exports::annotateforge::plugin::converter::{ConvertRequest, ConvertResult, Guest, Labels, Warning, WarningReason};

    struct Template;

    impl Guest for Template {
        fn metadata() -> PluginMetadata {
            PluginMetadata {
                name: "template-converter".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                description: "Boxes and rectangles inside the image to detection labels (a template).".into(),
                task_types: vec![TaskType::Detect],
                annotation_kinds: vec![AnnotationKind::Box, AnnotationKind::Rectangle],
                options: vec![],
            }
        }

        /// One call converts a batch of images. Annotations and labels are column-wise: one
        /// list per field, image after image.
        fn convert(req: ConvertRequest) -> Result<ConvertResult, PluginError> {
            if req.task != TaskType::Detect {
                return Err(PluginError::InvalidInput("the template converts for detect only".into()));
            }
            let a = &req.annotations;
            let mut labels = Labels { per_image: vec![], class_ids: vec![], coord_counts: vec![], coords: vec![] };
            let mut warnings = vec![];
            // `next`: the first annotation of the current image; `rest`: the numbers not yet read.
            let (mut next, mut rest) = (0usize, &a.coords[..]);
            for (index, image) in req.images.iter().enumerate() {
                let before = labels.class_ids.len();
                for i in next..next + image.annotation_count as usize {
                    // Annotation `i`'s geometry is the next `coord_counts[i]` numbers of `coords`.
                    let Some((coords, tail)) = a.coord_counts.get(i).and_then(|&k| rest.split_at_checked(k as usize)) else {
                        return Err(PluginError::InvalidInput(format!("image {}: annotations or coordinates missing", image.id)));
                    };
                    rest = tail;
                    let skip = |reason, message: String| Warning { image_index: index as u32, annotation_id: Some(a.ids[i]), reason, message };
                    // The host resolved the class mapping: `class_labels[c].class_id` is `None`
                    // for a label the job does not map.
                    let label = &req.class_labels[a.class_labels[i] as usize];
                    let Some(class_id) = label.class_id else {
                        warnings.push(skip(WarningReason::UnmappedClass, format!("`{}` is not mapped", label.label)));
                        continue;
                    };
                    // `kinds` numbers the `annotation-kind` enum: 1 box, 2 rectangle.
                    if !matches!(a.kinds[i], 1 | 2) {
                        warnings.push(skip(WarningReason::UnsupportedKind, "only boxes and rectangles".into()));
                        continue;
                    }
                    let corners: Vec<(f64, f64)> = coords.chunks_exact(2).map(|p| (p[0], p[1])).collect();
                    match super::box_label(&corners, image.width, image.height, class_id) {
                        // A detection label is 4 numbers: `cx cy w h`.
                        Ok((class_id, cx, cy, w, h)) => {
                            labels.class_ids.push(class_id);
                            labels.coord_counts.push(4);
                            labels.coords.extend([cx, cy, w, h]);
                        }
                        Err(message) => warnings.push(skip(WarningReason::Degenerate, message)),
                    }
                }
                next += image.annotation_count as usize;
                // How many labels this image got.
                labels.per_image.push((labels.class_ids.len() - before) as u32);
            }
            Ok(ConvertResult { labels, warnings })
        }
    }

    export!(Template);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_a_box_and_refuses_one_outside() {
        assert_eq!(box_label(&[(10.0, 10.0), (30.0, 10.0), (30.0, 50.0), (10.0, 50.0)], 100, 100, 2), Ok((2, 0.2, 0.3, 0.2, 0.4)));
        assert!(box_label(&[(90.0, 10.0), (130.0, 10.0), (130.0, 50.0), (90.0, 50.0)], 100, 100, 0).is_err());
    }
}

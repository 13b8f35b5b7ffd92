//! Stage 1: every image's annotations through the converter plugin.
//!
//! Images are converted in a few parallel sessions (one sandboxed instance each, opened
//! once per job rather than per image), each taking a contiguous run of images; results come
//! back in image order whatever the thread count.

use std::collections::HashMap;

use af_core::{AnnotationData, ClassMapping, TaskType};
use af_plugin_host::bindings::converter::{Annotation, Circle, ClassEntry, ConvertRequest, ConvertResult, Image, Shape};
use af_plugin_host::bindings::types::Setting;
use af_plugin_host::{annotation_kind, task_type, Converter, Plugin};

use crate::error::DatasetError;
use crate::records::{AnnotationRecord, ImageRecord};

/// The WIT shape of an annotation's geometry.
pub fn shape(data: &AnnotationData) -> Shape {
    match data {
        AnnotationData::Circle { x, y, size } => Shape::Circle(Circle { x: *x, y: *y, radius: *size }),
        AnnotationData::Corners { corners } => Shape::Corners(corners.iter().map(|p| (p[0], p[1])).collect()),
        AnnotationData::Points { points } => Shape::Polygon(points.iter().map(|p| (p[0], p[1])).collect()),
    }
}

/// The class mapping as WIT entries.
pub fn class_entries(mapping: &ClassMapping) -> Vec<ClassEntry> {
    mapping.iter().map(|(label, class_id)| ClassEntry { label: label.to_string(), class_id }).collect()
}

/// Everything constant across one job's conversion calls.
pub struct ConvertJob<'a> {
    pub converter: &'a Plugin,
    pub task: TaskType,
    pub mapping: &'a ClassMapping,
    pub settings: &'a [Setting],
    /// Parallel sessions (at least 1).
    pub threads: usize,
}

/// Converts every image; `annotations[i]` are the annotations of `images[i]`.
pub fn convert_images(job: &ConvertJob<'_>, images: &[ImageRecord], annotations: &[Vec<&AnnotationRecord>]) -> Result<Vec<ConvertResult>, DatasetError> {
    assert_eq!(images.len(), annotations.len());
    let threads = job.threads.max(1).min(images.len().max(1));
    let chunk = images.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<ConvertResult>, DatasetError>> = std::thread::scope(|s| {
        let handles: Vec<_> = images
            .chunks(chunk)
            .zip(annotations.chunks(chunk))
            .map(|(imgs, anns)| s.spawn(move || convert_run(job, imgs, anns)))
            .collect();
        handles.into_iter().map(|h| h.join().expect("a conversion thread panicked")).collect()
    });
    let mut out = Vec::with_capacity(images.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// One session over a run of images.
fn convert_run(job: &ConvertJob<'_>, images: &[ImageRecord], annotations: &[Vec<&AnnotationRecord>]) -> Result<Vec<ConvertResult>, DatasetError> {
    let mut session = job.converter.session::<Converter>()?;
    let mut request = ConvertRequest {
        task: task_type(job.task),
        image: Image { id: 0, width: 0, height: 0, class_label: None },
        annotations: Vec::new(),
        class_mapping: class_entries(job.mapping),
        num_classes: job.mapping.num_classes(),
        options: job.settings.to_vec(),
    };
    let mut out = Vec::with_capacity(images.len());
    for (image, anns) in images.iter().zip(annotations) {
        request.image = Image { id: image.id, width: image.width, height: image.height, class_label: image.class_label.clone() };
        request.annotations.clear();
        request.annotations.extend(anns.iter().map(|a| Annotation {
            id: a.id,
            kind: annotation_kind(a.annotation_type),
            shape: shape(&a.data),
            class_label: a.class_label.clone(),
        }));
        out.push(session.call(&request)?);
    }
    Ok(out)
}

/// Groups annotations by image, in `images` order, keeping only the wanted types.
pub fn annotations_per_image<'a>(
    images: &[ImageRecord],
    annotations: &'a [AnnotationRecord],
    wanted: &[af_core::AnnotationType],
) -> Vec<Vec<&'a AnnotationRecord>> {
    let index: HashMap<i64, usize> = images.iter().enumerate().map(|(i, img)| (img.id, i)).collect();
    let mut per_image: Vec<Vec<&AnnotationRecord>> = vec![Vec::new(); images.len()];
    for a in annotations {
        if wanted.contains(&a.annotation_type) {
            if let Some(&i) = index.get(&a.image_id) {
                per_image[i].push(a);
            }
        }
    }
    per_image
}

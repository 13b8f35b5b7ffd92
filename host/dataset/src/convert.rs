//! Stage 1: every image's annotations through the converter plugin, in batches of images.
//!
//! Images are converted in a few parallel sessions (one sandboxed instance each, opened
//! once per job rather than per image), each taking a contiguous run of images; results come
//! back in image order whatever the thread count.

use std::collections::HashMap;

use af_core::{ClassMapping, TaskType};
use af_plugin_host::bindings::converter::ConvertResult;
use af_plugin_host::bindings::types::Setting;
use af_plugin_host::{task_type, Converter, Plugin, RequestBuilder};

use crate::error::DatasetError;
use crate::records::{AnnotationRecord, ImageRecord};

/// Images per converter call: large enough that the fixed cost of a call (entering the
/// instance, lowering the request's lists) is spread thin, small enough that a request stays
/// a few hundred KiB inside the plugin's memory.
pub const BATCH_IMAGES: usize = 256;

/// Everything constant across one job's conversion calls.
pub struct ConvertJob<'a> {
    pub converter: &'a Plugin,
    pub task: TaskType,
    pub mapping: &'a ClassMapping,
    pub settings: &'a [Setting],
    /// Parallel sessions (at least 1).
    pub threads: usize,
}

/// Converts every image; `annotations[i]` are the annotations of `images[i]`. Returns one
/// result per converter call, in image order: `results.iter().flat_map(ConvertResult::images)`
/// reads them image by image.
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
    let mut out = Vec::new();
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// One session over a run of images, [`BATCH_IMAGES`] per call.
fn convert_run(job: &ConvertJob<'_>, images: &[ImageRecord], annotations: &[Vec<&AnnotationRecord>]) -> Result<Vec<ConvertResult>, DatasetError> {
    let mut session = job.converter.session::<Converter>()?;
    let mut batch = RequestBuilder::new(task_type(job.task), job.mapping, job.settings.to_vec());
    let mut out = Vec::with_capacity(images.len().div_ceil(BATCH_IMAGES));
    for (imgs, anns) in images.chunks(BATCH_IMAGES).zip(annotations.chunks(BATCH_IMAGES)) {
        batch.clear();
        for (image, anns) in imgs.iter().zip(anns) {
            batch.image(image.id, image.width, image.height, image.class_label.as_deref());
            for a in anns {
                batch.annotation_data(a.id, a.annotation_type, &a.class_label, &a.data);
            }
        }
        out.push(session.call(batch.request())?);
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

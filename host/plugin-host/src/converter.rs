//! Converters: a batch of images with their annotations → the label records of every image
//! (the `converter-plugin` world), column-wise.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use af_core::{AnnotationData, AnnotationType, ClassMapping};
use wasmtime::component::InstancePre;
use wasmtime::Store;

use crate::bindings::converter::{Annotations, ClassLabel, ConvertRequest, ConvertResult, Image, Warning};
use crate::bindings::converter_world::{ConverterPlugin, ConverterPluginPre};
use crate::bindings::types::{self as wit, AnnotationKind, TaskType};
use crate::kind::{KindPre, PluginKind};
use crate::metadata::{annotation_kind, Kind};
use crate::sandbox::HostState;

/// The converter kind.
pub struct Converter;

impl PluginKind for Converter {
    const KIND: Kind = Kind::Converter;
    const CALL: &'static str = "convert";
    type Pre = ConverterPluginPre<HostState>;
    type Bindings = ConverterPlugin;
    type Input = ConvertRequest;
    /// The labels of every image of the request, column-wise; read them with
    /// [`ConvertResult::images`].
    type Output = ConvertResult;

    fn pre(instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self::Pre> {
        ConverterPluginPre::new(instance_pre)
    }

    fn pre_of(pres: &KindPre) -> Option<&Self::Pre> {
        match pres {
            KindPre::Converter(p) => Some(p),
            _ => None,
        }
    }

    fn wrap_pre(pre: Self::Pre) -> KindPre {
        KindPre::Converter(pre)
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<HostState>) -> wasmtime::Result<Self::Bindings> {
        pre.instantiate(store)
    }

    fn metadata(b: &Self::Bindings, store: &mut Store<HostState>) -> wasmtime::Result<wit::PluginMetadata> {
        b.annotateforge_plugin_converter().call_metadata(store)
    }

    fn call(b: &Self::Bindings, store: &mut Store<HostState>, input: &ConvertRequest) -> wasmtime::Result<Result<ConvertResult, wit::PluginError>> {
        b.annotateforge_plugin_converter().call_convert(store, input)
    }

    fn check(req: &ConvertRequest, out: &ConvertResult) -> Result<(), String> {
        check_result(req, out)
    }
}

/// The contract of a conversion result: one label count per image; label columns of one
/// length that add up; labels of the task's kind (4 numbers for detect, ≥ 3 points for
/// segment, none and at most one per image for classify); class ids in range; numbers finite
/// and normalised; boxes not empty; warnings about images and annotations of the request.
pub fn check_result(req: &ConvertRequest, out: &ConvertResult) -> Result<(), String> {
    let l = &out.labels;
    if l.per_image.len() != req.images.len() {
        return Err(format!("labels for {} images in a request of {} images (`labels.per-image` needs one entry per image)", l.per_image.len(), req.images.len()));
    }
    let total: u64 = l.per_image.iter().map(|&n| u64::from(n)).sum();
    if total != l.class_ids.len() as u64 || total != l.coord_counts.len() as u64 {
        return Err(format!("`labels.per-image` adds up to {total} labels, but there are {} class ids and {} coordinate counts", l.class_ids.len(), l.coord_counts.len()));
    }
    let numbers: u64 = l.coord_counts.iter().map(|&n| u64::from(n)).sum();
    if numbers != l.coords.len() as u64 {
        return Err(format!("`labels.coord-counts` add up to {numbers} numbers, but `labels.coords` has {}", l.coords.len()));
    }
    // The common case in one pass over each column; the label-by-label walk below only runs
    // to say what is wrong.
    if !labels_look_valid(req.task, req.num_classes, l) {
        find_bad_label(req, l)?;
        return Err("a label breaks the contract".into());
    }
    if !out.warnings.is_empty() {
        // Where each image's annotations start in the request's columns.
        let mut starts = Vec::with_capacity(req.images.len() + 1);
        starts.push(0usize);
        for image in &req.images {
            starts.push(starts.last().unwrap() + image.annotation_count as usize);
        }
        for w in &out.warnings {
            let i = w.image_index as usize;
            let Some(image) = req.images.get(i) else {
                return Err(format!("a warning names image index {i}, but the request has {} images", req.images.len()));
            };
            if let Some(id) = w.annotation_id {
                let ids = req.annotations.ids.get(starts[i]..starts[i + 1]).unwrap_or_default();
                if !ids.contains(&id) {
                    return Err(format!("a warning names annotation {id}, which is not in image {}", image.id));
                }
            }
        }
    }
    Ok(())
}

/// Whether every label is well-formed, without saying which is not: class ids in range,
/// numbers normalised (NaN fails), boxes of 4 numbers and positive size, polygons of ≥ 3
/// points, image classes with no numbers and at most one per image.
fn labels_look_valid(task: TaskType, num_classes: u32, l: &crate::bindings::converter::Labels) -> bool {
    // `fold` with `&` rather than `all`: no early exit, so the loops vectorise.
    let classes_ok = l.class_ids.iter().fold(true, |ok, &c| ok & (c < num_classes));
    let numbers_ok = l.coords.iter().fold(true, |ok, &v| ok & (v >= 0.0) & (v <= 1.0));
    let counts = |f: fn(u32) -> bool| l.coord_counts.iter().fold(true, |ok, &k| ok & f(k));
    classes_ok
        && numbers_ok
        && match task {
            TaskType::Detect => counts(|k| k == 4) && l.coords.chunks_exact(4).fold(true, |ok, b| ok & (b[2] > 0.0) & (b[3] > 0.0)),
            TaskType::Segment => counts(|k| k >= 6 && k % 2 == 0),
            TaskType::Classify => counts(|k| k == 0) && l.per_image.iter().all(|&n| n <= 1),
        }
}

/// The first label that breaks the contract, named with its image (the columns add up).
fn find_bad_label(req: &ConvertRequest, l: &crate::bindings::converter::Labels) -> Result<(), String> {
    let n = req.num_classes;
    let (mut label, mut at) = (0usize, 0usize);
    for (image, &count) in req.images.iter().zip(&l.per_image) {
        let image_error = |e: String| format!("image {}: {e}", image.id);
        if req.task == TaskType::Classify && count > 1 {
            return Err(image_error(format!("{count} image classes (at most one)")));
        }
        for i in 0..count as usize {
            let (class_id, k) = (l.class_ids[label], l.coord_counts[label] as usize);
            let coords = &l.coords[at..at + k];
            (label, at) = (label + 1, at + k);
            if class_id >= n {
                return Err(image_error(format!("label {i} has class id {class_id}, but there are only {n} classes (0..{})", n.saturating_sub(1))));
            }
            check_label(req.task, coords).map_err(|e| image_error(format!("label {i}: {e}")))?;
        }
    }
    Ok(())
}

/// One label's numbers against its task: what kind of label they make and that they are
/// normalised.
fn check_label(task: TaskType, coords: &[f64]) -> Result<(), String> {
    let unit = |what: &str, v: f64| if v.is_finite() && (0.0..=1.0).contains(&v) { Ok(()) } else { Err(format!("{what} = {v} is not a normalised coordinate in [0, 1]")) };
    match (task, coords) {
        (TaskType::Detect, &[cx, cy, w, h]) => {
            for (what, v) in [("cx", cx), ("cy", cy), ("w", w), ("h", h)] {
                unit(what, v)?;
            }
            if w <= 0.0 || h <= 0.0 {
                return Err(format!("an empty box ({w} x {h})"));
            }
        }
        (TaskType::Segment, _) if coords.len() >= 6 && coords.len() % 2 == 0 => {
            for (j, p) in coords.chunks_exact(2).enumerate() {
                unit(&format!("point {j} x"), p[0])?;
                unit(&format!("point {j} y"), p[1])?;
            }
        }
        (TaskType::Classify, []) => {}
        (task, _) => {
            let what = match coords.len() {
                0 => "an image-class label (no numbers)".to_string(),
                4 => "a box label (4 numbers)".to_string(),
                k if k >= 6 && k % 2 == 0 => format!("a polygon label ({} points)", k / 2),
                k => format!("{k} numbers, which is no label"),
            };
            let (task, wanted) = match task {
                TaskType::Detect => ("detect", "4 numbers `cx cy w h`"),
                TaskType::Segment => ("segment", "at least 3 points as `x y` pairs"),
                TaskType::Classify => ("classify", "no numbers"),
            };
            return Err(format!("{what}; a {task} dataset needs {wanted}"));
        }
    }
    Ok(())
}

/// One label as the host reads it, borrowed from a [`ConvertResult`]'s columns. Which one a
/// label is follows from its numbers, as the contract check ensured for the task: none for
/// an image class, 4 for a box, at least 3 `x y` pairs for a polygon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Label<'a> {
    Bbox { class_id: u32, cx: f64, cy: f64, w: f64, h: f64 },
    Polygon { class_id: u32, points: &'a [[f64; 2]] },
    ImageClass(u32),
}

impl Label<'_> {
    pub fn class_id(&self) -> u32 {
        match *self {
            Label::Bbox { class_id, .. } | Label::Polygon { class_id, .. } | Label::ImageClass(class_id) => class_id,
        }
    }
}

/// The labels of one image of a checked result.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImageLabels<'a> {
    class_ids: &'a [u32],
    coord_counts: &'a [u32],
    coords: &'a [f64],
}

impl<'a> ImageLabels<'a> {
    pub fn len(&self) -> usize {
        self.class_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.class_ids.is_empty()
    }

    pub fn class_ids(&self) -> &'a [u32] {
        self.class_ids
    }

    pub fn iter(&self) -> impl Iterator<Item = Label<'a>> + 'a {
        let mut coords = self.coords;
        self.class_ids.iter().zip(self.coord_counts).map(move |(&class_id, &k)| {
            let (numbers, rest) = coords.split_at(k as usize);
            coords = rest;
            match numbers {
                [] => Label::ImageClass(class_id),
                &[cx, cy, w, h] => Label::Bbox { class_id, cx, cy, w, h },
                _ => Label::Polygon { class_id, points: numbers.as_chunks::<2>().0 },
            }
        })
    }
}

/// One image's part of a checked result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageResult<'a> {
    pub labels: ImageLabels<'a>,
    /// The warnings about the image and its annotations, in the order the plugin gave them.
    pub warnings: Vec<&'a Warning>,
}

impl ConvertResult {
    /// Each image's labels and warnings, in request order. Call it on a result
    /// [`Converter`]'s contract check accepted (a session's `call` checks every result).
    pub fn images(&self) -> impl ExactSizeIterator<Item = ImageResult<'_>> + '_ {
        let l = &self.labels;
        let mut warnings: Vec<Vec<&Warning>> = vec![Vec::new(); l.per_image.len()];
        for w in &self.warnings {
            warnings[w.image_index as usize].push(w);
        }
        let (mut label, mut at) = (0usize, 0usize);
        l.per_image.iter().zip(warnings).map(move |(&count, warnings)| {
            let end = label + count as usize;
            let k: usize = l.coord_counts[label..end].iter().map(|&k| k as usize).sum();
            let labels = ImageLabels { class_ids: &l.class_ids[label..end], coord_counts: &l.coord_counts[label..end], coords: &l.coords[at..at + k] };
            (label, at) = (end, at + k);
            ImageResult { labels, warnings }
        })
    }
}

/// Builds a batched [`ConvertRequest`]: class labels are sent once per request, resolved
/// through the job's class mapping, and annotations go column-wise into one list per field.
///
/// ```text
/// let mut batch = RequestBuilder::new(task, &mapping, settings);
/// batch.image(id, width, height, None);
/// batch.annotation(id, kind, "cat", &[x1, y1, x2, y1, x2, y2, x1, y2]);
/// session.call(batch.request())?;  batch.clear();  …
/// ```
pub struct RequestBuilder<'m> {
    mapping: &'m ClassMapping,
    /// label → index in `request.class_labels`.
    labels: HashMap<String, u32, BuildHasherDefault<LabelHasher>>,
    request: ConvertRequest,
}

impl<'m> RequestBuilder<'m> {
    pub fn new(task: TaskType, mapping: &'m ClassMapping, options: Vec<wit::Setting>) -> Self {
        let annotations = Annotations { ids: Vec::new(), kinds: Vec::new(), class_labels: Vec::new(), coord_counts: Vec::new(), coords: Vec::new() };
        let request = ConvertRequest { task, class_labels: Vec::new(), num_classes: mapping.num_classes(), options, images: Vec::new(), annotations };
        Self { mapping, labels: HashMap::default(), request }
    }

    /// Starts a new, empty batch with the same task, mapping and options (and the buffers of
    /// the last one, so a job's batches do not grow new lists every time).
    pub fn clear(&mut self) {
        self.labels.clear();
        let r = &mut self.request;
        r.class_labels.clear();
        r.images.clear();
        let a = &mut r.annotations;
        a.ids.clear();
        a.kinds.clear();
        a.class_labels.clear();
        a.coord_counts.clear();
        a.coords.clear();
    }

    /// Images in the batch.
    pub fn len(&self) -> usize {
        self.request.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.request.images.is_empty()
    }

    pub fn request(&self) -> &ConvertRequest {
        &self.request
    }

    /// Appends an image; the annotations added next belong to it.
    pub fn image(&mut self, id: i64, width: u32, height: u32, class_label: Option<&str>) {
        let class_label = class_label.map(|l| self.label(l));
        self.request.images.push(Image { id, width, height, class_label, annotation_count: 0 });
    }

    /// Appends an annotation to the last image, its geometry as the WIT `annotations` record
    /// documents it (circle `x, y, radius`; corners and polygons as `x, y` pairs).
    ///
    /// # Panics
    /// When no image was added first (a bug in the caller).
    pub fn annotation(&mut self, id: i64, kind: AnnotationKind, class_label: &str, coords: &[f64]) {
        let class_label = self.label(class_label);
        let r = &mut self.request;
        r.images.last_mut().expect("RequestBuilder::annotation before any image").annotation_count += 1;
        let a = &mut r.annotations;
        a.ids.push(id);
        a.kinds.push(kind_number(kind));
        a.class_labels.push(class_label);
        a.coord_counts.push(coords.len() as u32);
        a.coords.extend_from_slice(coords);
    }

    /// Appends an annotation given as the core types.
    pub fn annotation_data(&mut self, id: i64, annotation_type: AnnotationType, class_label: &str, data: &AnnotationData) {
        let kind = annotation_kind(annotation_type);
        match data {
            AnnotationData::Circle { x, y, size } => self.annotation(id, kind, class_label, &[*x, *y, *size]),
            AnnotationData::Corners { corners } => self.annotation(id, kind, class_label, corners.as_flattened()),
            AnnotationData::Points { points } => self.annotation(id, kind, class_label, points.as_flattened()),
        }
    }

    /// The index of `label` in the request's class labels, added (resolved through the
    /// mapping) on first use.
    fn label(&mut self, label: &str) -> u32 {
        if let Some(&i) = self.labels.get(label) {
            return i;
        }
        let i = self.request.class_labels.len() as u32;
        self.request.class_labels.push(ClassLabel { label: label.to_string(), class_id: self.mapping.class_id(label) });
        self.labels.insert(label.to_string(), i);
        i
    }
}

/// An annotation kind as the request's `kinds` carries it: its number in the WIT enum.
pub fn kind_number(kind: AnnotationKind) -> u8 {
    match kind {
        AnnotationKind::Circle => 0,
        AnnotationKind::Box => 1,
        AnnotationKind::Rectangle => 2,
        AnnotationKind::Polygon => 3,
        AnnotationKind::ImageClass => 4,
    }
}

/// FNV-1a for the label → index lookups of [`RequestBuilder`]: class labels are short
/// strings looked up once per annotation, and std's SipHash cost more than lowering the
/// annotation into the plugin. No flooding defence is needed: a batch holds a few hundred
/// images' labels, so even crafted colliding labels cost milliseconds, not a stall.
#[derive(Clone, Copy)]
pub struct LabelHasher(u64);

impl Default for LabelHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for LabelHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::converter::{Labels, WarningReason};

    #[test]
    fn a_cleared_builder_sends_only_the_new_batch() {
        let mapping = ClassMapping::from_labels(["cat", "dog"]).unwrap();
        let mut b = RequestBuilder::new(TaskType::Detect, &mapping, vec![]);
        b.image(1, 100, 50, None);
        b.annotation(10, AnnotationKind::Circle, "cat", &[1.0, 2.0, 3.0]);
        b.annotation(11, AnnotationKind::Box, "bird", &[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0]);
        b.image(2, 100, 50, Some("dog"));
        b.annotation(12, AnnotationKind::Circle, "cat", &[5.0, 6.0, 7.0]);
        let r = b.request();
        assert_eq!(r.class_labels.iter().map(|c| (c.label.as_str(), c.class_id)).collect::<Vec<_>>(), [("cat", Some(0)), ("bird", None), ("dog", Some(1))]);
        assert_eq!(r.images.iter().map(|i| (i.id, i.class_label, i.annotation_count)).collect::<Vec<_>>(), [(1, None, 2), (2, Some(2), 1)]);
        let a = &r.annotations;
        assert_eq!((&a.ids[..], &a.class_labels[..], &a.coord_counts[..], a.coords.len()), (&[10, 11, 12][..], &[0, 1, 0][..], &[3, 8, 3][..], 14));
        assert_eq!(a.kinds, [0, 1, 0], "circle, box, circle");

        b.clear();
        b.image(3, 20, 10, None);
        b.annotation(13, AnnotationKind::Polygon, "dog", &[1.0, 1.0, 2.0, 1.0, 2.0, 2.0]);
        let r = b.request();
        assert_eq!(b.len(), 1);
        assert_eq!(r.class_labels.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(), ["dog"]);
        assert_eq!((r.images[0].id, r.images[0].width, r.images[0].height, r.images[0].annotation_count), (3, 20, 10, 1));
        assert_eq!((&r.annotations.ids[..], &r.annotations.class_labels[..]), (&[13][..], &[0][..]));
        assert_eq!(r.annotations.coords, [1.0, 1.0, 2.0, 1.0, 2.0, 2.0]);
    }

    fn two_images() -> ConvertRequest {
        let mapping = ClassMapping::from_labels(["cat", "dog"]).unwrap();
        let mut b = RequestBuilder::new(TaskType::Detect, &mapping, vec![]);
        b.image(1, 100, 50, None);
        b.annotation(10, AnnotationKind::Circle, "cat", &[1.0, 2.0, 3.0]);
        b.image(2, 100, 50, None);
        b.annotation(11, AnnotationKind::Circle, "dog", &[5.0, 6.0, 7.0]);
        b.request().clone()
    }

    fn warning(image_index: u32, annotation_id: Option<i64>) -> Warning {
        Warning { image_index, annotation_id, reason: WarningReason::Degenerate, message: String::new() }
    }

    #[test]
    fn results_are_read_image_by_image() {
        let out = ConvertResult {
            labels: Labels { per_image: vec![0, 2], class_ids: vec![1, 0], coord_counts: vec![4, 4], coords: vec![0.5, 0.5, 0.1, 0.2, 0.25, 0.75, 0.5, 0.5] },
            warnings: vec![warning(0, Some(10))],
        };
        check_result(&two_images(), &out).unwrap();
        let images: Vec<ImageResult> = out.images().collect();
        assert!(images[0].labels.is_empty() && images[0].warnings.len() == 1);
        assert_eq!(images[1].labels.class_ids(), [1, 0]);
        assert_eq!(
            images[1].labels.iter().collect::<Vec<_>>(),
            [Label::Bbox { class_id: 1, cx: 0.5, cy: 0.5, w: 0.1, h: 0.2 }, Label::Bbox { class_id: 0, cx: 0.25, cy: 0.75, w: 0.5, h: 0.5 }]
        );
    }

    #[test]
    fn results_that_break_the_contract_are_named() {
        let req = two_images();
        let ok = || ConvertResult { labels: Labels { per_image: vec![1, 0], class_ids: vec![0], coord_counts: vec![4], coords: vec![0.5; 4] }, warnings: vec![] };
        let err = |f: &dyn Fn(&mut ConvertResult)| {
            let mut out = ok();
            f(&mut out);
            check_result(&req, &out).unwrap_err()
        };
        check_result(&req, &ok()).unwrap();
        assert!(err(&|o| o.labels.per_image.pop().map(drop).unwrap()).contains("labels for 1 images in a request of 2"));
        assert!(err(&|o| o.labels.per_image[1] = 1).contains("adds up to 2 labels, but there are 1 class ids"));
        assert!(err(&|o| o.labels.coords.push(0.5)).contains("add up to 4 numbers, but `labels.coords` has 5"));
        assert!(err(&|o| o.labels.class_ids[0] = 2).contains("image 1: label 0 has class id 2, but there are only 2 classes"));
        assert!(err(&|o| o.labels.coords[2] = 0.0).contains("image 1: label 0: an empty box"));
        assert!(err(&|o| o.labels.coords[0] = f64::NAN).contains("cx = NaN is not a normalised"));
        let polygon = err(&|o| {
            o.labels.coord_counts[0] = 6;
            o.labels.coords = vec![0.5; 6];
        });
        assert!(polygon.contains("a polygon label (3 points); a detect dataset needs 4 numbers"), "{polygon}");
        assert!(err(&|o| o.warnings.push(warning(2, None))).contains("image index 2, but the request has 2 images"));
        assert!(err(&|o| o.warnings.push(warning(1, Some(10)))).contains("annotation 10, which is not in image 2"));
    }
}

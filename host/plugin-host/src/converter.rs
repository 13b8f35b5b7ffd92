//! Converters: a batch of images with their annotations → label records per image (the
//! `converter-plugin` world).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use af_core::{AnnotationData, AnnotationType, ClassMapping};
use wasmtime::component::InstancePre;
use wasmtime::Store;

use crate::bindings::converter::{Annotation, ClassLabel, ConvertRequest, ConvertResult, Image, Label};
use crate::bindings::converter_world::{ConverterPlugin, ConverterPluginPre};
use crate::bindings::types::{self as wit, AnnotationKind, TaskType};
use crate::metadata::annotation_kind;
use crate::kind::{KindPre, PluginKind};
use crate::metadata::Kind;
use crate::sandbox::HostState;

/// The converter kind.
pub struct Converter;

impl PluginKind for Converter {
    const KIND: Kind = Kind::Converter;
    const CALL: &'static str = "convert";
    type Pre = ConverterPluginPre<HostState>;
    type Bindings = ConverterPlugin;
    type Input = ConvertRequest;
    /// One result per image of the request, in order.
    type Output = Vec<ConvertResult>;

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

    fn call(b: &Self::Bindings, store: &mut Store<HostState>, input: &ConvertRequest) -> wasmtime::Result<Result<Vec<ConvertResult>, wit::PluginError>> {
        b.annotateforge_plugin_converter().call_convert(store, input)
    }

    fn check(req: &ConvertRequest, out: &Vec<ConvertResult>) -> Result<(), String> {
        if out.len() != req.images.len() {
            return Err(format!("{} results for a request of {} images (one per image expected)", out.len(), req.images.len()));
        }
        for (image, result) in req.images.iter().zip(out) {
            check_result(req.task, req.num_classes, image, result).map_err(|e| format!("image {}: {e}", image.id))?;
        }
        Ok(())
    }
}

/// The contract of a conversion result: labels of the task's kind, class ids in range,
/// coordinates finite and normalised, polygons with ≥ 3 points, at most one image class,
/// warnings about annotations of the request.
pub fn check_result(task: TaskType, num_classes: u32, image: &Image, out: &ConvertResult) -> Result<(), String> {
    let n = num_classes;
    let class = |i: usize, c: u32| if c < n { Ok(()) } else { Err(format!("label {i} has class id {c}, but there are only {n} classes (0..{})", n.saturating_sub(1))) };
    let unit = |i: usize, what: &str, v: f64| {
        if v.is_finite() && (0.0..=1.0).contains(&v) { Ok(()) } else { Err(format!("label {i}: {what} = {v} is not a normalised coordinate in [0, 1]")) }
    };
    let mut image_classes = 0;
    for (i, label) in out.labels.iter().enumerate() {
        match (task, label) {
            (TaskType::Detect, Label::Bbox(b)) => {
                class(i, b.class_id)?;
                for (what, v) in [("cx", b.cx), ("cy", b.cy), ("w", b.w), ("h", b.h)] {
                    unit(i, what, v)?;
                }
                if b.w <= 0.0 || b.h <= 0.0 {
                    return Err(format!("label {i} is an empty box ({} x {})", b.w, b.h));
                }
            }
            (TaskType::Segment, Label::Polygon(p)) => {
                class(i, p.class_id)?;
                if p.points.len() < 3 {
                    return Err(format!("label {i} is a polygon with {} points (at least 3 needed)", p.points.len()));
                }
                for (j, (x, y)) in p.points.iter().enumerate() {
                    unit(i, &format!("point {j} x"), *x)?;
                    unit(i, &format!("point {j} y"), *y)?;
                }
            }
            (TaskType::Classify, Label::ImageClass(c)) => {
                class(i, *c)?;
                image_classes += 1;
                if image_classes > 1 {
                    return Err("more than one image class for one image".into());
                }
            }
            (task, other) => {
                let what = match other {
                    Label::Bbox(_) => "box",
                    Label::Polygon(_) => "polygon",
                    Label::ImageClass(_) => "image-class",
                };
                return Err(format!("label {i} is a {what} label, which a {task:?} dataset cannot use"));
            }
        }
    }
    for w in &out.warnings {
        if let Some(id) = w.annotation_id {
            if !image.annotations.iter().any(|a| a.id == id) {
                return Err(format!("a warning names annotation {id}, which is not in the image"));
            }
        }
    }
    Ok(())
}

/// Builds a batched [`ConvertRequest`]: class labels are sent once per request, resolved
/// through the job's class mapping, and each image's geometry is one flat list of numbers.
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
    /// Images of earlier batches, kept with their (emptied) lists so that a job's batches
    /// reuse the same buffers instead of growing new ones for every image.
    spare: Vec<Image>,
}

impl<'m> RequestBuilder<'m> {
    pub fn new(task: TaskType, mapping: &'m ClassMapping, options: Vec<wit::Setting>) -> Self {
        let request = ConvertRequest { task, class_labels: Vec::new(), num_classes: mapping.num_classes(), options, images: Vec::new() };
        Self { mapping, labels: HashMap::default(), request, spare: Vec::new() }
    }

    /// Starts a new, empty batch with the same task, mapping and options.
    pub fn clear(&mut self) {
        self.labels.clear();
        self.request.class_labels.clear();
        self.spare.append(&mut self.request.images);
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
        let image = match self.spare.pop() {
            Some(mut image) => {
                image.annotations.clear();
                image.coords.clear();
                Image { id, width, height, class_label, ..image }
            }
            None => Image { id, width, height, class_label, annotations: Vec::new(), coords: Vec::new() },
        };
        self.request.images.push(image);
    }

    /// Appends an annotation to the last image, its geometry as the WIT `annotation`
    /// documents it (circle `x, y, radius`; corners and polygons as `x, y` pairs).
    ///
    /// # Panics
    /// When no image was added first (a bug in the caller).
    pub fn annotation(&mut self, id: i64, kind: AnnotationKind, class_label: &str, coords: &[f64]) {
        let class_label = self.label(class_label);
        let image = self.request.images.last_mut().expect("RequestBuilder::annotation before any image");
        image.coords.extend_from_slice(coords);
        image.annotations.push(Annotation { id, kind, class_label, coord_count: coords.len() as u32 });
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

    #[test]
    fn a_cleared_builder_reuses_buffers_but_sends_only_the_new_batch() {
        let mapping = ClassMapping::from_labels(["cat", "dog"]).unwrap();
        let mut b = RequestBuilder::new(TaskType::Detect, &mapping, vec![]);
        b.image(1, 100, 50, None);
        b.annotation(10, AnnotationKind::Circle, "cat", &[1.0, 2.0, 3.0]);
        b.annotation(11, AnnotationKind::Box, "bird", &[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0]);
        b.image(2, 100, 50, Some("dog"));
        b.annotation(12, AnnotationKind::Circle, "cat", &[5.0, 6.0, 7.0]);
        let r = b.request();
        assert_eq!(r.class_labels.iter().map(|c| (c.label.as_str(), c.class_id)).collect::<Vec<_>>(), [("cat", Some(0)), ("bird", None), ("dog", Some(1))]);
        assert_eq!((r.images[0].annotations[1].class_label, r.images[0].annotations[1].coord_count, r.images[0].coords.len()), (1, 8, 11));
        assert_eq!((r.images[1].class_label, r.images[1].annotations[0].class_label), (Some(2), 0));

        b.clear();
        b.image(3, 20, 10, None);
        b.annotation(13, AnnotationKind::Polygon, "dog", &[1.0, 1.0, 2.0, 1.0, 2.0, 2.0]);
        let r = b.request();
        assert_eq!(b.len(), 1);
        assert_eq!(r.class_labels.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(), ["dog"]);
        let image = &r.images[0];
        assert_eq!((image.id, image.width, image.height, image.class_label), (3, 20, 10, None));
        assert_eq!(image.annotations.iter().map(|a| (a.id, a.class_label, a.coord_count)).collect::<Vec<_>>(), [(13, 0, 6)]);
        assert_eq!(image.coords, [1.0, 1.0, 2.0, 1.0, 2.0, 2.0]);
    }
}

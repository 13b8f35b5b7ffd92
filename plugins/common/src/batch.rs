//! A converter request and result as the WIT `converter` interface carries them: column-wise
//! (one list per field), image after image. [`convert_batch`] walks a request image by image
//! and hands each converter the image's annotations as [`Annotation`]s; the converter appends
//! its labels to [`LabelColumns`].
//!
//! The guests only move the WIT lists into these types (the number lists are moved, not
//! copied) and back; the host's native benchmark calls the same [`convert_batch`].

use crate::annotation::{Annotation, ClassTable, Kind, Point, Shape};
use crate::options::Settings;
use crate::warning::{Warning, WarningReason};

/// An image of the request: the WIT `image` record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageHead {
    pub id: i64,
    pub width: u32,
    pub height: u32,
    /// Index into the request's class labels.
    pub class_label: Option<u32>,
    /// How many of the request's annotations (the next ones) belong to this image.
    pub annotation_count: u32,
}

/// Every annotation of a request, one slice per field: the WIT `annotations` record.
#[derive(Debug, Clone, Copy)]
pub struct AnnotationColumns<'a> {
    pub ids: &'a [i64],
    /// Each annotation's kind as its number in the WIT enum ([`Kind::from_number`]).
    pub kinds: &'a [u8],
    pub class_labels: &'a [u32],
    pub coord_counts: &'a [u32],
    pub coords: &'a [f64],
}

/// Every label of a batch, image after image: the WIT `labels` record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelColumns {
    /// Labels per image, one entry per image converted so far.
    pub per_image: Vec<u32>,
    pub class_ids: Vec<u32>,
    pub coord_counts: Vec<u32>,
    /// Normalised numbers: `cx cy w h` for a box, `x y` pairs for a polygon, none for a class.
    pub coords: Vec<f64>,
}

impl LabelColumns {
    /// Adds a label to the image being converted.
    #[inline]
    pub fn push(&mut self, class_id: u32, coords: &[f64]) {
        self.class_ids.push(class_id);
        self.coord_counts.push(coords.len() as u32);
        self.coords.extend_from_slice(coords);
    }

    /// Adds a polygon label (its points as `x y` pairs) to the image being converted.
    pub fn push_points(&mut self, class_id: u32, points: &[Point]) {
        self.class_ids.push(class_id);
        self.coord_counts.push(2 * points.len() as u32);
        self.coords.extend(points.iter().flat_map(|&(x, y)| [x, y]));
    }

    /// Labels added so far, in all images.
    pub fn len(&self) -> usize {
        self.class_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.class_ids.is_empty()
    }

    /// Closes the current image: the labels pushed since there were `labels_before` are its
    /// labels.
    pub fn end_image(&mut self, labels_before: usize) {
        self.per_image.push((self.class_ids.len() - labels_before) as u32);
    }
}

/// A warning about the `image_index`-th image of the request.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageWarning {
    pub image_index: u32,
    pub warning: Warning,
}

/// A built-in converter: its options, read from the call's settings, and the conversion of
/// one image.
pub trait ImageConverter: Sized {
    fn from_settings(settings: &Settings) -> Result<Self, String>;

    /// Converts one image's annotations, pushing one label (to `labels`) or one warning per
    /// annotation, or per image for image-level conversions.
    fn convert_image(&self, image: &ImageHead, annotations: &[Annotation<'_>], classes: &ClassTable, labels: &mut LabelColumns, warnings: &mut Vec<Warning>);
}

/// The body of a per-annotation [`ImageConverter::convert_image`]: `one` converts an
/// annotation, pushing its label to `labels`, or says why it has none; each reason becomes
/// that annotation's warning, in annotation order.
#[inline(always)]
pub fn convert_each<'a>(
    annotations: &[Annotation<'a>],
    labels: &mut LabelColumns,
    warnings: &mut Vec<Warning>,
    mut one: impl FnMut(&Annotation<'a>, &mut LabelColumns) -> Result<(), (WarningReason, String)>,
) {
    for a in annotations {
        if let Err((reason, message)) = one(a, labels) {
            warnings.push(Warning::annotation(a.id, reason, message));
        }
    }
}

/// Converts every image of a column-wise request, in order. An error (the columns do not
/// add up) names the image and means the request is malformed.
pub fn convert_batch<C: ImageConverter>(
    converter: &C,
    images: &[ImageHead],
    columns: &AnnotationColumns<'_>,
    classes: &ClassTable,
) -> Result<(LabelColumns, Vec<ImageWarning>), String> {
    let n = columns.ids.len();
    if columns.kinds.len() != n || columns.class_labels.len() != n || columns.coord_counts.len() != n {
        return Err(format!(
            "the annotation columns differ in length: {n} ids, {} kinds, {} class labels, {} coordinate counts",
            columns.kinds.len(),
            columns.class_labels.len(),
            columns.coord_counts.len()
        ));
    }
    let mut labels = LabelColumns { per_image: Vec::with_capacity(images.len()), ..Default::default() };
    labels.class_ids.reserve(n);
    labels.coord_counts.reserve(n);
    labels.coords.reserve(4 * n);
    let mut warnings = Vec::new();
    let mut image_warnings = Vec::new();
    let mut annotations = Vec::new();
    let (mut next, mut coords) = (0usize, columns.coords);
    for (index, image) in images.iter().enumerate() {
        let count = image.annotation_count as usize;
        if count > n - next {
            return Err(format!("image {}: claims {count} annotations but only {} are left in the request", image.id, n - next));
        }
        annotations.clear();
        for i in next..next + count {
            let k = columns.coord_counts[i] as usize;
            let Some((numbers, rest)) = coords.split_at_checked(k) else {
                return Err(format!("image {}: annotation {} claims {k} coordinates but only {} are left in the request", image.id, columns.ids[i], coords.len()));
            };
            coords = rest;
            let kind = Kind::from_number(columns.kinds[i]).map_err(|e| format!("image {}: annotation {}: {e}", image.id, columns.ids[i]))?;
            annotations.push(Annotation { id: columns.ids[i], kind, shape: Shape::from_coords(kind, numbers), class: columns.class_labels[i] });
        }
        next += count;
        let before = labels.len();
        converter.convert_image(image, &annotations, classes, &mut labels, &mut warnings);
        labels.end_image(before);
        image_warnings.extend(warnings.drain(..).map(|warning| ImageWarning { image_index: index as u32, warning }));
    }
    if next != n {
        return Err(format!("{} annotations belong to no image", n - next));
    }
    if !coords.is_empty() {
        return Err(format!("{} coordinates belong to no annotation", coords.len()));
    }
    Ok((labels, image_warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels every circle with its class and radius; warns about everything else.
    struct Radii;

    impl ImageConverter for Radii {
        fn from_settings(_: &Settings) -> Result<Self, String> {
            Ok(Radii)
        }

        fn convert_image(&self, _: &ImageHead, annotations: &[Annotation<'_>], classes: &ClassTable, labels: &mut LabelColumns, warnings: &mut Vec<Warning>) {
            for a in annotations {
                match (a.shape, classes.class_id(a.class)) {
                    (Shape::Circle { radius, .. }, Some(c)) => labels.push(c, &[radius]),
                    _ => warnings.push(Warning::annotation(a.id, WarningReason::UnsupportedKind, "not a mapped circle")),
                }
            }
        }
    }

    fn head(id: i64, annotation_count: u32) -> ImageHead {
        ImageHead { id, width: 10, height: 10, class_label: None, annotation_count }
    }

    #[test]
    fn walks_the_columns_image_by_image() {
        let classes = ClassTable::new([("a".to_string(), Some(0)), ("b".to_string(), Some(1))], 2);
        let images = [head(7, 2), head(8, 0), head(9, 1)];
        let columns = AnnotationColumns {
            ids: &[1, 2, 3],
            kinds: &[0, 3, 0],
            class_labels: &[1, 0, 0],
            coord_counts: &[3, 6, 3],
            coords: &[1.0, 1.0, 0.5, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.25],
        };
        let (labels, warnings) = convert_batch(&Radii, &images, &columns, &classes).unwrap();
        assert_eq!(labels, LabelColumns { per_image: vec![1, 0, 1], class_ids: vec![1, 0], coord_counts: vec![1, 1], coords: vec![0.5, 0.25] });
        assert_eq!(warnings.iter().map(|w| (w.image_index, w.warning.annotation_id)).collect::<Vec<_>>(), [(0, Some(2))]);
    }

    #[test]
    fn columns_that_do_not_add_up_name_the_image() {
        let classes = ClassTable::new([("a".to_string(), Some(0))], 1);
        let columns = AnnotationColumns { ids: &[1, 2], kinds: &[0; 2], class_labels: &[0, 0], coord_counts: &[3, 3], coords: &[1.0, 1.0, 1.0, 2.0, 2.0] };
        let err = convert_batch(&Radii, &[head(4, 1), head(5, 1)], &columns, &classes).unwrap_err();
        assert!(err.contains("image 5") && err.contains("claims 3 coordinates but only 2"), "{err}");
        let err = convert_batch(&Radii, &[head(4, 3)], &columns, &classes).unwrap_err();
        assert!(err.contains("image 4: claims 3 annotations but only 2"), "{err}");
        let err = convert_batch(&Radii, &[head(4, 1)], &columns, &classes).unwrap_err();
        assert!(err.contains("1 annotations belong to no image"), "{err}");
        let short = AnnotationColumns { kinds: &[0], ..columns };
        assert!(convert_batch(&Radii, &[head(4, 2)], &short, &classes).unwrap_err().contains("differ in length"));
        let unknown = AnnotationColumns { kinds: &[0, 9], coords: &[1.0; 6], ..columns };
        let err = convert_batch(&Radii, &[head(4, 1), head(5, 1)], &unknown, &classes).unwrap_err();
        assert!(err.contains("image 5: annotation 2: annotation kind 9 is not one of"), "{err}");
    }
}

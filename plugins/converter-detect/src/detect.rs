//! Shapes → axis-aligned boxes, as Ultralytics' detection labels expect them.
//!
//! Rules (the ones `conversion.json` in the parity fixtures spells out):
//! - box / rectangle: `x1, y1` = the minimum of the 4 corners, `x2, y2` = the maximum
//!   (rotated rectangles become their bounding box);
//! - circle: `(x − r, y − r, x + r, y + r)`;
//! - polygon: its bounding box;
//! - then clip to `[0, W] × [0, H]` and normalise: `cx = (x1 + x2) / 2 / W`,
//!   `cy = (y1 + y2) / 2 / H`, `w = (x2 − x1) / W`, `h = (y2 − y1) / H`, in f64 and in that
//!   order, so the host's `{:.6}` prints exactly Ultralytics' numbers.
//!
//! Skipped, with a warning: unmapped class labels, shapes entirely outside the image, boxes
//! with no width or height left (or not more than the `min-size` option, in pixels),
//! polygons with fewer than 3 points, malformed geometry, and `image-class` annotations.

use af_plugin_common::batch::{convert_each, ImageConverter, ImageHead, LabelColumns};
use af_plugin_common::geometry::{all_finite, bounds, clip_box, outside_image, points};
use af_plugin_common::{Annotation, ClassTable, Settings, Shape, Warning, WarningReason};

pub const NAME: &str = "converter-detect";
pub const DESCRIPTION: &str = "Circles, boxes, rectangles (rotated allowed) and polygons to YOLO detection boxes, clipped to the image.";

/// The option names and defaults this converter declares.
pub const OPT_MIN_SIZE: &str = "min-size";
pub const OPT_MIN_SIZE_DEFAULT: f64 = 0.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Boxes whose clipped width or height is not more than this (pixels) are degenerate.
    pub min_size: f64,
}

impl Options {
    pub fn from_settings(s: &Settings) -> Result<Self, String> {
        let min_size = s.number(OPT_MIN_SIZE, OPT_MIN_SIZE_DEFAULT)?;
        if min_size < 0.0 {
            return Err(format!("option `{OPT_MIN_SIZE}` must be ≥ 0, got {min_size}"));
        }
        Ok(Self { min_size })
    }
}

impl Default for Options {
    fn default() -> Self {
        Self { min_size: OPT_MIN_SIZE_DEFAULT }
    }
}

/// A detection label: class id and normalised centre / size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxLabel {
    pub class_id: u32,
    pub cx: f64,
    pub cy: f64,
    pub w: f64,
    pub h: f64,
}

/// The converter the component runs: each label's numbers are `cx cy w h`.
impl ImageConverter for Options {
    fn from_settings(settings: &Settings) -> Result<Self, String> {
        Options::from_settings(settings)
    }

    fn convert_image(&self, image: &ImageHead, annotations: &[Annotation<'_>], classes: &ClassTable, labels: &mut LabelColumns, warnings: &mut Vec<Warning>) {
        convert_each(annotations, labels, warnings, |a, labels| {
            let b = convert_one(image.width, image.height, a, classes, self)?;
            labels.push(b.class_id, &[b.cx, b.cy, b.w, b.h]);
            Ok(())
        });
    }
}

// Always inlined into the per-image loop: called per annotation, its many arguments and
// saved registers cost more than its body in a component.
#[inline(always)]
fn convert_one(
    width: u32,
    height: u32,
    a: &Annotation,
    classes: &ClassTable,
    options: &Options,
) -> Result<BoxLabel, (WarningReason, String)> {
    use WarningReason::*;
    let class_id = classes
        .class_id(a.class)
        .ok_or_else(|| (UnmappedClass, format!("class label `{}` is not in the class mapping", classes.label(a.class))))?;
    let raw = match &a.shape {
        Shape::Circle { x, y, radius } => {
            if !(x.is_finite() && y.is_finite() && radius.is_finite()) {
                return Err((InvalidGeometry, "the circle has a non-finite coordinate".into()));
            }
            if *radius <= 0.0 {
                return Err((Degenerate, format!("the circle's radius {radius} is not positive")));
            }
            (x - radius, y - radius, x + radius, y + radius)
        }
        Shape::Corners(corners) => {
            if corners.len() != 4 {
                return Err((InvalidGeometry, format!("a {} needs 4 corners, got {}", a.kind.as_str(), corners.len())));
            }
            if !all_finite(points(corners)) {
                return Err((InvalidGeometry, format!("the {} has a non-finite corner", a.kind.as_str())));
            }
            bounds(points(corners))
        }
        Shape::Polygon(vertices) => {
            if vertices.len() < 3 {
                return Err((TooFewPoints, format!("a polygon needs at least 3 points, got {}", vertices.len())));
            }
            if !all_finite(points(vertices)) {
                return Err((InvalidGeometry, "the polygon has a non-finite point".into()));
            }
            bounds(points(vertices))
        }
        Shape::Malformed { numbers } => {
            return Err((InvalidGeometry, format!("{numbers} coordinates cannot describe a {}", a.kind.as_str())));
        }
        Shape::None => {
            return Err((UnsupportedKind, format!("{} annotations carry no geometry for detection", a.kind.as_str())))
        }
    };
    let (w, h) = (width as f64, height as f64);
    if outside_image(raw, w, h) {
        return Err((OutOfImage, format!("the {} lies entirely outside the {width}x{height} image", a.kind.as_str())));
    }
    let (x1, y1, x2, y2) = clip_box(raw, w, h);
    if x2 - x1 <= options.min_size || y2 - y1 <= options.min_size {
        return Err((
            Degenerate,
            format!("the {}'s box is {}x{} px inside the image (minimum: more than {} px)", a.kind.as_str(), x2 - x1, y2 - y1, options.min_size),
        ));
    }
    Ok(BoxLabel { class_id, cx: (x1 + x2) / 2.0 / w, cy: (y1 + y2) / 2.0 / h, w: (x2 - x1) / w, h: (y2 - y1) / h })
}

#[cfg(test)]
mod tests {
    use super::*;
    use af_plugin_common::Kind;

    fn classes() -> ClassTable {
        ClassTable::new([("a".to_string(), Some(0)), ("b".to_string(), Some(1)), ("zebra".to_string(), None)], 2)
    }

    fn ann(id: i64, kind: Kind, shape: Shape<'static>, label: &str) -> Annotation<'static> {
        Annotation { id, kind, shape, class: classes().index_of(label).unwrap() }
    }

    fn run(anns: &[Annotation]) -> (Vec<BoxLabel>, Vec<Warning>) {
        run_with(anns, &Options::default())
    }

    /// One 200×100 image through `convert_image`, its labels read back as boxes.
    fn run_with(anns: &[Annotation], options: &Options) -> (Vec<BoxLabel>, Vec<Warning>) {
        let image = ImageHead { id: 1, width: 200, height: 100, class_label: None, annotation_count: anns.len() as u32 };
        let (mut labels, mut w) = (LabelColumns::default(), vec![]);
        options.convert_image(&image, anns, &classes(), &mut labels, &mut w);
        assert!(labels.coord_counts.iter().all(|&k| k == 4), "{labels:?}");
        let boxes = labels.class_ids.iter().zip(labels.coords.chunks_exact(4)).map(|(&class_id, b)| BoxLabel { class_id, cx: b[0], cy: b[1], w: b[2], h: b[3] });
        (boxes.collect(), w)
    }

    #[test]
    fn rotated_corners_become_their_bounding_box() {
        let (l, w) = run(&[ann(1, Kind::Rectangle, Shape::Corners(&[[50.0, 10.0], [90.0, 50.0], [50.0, 90.0], [10.0, 50.0]]), "b")]);
        assert!(w.is_empty());
        assert_eq!(l, vec![BoxLabel { class_id: 1, cx: 0.25, cy: 0.5, w: 0.4, h: 0.8 }]);
    }

    #[test]
    fn circles_are_clipped_to_the_image() {
        let (l, _) = run(&[ann(1, Kind::Circle, Shape::Circle { x: 190.0, y: 5.0, radius: 20.0 }, "a")]);
        // (170, -15, 210, 25) clipped to (170, 0, 200, 25).
        assert_eq!(l, vec![BoxLabel { class_id: 0, cx: 185.0 / 200.0, cy: 12.5 / 100.0, w: 30.0 / 200.0, h: 25.0 / 100.0 }]);
    }

    #[test]
    fn polygons_become_their_bounding_box() {
        let (l, _) = run(&[ann(1, Kind::Polygon, Shape::Polygon(&[[20.0, 20.0], [60.0, 30.0], [40.0, 80.0]]), "a")]);
        assert_eq!(l, vec![BoxLabel { class_id: 0, cx: 0.2, cy: 0.5, w: 0.2, h: 0.6 }]);
    }

    #[test]
    fn skipped_annotations_get_one_warning_each_with_its_reason() {
        let anns = [
            ann(1, Kind::Box, Shape::Corners(&[[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]), "zebra"),
            ann(2, Kind::Box, Shape::Corners(&[[210.0, 0.0], [230.0, 0.0], [230.0, 10.0], [210.0, 10.0]]), "a"),
            ann(3, Kind::Box, Shape::Corners(&[[5.0, 5.0], [5.0, 5.0], [5.0, 40.0], [5.0, 40.0]]), "a"),
            ann(4, Kind::Polygon, Shape::Polygon(&[[1.0, 1.0], [2.0, 2.0]]), "a"),
            ann(5, Kind::Box, Shape::Corners(&[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), "a"),
            ann(6, Kind::Circle, Shape::Circle { x: 5.0, y: f64::NAN, radius: 3.0 }, "a"),
            ann(7, Kind::ImageClass, Shape::None, "a"),
            ann(8, Kind::Circle, Shape::Circle { x: 50.0, y: 50.0, radius: 0.0 }, "a"),
            ann(9, Kind::Box, Shape::Corners(&[[-30.0, 0.0], [0.0, 0.0], [0.0, 10.0], [-30.0, 10.0]]), "a"),
            ann(10, Kind::Polygon, Shape::from_coords(Kind::Polygon, &[1.0, 1.0, 20.0, 2.0, 3.0]), "a"),
        ];
        let (l, w) = run(&anns);
        assert!(l.is_empty(), "{l:?}");
        use WarningReason::*;
        let got: Vec<(Option<i64>, WarningReason)> = w.iter().map(|w| (w.annotation_id, w.reason)).collect();
        assert_eq!(
            got,
            vec![
                (Some(1), UnmappedClass),
                (Some(2), OutOfImage),
                (Some(3), Degenerate),
                (Some(4), TooFewPoints),
                (Some(5), InvalidGeometry),
                (Some(6), InvalidGeometry),
                (Some(7), UnsupportedKind),
                (Some(8), Degenerate),
                (Some(9), OutOfImage),
                (Some(10), InvalidGeometry),
            ]
        );
        assert!(w[0].message.contains("zebra"));
        assert!(w[9].message.contains("5 coordinates"), "{}", w[9].message);
    }

    #[test]
    fn min_size_option_drops_tiny_boxes() {
        let opts = Options::from_settings(&Settings::new([(OPT_MIN_SIZE.to_string(), af_plugin_common::OptionValue::Number(5.0))])).unwrap();
        let anns = [
            ann(1, Kind::Box, Shape::Corners(&[[0.0, 0.0], [5.0, 0.0], [5.0, 50.0], [0.0, 50.0]]), "a"),
            ann(2, Kind::Box, Shape::Corners(&[[0.0, 0.0], [6.0, 0.0], [6.0, 50.0], [0.0, 50.0]]), "a"),
        ];
        let (l, w) = run_with(&anns, &opts);
        assert_eq!(l.len(), 1);
        assert_eq!(w[0].annotation_id, Some(1));
        assert!(Options::from_settings(&Settings::new([(OPT_MIN_SIZE.to_string(), af_plugin_common::OptionValue::Number(-1.0))])).is_err());
    }
}

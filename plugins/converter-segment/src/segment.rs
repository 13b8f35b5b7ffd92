//! Shapes → polygons, as Ultralytics' segmentation labels expect them.
//!
//! - polygon: its points in drawing order, not closed (the rule `conversion.json` spells out);
//! - circle: a regular polygon of `circle-vertices` points (default 32), starting at the
//!   rightmost point;
//! - box / rectangle: its 4 corners in drawing order (rotation kept).
//!
//! Every point is clipped to `[0, W] × [0, H]` (as Ultralytics clips segments) and
//! normalised as `(x / W, y / H)` in f64.
//!
//! Skipped, with a warning: unmapped class labels, shapes entirely outside the image,
//! polygons with fewer than 3 points, shapes with no area left after clipping, malformed
//! geometry, and `image-class` annotations.

use af_plugin_common::batch::{convert_each, ImageConverter, ImageHead, LabelColumns};
use af_plugin_common::geometry::{all_finite, bounds, circle_polygon, clip_point, outside_image, points, polygon_area};
use af_plugin_common::{Annotation, ClassTable, Point, Settings, Shape, Warning, WarningReason};

pub const NAME: &str = "converter-segment";
pub const DESCRIPTION: &str = "Polygons, circles (as regular polygons) and boxes (as 4-point polygons) to YOLO segmentation polygons, clipped to the image.";

pub const OPT_CIRCLE_VERTICES: &str = "circle-vertices";
pub const OPT_CIRCLE_VERTICES_DEFAULT: i64 = 32;
const CIRCLE_VERTICES_RANGE: std::ops::RangeInclusive<i64> = 3..=1024;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    pub circle_vertices: u32,
}

impl Options {
    pub fn from_settings(s: &Settings) -> Result<Self, String> {
        let n = s.integer(OPT_CIRCLE_VERTICES, OPT_CIRCLE_VERTICES_DEFAULT)?;
        if !CIRCLE_VERTICES_RANGE.contains(&n) {
            return Err(format!("option `{OPT_CIRCLE_VERTICES}` must be between 3 and 1024, got {n}"));
        }
        Ok(Self { circle_vertices: n as u32 })
    }
}

impl Default for Options {
    fn default() -> Self {
        Self { circle_vertices: OPT_CIRCLE_VERTICES_DEFAULT as u32 }
    }
}

/// A segmentation label: class id and normalised points.
#[derive(Debug, Clone, PartialEq)]
pub struct PolygonLabel {
    pub class_id: u32,
    pub points: Vec<Point>,
}

/// The converter the component runs: each label's numbers are its points as `x y` pairs.
impl ImageConverter for Options {
    fn from_settings(settings: &Settings) -> Result<Self, String> {
        Options::from_settings(settings)
    }

    fn convert_image(&self, image: &ImageHead, annotations: &[Annotation<'_>], classes: &ClassTable, labels: &mut LabelColumns, warnings: &mut Vec<Warning>) {
        convert_each(annotations, labels, warnings, |a, labels| {
            let p = convert_one(image.width, image.height, a, classes, self)?;
            labels.push_points(p.class_id, &p.points);
            Ok(())
        });
    }
}

fn convert_one(width: u32, height: u32, a: &Annotation, classes: &ClassTable, options: &Options) -> Result<PolygonLabel, (WarningReason, String)> {
    use WarningReason::*;
    let kind = a.kind.as_str();
    let class_id = classes
        .class_id(a.class)
        .ok_or_else(|| (UnmappedClass, format!("class label `{}` is not in the class mapping", classes.label(a.class))))?;
    let mut polygon: Vec<Point> = match a.shape {
        Shape::Polygon(vertices) => {
            if vertices.len() < 3 {
                return Err((TooFewPoints, format!("a polygon needs at least 3 points, got {}", vertices.len())));
            }
            points(vertices).collect()
        }
        Shape::Corners(corners) => {
            if corners.len() != 4 {
                return Err((InvalidGeometry, format!("a {kind} needs 4 corners, got {}", corners.len())));
            }
            points(corners).collect()
        }
        Shape::Circle { x, y, radius } => {
            if !(x.is_finite() && y.is_finite() && radius.is_finite()) {
                return Err((InvalidGeometry, "the circle has a non-finite coordinate".into()));
            }
            if radius <= 0.0 {
                return Err((Degenerate, format!("the circle's radius {radius} is not positive")));
            }
            circle_polygon(x, y, radius, options.circle_vertices)
        }
        Shape::Malformed { numbers } => return Err((InvalidGeometry, format!("{numbers} coordinates cannot describe a {kind}"))),
        Shape::None => return Err((UnsupportedKind, format!("{kind} annotations carry no geometry for segmentation"))),
    };
    if !all_finite(polygon.iter().copied()) {
        return Err((InvalidGeometry, format!("the {kind} has a non-finite point")));
    }
    let (w, h) = (width as f64, height as f64);
    if outside_image(bounds(polygon.iter().copied()), w, h) {
        return Err((OutOfImage, format!("the {kind} lies entirely outside the {width}x{height} image")));
    }
    for p in polygon.iter_mut() {
        *p = clip_point(*p, w, h);
    }
    if polygon_area(&polygon) <= 0.0 {
        return Err((Degenerate, format!("the {kind} has no area inside the image")));
    }
    for p in polygon.iter_mut() {
        *p = (p.0 / w, p.1 / h);
    }
    Ok(PolygonLabel { class_id, points: polygon })
}

#[cfg(test)]
mod tests {
    use super::*;
    use af_plugin_common::{Kind, OptionValue};

    fn classes() -> ClassTable {
        ClassTable::new([("a".to_string(), Some(0)), ("b".to_string(), Some(1)), ("nope".to_string(), None)], 2)
    }

    fn ann(id: i64, kind: Kind, shape: Shape<'static>, label: &str) -> Annotation<'static> {
        Annotation { id, kind, shape, class: classes().index_of(label).unwrap() }
    }

    /// One 100×50 image through `convert_image`, its labels read back as polygons.
    fn run(anns: Vec<Annotation>, opts: Options) -> (Vec<PolygonLabel>, Vec<Warning>) {
        let image = ImageHead { id: 1, width: 100, height: 50, class_label: None, annotation_count: anns.len() as u32 };
        let (mut labels, mut w) = (LabelColumns::default(), vec![]);
        opts.convert_image(&image, &anns, &classes(), &mut labels, &mut w);
        let mut coords = &labels.coords[..];
        let polygons = labels.class_ids.iter().zip(&labels.coord_counts).map(|(&class_id, &k)| {
            let (numbers, rest) = coords.split_at(k as usize);
            coords = rest;
            PolygonLabel { class_id, points: numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect() }
        });
        (polygons.collect(), w)
    }

    #[test]
    fn polygons_keep_their_order_and_are_normalised() {
        let (l, w) = run(vec![ann(1, Kind::Polygon, Shape::Polygon(&[[10.0, 5.0], [50.0, 5.0], [30.0, 45.0]]), "b")], Options::default());
        assert!(w.is_empty());
        assert_eq!(l, vec![PolygonLabel { class_id: 1, points: vec![(0.1, 0.1), (0.5, 0.1), (0.3, 0.9)] }]);
    }

    #[test]
    fn boxes_become_four_points_and_circles_n_points() {
        let opts = Options::from_settings(&Settings::new([(OPT_CIRCLE_VERTICES.to_string(), OptionValue::Integer(6))])).unwrap();
        let (l, _) = run(
            vec![
                ann(1, Kind::Box, Shape::Corners(&[[10.0, 10.0], [20.0, 10.0], [20.0, 20.0], [10.0, 20.0]]), "a"),
                ann(2, Kind::Circle, Shape::Circle { x: 50.0, y: 25.0, radius: 10.0 }, "a"),
            ],
            opts,
        );
        assert_eq!(l[0].points, vec![(0.1, 0.2), (0.2, 0.2), (0.2, 0.4), (0.1, 0.4)]);
        assert_eq!(l[1].points.len(), 6);
        assert_eq!(l[1].points[0], (0.6, 0.5));
    }

    #[test]
    fn points_outside_are_clipped() {
        let (l, _) = run(vec![ann(1, Kind::Polygon, Shape::Polygon(&[[-10.0, 10.0], [50.0, -5.0], [120.0, 60.0]]), "a")], Options::default());
        assert_eq!(l[0].points, vec![(0.0, 0.2), (0.5, 0.0), (1.0, 1.0)]);
    }

    #[test]
    fn warnings_name_each_skipped_annotation() {
        let (l, w) = run(
            vec![
                ann(1, Kind::Polygon, Shape::Polygon(&[[1.0, 1.0], [2.0, 2.0]]), "a"),
                ann(2, Kind::Polygon, Shape::Polygon(&[[200.0, 1.0], [210.0, 2.0], [205.0, 9.0]]), "a"),
                ann(3, Kind::Polygon, Shape::Polygon(&[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), "a"),
                ann(4, Kind::Polygon, Shape::Polygon(&[[1.0, 1.0], [20.0, 2.0], [3.0, 30.0]]), "nope"),
                ann(5, Kind::ImageClass, Shape::None, "a"),
                ann(6, Kind::Box, Shape::Corners(&[[1.0, 1.0]]), "a"),
            ],
            Options::default(),
        );
        assert!(l.is_empty());
        use WarningReason::*;
        let got: Vec<_> = w.iter().map(|w| (w.annotation_id.unwrap(), w.reason)).collect();
        assert_eq!(got, vec![(1, TooFewPoints), (2, OutOfImage), (3, Degenerate), (4, UnmappedClass), (5, UnsupportedKind), (6, InvalidGeometry)]);
    }

    #[test]
    fn circle_vertices_are_bounded() {
        for bad in [2, 1025] {
            assert!(Options::from_settings(&Settings::new([(OPT_CIRCLE_VERTICES.to_string(), OptionValue::Integer(bad))])).is_err());
        }
    }
}

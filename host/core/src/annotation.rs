//! Annotation shapes as users draw them, in image pixels, and their validation.
//!
//! The wire format is `{ "type": "box", "data": { "corners": [[x, y], ×4] } }` (DESIGN.md):
//! `circle` → `{x, y, size}` (centre and radius), `box`/`rectangle` → `{corners}` (4 points,
//! rotated rectangles allowed), `polygon` → `{points}` (≥ 3 points, not closed).
//! `image_class` is the image-level class used by classification; it carries no geometry.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::FieldError;

/// A point `[x, y]` in image pixels.
pub type Point = [f64; 2];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum AnnotationType {
    Circle,
    Box,
    Rectangle,
    Polygon,
    /// The image-level class label (`images.class_label`), for classification.
    ImageClass,
}

impl AnnotationType {
    pub const ALL: [AnnotationType; 5] = [
        AnnotationType::Circle,
        AnnotationType::Box,
        AnnotationType::Rectangle,
        AnnotationType::Polygon,
        AnnotationType::ImageClass,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationType::Circle => "circle",
            AnnotationType::Box => "box",
            AnnotationType::Rectangle => "rectangle",
            AnnotationType::Polygon => "polygon",
            AnnotationType::ImageClass => "image_class",
        }
    }

    /// True for the shapes stored as annotation rows (everything but `image_class`).
    pub fn is_shape(self) -> bool {
        !matches!(self, AnnotationType::ImageClass)
    }
}

impl fmt::Display for AnnotationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AnnotationType {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AnnotationType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            FieldError::new(
                "type",
                format!("unknown annotation type `{s}` (expected circle, box, rectangle, polygon or image_class)"),
            )
        })
    }
}

/// Who made an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum AnnotationSource {
    #[default]
    Manual,
    CustomModel,
}

impl AnnotationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationSource::Manual => "manual",
            AnnotationSource::CustomModel => "custom_model",
        }
    }
}

impl FromStr for AnnotationSource {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "manual" => Ok(AnnotationSource::Manual),
            "custom_model" => Ok(AnnotationSource::CustomModel),
            other => Err(FieldError::new("source", format!("unknown source `{other}` (expected manual or custom_model)"))),
        }
    }
}

/// The geometry of a shape annotation, in image pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnnotationData {
    Circle { x: f64, y: f64, size: f64 },
    Corners { corners: [Point; 4] },
    Points { points: Vec<Point> },
}

impl AnnotationData {
    /// Parses `data` for an annotation of type `ty`, rejecting unknown fields and non-finite
    /// numbers. Errors name the field under `data`.
    pub fn parse(ty: AnnotationType, data: &serde_json::Value) -> Result<Self, FieldError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct CircleIn {
            x: f64,
            y: f64,
            size: f64,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct CornersIn {
            corners: Vec<Point>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct PointsIn {
            points: Vec<Point>,
        }
        let bad = |e: serde_json::Error| FieldError::new("data", format!("invalid {ty} data: {e}"));
        let parsed = match ty {
            AnnotationType::Circle => {
                let c: CircleIn = serde_json::from_value(data.clone()).map_err(bad)?;
                AnnotationData::Circle { x: c.x, y: c.y, size: c.size }
            }
            AnnotationType::Box | AnnotationType::Rectangle => {
                let c: CornersIn = serde_json::from_value(data.clone()).map_err(bad)?;
                let n = c.corners.len();
                let corners: [Point; 4] = c.corners.try_into().map_err(|_| {
                    FieldError::new("data.corners", format!("a {ty} needs exactly 4 corners, got {n}"))
                })?;
                AnnotationData::Corners { corners }
            }
            AnnotationType::Polygon => {
                let p: PointsIn = serde_json::from_value(data.clone()).map_err(bad)?;
                AnnotationData::Points { points: p.points }
            }
            AnnotationType::ImageClass => {
                return Err(FieldError::new("type", "image_class is set on the image (PATCH /images/{id} class_label), not as an annotation"))
            }
        };
        parsed.check_finite()?;
        Ok(parsed)
    }

    fn check_finite(&self) -> Result<(), FieldError> {
        let finite = |v: f64, field: String| {
            if v.is_finite() { Ok(()) } else { Err(FieldError::new(field, "must be a finite number")) }
        };
        match self {
            AnnotationData::Circle { x, y, size } => {
                finite(*x, "data.x".into())?;
                finite(*y, "data.y".into())?;
                finite(*size, "data.size".into())
            }
            AnnotationData::Corners { corners } => check_points("data.corners", corners),
            AnnotationData::Points { points } => check_points("data.points", points),
        }
    }

    /// Validates the shape against an image of `width`×`height` pixels and clips it to the
    /// image. Coordinates may lie outside the image (they are clipped), but not absurdly: at
    /// most one image width (height) beyond its left and right (top and bottom) edges. The
    /// shape must keep a positive area inside the image: a shape entirely outside, or
    /// degenerate, is an error. A circle's centre must lie in the image and its radius be at
    /// most the image's diagonal (beyond that it covers the whole image anyway).
    pub fn validate_and_clip(&mut self, width: u32, height: u32) -> Result<(), FieldError> {
        self.check_finite()?;
        let (w, h) = (width as f64, height as f64);
        match self {
            AnnotationData::Circle { x, y, size } => {
                if *size <= 0.0 {
                    return Err(FieldError::new("data.size", "the radius must be greater than 0"));
                }
                let diagonal = w.hypot(h);
                if *size > diagonal {
                    return Err(FieldError::new(
                        "data.size",
                        format!("the radius {size} is larger than the {width}x{height} image's diagonal ({diagonal:.0} pixels)"),
                    ));
                }
                if *x < 0.0 || *x > w || *y < 0.0 || *y > h {
                    return Err(FieldError::new("data", format!("the circle's centre ({x}, {y}) lies outside the {width}x{height} image")));
                }
            }
            AnnotationData::Corners { corners } => {
                check_near_image("data.corners", corners, width, height)?;
                for p in corners.iter_mut() {
                    clip_point(p, w, h);
                }
                let (x1, y1, x2, y2) = bounds(corners);
                if x2 - x1 <= 0.0 || y2 - y1 <= 0.0 {
                    return Err(FieldError::new("data.corners", "the box has no area inside the image"));
                }
            }
            AnnotationData::Points { points } => {
                if points.len() < 3 {
                    return Err(FieldError::new("data.points", format!("a polygon needs at least 3 points, got {}", points.len())));
                }
                check_near_image("data.points", points, width, height)?;
                for p in points.iter_mut() {
                    clip_point(p, w, h);
                }
                if polygon_area(points) <= 0.0 {
                    return Err(FieldError::new("data.points", "the polygon has no area inside the image"));
                }
            }
        }
        Ok(())
    }

    /// The number of points (a polygon's vertices, a box's 4 corners, a circle's 1 centre).
    pub fn point_count(&self) -> usize {
        match self {
            AnnotationData::Circle { .. } => 1,
            AnnotationData::Corners { corners } => corners.len(),
            AnnotationData::Points { points } => points.len(),
        }
    }

    /// Refuses a polygon of more than `max_points` points (the server's `max_polygon_points`):
    /// every list and export carries each stored point.
    pub fn check_point_count(&self, max_points: usize) -> Result<(), FieldError> {
        let n = self.point_count();
        if n > max_points {
            return Err(FieldError::new("data.points", too_many_points(n, max_points)));
        }
        Ok(())
    }

    /// Axis-aligned bounding box `(x1, y1, x2, y2)` in pixels (a circle's is `x ± size`).
    pub fn bbox(&self) -> (f64, f64, f64, f64) {
        match self {
            AnnotationData::Circle { x, y, size } => (x - size, y - size, x + size, y + size),
            AnnotationData::Corners { corners } => bounds(corners),
            AnnotationData::Points { points } => bounds(points),
        }
    }
}

fn check_points(field: &str, points: &[Point]) -> Result<(), FieldError> {
    for (i, p) in points.iter().enumerate() {
        for (j, v) in p.iter().enumerate() {
            if !v.is_finite() {
                return Err(FieldError::new(format!("{field}[{i}][{j}]"), "must be a finite number"));
            }
        }
    }
    Ok(())
}

/// Why a polygon of `n` points is refused under `max_points` (`max_polygon_points`).
pub fn too_many_points(n: usize, max_points: usize) -> String {
    format!("the polygon has {n} points; this server accepts at most {max_points} (max_polygon_points)")
}

/// Refuses coordinates more than one image width (height) beyond the image's edges: such a
/// point is a bug or an attack (1e308), not a drawing that went past the edge.
fn check_near_image(field: &str, points: &[Point], width: u32, height: u32) -> Result<(), FieldError> {
    let (w, h) = (width as f64, height as f64);
    for (i, p) in points.iter().enumerate() {
        for (j, (v, size)) in [(p[0], w), (p[1], h)].into_iter().enumerate() {
            if v < -size || v > 2.0 * size {
                return Err(FieldError::new(
                    format!("{field}[{i}][{j}]"),
                    format!("{v} is too far outside the {width}x{height} image (at most one image size beyond its edges: {}..{})", -size, 2.0 * size),
                ));
            }
        }
    }
    Ok(())
}

fn clip_point(p: &mut Point, w: f64, h: f64) {
    p[0] = p[0].clamp(0.0, w);
    p[1] = p[1].clamp(0.0, h);
}

fn bounds(points: &[Point]) -> (f64, f64, f64, f64) {
    points.iter().fold((f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY), |(a, b, c, d), p| {
        (a.min(p[0]), b.min(p[1]), c.max(p[0]), d.max(p[1]))
    })
}

/// Absolute area of a simple polygon by the shoelace formula.
pub fn polygon_area(points: &[Point]) -> f64 {
    let n = points.len();
    let twice: f64 = (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum();
    twice.abs() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_each_shape() {
        let c = AnnotationData::parse(AnnotationType::Circle, &json!({"x": 5, "y": 6, "size": 2})).unwrap();
        assert_eq!(c, AnnotationData::Circle { x: 5.0, y: 6.0, size: 2.0 });
        let b = AnnotationData::parse(AnnotationType::Box, &json!({"corners": [[1,2],[3,2],[3,4],[1,4]]})).unwrap();
        assert_eq!(b.bbox(), (1.0, 2.0, 3.0, 4.0));
        let p = AnnotationData::parse(AnnotationType::Polygon, &json!({"points": [[0,0],[4,0],[0,3]]})).unwrap();
        assert_eq!(p.bbox(), (0.0, 0.0, 4.0, 3.0));
    }

    #[test]
    fn rejects_wrong_shapes_naming_the_field() {
        let e = AnnotationData::parse(AnnotationType::Box, &json!({"corners": [[1,2],[3,2],[3,4]]})).unwrap_err();
        assert_eq!(e.field, "data.corners");
        let e = AnnotationData::parse(AnnotationType::Circle, &json!({"x": 1, "y": 2})).unwrap_err();
        assert_eq!(e.field, "data");
        let e = AnnotationData::parse(AnnotationType::Circle, &json!({"x": 1, "y": 2, "size": 3, "extra": 1})).unwrap_err();
        assert!(e.message.contains("extra"), "{e}");
    }

    #[test]
    fn polygon_needs_three_points_with_area() {
        let mut p = AnnotationData::parse(AnnotationType::Polygon, &json!({"points": [[0,0],[4,0]]})).unwrap();
        let e = p.validate_and_clip(10, 10).unwrap_err();
        assert_eq!(e.field, "data.points");
        let mut flat = AnnotationData::parse(AnnotationType::Polygon, &json!({"points": [[0,0],[4,0],[8,0]]})).unwrap();
        assert!(flat.validate_and_clip(10, 10).is_err());
    }

    #[test]
    fn clips_to_the_image_and_rejects_outside_shapes() {
        let mut b = AnnotationData::parse(AnnotationType::Box, &json!({"corners": [[-5,2],[30,2],[30,4],[-5,4]]})).unwrap();
        b.validate_and_clip(20, 20).unwrap();
        assert_eq!(b.bbox(), (0.0, 2.0, 20.0, 4.0));
        let mut out = AnnotationData::parse(AnnotationType::Box, &json!({"corners": [[25,2],[30,2],[30,4],[25,4]]})).unwrap();
        assert_eq!(out.validate_and_clip(20, 20).unwrap_err().field, "data.corners");
        let mut c = AnnotationData::Circle { x: 5.0, y: 5.0, size: 0.0 };
        assert_eq!(c.validate_and_clip(20, 20).unwrap_err().field, "data.size");
    }

    #[test]
    fn absurd_sizes_and_coordinates_are_refused_by_field() {
        let mut c = AnnotationData::Circle { x: 5.0, y: 5.0, size: 1e308 };
        assert_eq!(c.validate_and_clip(20, 10).unwrap_err().field, "data.size");
        let mut c = AnnotationData::Circle { x: 5.0, y: 5.0, size: 22.0 };
        c.validate_and_clip(20, 10).unwrap();
        let mut b = AnnotationData::Corners { corners: [[0.0, 0.0], [1e308, 0.0], [1e308, 5.0], [0.0, 5.0]] };
        let e = b.validate_and_clip(20, 10).unwrap_err();
        assert_eq!(e.field, "data.corners[1][0]");
        let mut p = AnnotationData::Points { points: vec![[0.0, 0.0], [5.0, -1e9], [5.0, 5.0]] };
        assert_eq!(p.validate_and_clip(20, 10).unwrap_err().field, "data.points[1][1]");
        // Up to one image size past the edges is still clipped, as drawings past the edge are.
        let mut b = AnnotationData::Corners { corners: [[-20.0, 0.0], [40.0, 0.0], [40.0, 20.0], [-20.0, 20.0]] };
        b.validate_and_clip(20, 10).unwrap();
        assert_eq!(b.bbox(), (0.0, 0.0, 20.0, 10.0));
    }

    #[test]
    fn point_count_is_limited() {
        let p = AnnotationData::Points { points: vec![[0.0, 0.0]; 11] };
        assert!(p.check_point_count(11).is_ok());
        let e = p.check_point_count(10).unwrap_err();
        assert_eq!(e.field, "data.points");
        assert!(e.message.contains("max_polygon_points"), "{e}");
    }

    #[test]
    fn non_finite_numbers_are_named() {
        let mut p = AnnotationData::Points { points: vec![[0.0, 0.0], [f64::NAN, 1.0], [2.0, 2.0]] };
        assert_eq!(p.validate_and_clip(10, 10).unwrap_err().field, "data.points[1][0]");
    }

    #[test]
    fn type_names_round_trip() {
        for t in AnnotationType::ALL {
            assert_eq!(t.as_str().parse::<AnnotationType>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
    }
}

//! The body of `POST /api/v1/images/{id}/annotations` as the OpenAPI document states it: one
//! object per shape type, each with its own `data`. The handler reads
//! [`CreateAnnotation`](super::annotations::CreateAnnotation) and `af_core` checks the shape
//! against the image (which the document cannot know: a shape must keep a positive area
//! inside it, a circle's centre must lie in it).

#![allow(dead_code)]

use serde::Deserialize;
use utoipa::ToSchema;

/// A new annotation: `type` says which shape `data` is.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewAnnotation {
    Circle {
        data: CircleData,
        #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
        class_label: String,
        #[schema(minimum = 0.0, maximum = 1.0)]
        confidence: Option<f64>,
        source: Option<ManualSource>,
    },
    Box {
        data: CornersData,
        #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
        class_label: String,
        #[schema(minimum = 0.0, maximum = 1.0)]
        confidence: Option<f64>,
        source: Option<ManualSource>,
    },
    Rectangle {
        data: CornersData,
        #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
        class_label: String,
        #[schema(minimum = 0.0, maximum = 1.0)]
        confidence: Option<f64>,
        source: Option<ManualSource>,
    },
    Polygon {
        data: PointsData,
        #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
        class_label: String,
        #[schema(minimum = 0.0, maximum = 1.0)]
        confidence: Option<f64>,
        source: Option<ManualSource>,
    },
}

/// Clients make `manual` annotations; `custom_model` ones come from accepted predictions.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ManualSource {
    Manual,
}

/// Centre and radius, in image pixels; the centre lies inside the image.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CircleData {
    #[schema(minimum = 0.0)]
    x: f64,
    #[schema(minimum = 0.0)]
    y: f64,
    #[schema(exclusive_minimum = 0.0)]
    size: f64,
}

/// Four `[x, y]` corners in image pixels (clipped to the image).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CornersData {
    #[schema(min_items = 4, max_items = 4, inline)]
    corners: Vec<Point>,
}

/// At least three `[x, y]` points in image pixels (clipped to the image).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointsData {
    #[schema(min_items = 3, inline)]
    points: Vec<Point>,
}

/// `[x, y]`: exactly two numbers (schema only).
#[derive(Deserialize)]
pub struct Point;

impl utoipa::PartialSchema for Point {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::Number)).min_items(Some(2)).max_items(Some(2)).into()
    }
}

impl ToSchema for Point {}

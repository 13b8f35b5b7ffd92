//! Component glue: WIT request → `segment::convert` → WIT result. No logic lives here.

wit_bindgen::generate!({ path: "../../wit", world: "converter-plugin" });

use af_plugin_common as common;
use annotateforge::plugin::types::{AnnotationKind, OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::converter::{
    Annotation, ConvertRequest, ConvertResult, Guest, Label, PolygonLabel, Shape, Warning, WarningReason,
};

use crate::segment;

struct Plugin;

impl Guest for Plugin {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: segment::NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: segment::DESCRIPTION.into(),
            task_types: vec![TaskType::Segment],
            annotation_kinds: vec![AnnotationKind::Polygon, AnnotationKind::Circle, AnnotationKind::Box, AnnotationKind::Rectangle],
            options: vec![OptionSpec {
                name: segment::OPT_CIRCLE_VERTICES.into(),
                description: "Number of vertices of the polygon a circle becomes (3 to 1024).".into(),
                default_value: OptionValue::Integer(segment::OPT_CIRCLE_VERTICES_DEFAULT),
            }],
        }
    }

    fn convert(request: ConvertRequest) -> Result<ConvertResult, PluginError> {
        if request.task != TaskType::Segment {
            return Err(PluginError::InvalidInput(format!("{} converts for segment, not {:?}", segment::NAME, request.task)));
        }
        let options = segment::Options::from_settings(&settings(request.options)).map_err(PluginError::InvalidOption)?;
        let classes = common::ClassTable::new(request.class_mapping.into_iter().map(|e| (e.label, e.class_id)), request.num_classes);
        let annotations: Vec<common::Annotation> = request.annotations.into_iter().map(annotation).collect();
        let (mut labels, mut warnings) = (Vec::with_capacity(annotations.len()), Vec::new());
        segment::convert(request.image.width, request.image.height, annotations, &classes, &options, &mut labels, &mut warnings);
        Ok(ConvertResult {
            labels: labels.into_iter().map(|p| Label::Polygon(PolygonLabel { class_id: p.class_id, points: p.points })).collect(),
            warnings: warnings.into_iter().map(warning).collect(),
        })
    }
}

fn settings(options: Vec<annotateforge::plugin::types::Setting>) -> common::Settings {
    common::Settings::new(options.into_iter().map(|s| {
        let v = match s.value {
            OptionValue::Flag(b) => common::OptionValue::Flag(b),
            OptionValue::Integer(i) => common::OptionValue::Integer(i),
            OptionValue::Number(n) => common::OptionValue::Number(n),
            OptionValue::Text(t) => common::OptionValue::Text(t),
        };
        (s.name, v)
    }))
}

fn annotation(a: Annotation) -> common::Annotation {
    common::Annotation {
        id: a.id,
        kind: match a.kind {
            AnnotationKind::Circle => common::Kind::Circle,
            AnnotationKind::Box => common::Kind::Box,
            AnnotationKind::Rectangle => common::Kind::Rectangle,
            AnnotationKind::Polygon => common::Kind::Polygon,
            AnnotationKind::ImageClass => common::Kind::ImageClass,
        },
        shape: match a.shape {
            Shape::Circle(c) => common::Shape::Circle { x: c.x, y: c.y, radius: c.radius },
            Shape::Corners(p) => common::Shape::Corners(p),
            Shape::Polygon(p) => common::Shape::Polygon(p),
            Shape::None => common::Shape::None,
        },
        class_label: a.class_label,
    }
}

fn warning(w: common::Warning) -> Warning {
    use common::WarningReason as R;
    Warning {
        annotation_id: w.annotation_id,
        reason: match w.reason {
            R::UnmappedClass => WarningReason::UnmappedClass,
            R::Degenerate => WarningReason::Degenerate,
            R::OutOfImage => WarningReason::OutOfImage,
            R::TooFewPoints => WarningReason::TooFewPoints,
            R::UnsupportedKind => WarningReason::UnsupportedKind,
            R::InvalidGeometry => WarningReason::InvalidGeometry,
            R::NoClassLabel => WarningReason::NoClassLabel,
            R::AmbiguousClass => WarningReason::AmbiguousClass,
        },
        message: w.message,
    }
}

export!(Plugin);

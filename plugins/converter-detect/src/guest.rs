//! Component glue: WIT request → `detect::convert` → WIT result. No logic lives here.

wit_bindgen::generate!({ path: "../../wit", world: "converter-plugin" });

use af_plugin_common as common;
use annotateforge::plugin::types::{AnnotationKind, OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::converter::{
    BoxLabel, ConvertRequest, ConvertResult, Guest, Image, Label, Warning, WarningReason,
};

use crate::detect;

struct Plugin;

impl Guest for Plugin {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: detect::NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: detect::DESCRIPTION.into(),
            task_types: vec![TaskType::Detect],
            annotation_kinds: vec![AnnotationKind::Box, AnnotationKind::Rectangle, AnnotationKind::Circle, AnnotationKind::Polygon],
            options: vec![OptionSpec {
                name: detect::OPT_MIN_SIZE.into(),
                description: "Skip boxes whose width or height inside the image is not more than this many pixels.".into(),
                default_value: OptionValue::Number(detect::OPT_MIN_SIZE_DEFAULT),
            }],
        }
    }

    fn convert(request: ConvertRequest) -> Result<Vec<ConvertResult>, PluginError> {
        if request.task != TaskType::Detect {
            return Err(PluginError::InvalidInput(format!("{} converts for detect, not {:?}", detect::NAME, request.task)));
        }
        let options = detect::Options::from_settings(&settings(request.options)).map_err(PluginError::InvalidOption)?;
        let classes = common::ClassTable::new(request.class_labels.into_iter().map(|c| (c.label, c.class_id)), request.num_classes);
        let mut out = Vec::with_capacity(request.images.len());
        let (mut anns, mut labels, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
        for image in &request.images {
            annotations(image, &mut anns)?;
            detect::convert(image.width, image.height, &anns, &classes, &options, &mut labels, &mut warnings);
            out.push(ConvertResult {
                labels: labels.drain(..).map(|b| Label::Bbox(BoxLabel { class_id: b.class_id, cx: b.cx, cy: b.cy, w: b.w, h: b.h })).collect(),
                warnings: warnings.drain(..).map(warning).collect(),
            });
        }
        Ok(out)
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

/// Fills `out` with the image's annotations, their geometry borrowed from its flat `coords`
/// (nothing is copied per annotation).
fn annotations<'a>(image: &'a Image, out: &mut Vec<common::Annotation<'a>>) -> Result<(), PluginError> {
    out.clear();
    let mut coords = common::Coords::new(&image.coords);
    for a in &image.annotations {
        let numbers = coords.take(a.coord_count).map_err(|e| PluginError::InvalidInput(format!("image {}: {e}", image.id)))?;
        let kind = kind(a.kind);
        out.push(common::Annotation { id: a.id, kind, shape: common::Shape::from_coords(kind, numbers), class: a.class_label });
    }
    if coords.left() != 0 {
        return Err(PluginError::InvalidInput(format!("image {}: {} coordinates belong to no annotation", image.id, coords.left())));
    }
    Ok(())
}

fn kind(k: AnnotationKind) -> common::Kind {
    match k {
        AnnotationKind::Circle => common::Kind::Circle,
        AnnotationKind::Box => common::Kind::Box,
        AnnotationKind::Rectangle => common::Kind::Rectangle,
        AnnotationKind::Polygon => common::Kind::Polygon,
        AnnotationKind::ImageClass => common::Kind::ImageClass,
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

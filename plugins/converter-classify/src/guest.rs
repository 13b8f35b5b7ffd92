//! Component glue: WIT request → `classify::convert` → WIT result. No logic lives here.

wit_bindgen::generate!({ path: "../../wit", world: "converter-plugin" });

use af_plugin_common as common;
use annotateforge::plugin::types::{AnnotationKind, OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::converter::{ConvertRequest, ConvertResult, Guest, Label, Warning, WarningReason};

use crate::classify;

struct Plugin;

impl Guest for Plugin {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: classify::NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: classify::DESCRIPTION.into(),
            task_types: vec![TaskType::Classify],
            annotation_kinds: vec![AnnotationKind::ImageClass, AnnotationKind::Box, AnnotationKind::Rectangle, AnnotationKind::Circle, AnnotationKind::Polygon],
            options: vec![OptionSpec {
                name: classify::OPT_FALLBACK.into(),
                description: "For images without a class label: `none` leaves them out, `majority` uses the class most of their annotations have.".into(),
                default_value: OptionValue::Text(classify::OPT_FALLBACK_DEFAULT.into()),
            }],
        }
    }

    fn convert(request: ConvertRequest) -> Result<Vec<ConvertResult>, PluginError> {
        if request.task != TaskType::Classify {
            return Err(PluginError::InvalidInput(format!("{} converts for classify, not {:?}", classify::NAME, request.task)));
        }
        let settings = common::Settings::new(request.options.into_iter().map(|s| {
            let v = match s.value {
                OptionValue::Flag(b) => common::OptionValue::Flag(b),
                OptionValue::Integer(i) => common::OptionValue::Integer(i),
                OptionValue::Number(n) => common::OptionValue::Number(n),
                OptionValue::Text(t) => common::OptionValue::Text(t),
            };
            (s.name, v)
        }));
        let options = classify::Options::from_settings(&settings).map_err(PluginError::InvalidOption)?;
        let classes = common::ClassTable::new(request.class_labels.into_iter().map(|c| (c.label, c.class_id)), request.num_classes);
        let mut out = Vec::with_capacity(request.images.len());
        for image in &request.images {
            // Only the class labels of shape annotations matter to the rule; geometry does not.
            let annotations: Vec<common::Annotation> = image
                .annotations
                .iter()
                .filter(|a| a.kind != AnnotationKind::ImageClass)
                .map(|a| common::Annotation { id: a.id, kind: common::Kind::Box, shape: common::Shape::None, class: a.class_label })
                .collect();
            out.push(match classify::convert(image.class_label, &annotations, &classes, &options) {
                Ok(id) => ConvertResult { labels: vec![Label::ImageClass(id)], warnings: vec![] },
                Err(w) => ConvertResult { labels: vec![], warnings: vec![warning(w)] },
            });
        }
        Ok(out)
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

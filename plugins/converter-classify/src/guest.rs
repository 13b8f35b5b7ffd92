//! Component glue: the WIT request → `classify` (through the shared [`af_plugin_common::converter_glue!`])
//! → the WIT result. No logic lives here.

wit_bindgen::generate!({ path: "../../wit", world: "converter-plugin" });

use annotateforge::plugin::types::{AnnotationKind, OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::converter::{ConvertRequest, ConvertResult, Guest};

use crate::classify;

af_plugin_common::converter_glue!();

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

    fn convert(request: ConvertRequest) -> Result<ConvertResult, PluginError> {
        convert_request::<classify::Options>(request, TaskType::Classify, classify::NAME)
    }
}

export!(Plugin);

//! Component glue: the WIT request → `detect` (through the shared [`af_plugin_common::converter_glue!`])
//! → the WIT result. No logic lives here.

wit_bindgen::generate!({ path: "../../wit", world: "converter-plugin" });

use annotateforge::plugin::types::{AnnotationKind, OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::converter::{ConvertRequest, ConvertResult, Guest};

use crate::detect;

af_plugin_common::converter_glue!();

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

    fn convert(request: ConvertRequest) -> Result<ConvertResult, PluginError> {
        convert_request::<detect::Options>(request, TaskType::Detect, detect::NAME)
    }
}

export!(Plugin);

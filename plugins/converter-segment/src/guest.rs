//! Component glue: the WIT request → `segment` (through the shared [`af_plugin_common::converter_glue!`])
//! → the WIT result. No logic lives here.

wit_bindgen::generate!({ path: "../../wit", world: "converter-plugin" });

use annotateforge::plugin::types::{AnnotationKind, OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::converter::{ConvertRequest, ConvertResult, Guest};

use crate::segment;

af_plugin_common::converter_glue!();

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
        convert_request::<segment::Options>(request, TaskType::Segment, segment::NAME)
    }
}

export!(Plugin);

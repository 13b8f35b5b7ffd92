//! A well-behaved third-party splitter for the hot-swap tests: image ids divisible by the
//! `modulus` option (default 4) go to val, the rest to train. Easy to recognise in a dataset.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({ path: "../../../wit", world: "splitter-plugin" });

use annotateforge::plugin::types::{OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::splitter::{Assignment, Guest, SplitRequest, Subset};

struct Modulo;

impl Guest for Modulo {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "split-modulo".into(),
            version: "0.1.0".into(),
            description: "Images whose id is divisible by `modulus` go to val.".into(),
            task_types: vec![TaskType::Classify, TaskType::Detect, TaskType::Segment],
            annotation_kinds: vec![],
            options: vec![OptionSpec { name: "modulus".into(), description: "the modulus".into(), default_value: OptionValue::Integer(4) }],
        }
    }

    fn split(req: SplitRequest) -> Result<Vec<Assignment>, PluginError> {
        let m = match req.options.iter().find(|s| s.name == "modulus").map(|s| &s.value) {
            Some(OptionValue::Integer(m)) if *m > 0 => *m,
            None => 4,
            Some(other) => return Err(PluginError::InvalidOption(format!("modulus must be a positive integer, got {other:?}"))),
        };
        Ok(req
            .items
            .iter()
            .map(|i| Assignment { image_id: i.image_id, subset: if i.image_id % m == 0 { Subset::Val } else { Subset::Train } })
            .collect())
    }
}

export!(Modulo);

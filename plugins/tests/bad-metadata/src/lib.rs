//! A converter whose `metadata()` panics: uploads of it must be refused.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({ path: "../../../wit", world: "converter-plugin" });

use annotateforge::plugin::types::{PluginError, PluginMetadata};
use exports::annotateforge::plugin::converter::{ConvertRequest, ConvertResult, Guest};

struct Bad;

impl Guest for Bad {
    fn metadata() -> PluginMetadata {
        panic!("metadata is broken on purpose")
    }

    fn convert(_: ConvertRequest) -> Result<ConvertResult, PluginError> {
        Err(PluginError::Failed("never called".into()))
    }
}

export!(Bad);

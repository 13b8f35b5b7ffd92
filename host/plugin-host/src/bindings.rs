//! The three `bindgen!` calls, and nothing else.
//!
//! Each world gets its own module; the shared `annotateforge:plugin/types` interface is
//! generated once (with the converter world) and reused by the other two through `with`, so
//! `PluginMetadata`, `Setting`, … are one Rust type for every kind.

pub mod converter_world {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "converter-plugin",
        additional_derives: [PartialEq],
    });
}

pub mod splitter_world {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "splitter-plugin",
        additional_derives: [PartialEq],
        with: { "annotateforge:plugin/types": super::converter_world::annotateforge::plugin::types },
    });
}

pub mod formatter_world {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "formatter-plugin",
        additional_derives: [PartialEq],
        with: { "annotateforge:plugin/types": super::converter_world::annotateforge::plugin::types },
    });
}

pub use converter_world::annotateforge::plugin::types;
pub use converter_world::exports::annotateforge::plugin::converter;
pub use formatter_world::exports::annotateforge::plugin::formatter;
pub use splitter_world::exports::annotateforge::plugin::splitter;

//! Exports `annotateforge:plugin/converter@0.1.0`, the previous version of the converter
//! contract (one image per call, class labels as strings, a point list per annotation),
//! which this host no longer implements: a plugin built against it must be refused.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    inline: "
        package annotateforge:plugin@0.1.0;
        interface converter {
            record image {
                id: s64,
                width: u32,
                height: u32,
                class-label: option<string>,
            }
            convert: func(image: image, labels: list<string>) -> list<string>;
        }
        world converter-plugin {
            export converter;
        }
    ",
});

struct Old;

impl exports::annotateforge::plugin::converter::Guest for Old {
    fn convert(_: exports::annotateforge::plugin::converter::Image, labels: Vec<String>) -> Vec<String> {
        labels
    }
}

export!(Old);

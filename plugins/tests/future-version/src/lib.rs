//! Exports `annotateforge:plugin/converter@0.4.0`, a version this host does not implement.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    inline: "
        package annotateforge:plugin@0.4.0;
        interface converter {
            convert-all: func(images: list<string>) -> list<string>;
        }
        world converter-plugin {
            export converter;
        }
    ",
});

struct Future;

impl exports::annotateforge::plugin::converter::Guest for Future {
    fn convert_all(images: Vec<String>) -> Vec<String> {
        images
    }
}

export!(Future);

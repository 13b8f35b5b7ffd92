//! A converter that misbehaves in the way its `mode` option asks for.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({ path: "../../../wit", world: "converter-plugin" });

use annotateforge::plugin::types::{AnnotationKind, OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::converter::{BoxLabel, ConvertRequest, ConvertResult, Guest, Label, PolygonLabel};
use std::hint::black_box;

struct Hostile;

impl Guest for Hostile {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "hostile-converter".into(),
            version: "0.1.0".into(),
            description: "Misbehaves on request, for the host's tests.".into(),
            task_types: vec![TaskType::Detect, TaskType::Segment, TaskType::Classify],
            annotation_kinds: vec![AnnotationKind::Box],
            options: vec![OptionSpec { name: "mode".into(), description: "how to misbehave".into(), default_value: OptionValue::Text("ok".into()) }],
        }
    }

    fn convert(req: ConvertRequest) -> Result<Vec<ConvertResult>, PluginError> {
        let mode = req.options.iter().find(|s| s.name == "mode").map(|s| match &s.value {
            OptionValue::Text(t) => t.clone(),
            _ => String::new(),
        });
        // Every image gets the same labels.
        let ok = |labels: Vec<Label>| Ok(req.images.iter().map(|_| ConvertResult { labels: labels.clone(), warnings: vec![] }).collect());
        let unit_box = |class_id| Label::Bbox(BoxLabel { class_id, cx: 0.5, cy: 0.5, w: 0.5, h: 0.5 });
        match mode.as_deref().unwrap_or("ok") {
            "ok" => ok(vec![unit_box(0)]),
            "loop" => {
                let mut i: u64 = 0;
                loop {
                    i = black_box(i.wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            "trap" => panic!("hostile plugin panics on purpose"),
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                ok(vec![])
            }
            "exit" => std::process::exit(3),
            "bad-class" => ok(vec![unit_box(req.num_classes + 5)]),
            "bad-coords" => ok(vec![Label::Bbox(BoxLabel { class_id: 0, cx: f64::NAN, cy: 0.5, w: 1.5, h: 0.5 })]),
            "few-results" => Ok(req.images.iter().skip(1).map(|_| ConvertResult { labels: vec![], warnings: vec![] }).collect()),
            "wrong-label" => ok(vec![Label::Polygon(PolygonLabel { class_id: 0, points: vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)] })]),
            "probe" => {
                // Reports what the sandbox let it see, as an error message the test reads.
                let file = std::fs::read("/etc/hostname").is_ok() || std::fs::read_dir(".").is_ok();
                let env = std::env::vars().count();
                let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(u64::MAX);
                let net = std::net::TcpStream::connect("127.0.0.1:9").is_ok();
                let mut seeds = std::collections::hash_map::RandomState::new();
                let h = std::hash::BuildHasher::hash_one(&mut seeds, 42u64);
                Err(PluginError::Failed(format!("file={file} env={env} wall={wall} net={net} hash={h}")))
            }
            other => Err(PluginError::InvalidOption(format!("unknown mode `{other}`"))),
        }
    }
}

export!(Hostile);

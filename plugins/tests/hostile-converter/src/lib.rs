//! A converter that misbehaves in the way its `mode` option asks for.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({ path: "../../../wit", world: "converter-plugin" });

use annotateforge::plugin::types::{AnnotationKind, OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::converter::{ConvertRequest, ConvertResult, Guest, Labels, Warning, WarningReason};
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

    fn convert(req: ConvertRequest) -> Result<ConvertResult, PluginError> {
        let mode = req.options.iter().find(|s| s.name == "mode").map(|s| match &s.value {
            OptionValue::Text(t) => t.clone(),
            _ => String::new(),
        });
        // Every image gets the same labels: `(class id, numbers)`.
        let n = req.images.len();
        let ok = |labels: &[(u32, &[f64])]| {
            let mut l = Labels { per_image: vec![labels.len() as u32; n], class_ids: vec![], coord_counts: vec![], coords: vec![] };
            for _ in 0..n {
                for (class_id, coords) in labels {
                    l.class_ids.push(*class_id);
                    l.coord_counts.push(coords.len() as u32);
                    l.coords.extend_from_slice(coords);
                }
            }
            Ok(ConvertResult { labels: l, warnings: vec![] })
        };
        let unit_box: &[f64] = &[0.5, 0.5, 0.5, 0.5];
        match mode.as_deref().unwrap_or("ok") {
            "ok" => ok(&[(0, unit_box)]),
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
                ok(&[])
            }
            "exit" => std::process::exit(3),
            "bad-class" => ok(&[(req.num_classes + 5, unit_box)]),
            "bad-coords" => ok(&[(0, &[f64::NAN, 0.5, 1.5, 0.5])]),
            "few-results" => {
                let labels = Labels { per_image: vec![0; n.saturating_sub(1)], class_ids: vec![], coord_counts: vec![], coords: vec![] };
                Ok(ConvertResult { labels, warnings: vec![] })
            }
            "bad-warning" => {
                let warning = Warning { image_index: n as u32, annotation_id: None, reason: WarningReason::Degenerate, message: "no such image".into() };
                Ok(ConvertResult { labels: Labels { per_image: vec![0; n], class_ids: vec![], coord_counts: vec![], coords: vec![] }, warnings: vec![warning] })
            }
            "wrong-label" => ok(&[(0, &[0.0, 0.0, 1.0, 0.0, 1.0, 1.0])]),
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

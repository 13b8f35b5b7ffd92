//! The Rust half of `tools/parity/ultralytics_roundtrip.sh` (ignored by default: it needs the
//! Ultralytics peer, which that script sets up): writes our weights for Ultralytics to load,
//! and loads weights converted from Ultralytics `.pt` checkpoints. `AF_ROUNDTRIP_DIR` is the
//! exchange folder.

mod common;

use std::path::PathBuf;

use af_core::TaskType;
use af_engine::nn::{ModelSpec, Scale, YoloModel};
use af_engine::weights::{load_model, save, SaveMeta};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn exchange_dir() -> PathBuf {
    PathBuf::from(std::env::var("AF_ROUNDTRIP_DIR").expect("run via tools/parity/ultralytics_roundtrip.sh"))
}

const TASKS: [(TaskType, i64); 3] = [(TaskType::Detect, 3), (TaskType::Segment, 3), (TaskType::Classify, 5)];

#[test]
#[ignore = "needs the Ultralytics peer: tools/parity/ultralytics_roundtrip.sh"]
fn export_for_ultralytics() {
    let dir = exchange_dir();
    for (task, nc) in TASKS {
        tch::manual_seed(11);
        let vs = VarStore::new(Device::Cpu);
        let model = YoloModel::new(&vs.root(), ModelSpec::new(task, Scale::N, nc).unwrap());
        // Non-trivial BatchNorm statistics, so a mix-up of running mean/var would show.
        tch::no_grad(|| {
            for (name, mut t) in vs.variables() {
                if name.ends_with("running_var") {
                    let _ = t.uniform_(0.5, 2.0);
                } else if name.ends_with("running_mean") {
                    let _ = t.uniform_(-0.2, 0.2);
                }
            }
        });
        save(&vs, dir.join(format!("ours_{task}.safetensors")), &SaveMeta { spec: Some(model.spec()), ..Default::default() }).unwrap();
        let size = if task == TaskType::Classify { 64 } else { 128 };
        let x = Tensor::rand([2, 3, size, size], (Kind::Float, Device::Cpu));
        let y = tch::no_grad(|| model.forward_t(&x, false)).unwrap().decode();
        Tensor::write_safetensors(&[("input", &x), ("output", &y.contiguous())], dir.join(format!("ours_{task}_io.safetensors"))).unwrap();
    }
}

#[test]
#[ignore = "needs the Ultralytics peer: tools/parity/ultralytics_roundtrip.sh"]
fn import_from_ultralytics() {
    let dir = exchange_dir();
    for (task, nc) in TASKS {
        let loaded = load_model(dir.join(format!("theirs_{task}.safetensors")), Device::Cpu).unwrap();
        assert_eq!(loaded.model.spec(), ModelSpec::new(task, Scale::N, nc).unwrap());
        let names: Vec<String> = (0..nc).map(|i| format!("thing{i}")).collect();
        assert_eq!(loaded.names.as_ref(), Some(&names), "class names from the metadata");
        assert_eq!(loaded.imgsz, Some(if task == TaskType::Classify { 64 } else { 128 }));
        let io: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(dir.join(format!("theirs_{task}_io.safetensors"))).unwrap().into_iter().collect();
        let y = tch::no_grad(|| loaded.model.forward_t(&io["input"], false)).unwrap().decode();
        let ratio = common::assert_close(&format!("{task} output"), &y, &io["output"]);
        println!("{task}: converted .pt loaded, output at {ratio:.1e} of the tolerance");
    }
}

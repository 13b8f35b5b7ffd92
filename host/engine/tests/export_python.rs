//! Exported ONNX and TorchScript files checked from Python, as their users will load them:
//! for each task a tiny yolov8n (fixed seed, non-trivial BatchNorm statistics and class
//! biases) is saved as safetensors, exported by the engine (ONNX with a dynamic batch,
//! TorchScript), and the engine's own eval outputs on a random batch are written as .npy;
//! `tools/export/check_onnx.py` then runs the ONNX checker, ONNX Runtime and
//! `torch.jit.load` on them and compares (max|a-b| <= 1e-4 * max(1, max|ref|)).
//!
//! The Python is the torch venv's (`$TORCH_VENV/bin/python`, set by `scripts/env.sh`; setup
//! installs `onnx` and `onnxruntime` there). A missing interpreter or package FAILS the test:
//! these are the checks that say the files work outside this engine.

use std::path::{Path, PathBuf};
use std::process::Command;

use af_core::TaskType;
use af_engine::export::{export_file, ExportFormat, ExportOptions};
use af_engine::nn::{ModelOutput, ModelSpec, Scale, YoloModel};
use af_engine::weights::{load_model, save, SaveMeta};
use tch::{nn::VarStore, Device, Kind, Tensor};

const IMGSZ: i64 = 64;
const BATCH: i64 = 2;
/// Names that need Python quoting care in the `names` dict literal.
const NAMES: [&str; 3] = ["person", "o'clock", "big \"truck\""];

fn python() -> PathBuf {
    let venv = std::env::var("TORCH_VENV").unwrap_or_else(|_| {
        panic!("TORCH_VENV is not set: run the tests through scripts/test.sh or after `source scripts/env.sh`")
    });
    let py = Path::new(&venv).join("bin/python");
    assert!(py.is_file(), "{} does not exist: run scripts/setup.sh (it installs torch, onnx and onnxruntime there)", py.display());
    py
}

/// A yolov8n of `task` with random weights and realistic, non-trivial BatchNorm: running
/// statistics calibrated on a random batch (one train-mode forward with momentum 1, so every
/// layer's activations stay normalised and the outputs really depend on the input), random
/// affine parameters, and class logits spread around 0.
fn save_model(dir: &Path, task: TaskType, seed: i64) -> PathBuf {
    tch::manual_seed(seed);
    let vs = VarStore::new(Device::Cpu);
    let mut m = YoloModel::new(&vs.root(), ModelSpec::new(task, Scale::N, NAMES.len() as i64).unwrap());
    tch::no_grad(|| {
        for (name, mut t) in vs.variables() {
            if name.ends_with("bn.bias") {
                let _ = t.normal_(0.0, 0.2);
            } else if name.ends_with("bn.weight") {
                let _ = t.uniform_(0.5, 1.5);
            } else if name.contains(".cv3.") && name.ends_with(".2.bias") {
                let _ = t.normal_(0.0, 1.0);
            }
        }
        let eps = if task == TaskType::Classify { 1e-5 } else { 1e-3 };
        m.for_each_conv(&mut |c| c.set_batch_norm(eps, 1.0));
        m.forward_t(&Tensor::rand([4, 3, IMGSZ, IMGSZ], (Kind::Float, Device::Cpu)), true).unwrap();
    });
    let path = dir.join(format!("{task}.safetensors"));
    let names = NAMES.iter().map(|s| s.to_string()).collect();
    save(&vs, &path, &SaveMeta { spec: Some(m.spec()), names: Some(names), imgsz: Some(IMGSZ) }).unwrap();
    path
}

/// A `.npy` (version 1.0, little-endian f32, C order) of a float tensor.
fn write_npy(path: &Path, t: &Tensor) {
    let t = t.to_kind(Kind::Float).contiguous();
    let shape: Vec<String> = t.size().iter().map(|d| d.to_string()).collect();
    let shape = if shape.len() == 1 { format!("({},)", shape[0]) } else { format!("({})", shape.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    let data: Vec<f32> = t.flatten(0, -1).try_into().unwrap();
    bytes.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

/// Exports `task` into `dir` and writes the case the Python script checks.
fn prepare_case(dir: &Path, task: TaskType, seed: i64) {
    let weights = save_model(dir, task, seed);
    let onnx = ExportOptions { format: ExportFormat::Onnx, batch: BATCH, dynamic: true, ..Default::default() };
    let e = export_file(&weights, &onnx, Some(&dir.join("model.onnx"))).unwrap();
    assert!(e.bytes > 1_000_000, "{task}: {} bytes", e.bytes);
    let ts = ExportOptions { format: ExportFormat::TorchScript, batch: BATCH, ..Default::default() };
    export_file(&weights, &ts, Some(&dir.join("model.torchscript"))).unwrap();

    // The engine's reference: the weights loaded as predict loads them, unfused, eval mode.
    let loaded = load_model(&weights, Device::Cpu).unwrap();
    tch::manual_seed(seed + 100);
    let x = Tensor::rand([BATCH, 3, IMGSZ, IMGSZ], (Kind::Float, Device::Cpu));
    let out = tch::no_grad(|| loaded.model.forward_t(&x, false)).unwrap();
    let decoded = out.decode();
    let spread = (decoded.get(0) - decoded.get(1)).abs().max().double_value(&[]);
    assert!(spread > 1e-3, "{task}: the outputs hardly depend on the input ({spread}), a weak check");
    write_npy(&dir.join("input.npy"), &x);
    write_npy(&dir.join("output0.npy"), &decoded);
    let mut outputs = serde_json::json!({"output0": "output0.npy"});
    if let ModelOutput::Segment(s) = &out {
        write_npy(&dir.join("output1.npy"), &s.proto);
        outputs["output1"] = "output1.npy".into();
    }
    let case = serde_json::json!({
        "task": task.as_str(), "nc": NAMES.len(), "names": NAMES, "imgsz": IMGSZ, "batch": BATCH, "dynamic": true,
        "onnx": "model.onnx", "torchscript": "model.torchscript", "input": "input.npy", "outputs": outputs,
    });
    std::fs::write(dir.join("case.json"), case.to_string()).unwrap();
}

#[test]
fn onnx_and_torchscript_exports_match_the_engine_in_onnxruntime_and_torch() {
    let python = python();
    let tmp = tempfile::tempdir().unwrap();
    // AF_KEEP_EXPORT_CASES=1 keeps the files for a look with Netron or Python.
    let tmp_path = if std::env::var_os("AF_KEEP_EXPORT_CASES").is_some() { tmp.keep() } else { tmp.path().to_path_buf() };
    let mut dirs = Vec::new();
    for (i, task) in [TaskType::Detect, TaskType::Segment, TaskType::Classify].into_iter().enumerate() {
        let dir = tmp_path.join(task.as_str());
        std::fs::create_dir_all(&dir).unwrap();
        prepare_case(&dir, task, 7 + i as i64);
        dirs.push(dir);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/export/check_onnx.py");
    let out = Command::new(&python).arg(&script).args(&dirs).output().unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "check_onnx.py failed ({}):\n{stdout}\n{stderr}\n(missing onnx / onnxruntime? scripts/setup.sh installs them into the torch venv)",
        out.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert_eq!(stdout.matches("onnx ok").count(), 3, "{stdout}");
    assert_eq!(stdout.matches("torchscript ok").count(), 3, "{stdout}");
}

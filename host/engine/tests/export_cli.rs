//! `annotateforge export` (the engine's `cli::export`): bad options are errors naming the
//! option, files land where Ultralytics would put them, the safetensors export loads back
//! as the same model, and the TorchScript file runs in libtorch itself with the engine's
//! outputs (the Python-side checks are `export_python.rs`).

use std::path::{Path, PathBuf};

use af_core::TaskType;
use af_engine::cli::export::{run, Args};
use af_engine::nn::{ModelOutput, ModelSpec, Scale, YoloModel};
use af_engine::weights::{load_model, save, SaveMeta, StateDict};
use tch::{nn::VarStore, Device, Kind, Tensor};

fn save_model(dir: &Path, task: TaskType) -> PathBuf {
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let m = YoloModel::new(&vs.root(), ModelSpec::new(task, Scale::N, 2).unwrap());
    let path = dir.join("best.safetensors");
    let meta = SaveMeta { spec: Some(m.spec()), names: Some(vec!["cat".into(), "dog".into()]), imgsz: Some(64) };
    save(&vs, &path, &meta).unwrap();
    path
}

fn args(model: &Path, format: &str) -> Args {
    Args { model: model.into(), format: format.into(), imgsz: None, batch: 1, dynamic: false, half: false, device: "cpu".into(), out: None }
}

#[test]
fn bad_options_are_errors_naming_the_option() {
    let tmp = tempfile::tempdir().unwrap();
    let model = save_model(tmp.path(), TaskType::Detect);
    let cases: Vec<(Args, &str)> = vec![
        (args(&model, "tflite"), "--format: unknown export format `tflite`"),
        (Args { imgsz: Some(100), ..args(&model, "onnx") }, "--imgsz: 100 is not a multiple of the model stride 32"),
        (Args { half: true, ..args(&model, "onnx") }, "--half: half precision export needs a CUDA device"),
        (Args { dynamic: true, ..args(&model, "torchscript") }, "--dynamic: a dynamic batch is only possible for onnx"),
        (Args { batch: 0, ..args(&model, "onnx") }, "--batch: must be between 1 and"),
        (Args { out: Some(model.clone()), ..args(&model, "safetensors") }, "--out: the export would overwrite the weights"),
        (Args { device: "tpu".into(), ..args(&model, "onnx") }, "device `tpu`"),
    ];
    for (a, want) in cases {
        let e = run(a).unwrap_err().to_string();
        assert!(e.contains(want), "{e:?} should contain {want:?}");
    }
    let missing = run(args(&tmp.path().join("nope.safetensors"), "onnx")).unwrap_err().to_string();
    assert!(missing.contains("nope.safetensors"), "{missing}");
    // Nothing was written by the refused exports.
    let files: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files, [std::ffi::OsString::from("best.safetensors")]);
}

#[test]
fn onnx_lands_beside_the_weights_and_safetensors_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let model = save_model(tmp.path(), TaskType::Segment);
    let onnx = run(args(&model, "onnx")).unwrap();
    assert_eq!(onnx.path, tmp.path().join("best.onnx"));
    assert_eq!(onnx.imgsz, 64, "the trained size by default");
    assert_eq!(onnx.bytes, std::fs::metadata(&onnx.path).unwrap().len());
    assert!(!tmp.path().join("best.onnx.tmp").exists());

    let st = run(args(&model, "safetensors")).unwrap();
    assert_eq!(st.path, tmp.path().join("best-fp32.safetensors"));
    let (a, b) = (StateDict::read(&model).unwrap(), StateDict::read(&st.path).unwrap());
    assert_eq!(b.infer_spec().unwrap(), a.infer_spec().unwrap());
    assert_eq!(b.names(), Some(vec!["cat".to_string(), "dog".to_string()]));
    assert_eq!(b.imgsz(), Some(64));
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (k, t) in &a.tensors {
        assert!(t.equal(&b.tensors[k]), "{k}");
    }
}

#[test]
fn torchscript_runs_in_libtorch_with_the_engines_outputs() {
    for task in [TaskType::Detect, TaskType::Segment, TaskType::Classify] {
        let tmp = tempfile::tempdir().unwrap();
        let model = save_model(tmp.path(), task);
        let out = tmp.path().join("m.torchscript");
        let e = run(Args { batch: 2, out: Some(out.clone()), ..args(&model, "torchscript") }).unwrap();
        assert_eq!(e.path, out);
        let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        let loaded = load_model(&model, Device::Cpu).unwrap();
        let want = tch::no_grad(|| loaded.model.forward_t(&x, false)).unwrap();
        let ts = tch::CModule::load(&out).unwrap();
        let got = tch::no_grad(|| ts.forward_is(&[tch::IValue::Tensor(x.shallow_clone())])).unwrap();
        let got: Vec<Tensor> = match got {
            tch::IValue::Tensor(t) => vec![t],
            tch::IValue::Tuple(v) => v.into_iter().map(|i| Tensor::try_from(i).unwrap()).collect(),
            other => panic!("{task}: unexpected output {other:?}"),
        };
        let mut expect = vec![want.decode()];
        if let ModelOutput::Segment(s) = &want {
            expect.push(s.proto.shallow_clone());
        }
        assert_eq!(got.len(), expect.len(), "{task}");
        for (g, w) in got.iter().zip(&expect) {
            assert_eq!(g.size(), w.size(), "{task}");
            let tol = 1e-4 * w.abs().max().double_value(&[]).max(1.0);
            let diff = (g - w).abs().max().double_value(&[]);
            assert!(diff <= tol, "{task}: {diff} > {tol}");
        }
    }
}

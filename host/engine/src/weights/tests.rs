use super::*;
use crate::nn::YoloModel;
use tch::nn::VarStore;

fn model(task: TaskType, scale: Scale, nc: i64) -> (VarStore, YoloModel) {
    let vs = VarStore::new(Device::Cpu);
    let m = YoloModel::new(&vs.root(), ModelSpec::new(task, scale, nc).unwrap());
    (vs, m)
}

/// Parameter counts and state-dict sizes Ultralytics 8.4.190 reports for the v8 yamls with
/// nc=80 (`sum(p.numel() for p in model.parameters())`, `len(model.state_dict())`).
const ULTRALYTICS_NC80: [(TaskType, Scale, i64, usize); 15] = [
    (TaskType::Detect, Scale::N, 3_157_200, 355),
    (TaskType::Detect, Scale::S, 11_166_560, 355),
    (TaskType::Detect, Scale::M, 25_902_640, 475),
    (TaskType::Detect, Scale::L, 43_691_520, 595),
    (TaskType::Detect, Scale::X, 68_229_648, 595),
    (TaskType::Segment, Scale::N, 3_409_968, 417),
    (TaskType::Segment, Scale::S, 11_821_056, 417),
    (TaskType::Segment, Scale::M, 27_285_968, 537),
    (TaskType::Segment, Scale::L, 45_997_728, 657),
    (TaskType::Segment, Scale::X, 71_827_888, 657),
    (TaskType::Classify, Scale::N, 1_540_768, 158),
    (TaskType::Classify, Scale::S, 5_183_216, 158),
    (TaskType::Classify, Scale::M, 15_874_816, 230),
    (TaskType::Classify, Scale::L, 36_302_224, 302),
    (TaskType::Classify, Scale::X, 56_244_320, 302),
];

#[test]
fn every_task_and_scale_has_ultralytics_parameter_count_and_keys() {
    for (task, scale, params, keys) in ULTRALYTICS_NC80 {
        let (vs, _m) = model(task, scale, 80);
        let vars = vs.variables();
        let bn = vars.keys().filter(|k| k.ends_with(".running_mean")).count();
        let n: i64 = vars
            .iter()
            .filter(|(k, _)| !k.ends_with(".running_mean") && !k.ends_with(".running_var"))
            .map(|(_, t)| t.numel() as i64)
            .sum();
        assert_eq!(n, params, "{task} {scale} parameters");
        assert_eq!(vars.len() + bn, keys, "{task} {scale} state-dict keys (with num_batches_tracked)");
    }
}

#[test]
fn save_then_read_keeps_every_key_value_and_metadata() {
    tch::manual_seed(3);
    let (vs, m) = model(TaskType::Segment, Scale::N, 4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/best.safetensors");
    let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    save(&vs, &path, &SaveMeta { spec: Some(m.spec()), names: Some(names.clone()), imgsz: Some(320) }).unwrap();

    let sd = StateDict::read(&path).unwrap();
    assert_eq!(sd.names().unwrap(), names);
    assert_eq!(sd.imgsz(), Some(320));
    assert_eq!(sd.infer_spec().unwrap(), m.spec());
    assert_eq!(sd.tensors["model.0.bn.num_batches_tracked"].kind(), Kind::Int64);
    let vars = vs.variables();
    assert_eq!(sd.tensors.len(), 417); // Ultralytics' yolov8n-seg state dict size
    for (name, t) in &vars {
        assert!(sd.tensors[name].equal(t), "{name} differs after round trip");
    }

    // Exact load into a fresh model of the same spec restores every value.
    tch::manual_seed(4);
    let (vs2, _) = model(TaskType::Segment, Scale::N, 4);
    let report = load(&vs2, &sd, LoadMode::Exact).unwrap();
    assert_eq!(report.loaded.len(), vars.len());
    for (name, t) in vs2.variables() {
        assert!(vars[&name].equal(&t), "{name}");
    }
}

#[test]
fn infers_every_spec_from_tensors_alone() {
    for task in TaskType::ALL {
        for scale in [Scale::N, Scale::S] {
            let (vs, m) = model(task, scale, 7);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("w.safetensors");
            save(&vs, &path, &SaveMeta::default()).unwrap();
            assert_eq!(StateDict::read(&path).unwrap().infer_spec().unwrap(), m.spec());
        }
    }
}

#[test]
fn exact_load_rejects_other_class_count_and_task() {
    let (vs, m) = model(TaskType::Detect, Scale::N, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("det3.safetensors");
    save(&vs, &path, &SaveMeta { spec: Some(m.spec()), ..Default::default() }).unwrap();
    let sd = StateDict::read(&path).unwrap();

    let (vs5, _) = model(TaskType::Detect, Scale::N, 5);
    let err = load(&vs5, &sd, LoadMode::Exact).unwrap_err().to_string();
    assert!(err.contains("model.22.cv3") && err.contains("another shape"), "{err}");

    let (vs_seg, _) = model(TaskType::Segment, Scale::N, 3);
    let err = load(&vs_seg, &sd, LoadMode::Exact).unwrap_err().to_string();
    assert!(err.contains("missing") && err.contains("model.22"), "{err}");

    let (vs_cls, _) = model(TaskType::Classify, Scale::N, 3);
    assert!(load(&vs_cls, &sd, LoadMode::Exact).is_err());
}

#[test]
fn transfer_reinitialises_only_the_mismatched_head_tensors() {
    tch::manual_seed(5);
    let (vs, _) = model(TaskType::Detect, Scale::N, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("yolov8n.safetensors");
    save(&vs, &path, &SaveMeta::default()).unwrap();

    tch::manual_seed(6);
    let (vs5, m5) = model(TaskType::Detect, Scale::N, 5);
    let before = vs5.variables()["model.22.cv3.0.2.weight"].copy();
    let base = init_from_base(&vs5, "yolov8n.pt", Some(dir.path())).unwrap();
    let BaseWeights::Pretrained { path: used, report } = base else { panic!("expected pretrained") };
    assert_eq!(used, path);
    let mut mismatched = report.shape_mismatch.clone();
    mismatched.sort();
    assert_eq!(mismatched, ["model.22.cv3.0.2.bias", "model.22.cv3.0.2.weight", "model.22.cv3.1.2.bias", "model.22.cv3.1.2.weight", "model.22.cv3.2.2.bias", "model.22.cv3.2.2.weight"]);
    assert!(report.missing.is_empty());
    assert!(report.shape_mismatch.iter().all(|n| n.starts_with(&m5.head_prefix())));
    let after = vs5.variables();
    assert!(after["model.22.cv3.0.2.weight"].equal(&before), "mismatched head kept its init");
    assert!(after["model.0.conv.weight"].equal(&vs.variables()["model.0.conv.weight"]));
}

#[test]
fn base_names_without_files_mean_scratch() {
    let (vs, _) = model(TaskType::Classify, Scale::N, 2);
    let dir = tempfile::tempdir().unwrap();
    for (name, dir) in [("yolov8n-cls.pt", Some(dir.path())), ("yolov8n-cls.pt", None), ("yolov8n-cls.yaml", Some(dir.path()))] {
        match init_from_base(&vs, name, dir).unwrap() {
            BaseWeights::Scratch { reason } => assert!(reason.contains("scratch"), "{reason}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn missing_and_corrupt_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.safetensors");
    assert!(matches!(StateDict::read(&missing), Err(EngineError::Io { .. })));

    let corrupt = dir.path().join("yolov8n.safetensors");
    std::fs::write(&corrupt, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all").unwrap();
    let err = StateDict::read(&corrupt).unwrap_err();
    assert!(matches!(err, EngineError::Weights { .. }), "{err}");
    // A present-but-corrupt base file is an error, not a silent scratch start.
    let (vs, _) = model(TaskType::Detect, Scale::N, 3);
    assert!(init_from_base(&vs, "yolov8n.pt", Some(dir.path())).is_err());

    // A valid safetensors file that is not a YOLO model.
    let other = dir.path().join("other.safetensors");
    let mut t = BTreeMap::new();
    t.insert("foo".to_string(), Tensor::zeros([2], (Kind::Float, Device::Cpu)));
    write_safetensors(&t, &HashMap::new(), &other).unwrap();
    let err = StateDict::read(&other).unwrap().infer_spec().unwrap_err().to_string();
    assert!(err.contains("not a YOLOv8"), "{err}");
}

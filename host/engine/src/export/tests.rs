//! Export unit tests: option checks name the option, the metadata strings are the Python
//! literals Ultralytics writes, and an ONNX file's structure (opset, inputs, outputs, the
//! operator set) — the numeric check against ONNX Runtime is `tests/export_python.rs`.

use af_core::TaskType;
use tch::{nn::VarStore, Device};

use super::onnx::{build, OnnxSpec};
use super::*;
use crate::nn::{ModelSpec, Scale, YoloModel};

fn opts(format: ExportFormat) -> ExportOptions {
    ExportOptions { format, ..ExportOptions::default() }
}

#[test]
fn formats_parse_and_unknown_ones_name_the_option() {
    assert_eq!("ONNX".parse::<ExportFormat>().unwrap(), ExportFormat::Onnx);
    assert_eq!("torchscript".parse::<ExportFormat>().unwrap(), ExportFormat::TorchScript);
    assert_eq!("safetensors".parse::<ExportFormat>().unwrap(), ExportFormat::Safetensors);
    let e = "tflite".parse::<ExportFormat>().unwrap_err();
    assert_eq!(e.field, "format");
    assert!(e.message.contains("tflite") && e.message.contains("onnx"), "{e}");
}

#[test]
fn option_checks_name_the_option() {
    let o = ExportOptions { imgsz: Some(100), ..opts(ExportFormat::Onnx) };
    let e = o.check(TaskType::Detect, None).unwrap_err();
    assert_eq!(e.field, "imgsz");
    assert!(e.message.contains("multiple of the model stride 32") && e.message.contains("128"), "{e}");
    // Classification models have stride 1: any size.
    assert_eq!(o.check(TaskType::Classify, None).unwrap(), 100);
    // The trained size, then the task default.
    assert_eq!(opts(ExportFormat::Onnx).check(TaskType::Detect, Some(320)).unwrap(), 320);
    assert_eq!(opts(ExportFormat::Onnx).check(TaskType::Segment, None).unwrap(), 640);
    assert_eq!(opts(ExportFormat::Onnx).check(TaskType::Classify, None).unwrap(), 224);
    let half = ExportOptions { half: true, ..opts(ExportFormat::Onnx) };
    assert_eq!(half.check(TaskType::Detect, None).unwrap_err().field, "half");
    let dynamic = ExportOptions { dynamic: true, ..opts(ExportFormat::TorchScript) };
    assert_eq!(dynamic.check(TaskType::Detect, None).unwrap_err().field, "dynamic");
    for batch in [0, -1, MAX_BATCH + 1] {
        let o = ExportOptions { batch, ..opts(ExportFormat::Onnx) };
        assert_eq!(o.check(TaskType::Detect, None).unwrap_err().field, "batch");
    }
    for imgsz in [0, -32, MAX_IMGSZ + 32] {
        let o = ExportOptions { imgsz: Some(imgsz), ..opts(ExportFormat::Onnx) };
        assert_eq!(o.check(TaskType::Detect, None).unwrap_err().field, "imgsz");
    }
    // A trace runs the model: its example input is bounded, ONNX export's is not.
    let big = ExportOptions { batch: 8, imgsz: Some(640), ..opts(ExportFormat::TorchScript) };
    assert_eq!(big.check(TaskType::Detect, None).unwrap_err().field, "batch");
    let huge = ExportOptions { imgsz: Some(2048), ..opts(ExportFormat::TorchScript) };
    assert_eq!(huge.check(TaskType::Detect, None).unwrap_err().field, "imgsz");
    assert!(ExportOptions { batch: 8, imgsz: Some(2048), ..opts(ExportFormat::Onnx) }.check(TaskType::Detect, None).is_ok());
    // The CLI / API spelling of the error.
    assert!(EngineError::from(half.check(TaskType::Detect, None).unwrap_err()).to_string().contains("half: "));
}

#[test]
fn file_names_tell_options_apart() {
    let o = ExportOptions { batch: 4, dynamic: true, ..opts(ExportFormat::Onnx) };
    assert_eq!(o.file_name("best", 640), "best-640-b4-dynamic.onnx");
    assert_eq!(opts(ExportFormat::TorchScript).file_name("best", 320), "best-320.torchscript");
    assert_eq!(opts(ExportFormat::Safetensors).file_name("best", 320), "best-320-fp32.safetensors");
    let p = std::path::Path::new("/m/best.safetensors");
    assert_eq!(opts(ExportFormat::Onnx).default_output(p), std::path::Path::new("/m/best.onnx"));
    assert_eq!(opts(ExportFormat::Safetensors).default_output(p), std::path::Path::new("/m/best-fp32.safetensors"));
}

#[test]
fn names_are_python_dict_literals() {
    assert_eq!(py_repr_str("person"), "'person'");
    assert_eq!(py_repr_str("it's"), "\"it's\"");
    assert_eq!(py_repr_str("a'b\"c"), "'a\\'b\"c'");
    assert_eq!(py_repr_str("back\\slash\nnew"), "'back\\\\slash\\nnew'");
    assert_eq!(py_repr_str("bell\u{7}"), "'bell\\x07'");
    assert_eq!(py_repr_str("café"), "'café'");
    let spec = ModelSpec::new(TaskType::Detect, Scale::N, 2).unwrap();
    let m = Metadata::new(spec, &["person".into(), "car".into()], 640, &opts(ExportFormat::Onnx));
    let props: std::collections::HashMap<_, _> = m.onnx_props().into_iter().collect();
    assert_eq!(props["names"], "{0: 'person', 1: 'car'}");
    assert_eq!(props["imgsz"], "[640, 640]");
    assert_eq!(props["stride"], "32");
    assert_eq!(props["task"], "detect");
    assert_eq!(props["batch"], "1");
    assert_eq!(props["head"], "Detect");
    assert_eq!(props["end2end"], "False");
    assert!(props["args"].contains("'dynamic': False"), "{}", props["args"]);
    assert!(props["description"].contains("YOLOv8n"), "{}", props["description"]);
    let json: serde_json::Value = serde_json::from_str(&m.json()).unwrap();
    assert_eq!(json["names"]["1"], "car");
    assert_eq!(json["imgsz"], serde_json::json!([640, 640]));
}

#[test]
fn iso_dates_are_civil_dates() {
    let d = iso_now();
    assert_eq!(d.len(), 25, "{d}");
    assert!(d.ends_with("+00:00"), "{d}");
    assert!(d.starts_with("20") && &d[4..5] == "-" && &d[10..11] == "T", "{d}");
}

fn fused(task: TaskType) -> (VarStore, YoloModel) {
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let mut m = YoloModel::new(&vs.root(), ModelSpec::new(task, Scale::N, 3).unwrap());
    m.fuse();
    (vs, m)
}

/// Reads `(field number, wire type, payload)` triples of one protobuf message.
fn fields(mut b: &[u8]) -> Vec<(u32, u8, Vec<u8>)> {
    fn varint(b: &mut &[u8]) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = b[0];
            *b = &b[1..];
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return v;
            }
            shift += 7;
        }
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let tag = varint(&mut b);
        let (field, wire) = ((tag >> 3) as u32, (tag & 7) as u8);
        let payload = match wire {
            0 => varint(&mut b).to_le_bytes().to_vec(),
            2 => {
                let n = varint(&mut b) as usize;
                let (p, rest) = b.split_at(n);
                b = rest;
                p.to_vec()
            }
            5 => {
                let (p, rest) = b.split_at(4);
                b = rest;
                p.to_vec()
            }
            w => panic!("unexpected wire type {w}"),
        };
        out.push((field, wire, payload));
    }
    out
}

#[test]
fn onnx_graph_has_ultralytics_io_and_standard_ops() {
    for (task, outputs) in [(TaskType::Detect, vec!["output0"]), (TaskType::Segment, vec!["output0", "output1"]), (TaskType::Classify, vec!["output0"])] {
        let (_vs, m) = fused(task);
        let spec = OnnxSpec { height: 64, width: 64, batch: 1, dynamic: true, half: false };
        let proto = build(&m, &spec, vec![("task".into(), task.as_str().into())]).unwrap();
        let g = &proto.graph;
        assert_eq!(g.inputs.len(), 1);
        assert_eq!(g.inputs[0].name, "images");
        assert_eq!(g.inputs[0].shape[0], proto::Dim::Param("batch".into()));
        let names: Vec<&str> = g.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, outputs);
        // Every graph output is produced by exactly one node; every node input is a graph
        // input, an initializer or an earlier node's output (topological order).
        let mut known: std::collections::HashSet<String> = g.initializers.iter().map(|t| t.name.clone()).collect();
        known.insert("images".into());
        known.insert(String::new());
        for n in &g.nodes {
            for i in &n.inputs {
                assert!(known.contains(i), "{} reads unknown {i}", n.name);
            }
            for o in &n.outputs {
                assert!(known.insert(o.clone()), "{o} written twice");
            }
        }
        for o in &outputs {
            assert!(known.contains(*o), "{o}");
        }
        let allowed = [
            "Conv", "Sigmoid", "Mul", "Add", "Sub", "Div", "Concat", "Split", "MaxPool", "Resize", "Reshape", "Transpose", "Softmax",
            "ConvTranspose", "GlobalAveragePool", "Flatten", "Gemm",
        ];
        assert!(g.nodes.iter().all(|n| allowed.contains(&n.op_type.as_str())));
        // No BatchNormalization: folded into the convs.
        let bytes = proto.encode();
        let top = fields(&bytes);
        assert_eq!(top[0], (1, 0, super::onnx::IR_VERSION.to_le_bytes().to_vec()));
        let opset = top.iter().find(|f| f.0 == 8).unwrap();
        assert_eq!(fields(&opset.2), vec![(2, 0, super::onnx::OPSET.to_le_bytes().to_vec())]);
        let graph = fields(&top.iter().find(|f| f.0 == 7).unwrap().2);
        assert_eq!(graph.iter().filter(|f| f.0 == 1).count(), g.nodes.len());
    }
}

#[test]
fn onnx_initializers_are_the_fused_weights() {
    let (_vs, m) = fused(TaskType::Detect);
    let spec = OnnxSpec { height: 64, width: 64, batch: 1, dynamic: false, half: false };
    let proto = build(&m, &spec, vec![]).unwrap();
    let w = proto.graph.initializers.iter().find(|t| t.name == "model.0.conv.weight").unwrap();
    let crate::nn::model::Layer::Conv(c) = &m.layers[0].1 else { panic!("layer 0 is a Conv") };
    let (fw, _) = c.fused.as_ref().unwrap();
    assert_eq!(w.dims, fw.size());
    let floats: Vec<f32> = w.raw_data.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    let expect: Vec<f32> = fw.flatten(0, -1).try_into().unwrap();
    assert_eq!(floats, expect);
    let anchors = proto.graph.initializers.iter().find(|t| t.name.contains("anchors")).unwrap();
    assert_eq!(anchors.dims, [1, 2, 8 * 8 + 4 * 4 + 2 * 2]);
}

#[test]
fn half_onnx_is_float16_except_resize_scales() {
    let (_vs, m) = fused(TaskType::Detect);
    let spec = OnnxSpec { height: 64, width: 64, batch: 1, dynamic: false, half: true };
    let proto = build(&m, &spec, vec![]).unwrap();
    let g = &proto.graph;
    assert_eq!(g.inputs[0].elem_type, proto::DataType::Float16);
    assert!(g.outputs.iter().all(|o| o.elem_type == proto::DataType::Float16));
    for t in &g.initializers {
        let want = if t.name.contains("/scales") {
            proto::DataType::Float
        } else if t.name.contains("/shape") || t.name.contains("/split") {
            proto::DataType::Int64
        } else {
            proto::DataType::Float16
        };
        assert_eq!(t.data_type, want, "{}", t.name);
        let elt = match want {
            proto::DataType::Float16 => 2,
            proto::DataType::Float => 4,
            proto::DataType::Int64 => 8,
        };
        assert_eq!(t.raw_data.len() as i64, t.dims.iter().product::<i64>() * elt, "{}", t.name);
    }
}

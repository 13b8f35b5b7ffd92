//! ONNX export: walks the model's own structure (`nn::YoloModel` and its blocks) and emits
//! the same computation as ONNX nodes, with every BatchNorm already folded into its conv
//! (the `fuse()` weights the engine predicts with), decoding included, so the file's outputs
//! are Ultralytics' export outputs:
//!
//! - detect: `output0` `[N, 4 + nc, anchors]` (xywh in input pixels, sigmoid scores);
//! - segment: `output0` `[N, 4 + nc + 32, anchors]` (plus raw mask coefficients) and
//!   `output1` prototypes `[N, 32, H/4, W/4]`;
//! - classify: `output0` `[N, nc]` softmax probabilities.
//!
//! Only standard operators of opset 18 (Conv, Sigmoid, Mul, Add, Sub, Div, Concat, Split,
//! MaxPool, Resize, Reshape, Transpose, Softmax, ConvTranspose, GlobalAveragePool, Flatten,
//! Gemm). Anchor points and strides depend only on the input size, so they are constants;
//! every reshape copies the batch dimension (`0`), so one graph serves any batch when the
//! batch is exported as dynamic.

use tch::{Kind, Tensor};

use super::proto::{AttrValue, Attribute, DataType, Dim, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfo};
use crate::error::{EngineError, Result};
use crate::nn::block::{Bottleneck, Sppf, C2f};
use crate::nn::conv::{Conv, Conv2d};
use crate::nn::head::{Branch, Classify, Detect, Head, Segment};
use crate::nn::model::Layer;
use crate::nn::{make_anchors, YoloModel, NUM_MASKS, REG_MAX};

/// The opset the graph is written for: Ultralytics 8.4's choice on torch 2.11 (every
/// operator used here is unchanged from 13 to 23).
pub const OPSET: i64 = 18;
/// IR version 8 (ONNX 1.13), which opset 18 needs and which Ultralytics' files carry.
pub const IR_VERSION: i64 = 8;

/// What to write: input size, batch (fixed or symbolic) and precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnnxSpec {
    pub height: i64,
    pub width: i64,
    pub batch: i64,
    /// The batch dimension of input and outputs is the symbol `batch`.
    pub dynamic: bool,
    /// Float16 weights, input and outputs.
    pub half: bool,
}

/// Accumulates nodes and initializers with unique, path-like names (`/model.2/cv1/conv/Conv`),
/// the way PyTorch's exporter names them.
struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    float: DataType,
    next_const: usize,
    /// How many nodes took each base name, for unique `_<k>` suffixes.
    names: std::collections::HashMap<String, usize>,
}

fn ints(name: &str, v: &[i64]) -> Attribute {
    Attribute { name: name.into(), value: AttrValue::Ints(v.to_vec()) }
}

fn int(name: &str, v: i64) -> Attribute {
    Attribute { name: name.into(), value: AttrValue::Int(v) }
}

fn string(name: &str, v: &str) -> Attribute {
    Attribute { name: name.into(), value: AttrValue::String(v.into()) }
}

impl Graph {
    fn new(half: bool) -> Self {
        Graph { nodes: Vec::new(), initializers: Vec::new(), float: if half { DataType::Float16 } else { DataType::Float }, next_const: 0, names: Default::default() }
    }

    /// A float initializer from a tensor (written in the graph's float type).
    fn weight(&mut self, name: String, t: &Tensor) -> Result<String> {
        let data_type = self.float;
        self.weight_as(name, t, data_type)
    }

    fn weight_as(&mut self, name: String, t: &Tensor, data_type: DataType) -> Result<String> {
        let kind = if data_type == DataType::Float16 { Kind::Half } else { Kind::Float };
        let t = t.detach().to_device(tch::Device::Cpu).to_kind(kind).contiguous();
        let numel = t.numel();
        let mut raw = vec![0u8; numel * kind.elt_size_in_bytes()];
        t.f_copy_data_u8(&mut raw, numel)?;
        self.initializers.push(TensorProto { name: name.clone(), dims: t.size(), data_type, raw_data: raw });
        Ok(name)
    }

    /// A float constant (e.g. anchors) under a generated name.
    fn constant(&mut self, hint: &str, t: &Tensor) -> Result<String> {
        self.next_const += 1;
        self.weight(format!("{hint}_{}", self.next_const), t)
    }

    /// An int64 constant (shapes, split sizes).
    fn int64s(&mut self, hint: &str, v: &[i64]) -> String {
        self.next_const += 1;
        let name = format!("{hint}_{}", self.next_const);
        let raw = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.initializers.push(TensorProto { name: name.clone(), dims: vec![v.len() as i64], data_type: DataType::Int64, raw_data: raw });
        name
    }

    /// Adds a node named `<scope>/<op>` with `n_out` outputs `<scope>/<op>_output_<i>`.
    fn node_n(&mut self, scope: &str, op: &str, inputs: &[&str], n_out: usize, attributes: Vec<Attribute>) -> Vec<String> {
        let base = format!("{scope}/{op}");
        let seen = self.names.entry(base.clone()).or_insert(0);
        let name = if *seen == 0 { base } else { format!("{base}_{seen}") };
        *seen += 1;
        let outputs: Vec<String> = (0..n_out).map(|i| format!("{name}_output_{i}")).collect();
        self.nodes.push(NodeProto {
            name,
            op_type: op.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.clone(),
            attributes,
        });
        outputs
    }

    fn node(&mut self, scope: &str, op: &str, inputs: &[&str], attributes: Vec<Attribute>) -> String {
        self.node_n(scope, op, inputs, 1, attributes).remove(0)
    }

    /// Renames the output of the last node (graph outputs carry fixed names).
    fn rename_last_output(&mut self, from: &str, to: &str) {
        let node = self.nodes.iter_mut().rev().find(|n| n.outputs.iter().any(|o| o == from)).expect("output exists");
        for o in node.outputs.iter_mut().filter(|o| *o == from) {
            *o = to.to_string();
        }
    }

    fn conv2d(&mut self, scope: &str, x: &str, w: &Tensor, b: &Tensor, stride: i64, pad: i64) -> Result<String> {
        let size = w.size();
        let wn = self.weight(format!("{scope}.weight"), w)?;
        let bn = self.weight(format!("{scope}.bias"), b)?;
        Ok(self.node(
            &format!("/{scope}"),
            "Conv",
            &[x, &wn, &bn],
            vec![
                ints("dilations", &[1, 1]),
                int("group", 1),
                ints("kernel_shape", &[size[2], size[3]]),
                ints("pads", &[pad, pad, pad, pad]),
                ints("strides", &[stride, stride]),
            ],
        ))
    }

    /// SiLU as Sigmoid and Mul (opset 17 has no SiLU operator; PyTorch exports it so too).
    fn silu(&mut self, scope: &str, x: &str) -> String {
        let s = self.node(&format!("/{scope}/act"), "Sigmoid", &[x], vec![]);
        self.node(&format!("/{scope}/act"), "Mul", &[x, &s], vec![])
    }

    fn concat(&mut self, scope: &str, xs: &[&str], axis: i64) -> String {
        self.node(scope, "Concat", xs, vec![int("axis", axis)])
    }

    fn split(&mut self, scope: &str, x: &str, sizes: &[i64], axis: i64) -> Vec<String> {
        let s = self.int64s(&format!("{scope}/split"), sizes);
        self.node_n(scope, "Split", &[x, &s], sizes.len(), vec![int("axis", axis)])
    }

    /// Reshape whose `0` entries copy the input's dimension (the batch stays symbolic).
    fn reshape(&mut self, scope: &str, x: &str, shape: &[i64]) -> String {
        let s = self.int64s(&format!("{scope}/shape"), shape);
        self.node(scope, "Reshape", &[x, &s], vec![])
    }
}

/// The path of a module in Ultralytics' state-dict naming, e.g. `model.2.m.0.cv1`.
fn sub(scope: &str, name: impl std::fmt::Display) -> String {
    format!("{scope}.{name}")
}

fn conv(g: &mut Graph, scope: &str, c: &Conv, x: &str) -> Result<String> {
    let (w, b) = c.fused.as_ref().ok_or_else(|| EngineError::invalid("export needs a fused model (call fuse() first)"))?;
    let y = g.conv2d(&sub(scope, "conv"), x, w, b, c.stride, c.padding)?;
    Ok(g.silu(scope, &y))
}

fn plain_conv(g: &mut Graph, scope: &str, c: &Conv2d, x: &str) -> Result<String> {
    g.conv2d(scope, x, &c.weight, &c.bias, 1, c.padding)
}

fn bottleneck(g: &mut Graph, scope: &str, m: &Bottleneck, x: &str) -> Result<String> {
    let y = conv(g, &sub(scope, "cv1"), &m.cv1, x)?;
    let y = conv(g, &sub(scope, "cv2"), &m.cv2, &y)?;
    Ok(if m.add { g.node(&format!("/{scope}"), "Add", &[x, &y], vec![]) } else { y })
}

fn c2f(g: &mut Graph, scope: &str, m: &C2f, x: &str) -> Result<String> {
    let y = conv(g, &sub(scope, "cv1"), &m.cv1, x)?;
    let c = m.cv1.weight.size()[0] / 2;
    let mut ys = g.split(&format!("/{scope}"), &y, &[c, c], 1);
    for (j, b) in m.m.iter().enumerate() {
        let last = ys.last().expect("two halves").clone();
        ys.push(bottleneck(g, &format!("{scope}.m.{j}"), b, &last)?);
    }
    let refs: Vec<&str> = ys.iter().map(String::as_str).collect();
    let cat = g.concat(&format!("/{scope}"), &refs, 1);
    conv(g, &sub(scope, "cv2"), &m.cv2, &cat)
}

fn sppf(g: &mut Graph, scope: &str, m: &Sppf, x: &str) -> Result<String> {
    let x = conv(g, &sub(scope, "cv1"), &m.cv1, x)?;
    let (k, p) = (m.k, m.k / 2);
    let pool_attrs = || vec![int("ceil_mode", 0), ints("dilations", &[1, 1]), ints("kernel_shape", &[k, k]), ints("pads", &[p, p, p, p]), ints("strides", &[1, 1])];
    let s = format!("/{scope}/m");
    let p1 = g.node(&s, "MaxPool", &[&x], pool_attrs());
    let p2 = g.node(&s, "MaxPool", &[&p1], pool_attrs());
    let p3 = g.node(&s, "MaxPool", &[&p2], pool_attrs());
    let cat = g.concat(&format!("/{scope}"), &[&x, &p1, &p2, &p3], 1);
    conv(g, &sub(scope, "cv2"), &m.cv2, &cat)
}

fn layer(g: &mut Graph, i: usize, l: &Layer, x: &str) -> Result<String> {
    let scope = format!("model.{i}");
    match l {
        Layer::Conv(m) => conv(g, &scope, m, x),
        Layer::C2f(m) => c2f(g, &scope, m, x),
        Layer::Sppf(m) => sppf(g, &scope, m, x),
    }
}

/// `nn.Upsample(scale_factor=2, mode="nearest")` as PyTorch exports it.
fn upsample(g: &mut Graph, i: usize, x: &str) -> Result<String> {
    // Resize takes float32 scales whatever the data type.
    g.next_const += 1;
    let name = format!("/model.{i}/scales_{}", g.next_const);
    let scales = g.weight_as(name, &Tensor::from_slice(&[1.0f32, 1.0, 2.0, 2.0]), DataType::Float)?;
    Ok(g.node(
        &format!("/model.{i}"),
        "Resize",
        &[x, "", &scales],
        vec![string("coordinate_transformation_mode", "asymmetric"), string("mode", "nearest"), string("nearest_mode", "floor")],
    ))
}

fn branch(g: &mut Graph, scope: &str, b: &Branch, x: &str) -> Result<String> {
    let y = conv(g, &sub(scope, 0), &b.a, x)?;
    let y = conv(g, &sub(scope, 1), &b.b, &y)?;
    plain_conv(g, &sub(scope, 2), &b.out, &y)
}

/// The detection head up to its decoded output `[N, 4 + nc, A]`: per level the box and class
/// branches concatenated and flattened, then DFL (softmax over the 16 bins, the fixed 1x1
/// conv), distances → xywh around the anchors, times the strides, and sigmoid scores.
fn detect(g: &mut Graph, h: &Detect, feats: &[String], sizes: &[(i64, i64)]) -> Result<String> {
    let scope = "model.22";
    let nc = h.nc();
    let mut levels = Vec::new();
    for (i, x) in feats.iter().enumerate() {
        let b = branch(g, &format!("{scope}.cv2.{i}"), &h.cv2[i], x)?;
        let c = branch(g, &format!("{scope}.cv3.{i}"), &h.cv3[i], x)?;
        let cat = g.concat(&format!("/{scope}"), &[&b, &c], 1);
        levels.push(g.reshape(&format!("/{scope}"), &cat, &[0, 4 * REG_MAX + nc, -1]));
    }
    let refs: Vec<&str> = levels.iter().map(String::as_str).collect();
    let x_cat = g.concat(&format!("/{scope}"), &refs, 2); // [N, 64 + nc, A]
    let parts = g.split(&format!("/{scope}"), &x_cat, &[4 * REG_MAX, nc], 1);
    let (boxes, cls) = (&parts[0], &parts[1]);
    // DFL: [N, 64, A] → [N, 4, 16, A] → [N, 16, 4, A] → softmax over bins → 1x1 conv → [N, 4, A].
    let dfl = format!("/{scope}/dfl");
    let r = g.reshape(&dfl, boxes, &[0, 4, REG_MAX, -1]);
    let t = g.node(&dfl, "Transpose", &[&r], vec![ints("perm", &[0, 2, 1, 3])]);
    let s = g.node(&dfl, "Softmax", &[&t], vec![int("axis", 1)]);
    let w = g.weight(format!("{scope}.dfl.conv.weight"), &h.bins.view([1, REG_MAX, 1, 1]))?;
    let d = g.node(
        &format!("{dfl}/conv"),
        "Conv",
        &[&s, &w],
        vec![ints("dilations", &[1, 1]), int("group", 1), ints("kernel_shape", &[1, 1]), ints("pads", &[0, 0, 0, 0]), ints("strides", &[1, 1])],
    );
    let dist = g.reshape(&dfl, &d, &[0, 4, -1]);
    // dist2bbox(xywh) * strides, with anchors [1, 2, A] and strides [1, A] as constants.
    let (anchors, strides) = make_anchors(sizes, &h.strides, 0.5, (Kind::Float, tch::Device::Cpu));
    let a = g.constant(&format!("/{scope}/anchors"), &anchors.transpose(0, 1).unsqueeze(0))?;
    let st = g.constant(&format!("/{scope}/strides"), &strides.transpose(0, 1))?;
    let halves = g.split(&format!("/{scope}"), &dist, &[2, 2], 1);
    let x1y1 = g.node(&format!("/{scope}"), "Sub", &[&a, &halves[0]], vec![]);
    let x2y2 = g.node(&format!("/{scope}"), "Add", &[&a, &halves[1]], vec![]);
    let sum = g.node(&format!("/{scope}"), "Add", &[&x1y1, &x2y2], vec![]);
    let two = g.constant(&format!("/{scope}/two"), &Tensor::from_slice(&[2.0f32]))?;
    let c_xy = g.node(&format!("/{scope}"), "Div", &[&sum, &two], vec![]);
    let wh = g.node(&format!("/{scope}"), "Sub", &[&x2y2, &x1y1], vec![]);
    let xywh = g.concat(&format!("/{scope}"), &[&c_xy, &wh], 1);
    let dbox = g.node(&format!("/{scope}"), "Mul", &[&xywh, &st], vec![]);
    let probs = g.node(&format!("/{scope}"), "Sigmoid", &[cls], vec![]);
    Ok(g.concat(&format!("/{scope}"), &[&dbox, &probs], 1))
}

/// Segment: the detect output with the raw mask coefficients appended, and the prototypes.
fn segment(g: &mut Graph, h: &Segment, feats: &[String], sizes: &[(i64, i64)]) -> Result<(String, String)> {
    let scope = "model.22";
    let p = &h.proto;
    let ps = sub(scope, "proto");
    let y = conv(g, &sub(&ps, "cv1"), &p.cv1, &feats[0])?;
    let (w, b) = (&p.upsample.weight, &p.upsample.bias);
    let k = w.size()[2];
    let wn = g.weight(format!("{ps}.upsample.weight"), w)?;
    let bn = g.weight(format!("{ps}.upsample.bias"), b)?;
    let y = g.node(
        &format!("/{ps}/upsample"),
        "ConvTranspose",
        &[&y, &wn, &bn],
        vec![ints("dilations", &[1, 1]), int("group", 1), ints("kernel_shape", &[k, k]), ints("pads", &[0, 0, 0, 0]), ints("strides", &[p.upsample.stride, p.upsample.stride])],
    );
    let y = conv(g, &sub(&ps, "cv2"), &p.cv2, &y)?;
    let proto = conv(g, &sub(&ps, "cv3"), &p.cv3, &y)?;
    let mut coefs = Vec::new();
    for (i, x) in feats.iter().enumerate() {
        let c = branch(g, &format!("{scope}.cv4.{i}"), &h.cv4[i], x)?;
        coefs.push(g.reshape(&format!("/{scope}"), &c, &[0, NUM_MASKS, -1]));
    }
    let refs: Vec<&str> = coefs.iter().map(String::as_str).collect();
    let mc = g.concat(&format!("/{scope}"), &refs, 2); // [N, 32, A]
    let det = detect(g, &h.detect, feats, sizes)?;
    Ok((g.concat(&format!("/{scope}"), &[&det, &mc], 1), proto))
}

fn classify(g: &mut Graph, h: &Classify, x: &str) -> Result<String> {
    let scope = "model.9";
    let y = conv(g, &sub(scope, "conv"), &h.conv, x)?;
    let pooled = g.node(&format!("/{scope}/pool"), "GlobalAveragePool", &[&y], vec![]);
    let flat = g.node(&format!("/{scope}"), "Flatten", &[&pooled], vec![int("axis", 1)]);
    let w = g.weight(format!("{scope}.linear.weight"), &h.linear.weight)?;
    let b = g.weight(format!("{scope}.linear.bias"), &h.linear.bias)?;
    let logits = g.node(
        &format!("/{scope}/linear"),
        "Gemm",
        &[&flat, &w, &b],
        vec![Attribute { name: "alpha".into(), value: AttrValue::Float(1.0) }, Attribute { name: "beta".into(), value: AttrValue::Float(1.0) }, int("transB", 1)],
    );
    Ok(g.node(&format!("/{scope}"), "Softmax", &[&logits], vec![int("axis", 1)]))
}

/// Builds the ONNX model of a fused `model` for inputs `spec.batch × 3 × height × width`;
/// `metadata` becomes `metadata_props`.
pub fn build(model: &YoloModel, spec: &OnnxSpec, metadata: Vec<(String, String)>) -> Result<ModelProto> {
    let mut g = Graph::new(spec.half);
    let input = "images";
    let mut x = input.to_string();
    let mut y: Vec<Option<String>> = vec![None; 22];
    let mut layers = model.layers.iter();
    for i in 0..=8 {
        let (idx, l) = layers.next().expect("backbone layer");
        debug_assert_eq!(*idx, i);
        x = layer(&mut g, i, l, &x)?;
        y[i] = Some(x.clone());
    }
    let saved = |y: &[Option<String>], i: usize| y[i].clone().expect("saved layer output");
    let batch_dim = || if spec.dynamic { Dim::Param("batch".into()) } else { Dim::Value(spec.batch) };
    let (h, w) = (spec.height, spec.width);
    let mut outputs = Vec::new();
    match &model.head {
        Head::Classify(c) => {
            let probs = classify(&mut g, c, &x)?;
            g.rename_last_output(&probs, "output0");
            outputs.push(("output0", vec![batch_dim(), Dim::Value(model.nc())]));
        }
        Head::Detect(_) | Head::Segment(_) => {
            let mut next = |g: &mut Graph, x: &str| -> Result<String> {
                let (idx, l) = layers.next().expect("neck layer");
                layer(g, *idx, l, x)
            };
            x = next(&mut g, &x)?; // 9 SPPF
            y[9] = Some(x.clone());
            x = upsample(&mut g, 10, &x)?;
            x = g.concat("/model.11", &[&x, &saved(&y, 6)], 1);
            x = next(&mut g, &x)?; // 12
            y[12] = Some(x.clone());
            x = upsample(&mut g, 13, &x)?;
            x = g.concat("/model.14", &[&x, &saved(&y, 4)], 1);
            x = next(&mut g, &x)?; // 15
            y[15] = Some(x.clone());
            x = next(&mut g, &x)?; // 16
            x = g.concat("/model.17", &[&x, &saved(&y, 12)], 1);
            x = next(&mut g, &x)?; // 18
            y[18] = Some(x.clone());
            x = next(&mut g, &x)?; // 19
            x = g.concat("/model.20", &[&x, &saved(&y, 9)], 1);
            x = next(&mut g, &x)?; // 21
            let feats = [saved(&y, 15), saved(&y, 18), x];
            let sizes: Vec<(i64, i64)> = [8, 16, 32].iter().map(|s| (h / s, w / s)).collect();
            let anchors: i64 = sizes.iter().map(|(a, b)| a * b).sum();
            match &model.head {
                Head::Detect(d) => {
                    let out = detect(&mut g, d, &feats, &sizes)?;
                    g.rename_last_output(&out, "output0");
                    outputs.push(("output0", vec![batch_dim(), Dim::Value(4 + model.nc()), Dim::Value(anchors)]));
                }
                Head::Segment(s) => {
                    let (out, proto) = segment(&mut g, s, &feats, &sizes)?;
                    g.rename_last_output(&out, "output0");
                    g.rename_last_output(&proto, "output1");
                    outputs.push(("output0", vec![batch_dim(), Dim::Value(4 + model.nc() + NUM_MASKS), Dim::Value(anchors)]));
                    outputs.push(("output1", vec![batch_dim(), Dim::Value(NUM_MASKS), Dim::Value(h / 4), Dim::Value(w / 4)]));
                }
                Head::Classify(_) => unreachable!("handled above"),
            }
        }
    }
    let float = g.float;
    let graph = GraphProto {
        name: "main_graph".into(),
        nodes: g.nodes,
        initializers: g.initializers,
        inputs: vec![ValueInfo { name: input.into(), elem_type: float, shape: vec![batch_dim(), Dim::Value(3), Dim::Value(h), Dim::Value(w)] }],
        outputs: outputs.into_iter().map(|(name, shape)| ValueInfo { name: name.into(), elem_type: float, shape }).collect(),
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset: OPSET,
        producer_name: "annotateforge".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: String::new(),
        graph,
        metadata,
    })
}

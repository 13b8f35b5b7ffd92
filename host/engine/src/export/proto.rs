//! A minimal protobuf writer for the ONNX messages the exporter emits (`onnx.proto3`, field
//! numbers as in `onnx/onnx.proto`). ONNX files are plain protobuf; the handful of messages
//! and field kinds we need (varints, length-delimited bytes and sub-messages, packed int64s)
//! take less code than a protobuf code generator and its build step.
//!
//! Each message is a struct with `encode(&self, &mut Vec<u8>)`; only fields that are set are
//! written (proto3 semantics), so defaults read back as defaults.

/// Wire types.
const VARINT: u32 = 0;
const FIXED32: u32 = 5;
const LEN: u32 = 2;

/// Appends `v` as a base-128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_tag(out: &mut Vec<u8>, field: u32, wire: u32) {
    put_varint(out, u64::from(field << 3 | wire));
}

/// An int64/int32/enum field (negative values as 10-byte two's complement, as protobuf does).
fn put_int(out: &mut Vec<u8>, field: u32, v: i64) {
    put_tag(out, field, VARINT);
    put_varint(out, v as u64);
}

fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_tag(out, field, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_str(out: &mut Vec<u8>, field: u32, s: &str) {
    put_bytes(out, field, s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, field: u32, s: &str) {
    if !s.is_empty() {
        put_str(out, field, s);
    }
}

fn put_message(out: &mut Vec<u8>, field: u32, encode: impl FnOnce(&mut Vec<u8>)) {
    let mut body = Vec::new();
    encode(&mut body);
    put_bytes(out, field, &body);
}

/// A packed repeated int64 field.
fn put_packed_ints(out: &mut Vec<u8>, field: u32, vs: &[i64]) {
    if vs.is_empty() {
        return;
    }
    let mut body = Vec::with_capacity(vs.len() * 2);
    for &v in vs {
        put_varint(&mut body, v as u64);
    }
    put_bytes(out, field, &body);
}

/// `TensorProto.DataType` values we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Float = 1,
    Int64 = 7,
    Float16 = 10,
}

/// `TensorProto`: a named initializer with its data as little-endian `raw_data`.
#[derive(Debug, Clone)]
pub struct TensorProto {
    pub name: String,
    pub dims: Vec<i64>,
    pub data_type: DataType,
    pub raw_data: Vec<u8>,
}

impl TensorProto {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_packed_ints(out, 1, &self.dims); // dims
        put_int(out, 2, self.data_type as i64); // data_type
        put_opt_str(out, 8, &self.name); // name
        put_bytes(out, 9, &self.raw_data); // raw_data
    }
}

/// `AttributeProto` with the value kinds the exporter uses.
#[derive(Debug, Clone)]
pub enum AttrValue {
    Float(f32),
    Int(i64),
    Ints(Vec<i64>),
    String(String),
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub value: AttrValue,
}

impl Attribute {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_str(out, 1, &self.name);
        // `AttributeProto.AttributeType`: FLOAT 1, INT 2, STRING 3, INTS 7.
        match &self.value {
            AttrValue::Float(f) => {
                put_tag(out, 2, FIXED32);
                out.extend_from_slice(&f.to_le_bytes());
                put_int(out, 20, 1);
            }
            AttrValue::Int(i) => {
                put_int(out, 3, *i);
                put_int(out, 20, 2);
            }
            AttrValue::String(s) => {
                put_str(out, 4, s);
                put_int(out, 20, 3);
            }
            AttrValue::Ints(vs) => {
                put_packed_ints(out, 8, vs);
                put_int(out, 20, 7);
            }
        }
    }
}

/// `NodeProto` (default domain: the standard ONNX operators).
#[derive(Debug, Clone)]
pub struct NodeProto {
    pub name: String,
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

impl NodeProto {
    pub fn encode(&self, out: &mut Vec<u8>) {
        for i in &self.inputs {
            put_str(out, 1, i); // an empty name is an omitted optional input, so it is written
        }
        for o in &self.outputs {
            put_str(out, 2, o);
        }
        put_opt_str(out, 3, &self.name);
        put_str(out, 4, &self.op_type);
        for a in &self.attributes {
            put_message(out, 5, |b| a.encode(b));
        }
    }
}

/// One dimension of a value's shape: a fixed size or a named symbolic one (`batch`).
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    Value(i64),
    Param(String),
}

/// `ValueInfoProto` of a tensor graph input or output.
#[derive(Debug, Clone)]
pub struct ValueInfo {
    pub name: String,
    pub elem_type: DataType,
    pub shape: Vec<Dim>,
}

impl ValueInfo {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_str(out, 1, &self.name);
        // TypeProto { tensor_type (1): TypeProto.Tensor { elem_type (1), shape (2) } }
        put_message(out, 2, |ty| {
            put_message(ty, 1, |tensor| {
                put_int(tensor, 1, self.elem_type as i64);
                put_message(tensor, 2, |shape| {
                    for d in &self.shape {
                        // TensorShapeProto.dim (1): Dimension { dim_value (1) | dim_param (2) }
                        put_message(shape, 1, |dim| match d {
                            Dim::Value(v) => put_int(dim, 1, *v),
                            Dim::Param(p) => put_str(dim, 2, p),
                        });
                    }
                });
            });
        });
    }
}

/// `GraphProto`.
#[derive(Debug, Clone, Default)]
pub struct GraphProto {
    pub name: String,
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

impl GraphProto {
    pub fn encode(&self, out: &mut Vec<u8>) {
        for n in &self.nodes {
            put_message(out, 1, |b| n.encode(b));
        }
        put_opt_str(out, 2, &self.name);
        for t in &self.initializers {
            put_message(out, 5, |b| t.encode(b));
        }
        for i in &self.inputs {
            put_message(out, 11, |b| i.encode(b));
        }
        for o in &self.outputs {
            put_message(out, 12, |b| o.encode(b));
        }
    }
}

/// `ModelProto`: IR version, the default-domain opset, producer, graph and metadata.
#[derive(Debug, Clone, Default)]
pub struct ModelProto {
    pub ir_version: i64,
    pub opset: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub doc_string: String,
    pub graph: GraphProto,
    /// `metadata_props`, in order.
    pub metadata: Vec<(String, String)>,
}

impl ModelProto {
    pub fn encode(&self) -> Vec<u8> {
        let initializer_bytes: usize = self.graph.initializers.iter().map(|t| t.raw_data.len()).sum();
        let mut out = Vec::with_capacity(initializer_bytes + 64 * 1024);
        put_int(&mut out, 1, self.ir_version);
        put_opt_str(&mut out, 2, &self.producer_name);
        put_opt_str(&mut out, 3, &self.producer_version);
        put_opt_str(&mut out, 6, &self.doc_string);
        put_message(&mut out, 7, |b| self.graph.encode(b));
        // OperatorSetIdProto { domain (1) = "" (default), version (2) }
        put_message(&mut out, 8, |b| put_int(b, 2, self.opset));
        for (k, v) in &self.metadata {
            // StringStringEntryProto { key (1), value (2) }
            put_message(&mut out, 14, |b| {
                put_str(b, 1, k);
                put_str(b, 2, v);
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_encoding() {
        let enc = |v: u64| {
            let mut o = Vec::new();
            put_varint(&mut o, v);
            o
        };
        assert_eq!(enc(1), [1]);
        assert_eq!(enc(150), [0x96, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        // -1 as int64 is ten bytes.
        assert_eq!(enc(-1i64 as u64).len(), 10);
    }

    #[test]
    fn attribute_ints_are_packed_with_their_type() {
        let mut o = Vec::new();
        Attribute { name: "k".into(), value: AttrValue::Ints(vec![3, 3]) }.encode(&mut o);
        // name "k" | ints packed [3, 3] | type INTS (7)
        assert_eq!(o, [0x0a, 1, b'k', 0x42, 2, 3, 3, 0xa0, 0x01, 7]);
    }
}

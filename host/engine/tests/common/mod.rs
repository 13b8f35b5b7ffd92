//! Helpers shared by the engine's integration tests: fixture paths and the parity tolerance.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use tch::{Kind, Tensor};

/// A file of the Ultralytics parity fixture (copied into the crate from shared/fixtures).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ultralytics-parity").join(name)
}

/// All tensors of a fixture safetensors file, floats as f32.
pub fn tensors(name: &str) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(fixture(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .into_iter()
        .map(|(k, t)| {
            let t = if t.is_floating_point() { t.to_kind(Kind::Float) } else { t };
            (k, t)
        })
        .collect()
}

/// The fixture README's tolerance: equal shapes and `max|a-b| <= 1e-4 * max(1, max|ref|)`.
/// Returns the worst difference relative to that bound.
#[track_caller]
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor) -> f64 {
    assert_eq!(got.size(), want.size(), "{what}: shape");
    let got = got.to_kind(Kind::Float).to_device(tch::Device::Cpu);
    let diff = (&got - want).abs().max().double_value(&[]);
    let scale = want.abs().max().double_value(&[]).max(1.0);
    let bound = 1e-4 * scale;
    assert!(diff <= bound, "{what}: max|a-b| = {diff:e} > {bound:e}");
    diff / bound
}

//! `split-stratified`: each class keeps its share in train, val and test.
//!
//! `stratified` holds the split (plain Rust, tested natively); `guest` is the component glue,
//! compiled only for wasm.

pub mod stratified;

#[cfg(target_arch = "wasm32")]
mod guest;

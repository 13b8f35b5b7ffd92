//! `split-random`: a seeded shuffle cut at the ratios.
//!
//! `random` holds the split (plain Rust, tested natively); `guest` is the component glue,
//! compiled only for wasm.

pub mod random;

#[cfg(target_arch = "wasm32")]
mod guest;

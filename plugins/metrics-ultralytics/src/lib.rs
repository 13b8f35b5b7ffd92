//! `metrics-ultralytics`: the engine's raw metrics (Ultralytics `results.csv` names) → the
//! names the API and UI show, with groups, directions and fitness.
//!
//! `format` holds the mapping (plain Rust, tested natively); `guest` is the component glue,
//! compiled only for wasm.

pub mod format;

#[cfg(target_arch = "wasm32")]
mod guest;

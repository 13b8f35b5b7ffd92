//! `converter-detect`: annotations → YOLO detection labels (`cls cx cy w h`, normalised).
//!
//! `detect` holds the conversion (plain Rust, tested natively); `guest` is the component glue,
//! compiled only for wasm.

pub mod detect;

#[cfg(target_arch = "wasm32")]
mod guest;

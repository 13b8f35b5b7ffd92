//! `converter-segment`: annotations → YOLO segmentation labels (`cls x1 y1 … xn yn`,
//! normalised).
//!
//! `segment` holds the conversion (plain Rust, tested natively); `guest` is the component
//! glue, compiled only for wasm.

pub mod segment;

#[cfg(target_arch = "wasm32")]
mod guest;

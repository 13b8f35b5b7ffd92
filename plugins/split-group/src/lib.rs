//! `split-group`: every image of a group (a project, or a metadata value) on one side.
//!
//! `group` holds the split (plain Rust, tested natively); `guest` is the component glue,
//! compiled only for wasm.

pub mod group;

#[cfg(target_arch = "wasm32")]
mod guest;

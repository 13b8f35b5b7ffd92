//! `converter-classify`: an image's class label → its class id (ImageFolder datasets).
//!
//! `classify` holds the rule (plain Rust, tested natively); `guest` is the component glue,
//! compiled only for wasm.

pub mod classify;

#[cfg(target_arch = "wasm32")]
mod guest;

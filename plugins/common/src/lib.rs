//! Logic shared by the built-in plugins, in plain Rust.
//!
//! The guests (`plugins/*/src/guest.rs`) are thin glue: they move the WIT request into these
//! types, call a pure function and move the result back (converters share that glue: the
//! [`converter_glue!`] macro). Keeping the logic here means it is
//! unit-tested natively and that the host can run exactly the same conversion natively (the
//! wasm-vs-native benchmark).
//!
//! Nothing here may depend on the machine: no hashing with random keys, no clocks, no
//! floating-point functions whose result differs between targets: only IEEE `+ - * /`, so
//! `sin`/`cos` are computed here by a series instead of calling the platform's libm.

pub mod annotation;
pub mod batch;
mod glue;
pub mod geometry;
pub mod options;
pub mod ratio;
pub mod rng;
pub mod split;
pub mod warning;

pub use annotation::{Annotation, ClassTable, Kind, Point, Shape, Xy};
pub use options::{OptionValue, Settings};
pub use split::{Item, Subset};
pub use warning::{Warning, WarningReason};

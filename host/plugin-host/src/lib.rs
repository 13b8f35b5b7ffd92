//! The plugin runtime: one shared wasmtime `Engine`, components compiled once per content
//! hash, a fresh sandboxed `Store` per session.
//!
//! ```text
//! PluginHost::load(bytes)            check header → compile (cached by sha256) → world from
//!                                    the exports → link against the sandbox → metadata()
//!   → Plugin                         kind, name, version, sha256, options
//!   → plugin.session::<Converter>()  fresh Store + instance (memory cap, WASI denied)
//!   → session.call(&request)         fresh time budget, typed errors, contract checks
//! ```
//!
//! Module map: `bindings` (the `bindgen!` calls), `engine` (engine, ticker, cache, loading),
//! `sandbox` (what a plugin may touch, limits), `kind` (the `PluginKind` trait), `plugin`
//! (loaded plugins and sessions), `converter` / `splitter` / `formatter` (one kind each),
//! `metadata` (host-side metadata and options), `builtins` (the plugins shipped with the
//! app), `error`.

pub mod bindings;
pub mod builtins;
pub mod converter;
mod engine;
pub mod error;
pub mod formatter;
pub mod kind;
pub mod metadata;
mod plugin;
pub mod sandbox;
pub mod splitter;

pub use converter::{Converter, ImageLabels, ImageResult, Label, RequestBuilder};
pub use engine::{HostConfig, PluginHost};
pub use error::{GuestError, PluginError, PluginRef};
pub use formatter::Formatter;
pub use kind::PluginKind;
pub use metadata::{annotation_kind, task_type, Kind, OptionSpec, OptionType, OptionValue, PluginMetadata, WIT_VERSION};
pub use plugin::{Plugin, Session};
pub use sandbox::Limits;
pub use splitter::Splitter;

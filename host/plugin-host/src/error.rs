//! The one error type of the plugin runtime. Every variant raised while running a plugin
//! names it (`converter-detect 1.0.0 (sha256 1a2b3c4d5e6f)`), so a failed job says which
//! plugin failed and how.

use std::fmt;
use std::time::Duration;

use crate::metadata::Kind;

/// Which plugin an error is about: its metadata name and version once known, always a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRef {
    pub name: Option<String>,
    pub version: Option<String>,
    pub sha256: String,
}

impl PluginRef {
    pub fn unnamed(sha256: &str) -> Self {
        Self { name: None, version: None, sha256: sha256.to_string() }
    }
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = &self.sha256[..self.sha256.len().min(12)];
        match (&self.name, &self.version) {
            (Some(n), Some(v)) => write!(f, "plugin `{n}` {v} (sha256 {short})"),
            _ => write!(f, "plugin sha256 {short}"),
        }
    }
}

/// A plugin's own refusal (`plugin-error` in WIT): data, not a bug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestError {
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("{0}")]
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The bytes are not WebAssembly at all.
    #[error("not a WebAssembly file: {0}")]
    NotWasm(String),
    /// A core module where a component is needed.
    #[error("this is a core WebAssembly module, not a component: build the plugin for the wasm32-wasip2 target (or wrap it with `wasm-tools component new`)")]
    NotComponent,
    /// The component does not validate or compile.
    #[error("invalid WebAssembly component: {0}")]
    Invalid(String),
    /// The component exports none of the plugin interfaces this host knows.
    #[error("{plugin} implements no AnnotateForge plugin world: it must export one of {expected}; it exports {found}")]
    WrongWorld { plugin: PluginRef, expected: String, found: String },
    /// The component exports a plugin interface of another version of the WIT package.
    #[error("{plugin} targets `{found}`, but this host supports version {supported} of the plugin interfaces")]
    WrongVersion { plugin: PluginRef, found: String, supported: &'static str },
    /// A plugin of one kind was used where another is needed.
    #[error("{plugin} is a {actual} plugin, not a {expected}")]
    WrongKind { plugin: PluginRef, expected: Kind, actual: Kind },
    /// The component imports something the sandbox does not provide.
    #[error("{plugin} needs imports the plugin sandbox does not provide: {message}")]
    Link { plugin: PluginRef, message: String },
    /// The metadata the plugin returned is unusable.
    #[error("{plugin} returned invalid metadata: {message}")]
    Metadata { plugin: PluginRef, message: String },
    /// An option chosen for the plugin is unknown or of the wrong type.
    #[error("{plugin}: option `{option}`: {message}")]
    InvalidOption { plugin: PluginRef, option: String, message: String },
    /// The call ran past its time budget and was stopped.
    #[error("{plugin} was stopped after running past its time budget of {budget:?} in `{call}`")]
    Timeout { plugin: PluginRef, call: &'static str, budget: Duration },
    /// The plugin tried to grow its memory past the cap.
    #[error("{plugin} was stopped in `{call}`: it tried to use more than its memory limit of {limit_bytes} bytes")]
    MemoryLimit { plugin: PluginRef, call: &'static str, limit_bytes: usize },
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access, a denied WASI call).
    #[error("{plugin} crashed in `{call}`: {message}")]
    Trap { plugin: PluginRef, call: &'static str, message: String },
    /// The plugin returned a result that breaks the contract (class id out of range, …).
    #[error("{plugin} returned a malformed result from `{call}`: {message}")]
    Malformed { plugin: PluginRef, call: &'static str, message: String },
    /// The plugin refused the call with a typed error.
    #[error("{plugin} refused `{call}`: {error}")]
    Guest { plugin: PluginRef, call: &'static str, error: GuestError },
    /// A session whose plugin failed earlier cannot be used again.
    #[error("{plugin} failed earlier in this session and cannot be called again")]
    Poisoned { plugin: PluginRef },
    /// Reading or writing the compiled-component cache, or a plugin file.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Anything else from the runtime (engine set-up).
    #[error("plugin runtime: {0}")]
    Runtime(String),
}

impl PluginError {
    /// The plugin the error is about, when there is one.
    pub fn plugin(&self) -> Option<&PluginRef> {
        use PluginError::*;
        match self {
            WrongWorld { plugin, .. }
            | WrongVersion { plugin, .. }
            | WrongKind { plugin, .. }
            | Link { plugin, .. }
            | Metadata { plugin, .. }
            | InvalidOption { plugin, .. }
            | Timeout { plugin, .. }
            | MemoryLimit { plugin, .. }
            | Trap { plugin, .. }
            | Malformed { plugin, .. }
            | Guest { plugin, .. }
            | Poisoned { plugin } => Some(plugin),
            NotWasm(_) | NotComponent | Invalid(_) | Io { .. } | Runtime(_) => None,
        }
    }

    /// True when the uploaded bytes themselves are unacceptable (a 422 for the registry API),
    /// false for failures of the host.
    pub fn is_rejection(&self) -> bool {
        !matches!(self, PluginError::Io { .. } | PluginError::Runtime(_))
    }
}

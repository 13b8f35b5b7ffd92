//! The engine's one error type. Every fallible engine function returns [`Result`]; bad input
//! (a missing or corrupt weights file, weights for another task, an unreadable image, a
//! malformed dataset) becomes a variant that names the problem, never a panic.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A weights file is missing, corrupt, or does not fit the model (wrong task, shapes).
    #[error("weights {}: {message}", path.display())]
    Weights { path: PathBuf, message: String },
    /// An image could not be decoded or is unusable (zero-size, unsupported format).
    #[error("image {source_name}: {message}")]
    Image { source_name: String, message: String },
    /// A dataset on disk does not have the expected layout or has malformed labels.
    #[error("dataset {}: {message}", path.display())]
    Dataset { path: PathBuf, message: String },
    /// A device string that is not `auto`, `cpu`, `cuda` or `cuda:N`, or a CUDA device that
    /// is not available.
    #[error("device `{spec}`: {message}")]
    Device { spec: String, message: String },
    /// An argument outside what the engine accepts (shape, size, model name, threshold).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The caller asked the engine to stop (training cancellation).
    #[error("cancelled")]
    Cancelled,
    /// An error raised inside libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io { path: path.into(), source }
    }

    pub fn weights(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        EngineError::Weights { path: path.into(), message: message.into() }
    }

    pub fn image(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        EngineError::Image { source_name: source_name.into(), message: message.into() }
    }

    pub fn dataset(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        EngineError::Dataset { path: path.into(), message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        EngineError::InvalidInput(message.into())
    }
}

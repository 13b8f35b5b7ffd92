//! The AnnotateForge host as a library: configuration, the HTTP API (`app`), authentication,
//! file storage, imports/exports and the demo project. `main.rs` only dispatches subcommands.

pub mod api;
pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod extract;
pub mod export;
pub mod http;
pub mod imagefile;
pub mod import;
pub mod jobs;
pub mod plugins;
pub mod prediction_token;
pub mod ratelimit;
pub mod serve;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod worker;

pub use api::app;
pub use config::{Config, ServeArgs};
pub use error::AppError;
pub use state::AppState;

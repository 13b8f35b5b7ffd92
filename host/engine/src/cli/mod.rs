//! The engine's command-line entry points, wired as subcommands of the `annotateforge`
//! binary: each module exposes a clap `Args` and a `run` that drives the engine without the
//! server.

pub mod export;
pub mod predict;
pub mod train;
pub mod val;

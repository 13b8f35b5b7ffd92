//! `annotateforge`: the server (`serve`), extra workers (`worker`) and the engine's CLI
//! (`train`, `val`, `predict`, `export`) and plugin tools (`plugin`), in one binary.
//!
//! This file only dispatches: each subcommand's arguments and `run` live in its own module
//! (`annotateforge::serve`, `af_engine::cli`, `af_plugin_host::cli`, …), so adding one is a
//! variant and a match arm here.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "annotateforge", version, about = "Annotate images, train YOLOv8-style models, serve them.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web app and REST API (SQLite in the data directory unless DATABASE_URL is set).
    Serve(annotateforge::ServeArgs),
    /// Run a training worker against a shared PostgreSQL database and data directory.
    Worker(annotateforge::worker::WorkerArgs),
    /// Train a model on a dataset (data.yaml or ImageFolder) and write weights and results.csv.
    Train(af_engine::cli::train::Args),
    /// Validate a model on a dataset's val split and print the metrics table.
    Val(af_engine::cli::val::Args),
    /// Predict on images with a model and print (or write) the predictions as JSON.
    Predict(af_engine::cli::predict::Args),
    /// Export a model to ONNX, TorchScript or safetensors and print what was written as JSON.
    Export(af_engine::cli::export::Args),
    /// Inspect or try a WebAssembly plugin component (`info`, `run <wasm> <sample.json>`).
    Plugin(af_dataset::cli::Args),
}

fn main() -> anyhow::Result<()> {
    let command = Cli::parse().command;
    // The server sets up its own structured logging (annotateforge::telemetry).
    match command {
        Command::Serve(args) => return annotateforge::serve::run(args),
        Command::Worker(args) => return annotateforge::worker::run(args),
        _ => {}
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match command {
        Command::Serve(_) | Command::Worker(_) => unreachable!("handled above"),
        Command::Train(args) => {
            af_engine::cli::train::run(args)?;
        }
        Command::Val(args) => {
            let json = args.json;
            print!("{}", af_engine::cli::val::render(&af_engine::cli::val::run(args)?, json));
        }
        Command::Plugin(args) => print!("{}", af_dataset::cli::run(args)?),
        Command::Export(args) => println!("{}", serde_json::to_string_pretty(&af_engine::cli::export::run(args)?)?),
        Command::Predict(args) => {
            let to_stdout = args.output.is_none();
            let results = af_engine::cli::predict::run(args)?;
            if to_stdout {
                println!("{}", serde_json::to_string_pretty(&results)?);
            }
        }
    }
    Ok(())
}

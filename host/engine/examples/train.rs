//! `annotateforge train` without the server around it (same `Args`, same output), so the
//! training benchmark can build just the engine: `cargo build --release -p af-engine --example train`.

use clap::Parser;

#[derive(Parser)]
#[command(name = "train", about = "Train a model (the `annotateforge train` subcommand)")]
struct Cli {
    #[command(flatten)]
    args: af_engine::cli::train::Args,
}

fn main() {
    if let Err(e) = af_engine::cli::train::run(Cli::parse().args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

//! `annotateforge worker`: a training worker without the web server, for scale-out. It shares
//! the PostgreSQL database and the data directory with the servers (and other workers),
//! claims queued jobs, and stops on Ctrl-C / SIGTERM after re-queueing the jobs it runs.

use std::path::PathBuf;

use af_core::Device;

use crate::config::{Config, JobArgs, ServeArgs};
use crate::state::AppState;

/// `annotateforge worker` flags (environment variables and `--config` as for `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// TOML file with any of the settings below (the same file `serve` reads).
    #[arg(long, env = "AF_CONFIG")]
    pub config: Option<PathBuf>,
    /// The data directory shared with the servers (images, datasets, weights).
    #[arg(long, env = "AF_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://user:pass@host/db`, shared with the servers.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Training device: auto, cpu or cuda:N [default: auto].
    #[arg(long, env = "AF_DEVICE")]
    pub device: Option<Device>,
    #[command(flatten)]
    pub jobs: JobArgs,
}

pub fn run(args: WorkerArgs) -> anyhow::Result<()> {
    crate::telemetry::init();
    let serve_args = ServeArgs {
        config: args.config,
        data_dir: args.data_dir,
        database_url: args.database_url,
        device: args.device,
        jobs: args.jobs,
        ..Default::default()
    };
    let config = Config::resolve(&serve_args)?;
    anyhow::ensure!(
        config.database_url.backend()? == af_db::Backend::Postgres,
        "`annotateforge worker` needs the PostgreSQL database the servers use (DATABASE_URL=postgres://…); \
         with SQLite, `annotateforge serve` runs the only worker"
    );
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        tracing::info!(?config, "starting a worker");
        let state = AppState::init(config).await?;
        crate::jobs::queue::run_worker(state.clone(), crate::serve::shutdown_signal()).await?;
        state.db.close().await;
        Ok(())
    })
}

//! `annotateforge serve`: config → tracing → database + migrations → (demo project) → the
//! job worker and event listener (`jobs::Background`) → HTTP, with graceful shutdown on
//! Ctrl-C / SIGTERM.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{Config, ServeArgs};
use crate::state::AppState;

/// How long open connections (uploads, WebSockets) may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Entry point of the `serve` subcommand.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    crate::telemetry::init();
    let config = Config::resolve(&args)?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(config))
}

pub async fn serve(mut config: Config) -> anyhow::Result<()> {
    config.http.max_connections = crate::http::fit_fd_limit(config.http.max_connections);
    tracing::info!(?config, "starting AnnotateForge");
    let bind = config.bind;
    let demo = config.demo;
    let state = AppState::init(config).await?;
    if demo {
        crate::demo::install(&state).await.context("creating the demo project")?;
    }
    let listener = crate::http::bind(bind).with_context(|| format!("listening on {bind}"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let background = crate::jobs::Background::start(&state);
    // On a signal the worker first stops its jobs between two batches and re-queues them,
    // while the API still answers; then the HTTP server drains.
    serve_on(listener, state, async move {
        shutdown_signal().await;
        background.stop().await;
    })
    .await
}

/// Serves the app on `listener` until `shutdown` resolves, then lets open requests finish for
/// at most [`SHUTDOWN_GRACE`]. Connections are handled by [`crate::http::serve`] (header-read,
/// idle and request timeouts, a connection cap: `config.http`).
pub async fn serve_on(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let db = state.db.clone();
    let settings = state.config.http.clone();
    let app = crate::app(state);
    crate::http::serve(
        listener,
        app,
        settings,
        async move {
            shutdown.await;
            tracing::info!("shutting down");
        },
        SHUTDOWN_GRACE,
    )
    .await;
    db.close().await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

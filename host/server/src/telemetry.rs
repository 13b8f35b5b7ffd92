//! Structured logging with `tracing`: `RUST_LOG` wins, else info for our crates and warnings
//! from dependencies. `AF_LOG_FORMAT=json` switches to one JSON object per line.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,annotateforge=info,af_db=info,af_engine=info,af_dataset=info,af_plugin_host=info,tower_http=info"));
    let json = std::env::var("AF_LOG_FORMAT").map(|v| v == "json").unwrap_or(false);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
    // try_init: a second call (tests, several subcommands) is harmless.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

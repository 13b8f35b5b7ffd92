//! What every handler shares: the database, the configuration, file storage and the token keys.

use std::sync::Arc;

use af_db::Db;

use crate::auth::JwtKeys;
use crate::config::Config;
use crate::jobs::{JobsRuntime, ModelCache};
use crate::plugins::PluginRegistry;
use crate::ratelimit::LoginLimiter;
use crate::storage::Storage;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub storage: Storage,
    pub jwt: Arc<JwtKeys>,
    /// Training jobs and inference: event hub, model cache, running jobs.
    pub jobs: Arc<JobsRuntime>,
    /// Installed plugins, their defaults and the plugin runtime (`crate::plugins`).
    pub plugins: Arc<PluginRegistry>,
    /// Failed-login counts per account and address (`crate::ratelimit`).
    pub login_limiter: Arc<LoginLimiter>,
}

impl AppState {
    /// Prepares the data directory, connects and migrates the database, and loads (or creates)
    /// the token-signing secret.
    pub async fn init(config: Config) -> anyhow::Result<AppState> {
        let storage = Storage::open(&config.data_dir)?;
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let state = Self::with_db(config, db, storage)?;
        // First start: the built-in plugins are installed and become the defaults.
        state.plugins.ensure_builtins(&state.db).await.map_err(|e| anyhow::anyhow!("installing the built-in plugins: {e:?}"))?;
        Ok(state)
    }

    /// Builds the state around an already migrated database (tests share databases this way).
    pub fn with_db(config: Config, db: Db, storage: Storage) -> anyhow::Result<AppState> {
        let secret = match &config.jwt_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => storage.jwt_secret()?,
        };
        let jwt = Arc::new(JwtKeys::new(&secret, config.token_ttl_hours));
        let plugins = Arc::new(PluginRegistry::new(Some(storage.plugin_cache_dir()), config.jobs.plugin_limits)?);
        let device = af_engine::parse_device(&config.device.to_string())?;
        let jobs = Arc::new(JobsRuntime::new(ModelCache::new(config.jobs.model_cache_size, device)));
        let login_limiter = Arc::new(LoginLimiter::new(&config.limits));
        Ok(AppState { db, config: Arc::new(config), storage, jwt, jobs, plugins, login_limiter })
    }
}

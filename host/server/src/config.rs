//! Server configuration from flags, environment variables and an optional TOML file
//! (`--config`), in that order of precedence, then defaults.
//!
//! Secrets (the JWT secret, the database password) never reach `Debug` or the logs.

use af_core::Device;
use af_db::DatabaseUrl;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `annotateforge serve` flags; each can also be set by its environment variable or in the
/// TOML file given by `--config` (same names, snake_case).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML file with any of the settings below.
    #[arg(long, env = "AF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8000].
    #[arg(long, env = "AF_BIND")]
    pub bind: Option<SocketAddr>,
    /// Directory for the SQLite database, images, datasets, weights and the JWT secret
    /// [default: ./data].
    #[arg(long, env = "AF_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://user:pass@host/db` [default: SQLite in the data directory].
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Secret for signing access tokens [default: generated once, kept in the data directory].
    #[arg(long, env = "AF_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Access-token lifetime in hours [default: 24].
    #[arg(long, env = "AF_TOKEN_TTL_HOURS")]
    pub token_ttl_hours: Option<u64>,
    /// Training and inference device: auto, cpu or cuda:N [default: auto].
    #[arg(long, env = "AF_DEVICE")]
    pub device: Option<Device>,
    /// Largest image-upload request, in bytes [default: 64 MiB].
    #[arg(long, env = "AF_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Largest import archive (and its unpacked size), in bytes [default: 2 GiB].
    #[arg(long, env = "AF_MAX_IMPORT_BYTES")]
    pub max_import_bytes: Option<u64>,
    /// The built front end to serve at `/` [default: ./frontend/dist when it exists].
    #[arg(long, env = "AF_FRONTEND_DIR")]
    pub frontend_dir: Option<PathBuf>,
    /// Create the demo project (generated shapes, annotated) if it does not exist yet.
    #[arg(long, env = "AF_DEMO")]
    pub demo: bool,
    /// Only the first account signs itself up; after that an admin creates accounts
    /// (`POST /api/v1/auth/register` with the admin's token) [default: anyone may sign up].
    #[arg(long, env = "AF_CLOSED_REGISTRATION")]
    pub closed_registration: bool,
    #[command(flatten)]
    pub jobs: JobArgs,
}

/// Training-job settings shared by `serve` and `worker`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct JobArgs {
    /// Do not run a training worker in this server (jobs then need `annotateforge worker`
    /// processes on the same PostgreSQL database and data directory).
    #[arg(long, env = "AF_NO_WORKER")]
    pub no_worker: bool,
    /// Training jobs one worker runs at the same time [default: 1].
    #[arg(long, env = "AF_JOB_CONCURRENCY")]
    pub job_concurrency: Option<usize>,
    /// Seconds between a running job's heartbeats [default: 5].
    #[arg(long, env = "AF_HEARTBEAT_SECONDS")]
    pub heartbeat_seconds: Option<f64>,
    /// A running job whose heartbeat is older than this many seconds has lost its worker and
    /// is resumed elsewhere [default: 30].
    #[arg(long, env = "AF_STALE_AFTER_SECONDS")]
    pub stale_after_seconds: Option<f64>,
    /// How often a job may be started (first run plus resumes after its worker died) before it
    /// fails [default: 3].
    #[arg(long, env = "AF_MAX_JOB_ATTEMPTS")]
    pub max_job_attempts: Option<u32>,
    /// Models kept loaded for inference [default: 4].
    #[arg(long, env = "AF_MODEL_CACHE_SIZE")]
    pub model_cache_size: Option<usize>,
    /// Directory of pretrained base weights (`yolov8n.safetensors`, …) [default:
    /// <data dir>/weights].
    #[arg(long, env = "AF_WEIGHTS_DIR")]
    pub weights_dir: Option<PathBuf>,
    /// Memory cap of one plugin instance, in MiB [default: 256].
    #[arg(long, env = "AF_PLUGIN_MEMORY_MB")]
    pub plugin_memory_mb: Option<u64>,
    /// Time budget of one plugin call, in seconds [default: 10].
    #[arg(long, env = "AF_PLUGIN_TIMEOUT_SECONDS")]
    pub plugin_timeout_seconds: Option<f64>,
}

/// The same settings as read from `--config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    jwt_secret: Option<String>,
    token_ttl_hours: Option<u64>,
    device: Option<Device>,
    max_upload_bytes: Option<u64>,
    max_import_bytes: Option<u64>,
    frontend_dir: Option<PathBuf>,
    demo: Option<bool>,
    closed_registration: Option<bool>,
    no_worker: Option<bool>,
    job_concurrency: Option<usize>,
    heartbeat_seconds: Option<f64>,
    stale_after_seconds: Option<f64>,
    max_job_attempts: Option<u32>,
    model_cache_size: Option<usize>,
    weights_dir: Option<PathBuf>,
    plugin_memory_mb: Option<u64>,
    plugin_timeout_seconds: Option<f64>,
}

/// A string that prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    /// `None`: use (or create) `<data_dir>/jwt_secret`.
    pub jwt_secret: Option<Secret>,
    pub token_ttl_hours: u64,
    pub device: Device,
    pub max_upload_bytes: u64,
    pub max_import_bytes: u64,
    pub frontend_dir: Option<PathBuf>,
    pub demo: bool,
    /// Sign-up needs an admin's token once an account exists.
    pub closed_registration: bool,
    pub jobs: JobSettings,
}

/// How this process runs training jobs and inference.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Run a worker in `serve`.
    pub run_worker: bool,
    /// Jobs one worker runs at the same time.
    pub concurrency: usize,
    pub heartbeat_interval: std::time::Duration,
    pub stale_after: std::time::Duration,
    pub max_attempts: u32,
    /// Loaded models kept for inference.
    pub model_cache_size: usize,
    pub weights_dir: PathBuf,
    /// How often a job looks for pending work when nothing wakes it.
    pub poll_interval: std::time::Duration,
    /// Minimum time between two stored `batch_progress` events of a job.
    pub batch_event_interval: std::time::Duration,
    /// Memory cap and time budget of every plugin call (uploads' validation included).
    pub plugin_limits: af_plugin_host::Limits,
}

impl JobSettings {
    pub fn defaults(data_dir: &Path) -> JobSettings {
        JobSettings {
            run_worker: true,
            concurrency: 1,
            heartbeat_interval: std::time::Duration::from_secs(5),
            stale_after: std::time::Duration::from_secs(30),
            max_attempts: 3,
            model_cache_size: 4,
            weights_dir: data_dir.join("weights"),
            poll_interval: std::time::Duration::from_secs(1),
            batch_event_interval: std::time::Duration::from_millis(1000),
            plugin_limits: af_plugin_host::Limits::default(),
        }
    }

    fn resolve(args: &JobArgs, file: &FileConfig, data_dir: &Path) -> anyhow::Result<JobSettings> {
        let d = Self::defaults(data_dir);
        let secs = |name: &str, v: Option<f64>, default: std::time::Duration| -> anyhow::Result<std::time::Duration> {
            match v {
                None => Ok(default),
                Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(std::time::Duration::from_secs_f64(s)),
                Some(s) => anyhow::bail!("{name} must be a positive number of seconds, got {s}"),
            }
        };
        let heartbeat_interval = secs("heartbeat_seconds", args.heartbeat_seconds.or(file.heartbeat_seconds), d.heartbeat_interval)?;
        let stale_after = secs("stale_after_seconds", args.stale_after_seconds.or(file.stale_after_seconds), d.stale_after)?;
        anyhow::ensure!(
            stale_after >= heartbeat_interval * 2,
            "stale_after_seconds ({stale_after:?}) must be at least twice heartbeat_seconds ({heartbeat_interval:?})"
        );
        let concurrency = args.job_concurrency.or(file.job_concurrency).unwrap_or(d.concurrency);
        anyhow::ensure!((1..=64).contains(&concurrency), "job_concurrency must be between 1 and 64, got {concurrency}");
        let max_attempts = args.max_job_attempts.or(file.max_job_attempts).unwrap_or(d.max_attempts);
        anyhow::ensure!(max_attempts >= 1, "max_job_attempts must be at least 1");
        let model_cache_size = args.model_cache_size.or(file.model_cache_size).unwrap_or(d.model_cache_size);
        anyhow::ensure!(model_cache_size >= 1, "model_cache_size must be at least 1");
        let memory_mb = args.plugin_memory_mb.or(file.plugin_memory_mb).unwrap_or((d.plugin_limits.memory_bytes >> 20) as u64);
        anyhow::ensure!((1..=65_536).contains(&memory_mb), "plugin_memory_mb must be between 1 and 65536, got {memory_mb}");
        let plugin_limits = af_plugin_host::Limits {
            memory_bytes: (memory_mb as usize) << 20,
            call_timeout: secs("plugin_timeout_seconds", args.plugin_timeout_seconds.or(file.plugin_timeout_seconds), d.plugin_limits.call_timeout)?,
        };
        Ok(JobSettings {
            run_worker: !(args.no_worker || file.no_worker.unwrap_or(false)),
            concurrency,
            heartbeat_interval,
            stale_after,
            max_attempts,
            model_cache_size,
            weights_dir: args.weights_dir.clone().or(file.weights_dir.clone()).unwrap_or(d.weights_dir),
            plugin_limits,
            ..d
        })
    }
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8000";

impl Config {
    /// Resolves flags/env over the TOML file over defaults.
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("reading config file {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = args.data_dir.clone().or(file.data_dir.clone()).unwrap_or_else(|| PathBuf::from("data"));
        let jobs = JobSettings::resolve(&args.jobs, &file, &data_dir)?;
        let database_url = match args.database_url.clone().or(file.database_url) {
            Some(url) => DatabaseUrl::new(url),
            None => Self::default_database_url(&data_dir),
        };
        database_url.backend()?;
        let frontend_dir = args
            .frontend_dir
            .clone()
            .or(file.frontend_dir)
            .or_else(|| Some(PathBuf::from("frontend/dist")).filter(|p| p.join("index.html").exists()));
        Ok(Config {
            jobs,
            bind: args.bind.or(file.bind).unwrap_or_else(|| DEFAULT_BIND.parse().expect("valid default")),
            data_dir,
            database_url,
            jwt_secret: args.jwt_secret.clone().or(file.jwt_secret).map(Secret::new),
            token_ttl_hours: args.token_ttl_hours.or(file.token_ttl_hours).unwrap_or(24),
            device: args.device.or(file.device).unwrap_or_default(),
            max_upload_bytes: args.max_upload_bytes.or(file.max_upload_bytes).unwrap_or(64 << 20),
            max_import_bytes: args.max_import_bytes.or(file.max_import_bytes).unwrap_or(2 << 30),
            frontend_dir,
            demo: args.demo || file.demo.unwrap_or(false),
            closed_registration: args.closed_registration || file.closed_registration.unwrap_or(false),
        })
    }

    /// A configuration for tests and tools: everything under `data_dir`, SQLite by default.
    pub fn for_data_dir(data_dir: &Path) -> Config {
        Config {
            bind: DEFAULT_BIND.parse().expect("valid default"),
            data_dir: data_dir.to_path_buf(),
            database_url: Self::default_database_url(data_dir),
            jwt_secret: None,
            token_ttl_hours: 24,
            device: Device::Auto,
            max_upload_bytes: 64 << 20,
            max_import_bytes: 2 << 30,
            frontend_dir: None,
            demo: false,
            closed_registration: false,
            jobs: JobSettings::defaults(data_dir),
        }
    }

    fn default_database_url(data_dir: &Path) -> DatabaseUrl {
        DatabaseUrl::new(format!("sqlite://{}", data_dir.join("annotateforge.db").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("af.toml");
        std::fs::write(&file, "bind = \"0.0.0.0:9000\"\ndevice = \"cuda:1\"\nmax_upload_bytes = 1000\njwt_secret = \"filesecret\"\n").unwrap();
        let args = ServeArgs { config: Some(file.clone()), max_upload_bytes: Some(5), ..Default::default() };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(c.device, Device::Cuda(1));
        assert_eq!(c.max_upload_bytes, 5);
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.database_url.expose(), "sqlite://data/annotateforge.db");
        let shown = format!("{c:?}");
        assert!(!shown.contains("filesecret"), "{shown}");

        let defaults = Config::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(defaults.bind.to_string(), DEFAULT_BIND);
        assert_eq!(defaults.device, Device::Auto);
    }

    #[test]
    fn plugin_limits_come_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("af.toml");
        std::fs::write(&file, "plugin_memory_mb = 32\nplugin_timeout_seconds = 0.5\n").unwrap();
        let c = Config::resolve(&ServeArgs { config: Some(file.clone()), ..Default::default() }).unwrap();
        assert_eq!(c.jobs.plugin_limits, af_plugin_host::Limits { memory_bytes: 32 << 20, call_timeout: std::time::Duration::from_millis(500) });
        let jobs = JobArgs { plugin_memory_mb: Some(64), ..Default::default() };
        let c = Config::resolve(&ServeArgs { config: Some(file.clone()), jobs, ..Default::default() }).unwrap();
        assert_eq!(c.jobs.plugin_limits.memory_bytes, 64 << 20);
        assert_eq!(Config::resolve(&ServeArgs::default()).unwrap().jobs.plugin_limits, af_plugin_host::Limits::default());
        for jobs in [JobArgs { plugin_memory_mb: Some(0), ..Default::default() }, JobArgs { plugin_timeout_seconds: Some(-1.0), ..Default::default() }] {
            let err = Config::resolve(&ServeArgs { jobs, ..Default::default() }).unwrap_err();
            assert!(err.to_string().contains("plugin_"), "{err}");
        }
    }

    #[test]
    fn bad_files_and_urls_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("af.toml");
        std::fs::write(&file, "bindd = \"x\"\n").unwrap();
        let err = Config::resolve(&ServeArgs { config: Some(file), ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
        let err = Config::resolve(&ServeArgs { database_url: Some("mysql://x/y".into()), ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("mysql"), "{err}");
        let pg = Config::resolve(&ServeArgs { database_url: Some("postgres://u:pw@h/db".into()), ..Default::default() }).unwrap();
        assert!(!format!("{pg:?}").contains("pw@"));
    }
}

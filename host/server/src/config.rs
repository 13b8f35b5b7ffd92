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
use std::time::Duration;

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
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Connection handling: how long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HttpArgs {
    /// Seconds a client has to send a request's headers; slower connections are closed
    /// [default: 10].
    #[arg(long, env = "AF_HEADER_READ_TIMEOUT_SECONDS")]
    pub header_read_timeout_seconds: Option<f64>,
    /// Seconds a keep-alive connection may stay open with no request in flight [default: 60].
    #[arg(long, env = "AF_IDLE_TIMEOUT_SECONDS")]
    pub idle_timeout_seconds: Option<f64>,
    /// Seconds a client has to send one request, body included (a slower upload is a 408;
    /// the server's own work on it is not limited) [default: 300].
    #[arg(long, env = "AF_REQUEST_TIMEOUT_SECONDS")]
    pub request_timeout_seconds: Option<f64>,
    /// Open client connections at most; at the cap a new connection closes the oldest one
    /// with no request in flight (half-sent headers, idle keep-alive), or gets a 503 when all
    /// are busy [default: 1024].
    #[arg(long, env = "AF_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
}

/// What one user, or the whole server, may make the server do.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LimitArgs {
    /// Largest image accepted anywhere (upload, import, predict, pre-label), in pixels
    /// (width × height) [default: 67108864 = 8192 × 8192].
    #[arg(long, env = "AF_MAX_IMAGE_PIXELS")]
    pub max_image_pixels: Option<u64>,
    /// Most points in one polygon [default: 10000].
    #[arg(long, env = "AF_MAX_POLYGON_POINTS")]
    pub max_polygon_points: Option<usize>,
    /// Most annotations on one image [default: 10000].
    #[arg(long, env = "AF_MAX_ANNOTATIONS_PER_IMAGE")]
    pub max_annotations_per_image: Option<usize>,
    /// Training jobs one user may have queued or running at once [default: 2].
    #[arg(long, env = "AF_MAX_JOBS_PER_USER")]
    pub max_jobs_per_user: Option<usize>,
    /// Most epochs of one training job [default: 1000].
    #[arg(long, env = "AF_MAX_EPOCHS")]
    pub max_epochs: Option<u32>,
    /// Largest training / inference image size `imgsz` [default: 1536].
    #[arg(long, env = "AF_MAX_IMGSZ")]
    pub max_imgsz: Option<u32>,
    /// Estimated peak memory one training job may need, in MiB (model scale × imgsz × batch);
    /// a job over it is refused with the estimate [default: 8192].
    #[arg(long, env = "AF_MAX_TRAIN_MEMORY_MB")]
    pub max_train_memory_mb: Option<u64>,
    /// Failed logins for one account within the login window before 429 [default: 10].
    #[arg(long, env = "AF_LOGIN_ATTEMPTS_PER_ACCOUNT")]
    pub login_attempts_per_account: Option<u32>,
    /// Failed logins from one client address within the login window before 429 [default: 30].
    #[arg(long, env = "AF_LOGIN_ATTEMPTS_PER_ADDRESS")]
    pub login_attempts_per_address: Option<u32>,
    /// The login rate-limit window, in seconds [default: 300].
    #[arg(long, env = "AF_LOGIN_WINDOW_SECONDS")]
    pub login_window_seconds: Option<f64>,
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
    header_read_timeout_seconds: Option<f64>,
    idle_timeout_seconds: Option<f64>,
    request_timeout_seconds: Option<f64>,
    max_connections: Option<usize>,
    max_image_pixels: Option<u64>,
    max_polygon_points: Option<usize>,
    max_annotations_per_image: Option<usize>,
    max_jobs_per_user: Option<usize>,
    max_epochs: Option<u32>,
    max_imgsz: Option<u32>,
    max_train_memory_mb: Option<u64>,
    login_attempts_per_account: Option<u32>,
    login_attempts_per_address: Option<u32>,
    login_window_seconds: Option<f64>,
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
    pub http: HttpSettings,
    pub limits: Limits,
}

/// Connection handling (`crate::serve`).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may stay open with no request in flight.
    pub idle_timeout: Duration,
    /// Time a client has to send one request's body (WebSockets excepted; `crate::http`).
    pub request_timeout: Duration,
    /// Open client connections at most.
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(300),
            max_connections: 1024,
        }
    }
}

impl HttpSettings {
    fn resolve(args: &HttpArgs, file: &FileConfig) -> anyhow::Result<HttpSettings> {
        let d = Self::default();
        let max_connections = args.max_connections.or(file.max_connections).unwrap_or(d.max_connections);
        anyhow::ensure!(max_connections >= 1, "max_connections must be at least 1");
        Ok(HttpSettings {
            header_read_timeout: seconds(
                "header_read_timeout_seconds",
                args.header_read_timeout_seconds.or(file.header_read_timeout_seconds),
                d.header_read_timeout,
            )?,
            idle_timeout: seconds("idle_timeout_seconds", args.idle_timeout_seconds.or(file.idle_timeout_seconds), d.idle_timeout)?,
            request_timeout: seconds(
                "request_timeout_seconds",
                args.request_timeout_seconds.or(file.request_timeout_seconds),
                d.request_timeout,
            )?,
            max_connections,
        })
    }
}

/// What one user, or the whole server, may make the server do. Every limit is refused with a
/// 4xx that names it (the setting's name is in the message).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest image (width × height) accepted by upload, import, predict and pre-label.
    pub max_image_pixels: u64,
    pub max_polygon_points: usize,
    pub max_annotations_per_image: usize,
    /// Queued + running training jobs of one user.
    pub max_jobs_per_user: usize,
    pub max_epochs: u32,
    pub max_imgsz: u32,
    /// Estimated peak memory of one training job, MiB.
    pub max_train_memory_mb: u64,
    /// Failed logins per account, and per client address, within `login_window`.
    pub login_attempts_per_account: u32,
    pub login_attempts_per_address: u32,
    pub login_window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_image_pixels: 8192 * 8192,
            max_polygon_points: 10_000,
            max_annotations_per_image: 10_000,
            max_jobs_per_user: 2,
            max_epochs: 1000,
            max_imgsz: 1536,
            max_train_memory_mb: 8192,
            login_attempts_per_account: 10,
            login_attempts_per_address: 30,
            login_window: Duration::from_secs(300),
        }
    }
}

impl Limits {
    fn resolve(args: &LimitArgs, file: &FileConfig) -> anyhow::Result<Limits> {
        let d = Self::default();
        fn at_least_one<T: PartialOrd + From<u8> + fmt::Display + Copy>(name: &str, v: T) -> anyhow::Result<T> {
            anyhow::ensure!(v >= T::from(1u8), "{name} must be at least 1, got {v}");
            Ok(v)
        }
        Ok(Limits {
            max_image_pixels: at_least_one(
                "max_image_pixels",
                args.max_image_pixels.or(file.max_image_pixels).unwrap_or(d.max_image_pixels),
            )?,
            max_polygon_points: at_least_one(
                "max_polygon_points",
                args.max_polygon_points.or(file.max_polygon_points).unwrap_or(d.max_polygon_points) as u64,
            )? as usize,
            max_annotations_per_image: at_least_one(
                "max_annotations_per_image",
                args.max_annotations_per_image.or(file.max_annotations_per_image).unwrap_or(d.max_annotations_per_image) as u64,
            )? as usize,
            max_jobs_per_user: at_least_one(
                "max_jobs_per_user",
                args.max_jobs_per_user.or(file.max_jobs_per_user).unwrap_or(d.max_jobs_per_user) as u64,
            )? as usize,
            max_epochs: at_least_one("max_epochs", args.max_epochs.or(file.max_epochs).unwrap_or(d.max_epochs))?,
            max_imgsz: at_least_one("max_imgsz", args.max_imgsz.or(file.max_imgsz).unwrap_or(d.max_imgsz))?,
            max_train_memory_mb: at_least_one(
                "max_train_memory_mb",
                args.max_train_memory_mb.or(file.max_train_memory_mb).unwrap_or(d.max_train_memory_mb),
            )?,
            login_attempts_per_account: at_least_one(
                "login_attempts_per_account",
                args.login_attempts_per_account.or(file.login_attempts_per_account).unwrap_or(d.login_attempts_per_account),
            )?,
            login_attempts_per_address: at_least_one(
                "login_attempts_per_address",
                args.login_attempts_per_address.or(file.login_attempts_per_address).unwrap_or(d.login_attempts_per_address),
            )?,
            login_window: seconds("login_window_seconds", args.login_window_seconds.or(file.login_window_seconds), d.login_window)?,
        })
    }
}

/// A positive number of seconds (at most a day) from a setting, or its default.
fn seconds(name: &str, v: Option<f64>, default: Duration) -> anyhow::Result<Duration> {
    match v {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        Some(s) => anyhow::bail!("{name} must be a positive number of seconds, got {s}"),
    }
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
        let secs = seconds;
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
        let http = HttpSettings::resolve(&args.http, &file)?;
        let limits = Limits::resolve(&args.limits, &file)?;
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
            http,
            limits,
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
            http: HttpSettings::default(),
            limits: Limits::default(),
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
    fn http_settings_and_limits_come_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("af.toml");
        std::fs::write(&file, "header_read_timeout_seconds = 2.5\nmax_connections = 7\nmax_epochs = 50\nlogin_window_seconds = 60\n").unwrap();
        let limits = LimitArgs { max_epochs: Some(20), max_image_pixels: Some(1000), ..Default::default() };
        let c = Config::resolve(&ServeArgs { config: Some(file), limits, ..Default::default() }).unwrap();
        assert_eq!(c.http.header_read_timeout, Duration::from_millis(2500));
        assert_eq!(c.http.max_connections, 7);
        assert_eq!(c.http.idle_timeout, HttpSettings::default().idle_timeout);
        assert_eq!(c.limits.max_epochs, 20, "the flag wins over the file");
        assert_eq!(c.limits.max_image_pixels, 1000);
        assert_eq!(c.limits.login_window, Duration::from_secs(60));
        assert_eq!(c.limits.max_jobs_per_user, Limits::default().max_jobs_per_user);
        let defaults = Config::resolve(&ServeArgs::default()).unwrap();
        assert_eq!((defaults.http, defaults.limits), (HttpSettings::default(), Limits::default()));
        for (http, limits) in [
            (HttpArgs { max_connections: Some(0), ..Default::default() }, LimitArgs::default()),
            (HttpArgs { idle_timeout_seconds: Some(f64::NAN), ..Default::default() }, LimitArgs::default()),
            (HttpArgs::default(), LimitArgs { max_imgsz: Some(0), ..Default::default() }),
        ] {
            let err = Config::resolve(&ServeArgs { http, limits, ..Default::default() }).unwrap_err();
            assert!(err.to_string().contains("max_") || err.to_string().contains("idle_"), "{err}");
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

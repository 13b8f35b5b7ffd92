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
        let data_dir = args.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("data"));
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

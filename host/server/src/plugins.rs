//! The plugin registry: which WebAssembly plugins are installed (the `plugins` table, bytes
//! included), which one of each kind a job uses by default, and the loaded, validated
//! components behind them.
//!
//! ```text
//! first start          built-ins embedded in the binary → validated → rows + defaults
//! POST /plugins        bytes → PluginHost::load (component? our world and version? metadata
//!                      within the time and memory caps?) → row (409 for known bytes/versions)
//! resolve(job config)  explicit choice (id, or name [+ version]) or the default of the kind
//!                      for the task → checks (kind, enabled, task, options) → Plugin
//! ```
//!
//! Hot-swap: [`PluginRegistry::resolve`] reads the defaults from the database on every call,
//! so a new default applies to the next job in every process, without a restart. A job that
//! already resolved its plugins holds them (an `Arc` of the compiled component) and keeps them
//! whatever happens to the registry afterwards. Components are compiled once per content hash
//! (in memory here, on disk in the plugin host's cache).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

use af_core::{FieldError, TaskType};
use af_dataset::{PluginChoice, PluginUse};
use af_db::plugins::{NewPlugin, PluginRow};
use af_db::{Db, DbError};
use af_plugin_host::{builtins, HostConfig, Kind, Limits, Plugin, PluginError, PluginHost};
use anyhow::Context;
use serde_json::{json, Value};

use crate::error::{AppError, AppResult};
use crate::jobs::config::{JobConfig, PluginSelection};

/// The plugins one job uses, with the options it chose for them.
#[derive(Debug, Clone)]
pub struct ResolvedPlugins {
    pub converter: PluginChoice,
    pub splitter: PluginChoice,
    pub formatter: PluginChoice,
}

impl ResolvedPlugins {
    /// What a job records: `[{kind, name, version, sha256, options}]`, converter first.
    pub fn uses(&self) -> Vec<PluginUse> {
        [&self.converter, &self.splitter, &self.formatter].iter().map(|c| PluginUse::of(&c.plugin, &c.options)).collect()
    }

    /// [`ResolvedPlugins::uses`] as JSON (the `plugins` column of jobs, datasets and models).
    pub fn uses_json(&self) -> Value {
        serde_json::to_value(self.uses()).expect("plugin uses serialise")
    }
}

/// The built-in a fresh installation uses by default for each task, by cargo package.
fn builtin_default_tasks(package: &str) -> &'static [TaskType] {
    match package {
        "af-converter-classify" => &[TaskType::Classify],
        "af-converter-detect" => &[TaskType::Detect],
        "af-converter-segment" => &[TaskType::Segment],
        "af-split-random" | "af-metrics-ultralytics" => &TaskType::ALL,
        _ => &[],
    }
}

/// The registry of one process. Cheap to share (`Arc`); all state that matters across
/// processes is in the database.
pub struct PluginRegistry {
    host: PluginHost,
    /// Validated plugins by sha256, so each component is loaded once per process.
    loaded: Mutex<HashMap<String, Plugin>>,
    builtins: tokio::sync::OnceCell<()>,
}

impl PluginRegistry {
    /// A registry whose compiled components are cached in `cache_dir` (`None`: memory only),
    /// every plugin call capped by `limits`.
    pub fn new(cache_dir: Option<PathBuf>, limits: Limits) -> anyhow::Result<PluginRegistry> {
        let host = PluginHost::new(HostConfig { cache_dir, limits }).context("starting the plugin runtime")?;
        Ok(PluginRegistry { host, loaded: Mutex::new(HashMap::new()), builtins: tokio::sync::OnceCell::new() })
    }

    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// Installs the built-ins shipped in this binary (once per process; the first start of a
    /// new database adds them and makes them the defaults, later starts only update built-ins
    /// whose bytes changed). Every registry operation calls this first.
    pub async fn ensure_builtins(&self, db: &Db) -> AppResult<()> {
        self.builtins.get_or_try_init(|| self.install_builtins(db)).await?;
        Ok(())
    }

    async fn install_builtins(&self, db: &Db) -> AppResult<()> {
        let host = self.host.clone();
        let loaded: Vec<(builtins::Builtin, Plugin)> = tokio::task::spawn_blocking(move || {
            builtins::all()
                .map(|b| host.load(b.wasm).map(|p| (b, p)).with_context(|| format!("loading the built-in plugin {}", b.package)))
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await
        .context("loading the built-in plugins")??;
        for (b, plugin) in loaded {
            let metadata = serde_json::to_value(plugin.metadata()).expect("metadata serialises");
            let new = NewPlugin {
                kind: plugin.kind().as_str(),
                name: plugin.name(),
                version: plugin.version(),
                description: &plugin.metadata().description,
                sha256: plugin.sha256(),
                metadata: &metadata,
                wasm: b.wasm,
                package: Some(b.package),
                uploaded_by: None,
            };
            let row = match af_db::plugins::install_builtin(db, &new).await {
                Ok((row, installed)) => {
                    if installed != af_db::plugins::Installed::Unchanged {
                        tracing::info!(package = b.package, name = %row.name, version = %row.version, ?installed, "built-in plugin installed");
                    }
                    row
                }
                // Another process installed it at the same moment, or an uploaded plugin took
                // this name and version: keep what is there.
                Err(DbError::Conflict(what)) => match af_db::plugins::find_by_sha256(db, plugin.sha256()).await? {
                    Some(row) => row,
                    None => {
                        tracing::warn!(package = b.package, %what, "built-in plugin not installed: an installed plugin has its kind, name and version");
                        continue;
                    }
                },
                Err(e) => return Err(e.into()),
            };
            self.loaded.lock().unwrap().insert(plugin.sha256().to_string(), plugin);
            let tasks = builtin_default_tasks(b.package);
            if !tasks.is_empty() {
                af_db::plugins::set_default(db, &row.kind, tasks, row.id, true).await?;
            }
        }
        Ok(())
    }

    /// Validates `bytes` as a plugin component (off the async threads: compiling and the
    /// metadata call are CPU work under the plugin time budget).
    pub async fn validate(&self, bytes: Vec<u8>) -> Result<Plugin, PluginError> {
        let host = self.host.clone();
        match tokio::task::spawn_blocking(move || host.load(&bytes)).await {
            Ok(r) => r,
            Err(e) => Err(PluginError::Runtime(format!("the plugin validation task failed: {e}"))),
        }
    }

    /// Validates and stores an uploaded component: 422 naming the problem when it is not a
    /// usable plugin, 409 when these bytes or this kind/name/version are already installed.
    pub async fn upload(&self, db: &Db, bytes: Vec<u8>, uploaded_by: i64) -> AppResult<PluginRow> {
        self.ensure_builtins(db).await?;
        let plugin = match self.validate(bytes.clone()).await {
            Ok(p) => p,
            Err(e) if e.is_rejection() => {
                return Err(AppError::Unprocessable { message: format!("the plugin was rejected: {e}"), details: json!({"field": "file", "reason": e.to_string()}) })
            }
            Err(e) => return Err(AppError::Internal(anyhow::Error::new(e).context("validating an uploaded plugin"))),
        };
        if let Some(row) = af_db::plugins::find_by_sha256(db, plugin.sha256()).await? {
            return Err(AppError::Conflict(format!("this component is already installed as plugin {} (`{}` {})", row.id, row.name, row.version)));
        }
        let metadata = serde_json::to_value(plugin.metadata()).expect("metadata serialises");
        let new = NewPlugin {
            kind: plugin.kind().as_str(),
            name: plugin.name(),
            version: plugin.version(),
            description: &plugin.metadata().description,
            sha256: plugin.sha256(),
            metadata: &metadata,
            wasm: &bytes,
            package: None,
            uploaded_by: Some(uploaded_by),
        };
        let row = match af_db::plugins::create(db, &new).await {
            Ok(row) => row,
            Err(DbError::Conflict(_)) => {
                return Err(AppError::Conflict(format!(
                    "a {} plugin `{}` {} is already installed; give the new build another version",
                    plugin.kind(),
                    plugin.name(),
                    plugin.version()
                )))
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(id = row.id, kind = %row.kind, name = %row.name, version = %row.version, sha256 = %row.sha256, "plugin uploaded");
        self.loaded.lock().unwrap().insert(row.sha256.clone(), plugin);
        Ok(row)
    }

    /// The loaded plugin of a registry row (loaded from the database's bytes on first use).
    pub async fn load(&self, db: &Db, row: &PluginRow) -> AppResult<Plugin> {
        if let Some(p) = self.loaded.lock().unwrap().get(&row.sha256) {
            return Ok(p.clone());
        }
        let bytes = af_db::plugins::wasm(db, row.id).await?;
        let plugin = self
            .validate(bytes)
            .await
            .map_err(|e| anyhow::anyhow!("loading installed plugin {} (`{}` {}): {e}", row.id, row.name, row.version))?;
        if plugin.sha256() != row.sha256 || plugin.kind().as_str() != row.kind {
            return Err(anyhow::anyhow!("installed plugin {} does not match its record (sha256 or kind differs)", row.id).into());
        }
        self.loaded.lock().unwrap().insert(row.sha256.clone(), plugin.clone());
        Ok(plugin)
    }

    /// The plugins a job with `config` uses: the ones its config chooses (by id, or by name
    /// and optional version; the newest enabled version otherwise), else the default of each
    /// kind for its task type — read now, so a new default applies to the next job. Checks
    /// kind, enabled, task type and options; a bad choice is a 422 naming the config field
    /// (`plugins.converter.name`, `split.strategy`, `plugins.formatter.options`, …).
    ///
    /// The job service calls this when a job is created (to refuse bad choices) and when a
    /// worker starts it (the plugins it then records are the ones it runs with).
    pub async fn resolve(&self, db: &Db, config: &JobConfig) -> AppResult<ResolvedPlugins> {
        self.ensure_builtins(db).await?;
        let task = config.task_type;
        // The splitter comes from `split.strategy` + `split.options` unless `plugins.splitter`
        // chooses one (see `JobConfig::splitter`); errors name the fields the client sent.
        let from_split = match (&config.plugins.splitter, &config.split.strategy) {
            (Some(s), _) if !s.is_default() => false,
            (_, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => true,
        };
        let splitter = self.pick(db, Kind::Splitter, task, &config.splitter(), "plugins.splitter").await.map_err(|e| match e {
            AppError::Validation(fe) if from_split => {
                let field = if fe.field.ends_with(".options") { "split.options".to_string() } else { "split.strategy".to_string() };
                AppError::Validation(FieldError::new(field, fe.message))
            }
            other => other,
        })?;
        let none = PluginSelection::default();
        Ok(ResolvedPlugins {
            converter: self.pick(db, Kind::Converter, task, config.plugins.converter.as_ref().unwrap_or(&none), "plugins.converter").await?,
            splitter,
            formatter: self.pick(db, Kind::Formatter, task, config.plugins.formatter.as_ref().unwrap_or(&none), "plugins.formatter").await?,
        })
    }

    /// Resolves one kind; see [`PluginRegistry::resolve`].
    pub async fn pick(&self, db: &Db, kind: Kind, task: TaskType, sel: &PluginSelection, field: &str) -> AppResult<PluginChoice> {
        let invalid = |sub: &str, message: String| AppError::invalid(if sub.is_empty() { field.to_string() } else { format!("{field}.{sub}") }, message);
        let row = if let Some(id) = sel.id {
            let row = match af_db::plugins::get(db, id).await {
                Ok(row) => row,
                Err(DbError::NotFound) => return Err(invalid("id", format!("there is no plugin {id}"))),
                Err(e) => return Err(e.into()),
            };
            if row.kind != kind.as_str() {
                return Err(invalid("id", format!("plugin {id} (`{}`) is a {}, not a {kind}", row.name, row.kind)));
            }
            if sel.name.as_ref().is_some_and(|n| *n != row.name) || sel.version.as_ref().is_some_and(|v| *v != row.version) {
                return Err(invalid("id", format!("plugin {id} is `{}` {}, which does not match the name or version given", row.name, row.version)));
            }
            row
        } else if let Some(name) = &sel.name {
            let rows = af_db::plugins::find_by_name(db, kind.as_str(), name).await?;
            let candidates = rows.iter().filter(|r| r.enabled && sel.version.as_ref().is_none_or(|v| *v == r.version));
            match candidates.max_by(|a, b| version_key(&a.version).cmp(&version_key(&b.version))) {
                Some(row) => row.clone(),
                None => {
                    let what = match &sel.version {
                        Some(v) => format!("{name} {v}"),
                        None => name.clone(),
                    };
                    let known: Vec<String> =
                        af_db::plugins::list(db).await?.into_iter().filter(|r| r.kind == kind.as_str() && r.enabled).map(|r| format!("{} {}", r.name, r.version)).collect();
                    let disabled = if rows.iter().any(|r| !r.enabled) { " (it is disabled)" } else { "" };
                    return Err(invalid("name", format!("no enabled {kind} plugin `{what}` is installed{disabled} (installed: {})", known.join(", "))));
                }
            }
        } else {
            match af_db::plugins::default_for(db, kind.as_str(), task).await? {
                Some(id) => af_db::plugins::get(db, id).await?,
                None => return Err(invalid("", format!("there is no default {kind} for {task} tasks; choose one, or set a default (PUT /api/v1/plugins/defaults/{kind})"))),
            }
        };
        if !row.enabled {
            return Err(invalid(if sel.id.is_some() { "id" } else { "" }, format!("the {kind} `{}` {} is disabled", row.name, row.version)));
        }
        let tasks = task_types(&row);
        if !tasks.contains(&task) {
            let sub = if sel.id.is_some() { "id" } else if sel.name.is_some() { "name" } else { "" };
            return Err(invalid(sub, format!("the {kind} `{}` {} does not support {task} tasks", row.name, row.version)));
        }
        let plugin = self.load(db, &row).await?;
        plugin.resolve_options(&sel.options).map_err(|e| invalid("options", e.to_string()))?;
        Ok(PluginChoice { plugin, options: sel.options.clone() })
    }

    /// The running jobs (preparing or training) that use this plugin: by the plugins they
    /// recorded, or, before they have recorded them, by an explicit choice in their config.
    pub async fn jobs_using(&self, db: &Db, row: &PluginRow) -> AppResult<Vec<i64>> {
        let jobs = af_db::plugins::running_jobs(db).await?;
        Ok(jobs.into_iter().filter(|j| job_uses(row, &j.config.0, j.plugins.as_ref().map(|p| &p.0))).map(|j| j.id).collect())
    }
}

/// Whether a running job uses the plugin `row` (see [`PluginRegistry::jobs_using`]).
fn job_uses(row: &PluginRow, config: &Value, recorded: Option<&Value>) -> bool {
    if let Some(Value::Array(uses)) = recorded {
        return uses.iter().any(|u| u["sha256"].as_str() == Some(row.sha256.as_str()));
    }
    let chosen = |sel: &Value| {
        sel["id"].as_i64() == Some(row.id)
            || (sel["name"].as_str() == Some(row.name.as_str()) && sel["version"].as_str().is_none_or(|v| v == row.version))
    };
    let by_kind = &config["plugins"][row.kind.as_str()];
    chosen(by_kind) || (row.kind == "splitter" && config["split"]["strategy"].as_str() == Some(row.name.as_str()))
}

/// The task types a registry row declares (from its stored metadata).
pub fn task_types(row: &PluginRow) -> Vec<TaskType> {
    row.metadata.0["task_types"].as_array().map(|a| a.iter().filter_map(|t| t.as_str()?.parse().ok()).collect()).unwrap_or_default()
}

/// Orders versions numerically (`1.10.0` after `1.9.0`); pre-release and build suffixes are
/// ignored by the numbers and break ties as text.
fn version_key(v: &str) -> (Vec<u64>, String) {
    let core = v.split(['-', '+']).next().unwrap_or("");
    (core.split('.').map(|p| p.parse().unwrap_or(0)).collect(), v.to_string())
}

/// The defaults as `{kind: {task_type: plugin_id}}`.
pub async fn defaults_map(db: &Db) -> AppResult<BTreeMap<String, BTreeMap<TaskType, i64>>> {
    let mut out: BTreeMap<String, BTreeMap<TaskType, i64>> = BTreeMap::new();
    for d in af_db::plugins::defaults(db).await? {
        out.entry(d.kind).or_default().insert(d.task_type, d.plugin_id);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, kind: &str, name: &str, version: &str, sha: &str) -> PluginRow {
        PluginRow {
            id,
            kind: kind.into(),
            name: name.into(),
            version: version.into(),
            description: String::new(),
            sha256: sha.into(),
            size_bytes: 1,
            metadata: af_db::Json(json!({"task_types": ["detect", "segment"]})),
            builtin: false,
            package: None,
            enabled: true,
            uploaded_by: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn versions_order_numerically() {
        let mut v = vec!["1.10.0", "1.9.0", "0.1.0", "1.9.0-beta", "2.0.0"];
        v.sort_by_key(|v| version_key(v));
        assert_eq!(v, ["0.1.0", "1.9.0", "1.9.0-beta", "1.10.0", "2.0.0"]);
    }

    #[test]
    fn a_job_uses_what_it_recorded_or_chose() {
        let splitter = row(7, "splitter", "split-modulo", "0.1.0", "abc");
        // Recorded plugins decide, whatever the config says.
        let recorded = json!([{"kind": "splitter", "name": "split-modulo", "version": "0.1.0", "sha256": "abc"}]);
        assert!(job_uses(&splitter, &json!({}), Some(&recorded)));
        let other = json!([{"kind": "splitter", "name": "split-random", "version": "1.0.0", "sha256": "def"}]);
        assert!(!job_uses(&splitter, &json!({"split": {"strategy": "split-modulo"}}), Some(&other)));
        // Before recording: an explicit choice by id, name (+ version) or strategy.
        assert!(job_uses(&splitter, &json!({"plugins": {"splitter": {"id": 7}}}), None));
        assert!(job_uses(&splitter, &json!({"plugins": {"splitter": {"name": "split-modulo"}}}), None));
        assert!(!job_uses(&splitter, &json!({"plugins": {"splitter": {"name": "split-modulo", "version": "0.2.0"}}}), None));
        assert!(job_uses(&splitter, &json!({"split": {"strategy": "split-modulo"}}), None));
        assert!(!job_uses(&splitter, &json!({"plugins": {"converter": {"id": 7}}}), None));
        assert_eq!(task_types(&splitter), [TaskType::Detect, TaskType::Segment]);
    }
}

//! Which plugins a job uses: the ones its config names (by name and optional version, or by
//! registry id), else the default of each kind for its task — a converter for the task, a
//! splitter, a metrics formatter. The job records exactly what it used (name, version,
//! sha256, options).

use std::collections::BTreeMap;

use af_core::TaskType;
use af_dataset::PluginChoice;
use af_plugin_host::{Kind, Plugin, PluginHost};

use super::config::{JobConfig, PluginSelection};

/// The plugins of one job, with their options.
#[derive(Debug, Clone)]
pub struct JobPlugins {
    pub converter: PluginChoice,
    pub splitter: PluginChoice,
    pub formatter: PluginChoice,
}

impl JobPlugins {
    /// What the job records: `[{kind, name, version, sha256, options}]`.
    pub fn uses(&self) -> serde_json::Value {
        let all = [&self.converter, &self.splitter, &self.formatter];
        serde_json::to_value(all.iter().map(|c| af_dataset::PluginUse::of(&c.plugin, &c.options)).collect::<Vec<_>>())
            .expect("plugin uses serialise")
    }
}

/// The built-in default of a kind for a task.
pub fn default_name(kind: Kind, task: TaskType) -> &'static str {
    match (kind, task) {
        (Kind::Converter, TaskType::Classify) => "converter-classify",
        (Kind::Converter, TaskType::Detect) => "converter-detect",
        (Kind::Converter, TaskType::Segment) => "converter-segment",
        (Kind::Splitter, _) => "split-random",
        (Kind::Formatter, _) => "metrics-ultralytics",
    }
}

/// The installed plugins a job can choose from: the built-ins, loaded once.
pub fn installed(host: &PluginHost) -> Result<Vec<Plugin>, String> {
    af_plugin_host::builtins::all()
        .map(|b| host.load(b.wasm).map_err(|e| format!("loading the built-in plugin {}: {e}", b.package)))
        .collect()
}

fn pick(installed: &[Plugin], kind: Kind, task: TaskType, sel: Option<&PluginSelection>, field: &str) -> Result<PluginChoice, (String, String)> {
    let sel = sel.cloned().unwrap_or_default();
    if let Some(id) = sel.id {
        return Err((format!("{field}.id"), format!("plugin {id}: choose plugins by name (built-in plugins have no registry id)")));
    }
    let name = sel.name.clone().unwrap_or_else(|| default_name(kind, task).to_string());
    let candidates: Vec<&Plugin> = installed.iter().filter(|p| p.kind() == kind && p.name() == name).collect();
    let plugin = match &sel.version {
        Some(v) => candidates.into_iter().find(|p| p.version() == v),
        None => candidates.into_iter().max_by(|a, b| a.version().cmp(b.version())),
    };
    let Some(plugin) = plugin else {
        let known: Vec<String> = installed.iter().filter(|p| p.kind() == kind).map(|p| format!("{} {}", p.name(), p.version())).collect();
        let what = match &sel.version {
            Some(v) => format!("{name} {v}"),
            None => name,
        };
        return Err((format!("{field}.name"), format!("no {kind} plugin `{what}` is installed (installed: {})", known.join(", "))));
    };
    // Check the options now, so a typo is a 422 rather than a failed job.
    plugin.resolve_options(&sel.options).map_err(|e| (format!("{field}.options"), e.to_string()))?;
    Ok(PluginChoice { plugin: plugin.clone(), options: sel.options })
}

/// Resolves every plugin of a job config; errors name the config field.
pub fn resolve(installed: &[Plugin], config: &JobConfig) -> Result<JobPlugins, (String, String)> {
    let task = config.task_type;
    let splitter_sel = config.splitter();
    let splitter_field = if config.split.strategy.is_some() { "split.strategy" } else { "plugins.splitter" };
    let splitter = pick(installed, Kind::Splitter, task, Some(&splitter_sel), splitter_field).map_err(|(f, m)| {
        // `split.strategy.name` reads oddly: name the strategy itself.
        (if f == "split.strategy.name" { "split.strategy".into() } else if f == "split.strategy.options" { "split.options".into() } else { f }, m)
    })?;
    Ok(JobPlugins {
        converter: pick(installed, Kind::Converter, task, config.plugins.converter.as_ref(), "plugins.converter")?,
        splitter,
        formatter: pick(installed, Kind::Formatter, task, config.plugins.formatter.as_ref(), "plugins.formatter")?,
    })
}

/// Options of a choice as a plain map (for the formatter call).
pub fn options_of(choice: &PluginChoice) -> &BTreeMap<String, serde_json::Value> {
    &choice.options
}

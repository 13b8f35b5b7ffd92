//! A training job's configuration: the JSON a client posts, checked field by field so that a
//! bad value is a 422 naming it (`split.train_ratio`, `hyperparameters.epochs`,
//! `annotation_types[1]`), with every problem reported at once.
//!
//! [`JobConfig::parse`] does what needs no database (shapes, ranges, the task's rules);
//! the API then checks what does (projects the user may read, classes present in the data,
//! the base model, the plugins). The stored config is the normalised one: defaults filled in,
//! so a job's record says exactly what it ran with.

use std::collections::BTreeMap;

use af_core::{AnnotationType, ClassMapping, FieldError, Hyperparameters, TaskType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The top-level fields a job config may have.
const FIELDS: &[&str] = &[
    "name", "description", "task_type", "projects", "annotation_types", "class_mapping", "class_names", "split",
    "hyperparameters", "plugins", "base_model",
];
const SPLIT_FIELDS: &[&str] = &["train_ratio", "val_ratio", "test_ratio", "random_seed", "strategy", "options"];
const PLUGIN_KINDS: &[&str] = &["converter", "splitter", "formatter"];

/// The default split seed when the config gives none.
pub const DEFAULT_SPLIT_SEED: u64 = 42;
/// Ratios must sum to 1 within this.
const RATIO_TOLERANCE: f64 = 1e-6;

/// How images are divided between training and validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SplitConfig {
    /// In (0, 1).
    pub train_ratio: f64,
    /// In (0, 1); `train_ratio + val_ratio (+ test_ratio)` must be 1.
    pub val_ratio: f64,
    /// Optional held-out test share, in [0, 1).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub test_ratio: f64,
    /// The same seed and inputs always give the same split. Default 42.
    pub random_seed: u64,
    /// The splitter plugin by name (`split-random`, `split-stratified`, …); default: the
    /// installed default splitter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Options for the splitter (its declared options; others are refused).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub options: BTreeMap<String, Value>,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// A plugin chosen by a job: by registry id or by name (and optionally version), with options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PluginSelection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub options: BTreeMap<String, Value>,
}

impl PluginSelection {
    pub fn is_default(&self) -> bool {
        self.id.is_none() && self.name.is_none()
    }
}

/// Optional plugin choices; absent kinds use the installed default of that kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PluginChoices {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converter: Option<PluginSelection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub splitter: Option<PluginSelection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatter: Option<PluginSelection>,
}

/// A validated, normalised job configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobConfig {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub task_type: TaskType,
    /// Project ids (at least one, no duplicates) the user may read.
    pub projects: Vec<i64>,
    /// Annotation types to train on; default by task.
    pub annotation_types: Vec<AnnotationType>,
    /// `{label: class id}`, ids exactly `0..n`; several labels may share an id (merging).
    #[schema(value_type = Object)]
    pub class_mapping: ClassMapping,
    /// One name per class id (default: the first label of each id).
    pub class_names: Vec<String>,
    pub split: SplitConfig,
    /// Ultralytics' names and defaults (see `GET /api/v1/training/defaults`).
    #[schema(value_type = Object)]
    pub hyperparameters: Hyperparameters,
    #[serde(default)]
    pub plugins: PluginChoices,
    /// A registered model (id) to start from (transfer learning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model: Option<i64>,
}

/// Collects problems while parsing, so one response lists them all.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn unknown_fields(errors: &mut Errors, prefix: &str, obj: &serde_json::Map<String, Value>, known: &[&str]) {
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        let field = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        errors.add(field, format!("unknown field (expected one of: {})", known.join(", ")));
    }
}

fn text(errors: &mut Errors, field: &str, v: Option<&Value>, max_chars: usize) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > max_chars {
                errors.add(field, format!("must be at most {max_chars} characters"));
                None
            } else {
                Some(s.to_string())
            }
        }
        Some(other) => {
            errors.add(field, format!("must be a string, got {}", type_name(other)));
            None
        }
    }
}

fn ratio(errors: &mut Errors, field: &str, v: Option<&Value>, allow_zero: bool) -> Option<f64> {
    match v {
        None if allow_zero => Some(0.0),
        None => {
            errors.add(field, "is required (a number in (0, 1))");
            None
        }
        Some(Value::Number(n)) => {
            let r = n.as_f64().unwrap_or(f64::NAN);
            let ok = if allow_zero { (0.0..1.0).contains(&r) } else { r > 0.0 && r < 1.0 };
            if ok {
                Some(r)
            } else {
                errors.add(field, format!("must be in {}, got {r}", if allow_zero { "[0, 1)" } else { "(0, 1)" }));
                None
            }
        }
        Some(other) => {
            errors.add(field, format!("must be a number, got {}", type_name(other)));
            None
        }
    }
}

fn options(errors: &mut Errors, field: &str, v: Option<&Value>) -> BTreeMap<String, Value> {
    match v {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(other) => {
            errors.add(field, format!("must be an object of option values, got {}", type_name(other)));
            BTreeMap::new()
        }
    }
}

fn plugin_selection(errors: &mut Errors, field: &str, v: &Value) -> Option<PluginSelection> {
    let Some(obj) = v.as_object() else {
        errors.add(field, format!("must be an object like {{\"name\": \"…\", \"options\": {{…}}}}, got {}", type_name(v)));
        return None;
    };
    unknown_fields(errors, field, obj, &["id", "name", "version", "options"]);
    let id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(id) if id > 0 => Some(id),
            _ => {
                errors.add(format!("{field}.id"), "must be a positive plugin id");
                None
            }
        },
    };
    let name = text(errors, &format!("{field}.name"), obj.get("name"), 200).filter(|s| !s.is_empty());
    let version = text(errors, &format!("{field}.version"), obj.get("version"), 100).filter(|s| !s.is_empty());
    let options = options(errors, &format!("{field}.options"), obj.get("options"));
    Some(PluginSelection { id, name, version, options })
}

impl JobConfig {
    /// Parses and validates what needs no database. `now` names unnamed jobs.
    pub fn parse(value: &Value, now: chrono::DateTime<chrono::Utc>) -> Result<JobConfig, Vec<FieldError>> {
        let mut e = Errors::default();
        let Some(obj) = value.as_object() else {
            return Err(vec![FieldError::new("", format!("the job config must be a JSON object, got {}", type_name(value)))]);
        };
        unknown_fields(&mut e, "", obj, FIELDS);

        let task = match obj.get("task_type") {
            None => {
                e.add("task_type", "is required (classify, detect or segment)");
                None
            }
            Some(Value::String(s)) => match s.parse::<TaskType>() {
                Ok(t) => Some(t),
                Err(err) => {
                    e.add("task_type", err.to_string());
                    None
                }
            },
            Some(other) => {
                e.add("task_type", format!("must be a string, got {}", type_name(other)));
                None
            }
        };

        let name = text(&mut e, "name", obj.get("name"), 200).filter(|s| !s.is_empty());
        let description = text(&mut e, "description", obj.get("description"), 10_000).unwrap_or_default();

        let mut projects = Vec::new();
        match obj.get("projects") {
            None => e.add("projects", "is required: a list of project ids"),
            Some(Value::Array(items)) if items.is_empty() => e.add("projects", "choose at least one project"),
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_i64() {
                        Some(id) if id > 0 && !projects.contains(&id) => projects.push(id),
                        Some(id) if projects.contains(&id) => e.add(format!("projects[{i}]"), format!("project {id} is listed twice")),
                        _ => e.add(format!("projects[{i}]"), "must be a project id"),
                    }
                }
            }
            Some(other) => e.add("projects", format!("must be a list of project ids, got {}", type_name(other))),
        }

        let mut annotation_types = Vec::new();
        match obj.get("annotation_types") {
            None | Some(Value::Null) => {
                if let Some(t) = task {
                    annotation_types = t.default_annotation_types().to_vec();
                }
            }
            Some(Value::Array(items)) if items.is_empty() => e.add("annotation_types", "choose at least one annotation type"),
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let field = format!("annotation_types[{i}]");
                    match item.as_str().map(str::parse::<AnnotationType>) {
                        Some(Ok(a)) => {
                            if let Some(t) = task {
                                if !t.accepted_annotation_types().contains(&a) {
                                    let accepted: Vec<&str> = t.accepted_annotation_types().iter().map(|a| a.as_str()).collect();
                                    e.add(&field, format!("{t} cannot train on `{a}` annotations (accepted: {})", accepted.join(", ")));
                                    continue;
                                }
                            }
                            if annotation_types.contains(&a) {
                                e.add(&field, format!("`{a}` is listed twice"));
                            } else {
                                annotation_types.push(a);
                            }
                        }
                        Some(Err(err)) => e.add(&field, err.to_string()),
                        None => e.add(&field, "must be an annotation type name"),
                    }
                }
            }
            Some(other) => e.add("annotation_types", format!("must be a list, got {}", type_name(other))),
        }

        let class_mapping = match obj.get("class_mapping") {
            None => {
                e.add("class_mapping", "is required: {\"<class label>\": <class id>, …} with ids 0..n-1");
                None
            }
            Some(Value::Object(map)) => {
                let mut labels = BTreeMap::new();
                for (label, id) in map {
                    match id.as_i64() {
                        Some(id) => {
                            labels.insert(label.clone(), id);
                        }
                        None => e.add(format!("class_mapping.{label}"), format!("must be an integer class id, got {}", type_name(id))),
                    }
                }
                if labels.len() == map.len() {
                    match ClassMapping::new(labels) {
                        Ok(m) => Some(m),
                        Err(fe) => {
                            e.0.push(fe);
                            None
                        }
                    }
                } else {
                    None
                }
            }
            Some(other) => {
                e.add("class_mapping", format!("must be an object {{label: id}}, got {}", type_name(other)));
                None
            }
        };
        let explicit_names = match obj.get("class_names") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let names: Vec<String> = items.iter().filter_map(|v| v.as_str().map(|s| s.trim().to_string())).collect();
                if names.len() != items.len() {
                    e.add("class_names", "must be a list of strings");
                    None
                } else {
                    Some(names)
                }
            }
            Some(other) => {
                e.add("class_names", format!("must be a list of strings, got {}", type_name(other)));
                None
            }
        };
        let class_names = class_mapping.as_ref().and_then(|m| match m.class_names(explicit_names.as_deref()) {
            Ok(n) => Some(n),
            Err(fe) => {
                e.0.push(fe);
                None
            }
        });

        let split = match obj.get("split") {
            None => {
                e.add("split", "is required: {\"train_ratio\", \"val_ratio\", \"random_seed\"}");
                None
            }
            Some(Value::Object(s)) => {
                unknown_fields(&mut e, "split", s, SPLIT_FIELDS);
                let train = ratio(&mut e, "split.train_ratio", s.get("train_ratio"), false);
                let val = ratio(&mut e, "split.val_ratio", s.get("val_ratio"), false);
                let test = ratio(&mut e, "split.test_ratio", s.get("test_ratio"), true);
                let seed = match s.get("random_seed") {
                    None | Some(Value::Null) => Some(DEFAULT_SPLIT_SEED),
                    Some(v) => match v.as_u64() {
                        Some(seed) => Some(seed),
                        None => {
                            e.add("split.random_seed", "must be a non-negative integer");
                            None
                        }
                    },
                };
                let strategy = text(&mut e, "split.strategy", s.get("strategy"), 200).filter(|s| !s.is_empty());
                let options = options(&mut e, "split.options", s.get("options"));
                match (train, val, test, seed) {
                    (Some(train_ratio), Some(val_ratio), Some(test_ratio), Some(random_seed)) => {
                        let sum = train_ratio + val_ratio + test_ratio;
                        if (sum - 1.0).abs() > RATIO_TOLERANCE {
                            e.add("split", format!("train_ratio + val_ratio{} must be 1, got {sum}", if test_ratio > 0.0 { " + test_ratio" } else { "" }));
                            None
                        } else {
                            Some(SplitConfig { train_ratio, val_ratio, test_ratio, random_seed, strategy, options })
                        }
                    }
                    _ => None,
                }
            }
            Some(other) => {
                e.add("split", format!("must be an object, got {}", type_name(other)));
                None
            }
        };

        let hyperparameters = match obj.get("hyperparameters") {
            None | Some(Value::Null) => Some(Hyperparameters::default()),
            Some(v) => match Hyperparameters::from_json(v) {
                Ok(h) => Some(h),
                Err(errs) => {
                    e.0.extend(errs);
                    None
                }
            },
        };
        let hyperparameters = match (hyperparameters, task) {
            (Some(h), Some(t)) => match h.validate(t) {
                Ok(()) => Some(h.resolved(t)),
                Err(errs) => {
                    e.0.extend(errs);
                    None
                }
            },
            _ => None,
        };

        let mut plugins = PluginChoices::default();
        match obj.get("plugins") {
            None | Some(Value::Null) => {}
            Some(Value::Object(p)) => {
                unknown_fields(&mut e, "plugins", p, PLUGIN_KINDS);
                plugins.converter = p.get("converter").and_then(|v| plugin_selection(&mut e, "plugins.converter", v));
                plugins.splitter = p.get("splitter").and_then(|v| plugin_selection(&mut e, "plugins.splitter", v));
                plugins.formatter = p.get("formatter").and_then(|v| plugin_selection(&mut e, "plugins.formatter", v));
            }
            Some(other) => e.add("plugins", format!("must be an object {{converter, splitter, formatter}}, got {}", type_name(other))),
        }
        if let Some(split) = &split {
            if split.strategy.is_some() && plugins.splitter.as_ref().is_some_and(|s| !s.is_default()) {
                e.add("split.strategy", "choose the splitter either here or in plugins.splitter, not both");
            }
        }

        let base_model = match obj.get("base_model") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(id) if id > 0 => Some(id),
                _ => {
                    e.add("base_model", "must be the id of a registered model");
                    None
                }
            },
        };

        if !e.0.is_empty() {
            return Err(e.0);
        }
        let task_type = task.expect("no errors, so the task parsed");
        Ok(JobConfig {
            name: name.unwrap_or_else(|| format!("{task_type} {}", now.format("%Y-%m-%d %H:%M:%S"))),
            description,
            task_type,
            projects,
            annotation_types,
            class_mapping: class_mapping.expect("parsed"),
            class_names: class_names.expect("parsed"),
            split: split.expect("parsed"),
            hyperparameters: hyperparameters.expect("parsed"),
            plugins,
            base_model,
        })
    }

    /// The splitter choice, whether given as `split.strategy` or `plugins.splitter`.
    pub fn splitter(&self) -> PluginSelection {
        match (&self.plugins.splitter, &self.split.strategy) {
            (Some(s), _) if !s.is_default() => s.clone(),
            (_, Some(name)) => PluginSelection { name: Some(name.clone()), options: self.split.options.clone(), ..Default::default() },
            (Some(s), None) => s.clone(),
            (None, None) => PluginSelection { options: self.split.options.clone(), ..Default::default() },
        }
    }

    pub fn epochs(&self) -> u32 {
        self.hyperparameters.epochs
    }

    pub fn imgsz(&self) -> u32 {
        self.hyperparameters.imgsz_or_default(self.task_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "task_type": "detect",
            "projects": [1],
            "annotation_types": ["box", "circle"],
            "class_mapping": {"circle": 0, "square": 1, "box": 1},
            "split": {"train_ratio": 0.8, "val_ratio": 0.2, "random_seed": 7},
            "hyperparameters": {"epochs": 2, "imgsz": 64, "batch": 4}
        })
    }

    fn fields(v: Value) -> Vec<String> {
        JobConfig::parse(&v, chrono::Utc::now()).unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_config_is_normalised() {
        let c = JobConfig::parse(&valid(), chrono::Utc::now()).unwrap();
        assert_eq!(c.task_type, TaskType::Detect);
        assert_eq!(c.class_names, vec!["circle", "box"]);
        assert_eq!(c.hyperparameters.model.as_deref(), Some("yolov8n.pt"));
        assert_eq!(c.hyperparameters.conf, Some(0.001));
        assert_eq!(c.imgsz(), 64);
        assert!(c.name.starts_with("detect "));
        // The normalised config round-trips through its stored JSON.
        let stored = serde_json::to_value(&c).unwrap();
        assert_eq!(serde_json::from_value::<JobConfig>(stored).unwrap(), c);
        // Defaults by task when no annotation types are given.
        let mut v = valid();
        v.as_object_mut().unwrap().remove("annotation_types");
        v["task_type"] = json!("segment");
        assert_eq!(JobConfig::parse(&v, chrono::Utc::now()).unwrap().annotation_types, vec![AnnotationType::Polygon]);
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"task_type": "pose"}), "task_type"),
            (json!({"projects": []}), "projects"),
            (json!({"projects": [1, 1]}), "projects[1]"),
            (json!({"projects": ["x"]}), "projects[0]"),
            (json!({"annotation_types": ["box", "image_class"]}), "annotation_types[1]"),
            (json!({"annotation_types": ["hexagon"]}), "annotation_types[0]"),
            (json!({"class_mapping": {}}), "class_mapping"),
            (json!({"class_mapping": {"a": 0, "b": 2}}), "class_mapping"),
            (json!({"class_mapping": {"a": "zero"}}), "class_mapping.a"),
            (json!({"class_names": ["only-one"]}), "class_names"),
            (json!({"split": {"train_ratio": 0.8, "val_ratio": 0.1, "random_seed": 1}}), "split"),
            (json!({"split": {"train_ratio": 1.0, "val_ratio": 0.0}}), "split.train_ratio"),
            (json!({"split": {"train_ratio": 0.5, "val_ratio": 0.5, "random_seed": -1}}), "split.random_seed"),
            (json!({"split": {"train_ratio": 0.5, "val_ratio": 0.5, "shuffle": true}}), "split.shuffle"),
            (json!({"hyperparameters": {"epochs": 0}}), "hyperparameters.epochs"),
            (json!({"hyperparameters": {"imgsz": 65}}), "hyperparameters.imgsz"),
            (json!({"hyperparameters": {"learning_rate": 0.1}}), "hyperparameters.learning_rate"),
            (json!({"hyperparameters": {"dropout": 0.1}}), "hyperparameters.dropout"),
            (json!({"hyperparameters": {"model": "yolov8n-cls.pt"}}), "hyperparameters.model"),
            (json!({"plugins": {"converter": "af-converter-detect"}}), "plugins.converter"),
            (json!({"plugins": {"exporter": {}}}), "plugins.exporter"),
            (json!({"base_model": "best"}), "base_model"),
            (json!({"colour": "red"}), "colour"),
        ];
        for (patch, field) in cases {
            let mut v = valid();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            let got = fields(v.clone());
            assert!(got.iter().any(|f| f == field), "{patch}: expected an error on `{field}`, got {got:?}");
        }
        assert_eq!(fields(json!([])), vec![""]);
        // Missing required fields are each named, all at once.
        let got = fields(json!({}));
        for f in ["task_type", "projects", "class_mapping", "split"] {
            assert!(got.contains(&f.to_string()), "{got:?}");
        }
    }

    #[test]
    fn the_splitter_can_be_chosen_either_way() {
        let mut v = valid();
        v["split"]["strategy"] = json!("split-stratified");
        v["split"]["options"] = json!({"min_val_per_class": 1});
        let c = JobConfig::parse(&v, chrono::Utc::now()).unwrap();
        assert_eq!(c.splitter().name.as_deref(), Some("split-stratified"));
        assert_eq!(c.splitter().options["min_val_per_class"], json!(1));
        v["plugins"] = json!({"splitter": {"name": "split-random"}});
        assert_eq!(fields(v), vec!["split.strategy"]);
    }
}

//! What a plugin says about itself, as host types (serde, snake_case JSON), and the
//! resolution of a job's option values against the options a plugin declares.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use af_core::{AnnotationType, TaskType};
use serde::{Deserialize, Serialize};

use crate::bindings::types as wit;

/// The WIT package version this host implements.
pub const WIT_VERSION: &str = "0.3.0";
/// The WIT package name.
pub const WIT_PACKAGE: &str = "annotateforge:plugin";

/// The three plugin kinds, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Converter,
    Splitter,
    Formatter,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Converter, Kind::Splitter, Kind::Formatter];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Converter => "converter",
            Kind::Splitter => "splitter",
            Kind::Formatter => "formatter",
        }
    }

    /// The WIT world a plugin of this kind targets.
    pub fn world(self) -> &'static str {
        match self {
            Kind::Converter => "converter-plugin",
            Kind::Splitter => "splitter-plugin",
            Kind::Formatter => "formatter-plugin",
        }
    }

    /// The interface the world exports, unversioned (`annotateforge:plugin/converter`).
    pub fn interface(self) -> String {
        format!("{WIT_PACKAGE}/{}", self.as_str())
    }

    /// The exact export name a component of this kind has (`…/converter@0.3.0`).
    pub fn export_name(self) -> String {
        format!("{}@{WIT_VERSION}", self.interface())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown plugin kind `{s}` (expected converter, splitter or formatter)"))
    }
}

/// The type of an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionType {
    Flag,
    Integer,
    Number,
    Text,
}

/// An option value; in JSON a bool, an integer, a number or a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    Flag(bool),
    Integer(i64),
    Number(f64),
    Text(String),
}

impl OptionValue {
    pub fn option_type(&self) -> OptionType {
        match self {
            OptionValue::Flag(_) => OptionType::Flag,
            OptionValue::Integer(_) => OptionType::Integer,
            OptionValue::Number(_) => OptionType::Number,
            OptionValue::Text(_) => OptionType::Text,
        }
    }

    fn from_wit(v: wit::OptionValue) -> Self {
        match v {
            wit::OptionValue::Flag(b) => OptionValue::Flag(b),
            wit::OptionValue::Integer(i) => OptionValue::Integer(i),
            wit::OptionValue::Number(n) => OptionValue::Number(n),
            wit::OptionValue::Text(t) => OptionValue::Text(t),
        }
    }

    fn to_wit(&self) -> wit::OptionValue {
        match self {
            OptionValue::Flag(b) => wit::OptionValue::Flag(*b),
            OptionValue::Integer(i) => wit::OptionValue::Integer(*i),
            OptionValue::Number(n) => wit::OptionValue::Number(*n),
            OptionValue::Text(t) => wit::OptionValue::Text(t.clone()),
        }
    }

    /// Reads a JSON value as an option of type `ty` (an integer is a valid number).
    fn from_json(ty: OptionType, v: &serde_json::Value) -> Result<Self, String> {
        use serde_json::Value as J;
        match (ty, v) {
            (OptionType::Flag, J::Bool(b)) => Ok(OptionValue::Flag(*b)),
            (OptionType::Integer, J::Number(n)) if n.as_i64().is_some() => Ok(OptionValue::Integer(n.as_i64().unwrap())),
            (OptionType::Number, J::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(OptionValue::Number(f)),
                _ => Err("must be a finite number".into()),
            },
            (OptionType::Text, J::String(s)) => Ok(OptionValue::Text(s.clone())),
            (ty, v) => Err(format!("expected {}, got {v}", match ty {
                OptionType::Flag => "true or false",
                OptionType::Integer => "an integer",
                OptionType::Number => "a number",
                OptionType::Text => "a string",
            })),
        }
    }
}

/// One option a plugin declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionSpec {
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub option_type: OptionType,
    pub default: OptionValue,
}

/// What a plugin is and accepts (the WIT `plugin-metadata`, validated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginMetadata {
    pub name: String,
    pub version: String,
    pub description: String,
    pub task_types: Vec<TaskType>,
    pub annotation_kinds: Vec<AnnotationType>,
    pub options: Vec<OptionSpec>,
}

impl PluginMetadata {
    /// Converts and validates what a plugin of `kind` returned from `metadata()`.
    pub(crate) fn from_wit(kind: Kind, m: wit::PluginMetadata) -> Result<Self, String> {
        let meta = PluginMetadata {
            name: m.name,
            version: m.version,
            description: m.description,
            task_types: m
                .task_types
                .into_iter()
                .map(|t| match t {
                    wit::TaskType::Classify => TaskType::Classify,
                    wit::TaskType::Detect => TaskType::Detect,
                    wit::TaskType::Segment => TaskType::Segment,
                })
                .collect(),
            annotation_kinds: m.annotation_kinds.into_iter().map(annotation_type).collect(),
            options: m
                .options
                .into_iter()
                .map(|o| {
                    let default = OptionValue::from_wit(o.default_value);
                    OptionSpec { name: o.name, description: o.description, option_type: default.option_type(), default }
                })
                .collect(),
        };
        meta.validate(kind)?;
        Ok(meta)
    }

    fn validate(&self, kind: Kind) -> Result<(), String> {
        check_ident("name", &self.name)?;
        let semver = self.version.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = semver.split('.').collect();
        if self.version.len() > 64 || parts.len() != 3 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
            return Err(format!("version `{}` is not a semantic version like 1.0.0", self.version));
        }
        if self.description.chars().count() > 2000 {
            return Err("the description is longer than 2000 characters".into());
        }
        if self.task_types.is_empty() {
            return Err("it declares no task types".into());
        }
        if kind == Kind::Converter && self.annotation_kinds.is_empty() {
            return Err("a converter must declare the annotation kinds it accepts".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for o in &self.options {
            check_ident("option name", &o.name)?;
            if !seen.insert(&o.name) {
                return Err(format!("option `{}` is declared twice", o.name));
            }
            if let OptionValue::Number(n) = o.default {
                if !n.is_finite() {
                    return Err(format!("option `{}` has a non-finite default", o.name));
                }
            }
        }
        Ok(())
    }

    /// The option values for a call: every declared option, from `chosen` where given (JSON
    /// values, type-checked against the declaration) and from its default otherwise.
    /// Unknown names are an error naming the option.
    pub fn resolve_options(&self, chosen: &BTreeMap<String, serde_json::Value>) -> Result<Vec<wit::Setting>, (String, String)> {
        for name in chosen.keys() {
            if !self.options.iter().any(|o| &o.name == name) {
                let known: Vec<&str> = self.options.iter().map(|o| o.name.as_str()).collect();
                return Err((name.clone(), format!("`{}` has no such option (it has: {})", self.name, if known.is_empty() { "none".to_string() } else { known.join(", ") })));
            }
        }
        self.options
            .iter()
            .map(|o| {
                let value = match chosen.get(&o.name) {
                    Some(v) => OptionValue::from_json(o.option_type, v).map_err(|m| (o.name.clone(), m))?,
                    None => o.default.clone(),
                };
                Ok(wit::Setting { name: o.name.clone(), value: value.to_wit() })
            })
            .collect()
    }
}

fn check_ident(what: &str, s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!("{what} `{s}` must be 1-64 characters of a-z, 0-9 and inner dashes"))
    }
}

pub fn annotation_type(k: wit::AnnotationKind) -> AnnotationType {
    match k {
        wit::AnnotationKind::Circle => AnnotationType::Circle,
        wit::AnnotationKind::Box => AnnotationType::Box,
        wit::AnnotationKind::Rectangle => AnnotationType::Rectangle,
        wit::AnnotationKind::Polygon => AnnotationType::Polygon,
        wit::AnnotationKind::ImageClass => AnnotationType::ImageClass,
    }
}

pub fn annotation_kind(t: AnnotationType) -> wit::AnnotationKind {
    match t {
        AnnotationType::Circle => wit::AnnotationKind::Circle,
        AnnotationType::Box => wit::AnnotationKind::Box,
        AnnotationType::Rectangle => wit::AnnotationKind::Rectangle,
        AnnotationType::Polygon => wit::AnnotationKind::Polygon,
        AnnotationType::ImageClass => wit::AnnotationKind::ImageClass,
    }
}

pub fn task_type(t: TaskType) -> wit::TaskType {
    match t {
        TaskType::Classify => wit::TaskType::Classify,
        TaskType::Detect => wit::TaskType::Detect,
        TaskType::Segment => wit::TaskType::Segment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta() -> PluginMetadata {
        PluginMetadata {
            name: "converter-segment".into(),
            version: "1.2.3".into(),
            description: "d".into(),
            task_types: vec![TaskType::Segment],
            annotation_kinds: vec![AnnotationType::Polygon],
            options: vec![
                OptionSpec { name: "circle-vertices".into(), description: "".into(), option_type: OptionType::Integer, default: OptionValue::Integer(32) },
                OptionSpec { name: "scale".into(), description: "".into(), option_type: OptionType::Number, default: OptionValue::Number(1.0) },
            ],
        }
    }

    #[test]
    fn resolves_defaults_and_chosen_values() {
        let chosen: BTreeMap<String, serde_json::Value> = [("scale".to_string(), json!(2))].into();
        let s = meta().resolve_options(&chosen).unwrap();
        assert_eq!(s.len(), 2);
        assert!(matches!(s[0].value, wit::OptionValue::Integer(32)));
        assert!(matches!(s[1].value, wit::OptionValue::Number(n) if n == 2.0));
    }

    #[test]
    fn rejects_unknown_and_mistyped_options_naming_them() {
        let (name, msg) = meta().resolve_options(&[("vertices".to_string(), json!(3))].into()).unwrap_err();
        assert_eq!(name, "vertices");
        assert!(msg.contains("circle-vertices"), "{msg}");
        let (name, msg) = meta().resolve_options(&[("circle-vertices".to_string(), json!(2.5))].into()).unwrap_err();
        assert_eq!(name, "circle-vertices");
        assert!(msg.contains("integer"), "{msg}");
    }

    #[test]
    fn validates_names_versions_and_kinds() {
        assert!(meta().validate(Kind::Converter).is_ok());
        let mut m = meta();
        m.version = "one".into();
        assert!(m.validate(Kind::Converter).unwrap_err().contains("semantic version"));
        let mut m = meta();
        m.name = "Bad Name".into();
        assert!(m.validate(Kind::Converter).is_err());
        let mut m = meta();
        m.annotation_kinds.clear();
        assert!(m.validate(Kind::Converter).is_err());
        assert!(m.validate(Kind::Splitter).is_ok());
        let mut m = meta();
        m.options.push(m.options[0].clone());
        assert!(m.validate(Kind::Converter).unwrap_err().contains("twice"));
    }

    #[test]
    fn kinds_name_their_exports() {
        assert_eq!(Kind::Converter.export_name(), "annotateforge:plugin/converter@0.3.0");
        assert_eq!("splitter".parse::<Kind>().unwrap(), Kind::Splitter);
        assert!("sorter".parse::<Kind>().is_err());
    }
}

//! Component glue: WIT request → `format::format` → WIT result. No logic lives here.

wit_bindgen::generate!({ path: "../../wit", world: "formatter-plugin" });

use af_plugin_common as common;
use annotateforge::plugin::types::{OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::formatter::{Direction, DisplayMetric, FormatRequest, FormatResult, Guest, MetricGroup};

use crate::format::{self, Task};

struct Plugin;

impl Guest for Plugin {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: format::NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: format::DESCRIPTION.into(),
            task_types: vec![TaskType::Classify, TaskType::Detect, TaskType::Segment],
            annotation_kinds: vec![],
            options: vec![
                OptionSpec {
                    name: format::OPT_FITNESS.into(),
                    description: "`ultralytics` (8.4's fitness: box mAP50-95; + mask mAP50-95 for segment; mean of top-1 and top-5 for classify) or a metric key such as `map50`.".into(),
                    default_value: OptionValue::Text(format::OPT_FITNESS_DEFAULT.into()),
                },
                OptionSpec {
                    name: format::OPT_KEEP_UNKNOWN.into(),
                    description: "Keep metrics with names this formatter does not know, under a snake_case key.".into(),
                    default_value: OptionValue::Flag(format::OPT_KEEP_UNKNOWN_DEFAULT),
                },
            ],
        }
    }

    fn format(request: FormatRequest) -> Result<FormatResult, PluginError> {
        let settings = common::Settings::new(request.options.into_iter().map(|s| {
            let v = match s.value {
                OptionValue::Flag(b) => common::OptionValue::Flag(b),
                OptionValue::Integer(i) => common::OptionValue::Integer(i),
                OptionValue::Number(n) => common::OptionValue::Number(n),
                OptionValue::Text(t) => common::OptionValue::Text(t),
            };
            (s.name, v)
        }));
        let options = format::Options::from_settings(&settings).map_err(PluginError::InvalidOption)?;
        let task = match request.task {
            TaskType::Classify => Task::Classify,
            TaskType::Detect => Task::Detect,
            TaskType::Segment => Task::Segment,
        };
        let raw: Vec<(String, f64)> = request.metrics.into_iter().map(|m| (m.name, m.value)).collect();
        let (metrics, fitness) = format::format(task, &raw, &options);
        Ok(FormatResult {
            metrics: metrics
                .into_iter()
                .map(|m| DisplayMetric {
                    key: m.key,
                    label: m.label,
                    group: match m.group {
                        format::Group::Loss => MetricGroup::Loss,
                        format::Group::Quality => MetricGroup::Quality,
                        format::Group::LearningRate => MetricGroup::LearningRate,
                        format::Group::Other => MetricGroup::Other,
                    },
                    direction: match m.direction {
                        format::Direction::Minimize => Direction::Minimize,
                        format::Direction::Maximize => Direction::Maximize,
                        format::Direction::Neutral => Direction::Neutral,
                    },
                    value: m.value,
                })
                .collect(),
            fitness,
        })
    }
}

export!(Plugin);

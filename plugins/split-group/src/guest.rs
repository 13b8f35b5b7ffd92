//! Component glue: WIT request → `group::split` → WIT assignments. No logic lives here.

wit_bindgen::generate!({ path: "../../wit", world: "splitter-plugin" });

use af_plugin_common::ratio::Ratios;
use af_plugin_common::{Item, Subset as S};
use annotateforge::plugin::types::{OptionSpec, OptionValue, PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::splitter::{Assignment, Guest, SplitRequest, Subset};

use crate::group;

struct Plugin;

impl Guest for Plugin {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: group::NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: group::DESCRIPTION.into(),
            task_types: vec![TaskType::Classify, TaskType::Detect, TaskType::Segment],
            annotation_kinds: vec![],
            options: vec![OptionSpec {
                name: group::OPT_GROUP_BY.into(),
                description: "`project` keeps each project on one side; any other value names an image metadata key whose values form the groups.".into(),
                default_value: OptionValue::Text(group::OPT_GROUP_BY_DEFAULT.into()),
            }],
        }
    }

    fn split(request: SplitRequest) -> Result<Vec<Assignment>, PluginError> {
        let ratios = Ratios::new(request.train_ratio, request.val_ratio, request.test_ratio).map_err(PluginError::InvalidInput)?;
        let group_by = match request.options.iter().find(|s| s.name == group::OPT_GROUP_BY).map(|s| &s.value) {
            None => group::OPT_GROUP_BY_DEFAULT.to_string(),
            Some(OptionValue::Text(t)) if !t.is_empty() => t.clone(),
            Some(other) => return Err(PluginError::InvalidOption(format!("option `{}` must be a non-empty text, got {other:?}", group::OPT_GROUP_BY))),
        };
        let items: Vec<Item> = request
            .items
            .into_iter()
            .map(|i| Item { image_id: i.image_id, project_id: i.project_id, class_ids: i.class_ids, metadata: i.metadata })
            .collect();
        Ok(group::split(&items, ratios, request.seed, &group_by)
            .into_iter()
            .map(|(image_id, s)| Assignment { image_id, subset: match s { S::Train => Subset::Train, S::Val => Subset::Val, S::Test => Subset::Test } })
            .collect())
    }
}

export!(Plugin);

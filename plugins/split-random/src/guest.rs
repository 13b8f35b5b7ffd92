//! Component glue: WIT request → `random::split` → WIT assignments. No logic lives here.

wit_bindgen::generate!({ path: "../../wit", world: "splitter-plugin" });

use af_plugin_common::ratio::Ratios;
use af_plugin_common::{Item, Subset as S};
use annotateforge::plugin::types::{PluginError, PluginMetadata, TaskType};
use exports::annotateforge::plugin::splitter::{Assignment, Guest, SplitRequest, Subset};

use crate::random;

struct Plugin;

impl Guest for Plugin {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: random::NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: random::DESCRIPTION.into(),
            task_types: vec![TaskType::Classify, TaskType::Detect, TaskType::Segment],
            annotation_kinds: vec![],
            options: vec![],
        }
    }

    fn split(request: SplitRequest) -> Result<Vec<Assignment>, PluginError> {
        let ratios = Ratios::new(request.train_ratio, request.val_ratio, request.test_ratio).map_err(PluginError::InvalidInput)?;
        let items: Vec<Item> = request
            .items
            .into_iter()
            .map(|i| Item { image_id: i.image_id, project_id: i.project_id, class_ids: i.class_ids, metadata: i.metadata })
            .collect();
        Ok(random::split(&items, ratios, request.seed)
            .into_iter()
            .map(|(image_id, s)| Assignment { image_id, subset: match s { S::Train => Subset::Train, S::Val => Subset::Val, S::Test => Subset::Test } })
            .collect())
    }
}

export!(Plugin);

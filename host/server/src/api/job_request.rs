//! The body of `POST /api/v1/training/jobs` as the OpenAPI document states it: what a client
//! sends. The handler reads it as JSON and [`JobConfig::parse`](crate::jobs::config::JobConfig::parse)
//! checks every field (all problems at once); the stored, normalised `JobConfig` is this with
//! the defaults filled in, which is why it has fields required here optional.

#![allow(dead_code)]

use std::collections::BTreeMap;

use af_core::{AnnotationType, TaskType};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::jobs::config::PluginChoices;

/// A new training job.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// At most 200 characters [default: the task and the time it was queued].
    #[schema(max_length = 200)]
    name: Option<String>,
    #[schema(max_length = 10000)]
    description: Option<String>,
    task_type: TaskType,
    /// Project ids the caller may read: at least one, each once.
    #[schema(min_items = 1)]
    projects: Vec<i64>,
    /// Annotation types to train on, each once and accepted by the task [default: the
    /// task's defaults, see `GET /api/v1/training/defaults`].
    #[schema(min_items = 1)]
    annotation_types: Option<Vec<AnnotationType>>,
    /// `{label: class id}` with ids exactly `0..n`; several labels may share an id (merging).
    /// Every class needs examples in the chosen projects.
    class_mapping: BTreeMap<String, u32>,
    /// One name per class id [default: the first label of each id].
    class_names: Option<Vec<String>>,
    split: SplitRequest,
    /// Ultralytics' names; ranges and defaults per task in `GET /api/v1/training/defaults`.
    #[schema(value_type = Option<Object>)]
    hyperparameters: Option<Value>,
    plugins: Option<PluginChoices>,
    /// A registered model (id) to start from (transfer learning).
    #[schema(minimum = 1)]
    base_model: Option<i64>,
}

/// How images are divided: `train_ratio + val_ratio (+ test_ratio)` must be 1.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    #[schema(exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    train_ratio: f64,
    #[schema(exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    val_ratio: f64,
    /// A held-out test share [default: 0].
    #[schema(minimum = 0.0, exclusive_maximum = 1.0)]
    test_ratio: Option<f64>,
    /// The same seed and inputs always give the same split [default: 42].
    #[schema(minimum = 0)]
    random_seed: Option<u64>,
    /// The splitter plugin by name (at most 200 characters) [default: the installed default].
    #[schema(max_length = 200)]
    strategy: Option<String>,
    /// Options for the splitter (its declared options; others are refused).
    #[schema(value_type = Option<Object>)]
    options: Option<Value>,
}

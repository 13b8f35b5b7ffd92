//! Background pre-labelling: a model predicts every image of a project and its predictions
//! are saved as `custom_model` annotations (with their confidence), or as the image-level
//! class for classify models.
//!
//! Rules: predictions below the run's confidence are not saved; with `only_unlabeled`, an
//! image that has any hand-made (`manual`) annotation — or, for classify, an image-level
//! class — is skipped. An image's earlier model-made annotations are replaced, so running
//! again (say with another threshold) refreshes them instead of piling up duplicates.
//! Progress is written to the run's row as it goes; a run whose process died is failed by
//! [`recover`] once its heartbeat is stale.

use std::time::{Duration, Instant};

use af_core::TaskType;
use af_db::prelabel::{Progress, Run};
use af_engine::predict::PredictOptions;

use super::inference::PredictResponse;
use super::{messages, registry};
use crate::error::AppError;
use crate::state::AppState;

/// How often a run writes its counters (and heartbeat).
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// Starts a created run in the background.
pub fn spawn(state: AppState, run: Run, model: af_db::models::Model) {
    tokio::spawn(async move {
        let id = run.id;
        let outcome = execute(&state, &run, &model).await;
        let error = outcome.err().map(|e| {
            tracing::warn!(run = id, error = %format!("{e:#}"), "pre-label run failed");
            failure_message(&state, &e)
        });
        if let Err(e) = af_db::prelabel::finish(&state.db, id, error.as_deref()).await {
            tracing::error!(run = id, error = %e, "recording the end of a pre-label run");
        }
    });
}

/// Why a run failed, for its `error_message`: what the user can act on (a model that cannot be
/// loaded, an image that cannot be read), else that the server failed; never a server path or
/// a library's message (those are in the log).
fn failure_message(state: &AppState, e: &anyhow::Error) -> String {
    if let Some(app) = e.downcast_ref::<AppError>() {
        if !matches!(app, AppError::Internal(_)) {
            return messages::redact(state, &app.to_string());
        }
    }
    if let Some(af_engine::EngineError::Image { message, .. }) = e.downcast_ref::<af_engine::EngineError>() {
        return messages::redact(state, &format!("an image of the project could not be read ({message}); remove it or upload it again"));
    }
    messages::internal("pre-labelling", &format!("{e:#}"))
}

async fn execute(state: &AppState, run: &Run, model: &af_db::models::Model) -> anyhow::Result<()> {
    let predictor = registry::load(state, model).await?;
    let images = af_db::images::list_all(&state.db, run.project_id).await?;
    let manual: std::collections::HashSet<i64> =
        af_db::prelabel::images_with_manual_annotations(&state.db, run.project_id).await?.into_iter().collect();
    af_db::prelabel::start(&state.db, run.id, images.len() as i64).await?;
    let opts = PredictOptions { conf: run.confidence, iou: run.iou, ..PredictOptions::default() };
    let mut pending = Progress::default();
    let mut last_flush = Instant::now();
    let image_limits = crate::imagefile::limits(&state.config);
    for image in &images {
        let labelled_by_hand = match model.task_type {
            TaskType::Classify => image.class_label.is_some(),
            TaskType::Detect | TaskType::Segment => manual.contains(&image.id),
        };
        if run.only_unlabeled && labelled_by_hand {
            pending.skipped += 1;
        } else if let Err(too_large) = crate::imagefile::check_stored(image, &image_limits) {
            // Stored before the size policy, or the limit was lowered since: skipped like a
            // labelled image, so one old image does not fail the whole run.
            tracing::warn!(run = run.id, image = image.id, "pre-label skips an image: {too_large}");
            pending.skipped += 1;
        } else {
            let pixels = crate::imagefile::read_stored_rgb(&state.storage, image, image_limits, "image").await.map_err(|e| match e {
                crate::error::AppError::Internal(e) => e,
                other => anyhow::anyhow!("{other}"),
            })?;
            let prediction = state.jobs.models.predict(&predictor, pixels, opts.clone()).await?;
            let response = PredictResponse::new(model.id, &model.name, Some(image.id), &prediction);
            match model.task_type {
                TaskType::Classify => {
                    if let (Some(label), Some(conf)) = (&response.top1_class, response.top1_confidence) {
                        if conf >= run.confidence {
                            af_db::images::set_class_label(&state.db, image.id, Some(label)).await?;
                            pending.labeled += 1;
                        }
                    }
                }
                TaskType::Detect | TaskType::Segment => {
                    let new = response.new_annotations(&state.config.limits, image, run.created_by);
                    let stored = af_db::prelabel::replace_model_annotations(&state.db, image.id, &new).await?;
                    pending.annotations += stored.len() as i64;
                    pending.labeled += i64::from(!stored.is_empty());
                }
            }
        }
        pending.processed += 1;
        if last_flush.elapsed() >= FLUSH_EVERY {
            af_db::prelabel::add_progress(&state.db, run.id, std::mem::take(&mut pending)).await?;
            last_flush = Instant::now();
        }
    }
    af_db::prelabel::add_progress(&state.db, run.id, pending).await?;
    Ok(())
}

/// Fails runs left unfinished by a process that died (no heartbeat for `stale_after`).
pub async fn recover(state: &AppState) -> anyhow::Result<u64> {
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(state.config.jobs.stale_after)?;
    let n = af_db::prelabel::fail_stale(
        &state.db,
        cutoff,
        "the server running this pre-label run stopped before it finished; start it again",
    )
    .await?;
    if n > 0 {
        tracing::warn!(runs = n, "failed pre-label runs whose server stopped");
    }
    Ok(n)
}

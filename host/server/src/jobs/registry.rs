//! The model registry's files and access rules: a completed job's best weights are copied
//! into `<data>/models/` under a key of their own (the job's run directory can then go), a
//! `trained_models` row describes them, and only users who may see the model use it.

use std::sync::Arc;

use af_db::models::Model;

use super::inference::{LoadedModel, ModelSource};
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::state::AppState;

/// Where a model's weights are and how to load them.
pub fn source(state: &AppState, model: &Model) -> anyhow::Result<ModelSource> {
    Ok(ModelSource {
        id: model.id,
        path: state.storage.model_file(&model.model_path)?,
        names: model.classes.0.clone(),
        imgsz: model.image_size,
    })
}

/// The model loaded for inference (from the cache when it is there). A weights file that is
/// missing or cannot be loaded is a 409 that says so without the server's paths or the
/// engine's message (both are logged).
pub async fn load(state: &AppState, model: &Model) -> Result<Arc<LoadedModel>, AppError> {
    let source = source(state, model)?;
    state.jobs.models.get(&source).await.map_err(|e| {
        tracing::error!(model = model.id, path = %source.path.display(), error = %format!("{e:#}"), "loading a model failed");
        let why = if source.path.is_file() { "its weights file cannot be loaded (damaged, or not a model of this kind)" } else { "its weights file is missing" };
        AppError::Conflict(format!(
            "model {} ({}) cannot be used: {why} on the server; ask an admin to restore it, or train the model again",
            model.id, model.name
        ))
    })
}

/// The model, if the caller may see it (404 otherwise, like a missing one).
pub async fn visible_model(state: &AppState, user: &AuthUser, id: i64) -> Result<Model, AppError> {
    let visible = af_db::models::visible_to(&state.db, id, user.id, user.is_admin()).await?;
    if !visible {
        return Err(AppError::not_found(format!("model {id}")));
    }
    match af_db::models::get(&state.db, id).await {
        Ok(m) => Ok(m),
        Err(af_db::DbError::NotFound) => Err(AppError::not_found(format!("model {id}"))),
        Err(e) => Err(e.into()),
    }
}

/// The model, if the caller may change it: its creator or an admin (403 for other viewers).
pub async fn owned_model(state: &AppState, user: &AuthUser, id: i64) -> Result<Model, AppError> {
    let model = visible_model(state, user, id).await?;
    if !user.is_admin() && model.created_by != Some(user.id) {
        return Err(AppError::Forbidden(format!("only the creator of model {id} or an admin may change it")));
    }
    Ok(model)
}

/// `yolov8n-seg` from `yolov8n-seg.pt` (the registry's `model_type`).
pub fn model_type(model_name: &str) -> String {
    let file = model_name.rsplit(['/', '\\']).next().unwrap_or(model_name);
    for ext in [".pt", ".yaml", ".yml", ".safetensors"] {
        if let Some(stem) = file.strip_suffix(ext) {
            return stem.to_string();
        }
    }
    file.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn model_types_drop_the_extension() {
        assert_eq!(super::model_type("yolov8n-seg.pt"), "yolov8n-seg");
        assert_eq!(super::model_type("weights/yolov8s.safetensors"), "yolov8s");
        assert_eq!(super::model_type("yolov8m-cls.yaml"), "yolov8m-cls");
    }
}

//! Demo data and models for job tests: a project filled with the demo generator's shapes
//! (small images, all three annotation types plus image-level classes), and untrained but
//! real engine models registered directly, for exercising inference plumbing.

use af_core::{AnnotationSource, TaskType};
use af_engine::nn::{ModelSpec, Scale, YoloModel};
use annotateforge::AppState;

/// Creates a project owned by `owner` holding `count` demo images of `size`×`size` pixels,
/// annotated (circles, boxes, polygons) and with image-level classes. Returns its id.
pub async fn demo_project(state: &AppState, owner: i64, name: &str, seed: u64, count: usize, size: u32) -> i64 {
    let images = tokio::task::spawn_blocking(move || annotateforge::demo::generate(seed, count, size)).await.unwrap();
    let project = af_db::projects::create(&state.db, Some(owner), name, "demo shapes").await.unwrap();
    let files = images.iter().map(|i| (i.filename.clone(), i.png.clone())).collect();
    let labels = images.iter().map(|i| Some(i.class_label.clone())).collect();
    let accepted = annotateforge::api::images::accept_images(files).await.unwrap();
    let (created, skipped) = annotateforge::api::images::store_images(state, project, accepted, labels).await.unwrap();
    assert!(skipped.is_empty());
    let annotations: Vec<af_db::annotations::NewAnnotation> = created
        .iter()
        .zip(&images)
        .flat_map(|(row, img)| {
            img.shapes.iter().map(move |s| af_db::annotations::NewAnnotation {
                image_id: row.id,
                ty: s.ty,
                data: serde_json::to_value(&s.data).unwrap(),
                class_label: s.class_label.clone(),
                confidence: None,
                source: AnnotationSource::Manual,
                created_by: Some(owner),
            })
        })
        .collect();
    af_db::annotations::insert_many(&state.db, &annotations).await.unwrap();
    project
}

/// Registers a freshly initialised (untrained) `yolov8n` model of `task` with `names`,
/// trained "on" `project`, created by `owner`. Its outputs are arbitrary but real.
pub async fn untrained_model(state: &AppState, owner: i64, project: i64, task: TaskType, names: &[&str], imgsz: i64) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.safetensors");
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let spec = ModelSpec::new(task, Scale::N, names.len() as i64).unwrap();
    {
        let file = file.clone();
        let names = names.clone();
        tokio::task::spawn_blocking(move || {
            tch::manual_seed(0);
            let vs = tch::nn::VarStore::new(tch::Device::Cpu);
            let _model = YoloModel::new(&vs.root(), spec);
            let meta = af_engine::weights::SaveMeta { spec: Some(spec), names: Some(names), imgsz: Some(imgsz) };
            af_engine::weights::save(&vs, &file, &meta).unwrap();
        })
        .await
        .unwrap();
    }
    let key = format!("test-{}-{}.safetensors", task, std::process::id() as u64 * 1000 + rand_suffix());
    let (size, sha) = state.storage.put_model(&file, &key).unwrap();
    let model = af_db::models::create(
        &state.db,
        &af_db::models::NewModel {
            training_job_id: None,
            name: format!("untrained {task}"),
            description: String::new(),
            task_type: task,
            model_path: key,
            model_type: spec.base_name(),
            image_size: imgsz,
            classes: names,
            performance_metrics: None,
            created_by: Some(owner),
            config: None,
            dataset: None,
            plugins: None,
            base_model_id: None,
            base_weights: Some("scratch".into()),
            file_size: Some(size as i64),
            sha256: Some(sha),
            project_ids: vec![project],
        },
    )
    .await
    .unwrap();
    model.id
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

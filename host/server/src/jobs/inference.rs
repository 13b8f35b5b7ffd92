//! Inference for the API: registered models loaded once and shared ([`ModelCache`]), and
//! predictions run off the async runtime, batched.
//!
//! The cache keeps at most `capacity` models, evicting the least recently used; concurrent
//! requests for a model that is loading wait for that one load. Each loaded model has one
//! thread that runs its predictions: it takes the next request and every other request that
//! queued up meanwhile (at most [`MAX_BATCH`]), and predicts those of the same image size and
//! thresholds in one forward pass. Nothing waits to fill a batch — a lone request runs at
//! once — but under load the forward passes carry several images, which is several times
//! the throughput of one image per pass on a CPU (and more on a GPU). Requests of different
//! sizes are not mixed: a batch of one size is letterboxed exactly as a single image, so a
//! prediction does not depend on what else was queued.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use af_engine::predict::{PredictOptions, Prediction, Predictor};
use image::RgbImage;
use tokio::sync::{mpsc, oneshot, OnceCell};

/// The most images one forward pass carries.
pub const MAX_BATCH: usize = 8;

/// What identifies a loaded model: its id and its weights file (a model whose file changed is
/// a different entry).
type Key = (i64, PathBuf);

struct Request {
    image: RgbImage,
    opts: PredictOptions,
    reply: oneshot::Sender<af_engine::Result<Prediction>>,
}

/// A model loaded for inference, with the queue of its prediction thread. The thread ends
/// when the last handle is dropped (the model left the cache and no request holds it).
pub struct LoadedModel {
    predictor: Arc<Predictor>,
    queue: mpsc::UnboundedSender<Request>,
}

impl LoadedModel {
    /// Starts the model's prediction thread, which loads the model and then serves its
    /// queue; returns once the model is loaded (blocking: call it off the async runtime).
    ///
    /// The load runs on that thread too, so everything libtorch does for this model happens on
    /// one thread. Each thread that runs parallel libtorch ops gets its own OpenMP team, and
    /// with more OpenMP threads than cores GNU OpenMP stops spin-waiting between parallel
    /// regions: a forward pass then pays a futex wake-up per op (docs/benchmarks.md).
    fn load(source: ModelSource, device: tch::Device) -> anyhow::Result<LoadedModel> {
        let (queue, rx) = mpsc::unbounded_channel();
        let (loaded_tx, loaded_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name(format!("predict-{}", source.id)).spawn(move || {
            let loaded = Predictor::load(&source.path, device)
                .and_then(|p| p.with_names(source.names.clone()))
                .and_then(|p| p.with_imgsz(source.imgsz))
                .map(Arc::new);
            match loaded {
                Ok(p) => {
                    let _ = loaded_tx.send(Ok(p.clone()));
                    serve(p, rx);
                }
                Err(e) => {
                    let _ = loaded_tx.send(Err(e));
                }
            }
        })?;
        let predictor = loaded_rx.recv().map_err(|_| anyhow::anyhow!("the model's prediction thread stopped while loading"))??;
        Ok(LoadedModel { predictor, queue })
    }

    pub fn predictor(&self) -> &Predictor {
        &self.predictor
    }
}

/// The prediction thread: drains the queue into batches of one size and thresholds.
fn serve(predictor: Arc<Predictor>, mut rx: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = rx.blocking_recv() {
        let mut pending = vec![first];
        while pending.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => pending.push(r),
                Err(_) => break,
            }
        }
        while !pending.is_empty() {
            let key = (pending[0].image.dimensions(), pending[0].opts.clone());
            let (batch, rest): (Vec<Request>, Vec<Request>) =
                pending.into_iter().partition(|r| r.image.dimensions() == key.0 && r.opts == key.1);
            pending = rest;
            let images: Vec<RgbImage> = batch.iter().map(|r| r.image.clone()).collect();
            match predictor.predict(&images, &key.1) {
                Ok(results) => {
                    for (r, p) in batch.into_iter().zip(results) {
                        let _ = r.reply.send(Ok(p));
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    for r in batch {
                        let _ = r.reply.send(Err(af_engine::EngineError::invalid(message.clone())));
                    }
                }
            }
        }
    }
}

struct Entry {
    cell: Arc<OnceCell<Arc<LoadedModel>>>,
    last_used: u64,
}

/// Loaded models shared by all requests. Cheap to clone.
#[derive(Clone)]
pub struct ModelCache {
    inner: Arc<Inner>,
}

struct Inner {
    entries: Mutex<(HashMap<Key, Entry>, u64)>,
    capacity: usize,
    device: tch::Device,
}

/// How a model should be loaded: its file, class names and inference size.
#[derive(Debug, Clone)]
pub struct ModelSource {
    pub id: i64,
    pub path: PathBuf,
    pub names: Vec<String>,
    pub imgsz: i64,
}

impl ModelCache {
    pub fn new(capacity: usize, device: tch::Device) -> Self {
        ModelCache { inner: Arc::new(Inner { entries: Mutex::new((HashMap::new(), 0)), capacity: capacity.max(1), device }) }
    }

    pub fn device(&self) -> tch::Device {
        self.inner.device
    }

    /// The loaded model, loading it (once, however many callers ask) if needed.
    pub async fn get(&self, source: &ModelSource) -> anyhow::Result<Arc<LoadedModel>> {
        let key = (source.id, source.path.clone());
        let cell = {
            let mut guard = self.inner.entries.lock().expect("cache lock");
            let (entries, clock) = &mut *guard;
            *clock += 1;
            let now = *clock;
            let entry = entries.entry(key.clone()).or_insert_with(|| Entry { cell: Arc::new(OnceCell::new()), last_used: now });
            entry.last_used = now;
            let cell = entry.cell.clone();
            // Evict the least recently used beyond capacity (never the one just asked for).
            while entries.len() > self.inner.capacity {
                let oldest = entries.iter().filter(|(k, _)| **k != key).min_by_key(|(_, e)| e.last_used).map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => {
                        entries.remove(&k);
                    }
                    None => break,
                }
            }
            cell
        };
        let device = self.inner.device;
        let source = source.clone();
        let model_id = source.id;
        let loaded = cell
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || -> anyhow::Result<Arc<LoadedModel>> {
                    let (id, path) = (source.id, source.path.clone());
                    let model = LoadedModel::load(source, device)?;
                    tracing::info!(model_id = id, path = %path.display(), "loaded a model for inference");
                    Ok(Arc::new(model))
                })
                .await?
            })
            .await;
        match loaded {
            Ok(p) => Ok(p.clone()),
            Err(e) => {
                // Do not keep a failed load: the next request tries again.
                self.evict(model_id);
                Err(e)
            }
        }
    }

    /// Forgets every loaded version of a model (deleted, or its file replaced).
    pub fn evict(&self, model_id: i64) {
        let mut guard = self.inner.entries.lock().expect("cache lock");
        guard.0.retain(|(id, _), _| *id != model_id);
    }

    /// Models currently loaded or loading.
    pub fn len(&self) -> usize {
        self.inner.entries.lock().expect("cache lock").0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Predicts one image through the model's batching thread.
    pub async fn predict(&self, model: &LoadedModel, image: RgbImage, opts: PredictOptions) -> anyhow::Result<Prediction> {
        let (reply, rx) = oneshot::channel();
        model.queue.send(Request { image, opts, reply }).map_err(|_| anyhow::anyhow!("the model's prediction thread stopped"))?;
        Ok(rx.await.map_err(|_| anyhow::anyhow!("the model's prediction thread stopped"))??)
    }
}

/// One class score of a classify prediction.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ClassPrediction {
    pub class_id: i64,
    pub class_label: String,
    pub confidence: f64,
}

/// One predicted object as an annotation the client can show or save: a `box` with
/// `data.corners` (detect) or a `polygon` with `data.points` (segment), in image pixels.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct PredictedAnnotation {
    #[serde(rename = "type")]
    pub ty: af_core::AnnotationType,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub confidence: f64,
    pub source: af_core::AnnotationSource,
    pub class_label: String,
    pub class_id: i64,
    /// `[x1, y1, x2, y2]`.
    pub bbox: [f64; 4],
    /// For a project image predicted by id: send it to
    /// `POST /api/v1/images/{id}/annotations/accept` to save this prediction (as
    /// `custom_model`, which clients cannot set themselves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_token: Option<String>,
}

/// Time spent per stage, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct PredictTiming {
    pub preprocess_ms: f64,
    pub inference_ms: f64,
    pub postprocess_ms: f64,
}

/// `POST /api/v1/models/{id}/predict`: classify fills `predictions`, `top1_class`,
/// `top1_confidence`; detect and segment fill `annotations`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct PredictResponse {
    pub model_id: i64,
    pub model_name: String,
    pub task_type: af_core::TaskType,
    /// The project image predicted on, when given by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<i64>,
    pub image_width: u32,
    pub image_height: u32,
    /// The engine's time for this image: pre-processing + forward + post-processing.
    pub inference_time_ms: f64,
    pub timing: PredictTiming,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predictions: Option<Vec<ClassPrediction>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top1_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top1_confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<PredictedAnnotation>>,
}

/// Rounds to what `f32` model outputs can honestly claim.
fn r(v: f32) -> f64 {
    (v as f64 * 1e4).round() / 1e4
}

impl PredictResponse {
    pub fn new(model_id: i64, model_name: &str, image_id: Option<i64>, p: &Prediction) -> Self {
        let t = p.timing;
        let mut out = PredictResponse {
            model_id,
            model_name: model_name.to_string(),
            task_type: p.task,
            image_id,
            image_width: p.width,
            image_height: p.height,
            inference_time_ms: t.preprocess_ms + t.inference_ms + t.postprocess_ms,
            timing: PredictTiming { preprocess_ms: t.preprocess_ms, inference_ms: t.inference_ms, postprocess_ms: t.postprocess_ms },
            predictions: None,
            top1_class: None,
            top1_confidence: None,
            annotations: None,
        };
        match p.task {
            af_core::TaskType::Classify => {
                out.predictions = Some(
                    p.classes
                        .iter()
                        .map(|c| ClassPrediction { class_id: c.class_id, class_label: c.class_label.clone(), confidence: r(c.confidence) })
                        .collect(),
                );
                out.top1_class = p.top1().map(|c| c.class_label.clone());
                out.top1_confidence = p.top1().map(|c| r(c.confidence));
            }
            af_core::TaskType::Detect | af_core::TaskType::Segment => {
                out.annotations = Some(p.detections.iter().filter_map(|d| annotation_of(p.task, d)).collect());
            }
        }
        out
    }

    /// The predicted shapes as annotations to store on `image_id` (source `custom_model`,
    /// with confidence), each validated and clipped against the image; shapes that do not
    /// survive (no area inside the image) are dropped.
    pub fn new_annotations(
        &self,
        limits: &crate::config::Limits,
        image: &af_db::images::Image,
        created_by: Option<i64>,
    ) -> Vec<af_db::annotations::NewAnnotation> {
        self.annotations
            .iter()
            .flatten()
            .filter_map(|a| {
                crate::api::annotations::validate(
                    limits,
                    image,
                    a.ty,
                    &a.data,
                    &a.class_label,
                    Some(a.confidence.clamp(0.0, 1.0)),
                    af_core::AnnotationSource::CustomModel,
                    created_by,
                )
                .ok()
            })
            .collect()
    }
}

fn annotation_of(task: af_core::TaskType, d: &af_engine::predict::Detection) -> Option<PredictedAnnotation> {
    let [x1, y1, x2, y2] = d.bbox.map(|v| v as f64);
    let bbox = [x1, y1, x2, y2].map(|v| (v * 100.0).round() / 100.0);
    if !(x2 > x1 && y2 > y1) {
        return None;
    }
    let corners = || serde_json::json!({"corners": [[bbox[0], bbox[1]], [bbox[2], bbox[1]], [bbox[2], bbox[3]], [bbox[0], bbox[3]]]});
    let (ty, data) = match task {
        af_core::TaskType::Segment => {
            let points: Vec<[f64; 2]> = match &d.polygon {
                Some(p) if p.len() >= 3 => p.iter().map(|[x, y]| [(*x as f64 * 100.0).round() / 100.0, (*y as f64 * 100.0).round() / 100.0]).collect(),
                // A mask too small to trace: its box is the best outline there is.
                _ => vec![[bbox[0], bbox[1]], [bbox[2], bbox[1]], [bbox[2], bbox[3]], [bbox[0], bbox[3]]],
            };
            (af_core::AnnotationType::Polygon, serde_json::json!({ "points": points }))
        }
        _ => (af_core::AnnotationType::Box, corners()),
    };
    Some(PredictedAnnotation {
        ty,
        data,
        confidence: r(d.confidence),
        source: af_core::AnnotationSource::CustomModel,
        class_label: d.class_label.clone(),
        class_id: d.class_id,
        bbox,
        accept_token: None,
    })
}

//! `Predictor`: a model loaded once (weights → fused eval model on a device) and used for
//! many batched predictions, from any number of threads.
//!
//! Thread safety: `Predictor` is `Send + Sync`. The model's tensors sit behind a `Mutex` held
//! only for the forward pass (with `tch::no_grad`); decoding, letterboxing, NMS, masks and
//! polygons run outside it, so concurrent callers overlap everything but the forward itself.
//! One forward at a time per predictor is deliberate: libtorch already spreads a forward
//! over all CPU cores (or the GPU), and concurrent forwards would only fight over them. For
//! several devices, make one predictor per device.

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use af_core::TaskType;
use image::RgbImage;
use tch::{nn::VarStore, Device, Kind, Tensor};

use super::image::image_to_tensor;
use super::letterbox::{apply_letterbox, classify_transform, letterbox_shape, scale_boxes, scale_point, Letterbox};
use super::masks::process_mask;
use super::nms::{non_max_suppression, Kept, NmsConfig};
use super::polygon::mask_to_polygon;
use super::result::{ClassScore, Detection, Prediction, Timing};
use crate::error::{EngineError, Result};
use crate::nn::{ModelOutput, ModelSpec, YoloModel, MAX_STRIDE};
use crate::weights::load_model;

/// Per-call settings. Defaults are Ultralytics' predict defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictOptions {
    /// Minimum confidence (strictly greater) of a kept detection.
    pub conf: f64,
    /// NMS IoU threshold.
    pub iou: f64,
    pub max_det: usize,
    /// Only these class ids.
    pub classes: Option<Vec<i64>>,
    /// Class-agnostic NMS.
    pub agnostic: bool,
    /// Douglas–Peucker tolerance for segment polygons, in network-input pixels.
    pub polygon_epsilon: f64,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions { conf: 0.25, iou: 0.7, max_det: 300, classes: None, agnostic: false, polygon_epsilon: 1.0 }
    }
}

impl PredictOptions {
    fn nms(&self) -> NmsConfig {
        NmsConfig {
            conf: self.conf,
            iou: self.iou,
            max_det: self.max_det,
            classes: self.classes.clone(),
            agnostic: self.agnostic,
            ..NmsConfig::default()
        }
    }
}

struct Net {
    _vs: VarStore,
    model: YoloModel,
}

pub struct Predictor {
    net: Mutex<Net>,
    spec: ModelSpec,
    names: Vec<String>,
    imgsz: i64,
    device: Device,
}

/// Ultralytics' names for a model without any: `class0`, `class1`, ….
pub fn default_names(nc: i64) -> Vec<String> {
    (0..nc).map(|i| format!("class{i}")).collect()
}

/// `check_imgsz`: detect/segment sizes are rounded up to a multiple of the stride (32).
fn check_imgsz(task: TaskType, imgsz: i64) -> Result<i64> {
    if imgsz < 1 {
        return Err(EngineError::invalid(format!("imgsz must be positive, got {imgsz}")));
    }
    Ok(if task == TaskType::Classify { imgsz } else { (imgsz + MAX_STRIDE - 1) / MAX_STRIDE * MAX_STRIDE })
}

impl Predictor {
    /// Loads a weights file (task, scale and classes read from the file; class names and
    /// training size from its metadata when present) onto `device`.
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<Self> {
        let loaded = load_model(path, device)?;
        let spec = loaded.model.spec();
        let names = loaded.names.unwrap_or_else(|| default_names(spec.nc));
        let imgsz = loaded.imgsz.unwrap_or_else(|| i64::from(spec.task.default_imgsz()));
        Self::from_parts(loaded.vs, loaded.model, names, imgsz)
    }

    /// Wraps an already loaded model (e.g. just trained) for inference; it is fused here.
    pub fn from_parts(vs: VarStore, mut model: YoloModel, names: Vec<String>, imgsz: i64) -> Result<Self> {
        let spec = model.spec();
        if names.len() as i64 != spec.nc {
            return Err(EngineError::invalid(format!("{} class names for a model with {} classes", names.len(), spec.nc)));
        }
        let imgsz = check_imgsz(spec.task, imgsz)?;
        model.fuse();
        let device = vs.device();
        Ok(Predictor { net: Mutex::new(Net { _vs: vs, model }), spec, names, imgsz, device })
    }

    /// Checks the loaded weights against what the caller registered them as (e.g. the model
    /// registry's task and class count): weights for another task or class count are an error.
    pub fn require(self, task: TaskType, nc: i64) -> Result<Self> {
        if self.spec.task != task || self.spec.nc != nc {
            return Err(EngineError::invalid(format!(
                "the weights are a {} model with {} classes, expected a {task} model with {nc}",
                self.spec.task, self.spec.nc
            )));
        }
        Ok(self)
    }

    /// Overrides the inference size (default: the size the model was trained at).
    pub fn with_imgsz(mut self, imgsz: i64) -> Result<Self> {
        self.imgsz = check_imgsz(self.spec.task, imgsz)?;
        Ok(self)
    }

    /// Overrides the class names (one per class).
    pub fn with_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() as i64 != self.spec.nc {
            return Err(EngineError::invalid(format!("{} class names for a model with {} classes", names.len(), self.spec.nc)));
        }
        self.names = names;
        Ok(self)
    }

    pub fn spec(&self) -> ModelSpec {
        self.spec
    }

    pub fn task(&self) -> TaskType {
        self.spec.task
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn imgsz(&self) -> i64 {
        self.imgsz
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Predicts one image.
    pub fn predict_one(&self, image: &RgbImage, opts: &PredictOptions) -> Result<Prediction> {
        Ok(self.predict(std::slice::from_ref(image), opts)?.remove(0))
    }

    /// Predicts a batch in one forward pass. Detect/segment: images of one size are
    /// letterboxed to the minimal stride-aligned rectangle, mixed sizes to the `imgsz` square
    /// (see `letterbox`). Classify: shorter side resized to `imgsz`, centre crop.
    pub fn predict(&self, images: &[RgbImage], opts: &PredictOptions) -> Result<Vec<Prediction>> {
        if images.is_empty() {
            return Ok(vec![]);
        }
        if let Some(bad) = images.iter().find(|i| i.width() == 0 || i.height() == 0) {
            return Err(EngineError::image("input", format!("zero-size image ({}x{})", bad.width(), bad.height())));
        }
        opts.nms().validate()?;
        let _guard = tch::no_grad_guard();
        let t0 = Instant::now();
        let (batch, boxes) = self.preprocess(images);
        let t1 = Instant::now();
        let (pred, proto) = self.forward(&batch)?;
        let t2 = Instant::now();
        let mut out = match self.spec.task {
            TaskType::Classify => self.classify_results(images, &pred)?,
            TaskType::Detect | TaskType::Segment => self.detect_results(images, &boxes, &pred, proto.as_ref(), opts)?,
        };
        let t3 = Instant::now();
        let n = images.len() as f64;
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3 / n;
        let timing = Timing { preprocess_ms: ms(t0, t1), inference_ms: ms(t1, t2), postprocess_ms: ms(t2, t3) };
        let input_size = [batch.size()[2], batch.size()[3]];
        for p in &mut out {
            p.timing = timing;
            p.input_size = input_size;
        }
        Ok(out)
    }

    /// `[B, 3, H, W]` in [0, 1] on the device, and each image's letterbox (detect/segment).
    /// Resizing and padding run on u8 on the CPU (fast kernels, and only the small padded
    /// batch travels to the device), as Ultralytics moves uint8 before converting.
    fn preprocess(&self, images: &[RgbImage]) -> (Tensor, Vec<Letterbox>) {
        let tensors: Vec<Tensor> = images.iter().map(|i| image_to_tensor(i, Device::Cpu)).collect();
        let to_batch = |ts: Vec<Tensor>| Tensor::stack(&ts, 0).to_device(self.device).to_kind(Kind::Float) / 255.0;
        if self.spec.task == TaskType::Classify {
            let crops: Vec<Tensor> = tensors.iter().map(|t| classify_transform(t, self.imgsz)).collect();
            return (to_batch(crops), vec![]);
        }
        let same = images.iter().all(|i| i.dimensions() == images[0].dimensions());
        let boxes: Vec<Letterbox> = images
            .iter()
            .map(|i| letterbox_shape((i.height() as i64, i.width() as i64), (self.imgsz, self.imgsz), same, MAX_STRIDE))
            .collect();
        let padded: Vec<Tensor> = tensors.iter().zip(&boxes).map(|(t, lb)| apply_letterbox(t, lb)).collect();
        (to_batch(padded), boxes)
    }

    /// The eval output (`[B, 4+nc(+32), N]` or `[B, nc]` probabilities) and, for segment, the
    /// prototypes; the lock is held only here.
    fn forward(&self, batch: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let net = self.net.lock().map_err(|_| EngineError::invalid("predictor poisoned by an earlier panic"))?;
        let out = net.model.forward_t(batch, false)?;
        let proto = match &out {
            ModelOutput::Segment(s) => Some(s.proto.shallow_clone()),
            _ => None,
        };
        let pred = out.decode();
        drop(net);
        if let Device::Cuda(i) = self.device {
            tch::Cuda::synchronize(i as i64); // so the timing is the forward's, not the copy's
        }
        Ok((pred, proto))
    }

    fn label(&self, class_id: i64) -> String {
        self.names.get(class_id as usize).cloned().unwrap_or_else(|| format!("class{class_id}"))
    }

    fn empty_prediction(&self, image: &RgbImage) -> Prediction {
        Prediction {
            task: self.spec.task,
            width: image.width(),
            height: image.height(),
            input_size: [0, 0],
            detections: vec![],
            classes: vec![],
            timing: Timing::default(),
        }
    }

    fn classify_results(&self, images: &[RgbImage], probs: &Tensor) -> Result<Vec<Prediction>> {
        let probs = probs.to_device(Device::Cpu).to_kind(Kind::Float);
        images
            .iter()
            .enumerate()
            .map(|(b, img)| {
                let p: Vec<f32> = probs.get(b as i64).try_into()?;
                let mut order: Vec<usize> = (0..p.len()).collect();
                order.sort_by(|&i, &j| p[j].total_cmp(&p[i]));
                let mut pred = self.empty_prediction(img);
                pred.classes = order
                    .into_iter()
                    .map(|i| ClassScore { class_id: i as i64, class_label: self.label(i as i64), confidence: p[i] })
                    .collect();
                Ok(pred)
            })
            .collect()
    }

    fn detect_results(
        &self,
        images: &[RgbImage],
        boxes: &[Letterbox],
        pred: &Tensor,
        proto: Option<&Tensor>,
        opts: &PredictOptions,
    ) -> Result<Vec<Prediction>> {
        let kept = non_max_suppression(pred, self.spec.nc, &opts.nms())?;
        kept.into_iter()
            .zip(images.iter().zip(boxes))
            .enumerate()
            .map(|(b, (k, (img, lb)))| {
                let mut out = self.empty_prediction(img);
                out.detections = match proto {
                    Some(p) => self.segment_detections(&k, &p.get(b as i64), lb, opts)?,
                    None => self.box_detections(&k.rows, lb)?,
                };
                Ok(out)
            })
            .collect()
    }

    fn box_detections(&self, rows: &Tensor, lb: &Letterbox) -> Result<Vec<Detection>> {
        let scaled = scale_boxes(lb, &rows.narrow(1, 0, 4)).to_device(Device::Cpu); // [K, 4]
        let b: Vec<f32> = scaled.contiguous().view(-1).try_into()?;
        let conf: Vec<f32> = rows.select(1, 4).to_device(Device::Cpu).try_into()?;
        let cls: Vec<f32> = rows.select(1, 5).to_device(Device::Cpu).try_into()?;
        Ok((0..conf.len())
            .map(|i| Detection {
                class_id: cls[i] as i64,
                class_label: self.label(cls[i] as i64),
                confidence: conf[i],
                bbox: [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]],
                polygon: None,
            })
            .collect())
    }

    /// Masks at the network input size, kept only where non-empty (as Ultralytics), then one
    /// polygon per mask scaled to the original image.
    fn segment_detections(&self, k: &Kept, proto: &Tensor, lb: &Letterbox, opts: &PredictOptions) -> Result<Vec<Detection>> {
        let rows = &k.rows;
        let masks = process_mask(proto, &rows.narrow(1, 6, rows.size()[1] - 6), &rows.narrow(1, 0, 4), lb.input); // [K, h, w]
        let nonempty = masks.amax([1i64, 2].as_slice(), false).gt(0).nonzero().squeeze_dim(1);
        let (rows, masks) = (rows.index_select(0, &nonempty), masks.index_select(0, &nonempty).to_device(Device::Cpu));
        let mut dets = self.box_detections(&rows, lb)?;
        let in_boxes: Vec<f32> = rows.narrow(1, 0, 4).to_device(Device::Cpu).contiguous().view(-1).try_into()?;
        let (h, w) = lb.input;
        for (i, det) in dets.iter_mut().enumerate() {
            // Masks are zero outside their box: trace only that window.
            let x0 = (in_boxes[4 * i].floor() as i64).clamp(0, w - 1);
            let y0 = (in_boxes[4 * i + 1].floor() as i64).clamp(0, h - 1);
            let x1 = (in_boxes[4 * i + 2].ceil() as i64).clamp(x0 + 1, w);
            let y1 = (in_boxes[4 * i + 3].ceil() as i64).clamp(y0 + 1, h);
            let window = masks.get(i as i64).narrow(0, y0, y1 - y0).narrow(1, x0, x1 - x0).contiguous();
            let data: Vec<u8> = window.view(-1).try_into()?;
            det.polygon = mask_to_polygon(&data, (x1 - x0) as usize, (y1 - y0) as usize, opts.polygon_epsilon).map(|pts| {
                pts.into_iter()
                    .map(|(x, y)| {
                        let (ox, oy) = scale_point(lb, x + x0 as f64, y + y0 as f64);
                        [ox as f32, oy as f32]
                    })
                    .collect()
            });
        }
        Ok(dets)
    }
}

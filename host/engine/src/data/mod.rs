//! Training data: the datasets on disk (Ultralytics' YOLO layout and ImageFolder) turned into
//! augmented, collated batches.
//!
//! - [`open_detect`] / [`open_classify`]: read and check the splits (`labels` holds the
//!   per-image checks and the label cache; bad images are skipped with a reason);
//! - [`DetectSet`] / [`ClassifySet`]: the training split as a [`loader::BatchSource`] for one
//!   epoch's [`augment::AugmentConfig`], with an in-memory cache of decoded images (a byte
//!   budget, least recently used out) so mosaic partners are rarely decoded twice;
//! - [`DetBatch`] / [`ClsBatch`]: plain buffers built on loader threads, turned into tensors
//!   on the training thread by `to_tensors`.
//!
//! Mosaic partners (and mixup images) are drawn from a window of the images visited just
//! before in this epoch's order — a deterministic stand-in for Ultralytics' buffer of recently
//! loaded images, which keeps decoding local.

pub mod augment;
pub mod image_ops;
pub mod labels;
pub mod loader;
pub mod rng;
pub mod synth;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tch::{Device, Kind, Tensor};

use crate::dataset::{read_data_yaml, read_image_folder, ClsSample, DataConfig};
use crate::error::{EngineError, Result};
use crate::loss::Targets;
use crate::predict::image::read_image;
use crate::val::raster::fill_polygon;
use augment::{detect_sample, load_resized, resample_segment, AugmentConfig, Instances, Loaded};
use image_ops::Img;
pub use labels::{LabelRecord, Skipped, SplitLabels};
use loader::{BatchSource, EpochPlan};

/// Points per polygon after `resample_segments` (Ultralytics uses 1000).
pub const SEGMENT_POINTS: usize = 1000;

/// A detect/segment dataset: its `data.yaml` and both checked splits.
#[derive(Debug, Clone)]
pub struct DetectData {
    pub config: DataConfig,
    pub train: SplitLabels,
    pub val: SplitLabels,
}

/// Reads a `data.yaml` and checks both splits. Errors when a split is missing, has no usable
/// image, or the training split has no object at all.
pub fn open_detect(yaml: &Path) -> Result<DetectData> {
    let config = read_data_yaml(yaml)?;
    let train_path = config.train.clone().ok_or_else(|| EngineError::dataset(yaml, "missing `train` split"))?;
    let nc = config.names.len();
    let train = labels::load_split(&train_path, &config.root, nc)?;
    let val = labels::load_split(&config.val, &config.root, nc)?;
    for (split, path) in [(&train, &train_path), (&val, &config.val)] {
        if split.records.is_empty() {
            let first = split.skipped.first().map(|s| format!(" (e.g. {}: {})", s.path.display(), s.reason)).unwrap_or_default();
            return Err(EngineError::dataset(path, format!("no usable images: all {} were skipped{first}", split.skipped.len())));
        }
    }
    if train.instances() == 0 {
        return Err(EngineError::dataset(&train_path, "the training images have no labelled objects: nothing to learn"));
    }
    Ok(DetectData { config, train, val })
}

/// An ImageFolder classification dataset (`<root>/train/<class>/…`, `<root>/val/<class>/…`).
#[derive(Debug, Clone)]
pub struct ClassifyData {
    pub root: PathBuf,
    pub names: Vec<String>,
    pub train: Vec<ClsSample>,
    pub val: Vec<ClsSample>,
    pub skipped: Vec<Skipped>,
}

/// Reads an ImageFolder dataset: classes are the training split's sorted folder names; the
/// validation split (`val`, else `test`) is mapped onto them by name. Unreadable or tiny
/// images are skipped with a reason.
pub fn open_classify(root: &Path) -> Result<ClassifyData> {
    let train_dir = root.join("train");
    if !train_dir.is_dir() {
        return Err(EngineError::dataset(root, "not an ImageFolder dataset: no `train` folder (expected train/<class>/<image>)"));
    }
    let val_dir = ["val", "test"].iter().map(|s| root.join(s)).find(|p| p.is_dir()).ok_or_else(|| {
        EngineError::dataset(root, "no `val` (or `test`) folder (expected val/<class>/<image>)")
    })?;
    let (train, names) = read_image_folder(&train_dir)?;
    let (val, val_names) = read_image_folder(&val_dir)?;
    let mut remapped = Vec::with_capacity(val.len());
    for s in val {
        let name = &val_names[s.class_id as usize];
        let id = names.iter().position(|n| n == name).ok_or_else(|| {
            EngineError::dataset(&val_dir, format!("class folder `{name}` does not exist in the training split"))
        })?;
        remapped.push(ClsSample { image: s.image, class_id: id as i64 });
    }
    let mut skipped = Vec::new();
    let mut keep = |samples: Vec<ClsSample>| -> Vec<ClsSample> {
        samples
            .into_iter()
            .filter(|s| match image::image_dimensions(&s.image) {
                Ok((w, h)) if w >= 10 && h >= 10 => true,
                Ok((w, h)) => {
                    skipped.push(Skipped { path: s.image.clone(), reason: format!("image is {w}x{h}, smaller than 10 px") });
                    false
                }
                Err(e) => {
                    skipped.push(Skipped { path: s.image.clone(), reason: format!("unreadable image: {e}") });
                    false
                }
            })
            .collect()
    };
    let train = keep(train);
    let val = keep(remapped);
    for (split, dir) in [(&train, &train_dir), (&val, &val_dir)] {
        if split.is_empty() {
            return Err(EngineError::dataset(dir, "no usable images"));
        }
    }
    Ok(ClassifyData { root: root.to_path_buf(), names, train, val, skipped })
}

/// Decoded images kept in memory up to a byte budget; the least recently used go first.
pub struct ImageCache<T> {
    inner: Mutex<CacheInner<T>>,
    budget: usize,
}

struct CacheInner<T> {
    map: HashMap<usize, (Arc<T>, usize, u64)>,
    bytes: usize,
    tick: u64,
}

impl<T> ImageCache<T> {
    pub fn new(budget_bytes: usize) -> Self {
        ImageCache { inner: Mutex::new(CacheInner { map: HashMap::new(), bytes: 0, tick: 0 }), budget: budget_bytes }
    }

    /// The cached value of `key`, or `make()`'s (which is then cached; `size` is its cost).
    pub fn get_or(&self, key: usize, make: impl FnOnce() -> Result<(T, usize)>) -> Result<Arc<T>> {
        {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.tick += 1;
            let tick = g.tick;
            if let Some(e) = g.map.get_mut(&key) {
                e.2 = tick;
                return Ok(e.0.clone());
            }
        }
        let (value, size) = make()?;
        let value = Arc::new(value);
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if size <= self.budget && !g.map.contains_key(&key) {
            while g.bytes + size > self.budget {
                let Some((&oldest, _)) = g.map.iter().min_by_key(|(_, e)| e.2) else { break };
                let (_, s, _) = g.map.remove(&oldest).expect("present");
                g.bytes -= s;
            }
            let tick = g.tick;
            g.map.insert(key, (value.clone(), size, tick));
            g.bytes += size;
        }
        Ok(value)
    }
}

/// Default budget of decoded training images kept in memory.
pub const IMAGE_CACHE_BYTES: usize = 256 << 20;

/// The training split of a detect/segment dataset.
pub struct DetectSet {
    pub records: Vec<LabelRecord>,
    pub imgsz: usize,
    /// Segment: produce masks (and keep polygons).
    pub masks: bool,
    pub overlap_mask: bool,
    pub mask_ratio: usize,
    /// Mosaic partners come from the `window` images visited before the current one.
    pub window: usize,
    cache: ImageCache<Loaded>,
}

impl DetectSet {
    pub fn new(records: Vec<LabelRecord>, imgsz: usize, masks: Option<(bool, usize)>, batch: usize) -> Self {
        let window = records.len().min(batch * 8).clamp(1, 1000);
        let (overlap_mask, mask_ratio) = masks.unwrap_or((true, 4));
        DetectSet { records, imgsz, masks: masks.is_some(), overlap_mask, mask_ratio, window, cache: ImageCache::new(IMAGE_CACHE_BYTES) }
    }

    /// Image `i` resized so its long side is `imgsz`, objects in its pixels (cached).
    pub fn load(&self, i: usize) -> Result<Arc<Loaded>> {
        self.cache.get_or(i, || {
            let rec = &self.records[i];
            let img = Img::from_rgb(read_image(&rec.image)?);
            let inst = Instances {
                cls: rec.cls.clone(),
                boxes: rec.boxes.iter().map(|b| [b[0] - b[2] / 2.0, b[1] - b[3] / 2.0, b[0] + b[2] / 2.0, b[1] + b[3] / 2.0]).collect(),
                segments: rec.segments.iter().map(|s| resample_segment(s, SEGMENT_POINTS)).collect(),
            };
            let loaded = load_resized(img, &inst, self.imgsz);
            let size = loaded.img.data.len() + loaded.inst.segments.iter().map(|s| s.len() * 8).sum::<usize>();
            Ok((loaded, size))
        })
    }

    /// This set with one epoch's augmentation, as a loader source.
    pub fn epoch(self: &Arc<Self>, aug: AugmentConfig) -> DetectEpoch {
        DetectEpoch { set: self.clone(), aug }
    }
}

/// A [`DetectSet`] under one epoch's augmentation settings.
pub struct DetectEpoch {
    pub set: Arc<DetectSet>,
    pub aug: AugmentConfig,
}

/// A collated detect/segment batch in plain buffers.
#[derive(Debug, Clone)]
pub struct DetBatch {
    /// `(height, width)` of every image.
    pub size: (usize, usize),
    /// `[B, H, W, 3]` RGB bytes.
    pub images: Vec<u8>,
    pub count: usize,
    pub batch_idx: Vec<f32>,
    pub cls: Vec<f32>,
    /// Normalised xywh, 4 per object.
    pub bboxes: Vec<f32>,
    /// Segment: overlap masks `[B, Hm, Wm]` (value k+1 = object k of the image, objects in
    /// descending mask area as the targets are) or per-object masks `[n, Hm, Wm]`.
    pub masks: Option<(Vec<i32>, [i64; 3])>,
    pub paths: Vec<PathBuf>,
}

impl DetBatch {
    pub fn instances(&self) -> usize {
        self.cls.len()
    }

    /// `[B, 3, H, W]` f32 in [0, 1] and the loss targets, on `device`.
    pub fn to_tensors(&self, device: Device) -> (Tensor, Targets) {
        let n = self.cls.len() as i64;
        let targets = Targets {
            batch_idx: Tensor::from_slice(&self.batch_idx).to_device(device),
            cls: Tensor::from_slice(&self.cls).view([n, 1]).to_device(device),
            bboxes: Tensor::from_slice(&self.bboxes).view([n, 4]).to_device(device),
            masks: self.masks.as_ref().map(|(m, shape)| Tensor::from_slice(m).view(shape.as_slice()).to_device(device)),
        };
        (images_to_tensor(&self.images, self.count, self.size, device), targets)
    }
}

/// `[B, H, W, 3]` bytes → `[B, 3, H, W]` f32 / 255 on `device` (converted there, so only
/// bytes cross to a GPU).
pub fn images_to_tensor(bytes: &[u8], count: usize, (h, w): (usize, usize), device: Device) -> Tensor {
    Tensor::from_slice(bytes)
        .view([count as i64, h as i64, w as i64, 3])
        .to_device(device)
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float)
        .contiguous()
        / 255.0
}

impl BatchSource for DetectEpoch {
    type Batch = DetBatch;

    fn build(&self, plan: &EpochPlan, positions: Range<usize>) -> Result<DetBatch> {
        let set = &self.set;
        let s = set.imgsz;
        let mut batch = DetBatch {
            size: (s, s),
            images: Vec::with_capacity(positions.len() * s * s * 3),
            count: 0,
            batch_idx: vec![],
            cls: vec![],
            bboxes: vec![],
            masks: None,
            paths: vec![],
        };
        let (mut mask_buf, mut mask_count) = (Vec::new(), 0i64);
        let r = set.mask_ratio.max(1);
        let (mh, mw) = (s / r, s / r);
        let n = plan.order.len();
        for p in positions {
            let index = plan.order[p];
            let mut rng = plan.rng(p);
            let window = set.window.min(n);
            let mut partner = |rng: &mut Rng| plan.order[(p + n - rng.below(window)) % n];
            let load = |i: usize| set.load(i);
            let sample = detect_sample(index, &self.aug, &mut rng, &load, &mut partner)?;
            let b = batch.count as f32;
            let mut order: Vec<usize> = (0..sample.inst.len()).collect();
            if set.masks {
                let polys: Vec<&[[f32; 2]]> = if sample.inst.segments.len() == sample.inst.len() {
                    sample.inst.segments.iter().map(Vec::as_slice).collect()
                } else {
                    vec![]
                };
                let per: Vec<Vec<u8>> = (0..sample.inst.len())
                    .map(|k| match polys.get(k) {
                        Some(poly) => downsample(&fill_polygon(poly, s, s), s, s, r),
                        None => box_mask(&sample.inst.boxes[k], s, r),
                    })
                    .collect();
                if set.overlap_mask {
                    let areas: Vec<u32> = per.iter().map(|m| m.iter().map(|&v| v as u32).sum()).collect();
                    order.sort_by(|&a, &b| areas[b].cmp(&areas[a]));
                    let mut layered = vec![0i32; mh * mw];
                    for (k, &i) in order.iter().enumerate() {
                        for (l, &v) in layered.iter_mut().zip(&per[i]) {
                            *l = (*l).max(v as i32 * (k as i32 + 1));
                        }
                    }
                    mask_buf.extend(layered);
                    mask_count += 1;
                } else {
                    for m in &per {
                        mask_buf.extend(m.iter().map(|&v| v as i32));
                        mask_count += 1;
                    }
                }
            }
            let fs = s as f32;
            for &k in &order {
                let bx = sample.inst.boxes[k];
                batch.batch_idx.push(b);
                batch.cls.push(sample.inst.cls[k] as f32);
                batch.bboxes.extend([(bx[0] + bx[2]) / 2.0 / fs, (bx[1] + bx[3]) / 2.0 / fs, (bx[2] - bx[0]) / fs, (bx[3] - bx[1]) / fs]);
            }
            batch.images.extend_from_slice(&sample.img.data);
            batch.paths.push(set.records[index].image.clone());
            batch.count += 1;
        }
        if set.masks {
            batch.masks = Some((mask_buf, [mask_count, mh as i64, mw as i64]));
        }
        Ok(batch)
    }
}

use rng::Rng;

/// Downsampling of a 0/1 `w` x `h` mask by an integer `r` as `cv2.resize(INTER_LINEAR)` does:
/// each output pixel is the rounded mean of the 2x2 centre pixels of its r x r block.
pub fn downsample(full: &[u8], w: usize, h: usize, r: usize) -> Vec<u8> {
    if r <= 1 {
        return full.to_vec();
    }
    let (mw, mh) = (w / r, h / r);
    let (a, b) = (r / 2 - 1, r / 2);
    let mut out = vec![0u8; mw * mh];
    for y in 0..mh {
        for x in 0..mw {
            let at = |dy: usize, dx: usize| full[(r * y + dy) * w + r * x + dx] as u32;
            out[y * mw + x] = u8::from(at(a, a) + at(a, b) + at(b, a) + at(b, b) >= 2);
        }
    }
    out
}

/// A box-shaped mask (for objects without a polygon).
fn box_mask(b: &[f32; 4], s: usize, r: usize) -> Vec<u8> {
    let poly = [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]];
    downsample(&fill_polygon(&poly, s, s), s, s, r)
}

/// The training split of a classification dataset.
pub struct ClassifySet {
    pub samples: Vec<ClsSample>,
    pub imgsz: usize,
    cache: ImageCache<Img>,
}

impl ClassifySet {
    pub fn new(samples: Vec<ClsSample>, imgsz: usize) -> Self {
        ClassifySet { samples, imgsz, cache: ImageCache::new(IMAGE_CACHE_BYTES) }
    }

    /// Image `i`, decoded; large images are kept at most 2·imgsz on their short side.
    pub fn load(&self, i: usize) -> Result<Arc<Img>> {
        self.cache.get_or(i, || {
            let img = Img::from_rgb(read_image(&self.samples[i].image)?);
            let limit = 2 * self.imgsz;
            let short = img.w.min(img.h);
            let img = if short > limit {
                let r = limit as f64 / short as f64;
                image_ops::resize(&img, ((img.w as f64 * r).round() as usize).max(1), ((img.h as f64 * r).round() as usize).max(1))
            } else {
                img
            };
            let size = img.data.len();
            Ok((img, size))
        })
    }

    pub fn epoch(self: &Arc<Self>, aug: AugmentConfig) -> ClassifyEpoch {
        ClassifyEpoch { set: self.clone(), aug }
    }
}

pub struct ClassifyEpoch {
    pub set: Arc<ClassifySet>,
    pub aug: AugmentConfig,
}

/// A collated classification batch.
#[derive(Debug, Clone)]
pub struct ClsBatch {
    pub size: usize,
    pub images: Vec<u8>,
    pub labels: Vec<i64>,
}

impl ClsBatch {
    pub fn to_tensors(&self, device: Device) -> (Tensor, Tensor) {
        (images_to_tensor(&self.images, self.labels.len(), (self.size, self.size), device), Tensor::from_slice(&self.labels).to_device(device))
    }
}

impl BatchSource for ClassifyEpoch {
    type Batch = ClsBatch;

    fn build(&self, plan: &EpochPlan, positions: Range<usize>) -> Result<ClsBatch> {
        let s = self.set.imgsz;
        let mut out = ClsBatch { size: s, images: Vec::with_capacity(positions.len() * s * s * 3), labels: vec![] };
        for p in positions {
            let i = plan.order[p];
            let img = self.set.load(i)?;
            let mut rng = plan.rng(p);
            let sample = augment::classify_sample(&img, s, &self.aug, &mut rng);
            out.images.extend_from_slice(&sample.data);
            out.labels.push(self.set.samples[i].class_id);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;

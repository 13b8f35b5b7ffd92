//! Validation batches as Ultralytics' validator builds them: images sorted by aspect ratio
//! into rectangular batches (`rect=True`, pad 0.5), each image shrunk so its long side is
//! `imgsz` (`load_image`), letterboxed into its batch's shape without enlarging, and the
//! labels carried into input pixels. Classification images get the predict transform.

use std::path::PathBuf;

use image::RgbImage;
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::dataset::{ClsSample, YoloSample};
use crate::error::Result;
use crate::predict::image::{image_to_tensor, read_image};
use crate::predict::letterbox::{apply_letterbox, classify_transform, letterbox_shape_scaled, resize_area};
use crate::val::raster::overlap_masks;

/// One validation batch, with targets in the layout Ultralytics' losses take.
#[derive(Debug)]
pub struct ValBatch {
    pub paths: Vec<PathBuf>,
    /// `[B, 3, H, W]` RGB in [0, 1] on the model's device.
    pub images: Tensor,
    /// Detect/segment: image index of each target `[n]` (f32); classify: empty.
    pub batch_idx: Tensor,
    /// Detect/segment: class of each target `[n, 1]` (f32); classify: class of each image `[B]` (i64).
    pub cls: Tensor,
    /// Detect/segment: normalised xywh of each target in the input image `[n, 4]`.
    pub bboxes: Tensor,
    /// Segment: overlap masks `[B, H/4, W/4]` (i64): value k+1 is target k of that image; each
    /// image's targets are ordered by descending mask area (Ultralytics' `overlap_mask`).
    pub masks: Option<Tensor>,
    /// Per image, for metrics: ground-truth classes and xyxy boxes in input pixels (in target
    /// order), and instance masks at 1/4 resolution `[n_i, H/4, W/4]` (segment).
    pub gt: Vec<ImageTargets>,
}

#[derive(Debug)]
pub struct ImageTargets {
    pub cls: Vec<i64>,
    pub boxes: Vec<[f32; 4]>,
    pub masks: Option<Tensor>,
}

/// Ultralytics' `set_rectangle`: the image order (ascending h/w) and each batch's `(h, w)`.
pub fn rect_batches(shapes: &[(i64, i64)], batch: usize, imgsz: i64, stride: i64) -> (Vec<usize>, Vec<(i64, i64)>) {
    let ar: Vec<f64> = shapes.iter().map(|&(h, w)| h as f64 / w as f64).collect();
    let mut order: Vec<usize> = (0..shapes.len()).collect();
    order.sort_by(|&a, &b| ar[a].total_cmp(&ar[b]));
    let batch_shapes = order
        .chunks(batch.max(1))
        .map(|chunk| {
            let (mini, maxi) = chunk.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &i| (lo.min(ar[i]), hi.max(ar[i])));
            let (sh, sw) = if maxi < 1.0 { (maxi, 1.0) } else if mini > 1.0 { (1.0, 1.0 / mini) } else { (1.0, 1.0) };
            let side = |s: f64| (s * imgsz as f64 / stride as f64 + 0.5).ceil() as i64 * stride;
            (side(sh), side(sw))
        })
        .collect();
    (order, batch_shapes)
}

/// `load_image`: the size an `(h, w)` image is shrunk (or enlarged) to so its long side is `imgsz`.
pub fn load_size(h: i64, w: i64, imgsz: i64) -> (i64, i64) {
    let r = imgsz as f64 / h.max(w) as f64;
    if r == 1.0 {
        return (h, w);
    }
    (((h as f64 * r).ceil() as i64).min(imgsz), ((w as f64 * r).ceil() as i64).min(imgsz))
}

/// Decodes images in parallel (the libtorch work stays on the calling thread).
pub fn decode_all(paths: &[PathBuf]) -> Result<Vec<RgbImage>> {
    paths.par_iter().map(read_image).collect()
}

/// A detect/segment batch letterboxed into `shape` `(h, w)`.
pub fn detect_batch(samples: &[&YoloSample], shape: (i64, i64), imgsz: i64, with_masks: bool, device: Device) -> Result<ValBatch> {
    let paths: Vec<PathBuf> = samples.iter().map(|s| s.image.clone()).collect();
    let decoded = decode_all(&paths)?;
    let (mut inputs, mut gt) = (Vec::with_capacity(samples.len()), Vec::with_capacity(samples.len()));
    let (mut batch_idx, mut cls, mut bboxes, mut overlap) = (vec![], vec![], vec![], vec![]);
    for (b, (sample, img)) in samples.iter().zip(&decoded).enumerate() {
        let t = image_to_tensor(img, Device::Cpu); // [3, h0, w0]
        let (h0, w0) = (img.height() as i64, img.width() as i64);
        let (rh, rw) = load_size(h0, w0, imgsz);
        let resized = resize_area(&t, (rh, rw)); // u8

        let lb = letterbox_shape_scaled((rh, rw), shape, false, false, 32);
        inputs.push(apply_letterbox(&resized, &lb));
        // Normalised coordinates → pixels of the resized image → letterbox scale and padding.
        let (sx, sy) = (lb.resized.1 as f32, lb.resized.0 as f32);
        let (px, py) = (lb.left as f32, lb.top as f32);
        let to_px = |x: f32, y: f32| [x * sx + px, y * sy + py];
        let mut order: Vec<usize> = (0..sample.cls.len()).collect();
        let mut masks = None;
        if with_masks {
            let polys: Vec<Vec<[f32; 2]>> = sample.segments.iter().map(|seg| seg.iter().map(|p| to_px(p[0], p[1])).collect()).collect();
            let (o, m) = overlap_masks(&polys, shape.1 as usize, shape.0 as usize);
            let (mh, mw) = (shape.0 / 4, shape.1 / 4);
            let mut layered = vec![0i64; (mh * mw) as usize];
            for (k, mk) in m.iter().enumerate() {
                for (l, &v) in layered.iter_mut().zip(mk) {
                    if v != 0 {
                        *l = k as i64 + 1;
                    }
                }
            }
            overlap.push(Tensor::from_slice(&layered).view([mh, mw]));
            let flat: Vec<u8> = m.concat();
            masks = Some(Tensor::from_slice(&flat).view([m.len() as i64, mh, mw]).to_device(device));
            order = o;
        }
        let mut targets = ImageTargets { cls: vec![], boxes: vec![], masks };
        for &i in &order {
            let [cx, cy, w, h] = sample.boxes[i];
            let (a, c) = (to_px(cx - w / 2.0, cy - h / 2.0), to_px(cx + w / 2.0, cy + h / 2.0));
            targets.cls.push(sample.cls[i]);
            targets.boxes.push([a[0], a[1], c[0], c[1]]);
            batch_idx.push(b as f32);
            cls.push(sample.cls[i] as f32);
            let (fw, fh) = (shape.1 as f32, shape.0 as f32);
            bboxes.extend([(a[0] + c[0]) / 2.0 / fw, (a[1] + c[1]) / 2.0 / fh, (c[0] - a[0]) / fw, (c[1] - a[1]) / fh]);
        }
        gt.push(targets);
    }
    let n = cls.len() as i64;
    Ok(ValBatch {
        paths,
        images: Tensor::stack(&inputs, 0).to_device(device).to_kind(Kind::Float) / 255.0,
        batch_idx: Tensor::from_slice(&batch_idx).to_device(device),
        cls: Tensor::from_slice(&cls).view([n, 1]).to_device(device),
        bboxes: Tensor::from_slice(&bboxes).view([n, 4]).to_device(device),
        masks: with_masks.then(|| Tensor::stack(&overlap, 0).to_device(device)),
        gt,
    })
}

/// A classification batch: shorter side to `imgsz`, centre crop.
pub fn classify_batch(samples: &[&ClsSample], imgsz: i64, device: Device) -> Result<ValBatch> {
    let paths: Vec<PathBuf> = samples.iter().map(|s| s.image.clone()).collect();
    let decoded = decode_all(&paths)?;
    let crops: Vec<Tensor> = decoded.iter().map(|img| classify_transform(&image_to_tensor(img, Device::Cpu), imgsz)).collect();
    let labels: Vec<i64> = samples.iter().map(|s| s.class_id).collect();
    let empty = || Tensor::zeros([0], (Kind::Float, device));
    Ok(ValBatch {
        paths,
        images: Tensor::stack(&crops, 0).to_device(device).to_kind(Kind::Float) / 255.0,
        batch_idx: empty(),
        cls: Tensor::from_slice(&labels).to_device(device),
        bboxes: empty(),
        masks: None,
        gt: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rect_batches_follow_ultralytics() {
        // Two landscape (h/w 0.5, 0.75) and one portrait image, batch 2, imgsz 640.
        let (order, shapes) = rect_batches(&[(480, 640), (640, 320), (320, 640)], 2, 640, 32);
        assert_eq!(order, [2, 0, 1]);
        // Batch 0: max ratio 0.75 → [0.75, 1] * 640 / 32 + 0.5 → ceil → 16 * 32 = 512? (15.5 → 16)
        assert_eq!(shapes, [(512, 672), (672, 352)]);
    }

    #[test]
    fn load_size_scales_the_long_side() {
        assert_eq!(load_size(480, 640, 640), (480, 640));
        assert_eq!(load_size(1000, 500, 640), (640, 320));
        assert_eq!(load_size(100, 70, 128), (128, 90));
    }
}

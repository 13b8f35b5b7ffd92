//! The training augmentations, Ultralytics' `v8_transforms` for detect/segment and
//! `classify_augmentations` for classify, driven by the hyperparameters:
//!
//! detect / segment, per sample: load (long side → `imgsz`) → `Mosaic` (p = `mosaic`: four
//! images on a 2·imgsz canvas around a random centre) → `RandomPerspective` (`degrees`,
//! `translate`, `scale`, `shear`, `perspective`; output imgsz x imgsz, which also centres a
//! non-mosaic image like a letterbox) → `MixUp` (p = `mixup`, Beta(32, 32) blend with
//! another mosaic'd image) → `RandomHSV` (`hsv_h/s/v`) → vertical / horizontal flips
//! (`flipud`, `fliplr`). Boxes and polygons move with the pixels; boxes that shrink to
//! slivers are dropped as Ultralytics' `box_candidates` drops them.
//!
//! classify: random resized crop (scale 0.08–1, ratio 3/4–4/3) → flips → HSV jitter; pixels
//! stay 0–255 (Ultralytics normalises classification inputs with mean 0, std 1, i.e. /255).
//! Where Ultralytics' default `auto_augment=randaugment` would apply RandAugment, we apply the
//! HSV jitter, as Ultralytics itself does when auto-augment is off.
//!
//! All randomness comes from the [`Rng`] passed in, one per sample (see `rng`).

use super::image_ops::{apply, blend, hsv_shift, mat_mul, resize, resized_crop, warp, Img, Mat3};
use super::rng::Rng;

/// Objects of one image in its pixel coordinates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Instances {
    pub cls: Vec<i64>,
    /// xyxy pixels.
    pub boxes: Vec<[f32; 4]>,
    /// One polygon per object (pixels), or empty when the labels are boxes only.
    pub segments: Vec<Vec<[f32; 2]>>,
}

impl Instances {
    pub fn len(&self) -> usize {
        self.cls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cls.is_empty()
    }

    fn has_segments(&self) -> bool {
        !self.segments.is_empty()
    }

    /// Appends `other`'s objects. Polygons are kept only when both sides have them (an empty
    /// side counts as having them); otherwise the result is boxes only.
    fn extend(&mut self, other: &Instances) {
        let polys = |i: &Instances| i.is_empty() || i.has_segments();
        if polys(self) && polys(other) {
            self.segments.extend(other.segments.iter().cloned());
        } else {
            self.segments.clear();
        }
        self.cls.extend(&other.cls);
        self.boxes.extend(&other.boxes);
    }

    fn retain(&mut self, keep: &[bool]) {
        fn pick<T>(v: &mut Vec<T>, keep: &[bool]) {
            let mut k = keep.iter();
            v.retain(|_| *k.next().unwrap_or(&false));
        }
        pick(&mut self.cls, keep);
        pick(&mut self.boxes, keep);
        if self.has_segments() {
            pick(&mut self.segments, keep);
        }
    }

    fn shift(&mut self, dx: f32, dy: f32) {
        for b in &mut self.boxes {
            *b = [b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy];
        }
        for s in &mut self.segments {
            s.iter_mut().for_each(|p| *p = [p[0] + dx, p[1] + dy]);
        }
    }

    /// Clips boxes and polygon points to `[0, w] x [0, h]` (`Instances.clip`).
    fn clip(&mut self, w: f32, h: f32) {
        for b in &mut self.boxes {
            *b = [b[0].clamp(0.0, w), b[1].clamp(0.0, h), b[2].clamp(0.0, w), b[3].clamp(0.0, h)];
        }
        for s in &mut self.segments {
            s.iter_mut().for_each(|p| *p = [p[0].clamp(0.0, w), p[1].clamp(0.0, h)]);
        }
    }

    fn flip_lr(&mut self, w: f32) {
        for b in &mut self.boxes {
            *b = [w - b[2], b[1], w - b[0], b[3]];
        }
        for s in &mut self.segments {
            s.iter_mut().for_each(|p| p[0] = w - p[0]);
        }
    }

    fn flip_ud(&mut self, h: f32) {
        for b in &mut self.boxes {
            *b = [b[0], h - b[3], b[2], h - b[1]];
        }
        for s in &mut self.segments {
            s.iter_mut().for_each(|p| p[1] = h - p[1]);
        }
    }
}

/// An image as loaded for training: resized so its long side is `imgsz` (aspect kept), with
/// its objects in that image's pixels.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub img: Img,
    pub inst: Instances,
}

/// `resample_segments`: a closed polygon → `n` points evenly spaced in vertex index, the
/// original vertices included (so transforms and clipping act on a dense outline).
pub fn resample_segment(points: &[[f32; 2]], n: usize) -> Vec<[f32; 2]> {
    if points.len() == n || points.is_empty() {
        return points.to_vec();
    }
    let mut closed = points.to_vec();
    closed.push(points[0]);
    let len = closed.len();
    let last = (len - 1) as f64;
    let mut xs: Vec<f64> = if len < n {
        let m = n - len;
        (0..m).map(|i| if m == 1 { 0.0 } else { last * i as f64 / (m - 1) as f64 }).collect()
    } else {
        (0..n).map(|i| last * i as f64 / (n - 1) as f64).collect()
    };
    if len < n {
        xs.extend((0..len).map(|i| i as f64));
        xs.sort_by(f64::total_cmp);
    }
    xs.iter()
        .map(|&x| {
            let i = (x.floor() as usize).min(len - 2);
            let f = (x - i as f64) as f32;
            let (a, b) = (closed[i], closed[i + 1]);
            [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f]
        })
        .collect()
}

/// `segment2box`: the extent of the part of a polygon inside `[0, w] x [0, h]` (zeros when
/// nothing of it is inside).
pub fn segment2box(seg: &[[f32; 2]], w: f32, h: f32) -> [f32; 4] {
    let inside = |p: &[f32; 2]| p[0] >= 0.0 && p[1] >= 0.0 && p[0] <= w && p[1] <= h;
    let mut pts: Vec<[f32; 2]> = seg.iter().copied().filter(inside).collect();
    if pts.len() < seg.len() {
        // The outline crosses the border: add where its edges meet the image's sides.
        for (i, a) in seg.iter().enumerate() {
            let b = seg[(i + 1) % seg.len()];
            for (axis, bound) in [(0usize, 0.0f32), (0, w), (1, 0.0), (1, h)] {
                let (da, db) = (a[axis] - bound, b[axis] - bound);
                if da * db < 0.0 {
                    let t = da / (da - db);
                    let p = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
                    let other = 1 - axis;
                    let lim = if other == 0 { w } else { h };
                    if p[other] >= 0.0 && p[other] <= lim {
                        let mut q = p;
                        q[axis] = bound;
                        pts.push(q);
                    }
                }
            }
        }
    }
    if pts.is_empty() {
        return [0.0; 4];
    }
    let fold = |f: fn(f32, f32) -> f32, init: f32, k: usize| pts.iter().fold(init, |acc, p| f(acc, p[k]));
    [fold(f32::min, f32::MAX, 0), fold(f32::min, f32::MAX, 1), fold(f32::max, f32::MIN, 0), fold(f32::max, f32::MIN, 1)]
}

/// Augmentation settings of one epoch (from the hyperparameters; mosaic and mixup are 0 once
/// `close_mosaic` is reached, and everything is off when `augment` is false).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugmentConfig {
    pub imgsz: usize,
    pub mosaic: f64,
    pub mixup: f64,
    pub degrees: f64,
    pub translate: f64,
    pub scale: f64,
    pub shear: f64,
    pub perspective: f64,
    pub hsv: [f64; 3],
    pub flipud: f64,
    pub fliplr: f64,
    /// Classify: random resized crop (else resize the short side and centre-crop).
    pub random_crop: bool,
}

impl AugmentConfig {
    pub fn from_hyp(hyp: &af_core::Hyperparameters, imgsz: usize, mosaic_closed: bool) -> Self {
        if !hyp.augment {
            return AugmentConfig::none(imgsz);
        }
        AugmentConfig {
            imgsz,
            mosaic: if mosaic_closed { 0.0 } else { hyp.mosaic },
            mixup: if mosaic_closed { 0.0 } else { hyp.mixup },
            degrees: hyp.degrees,
            translate: hyp.translate,
            scale: hyp.scale,
            shear: hyp.shear,
            perspective: hyp.perspective,
            hsv: [hyp.hsv_h, hyp.hsv_s, hyp.hsv_v],
            flipud: hyp.flipud,
            fliplr: hyp.fliplr,
            random_crop: true,
        }
    }

    /// No augmentation: each image letterboxed (centred, long side `imgsz`) and nothing else.
    pub fn none(imgsz: usize) -> Self {
        AugmentConfig {
            imgsz,
            mosaic: 0.0,
            mixup: 0.0,
            degrees: 0.0,
            translate: 0.0,
            scale: 0.0,
            shear: 0.0,
            perspective: 0.0,
            hsv: [0.0; 3],
            flipud: 0.0,
            fliplr: 0.0,
            random_crop: false,
        }
    }
}

/// Builds one detect/segment training sample (`imgsz` x `imgsz`). `load` returns image `i`;
/// `partner` picks another image index (mosaic tiles, mixup).
pub fn detect_sample(
    index: usize,
    cfg: &AugmentConfig,
    rng: &mut Rng,
    load: &dyn Fn(usize) -> crate::Result<std::sync::Arc<Loaded>>,
    partner: &mut dyn FnMut(&mut Rng) -> usize,
) -> crate::Result<Loaded> {
    let mut sample = mosaic_and_affine(index, cfg, rng, load, partner)?;
    if rng.chance(cfg.mixup) {
        let other = partner(rng);
        let second = mosaic_and_affine(other, cfg, rng, load, partner)?;
        let r = rng.beta(32.0, 32.0);
        blend(&mut sample.img, &second.img, r);
        sample.inst.extend(&second.inst);
    }
    if cfg.hsv.iter().any(|&g| g != 0.0) {
        let r = [rng.uniform(-1.0, 1.0) * cfg.hsv[0], rng.uniform(-1.0, 1.0) * cfg.hsv[1], rng.uniform(-1.0, 1.0) * cfg.hsv[2]];
        hsv_shift(&mut sample.img, r);
    }
    let (w, h) = (sample.img.w as f32, sample.img.h as f32);
    if rng.chance(cfg.flipud) {
        sample.img.flip_ud();
        sample.inst.flip_ud(h);
    }
    if rng.chance(cfg.fliplr) {
        sample.img.flip_lr();
        sample.inst.flip_lr(w);
    }
    Ok(sample)
}

fn mosaic_and_affine(
    index: usize,
    cfg: &AugmentConfig,
    rng: &mut Rng,
    load: &dyn Fn(usize) -> crate::Result<std::sync::Arc<Loaded>>,
    partner: &mut dyn FnMut(&mut Rng) -> usize,
) -> crate::Result<Loaded> {
    let base = if rng.chance(cfg.mosaic) {
        let others = [partner(rng), partner(rng), partner(rng)];
        let tiles = [load(index)?, load(others[0])?, load(others[1])?, load(others[2])?];
        mosaic4(&tiles, cfg.imgsz, rng)
    } else {
        (*load(index)?).clone()
    };
    Ok(random_perspective(&base, cfg, rng))
}

/// `Mosaic` (n = 4): the four images around a random centre of a `2s` x `2s` grey canvas,
/// their objects clipped to the canvas, zero-area boxes removed.
pub fn mosaic4(tiles: &[std::sync::Arc<Loaded>; 4], s: usize, rng: &mut Rng) -> Loaded {
    let s2 = 2 * s as i64;
    let half = (s / 2) as f64;
    let yc = rng.uniform(half, 2.0 * s as f64 - half) as i64;
    let xc = rng.uniform(half, 2.0 * s as f64 - half) as i64;
    let mut canvas = Img::filled(2 * s, 2 * s, super::image_ops::GREY);
    let mut inst = Instances::default();
    let with_segments = tiles.iter().all(|t| t.inst.is_empty() || t.inst.has_segments());
    for (i, tile) in tiles.iter().enumerate() {
        let (w, h) = (tile.img.w as i64, tile.img.h as i64);
        let (x1a, y1a, x2a, y2a, x1b, y1b) = match i {
            0 => {
                let (x1a, y1a) = ((xc - w).max(0), (yc - h).max(0));
                (x1a, y1a, xc, yc, w - (xc - x1a), h - (yc - y1a))
            }
            1 => {
                let (y1a, x2a) = ((yc - h).max(0), (xc + w).min(s2));
                (xc, y1a, x2a, yc, 0, h - (yc - y1a))
            }
            2 => {
                let (x1a, y2a) = ((xc - w).max(0), (yc + h).min(s2));
                (x1a, yc, xc, y2a, w - (xc - x1a), 0)
            }
            _ => (xc, yc, (xc + w).min(s2), (yc + h).min(s2), 0, 0),
        };
        let (cw, ch) = ((x2a - x1a).max(0) as usize, (y2a - y1a).max(0) as usize);
        if cw > 0 && ch > 0 {
            canvas.paste(&tile.img, (x1a as usize, y1a as usize), (x1b as usize, y1b as usize), (cw, ch));
        }
        let mut t = tile.inst.clone();
        if !with_segments {
            t.segments.clear();
        }
        t.shift((x1a - x1b) as f32, (y1a - y1b) as f32);
        inst.extend(&t);
    }
    let side = s2 as f32;
    inst.clip(side, side);
    let keep: Vec<bool> = inst.boxes.iter().map(|b| b[2] > b[0] && b[3] > b[1]).collect();
    inst.retain(&keep);
    Loaded { img: canvas, inst }
}

/// `RandomPerspective` onto an `imgsz` x `imgsz` output: centre → perspective → rotate/scale
/// → shear → translate to `(0.5 ± translate)·imgsz`.
pub fn random_perspective(src: &Loaded, cfg: &AugmentConfig, rng: &mut Rng) -> Loaded {
    let s = cfg.imgsz as f64;
    let c: Mat3 = [1.0, 0.0, -(src.img.w as f64) / 2.0, 0.0, 1.0, -(src.img.h as f64) / 2.0, 0.0, 0.0, 1.0];
    let mut p: Mat3 = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    p[6] = rng.uniform(-cfg.perspective, cfg.perspective);
    p[7] = rng.uniform(-cfg.perspective, cfg.perspective);
    let a = rng.uniform(-cfg.degrees, cfg.degrees).to_radians();
    let sc = rng.uniform(1.0 - cfg.scale, 1.0 + cfg.scale);
    // cv2.getRotationMatrix2D(angle, center=(0, 0), scale): counter-clockwise on screen.
    let r: Mat3 = [sc * a.cos(), sc * a.sin(), 0.0, -sc * a.sin(), sc * a.cos(), 0.0, 0.0, 0.0, 1.0];
    let sh_x = rng.uniform(-cfg.shear, cfg.shear).to_radians().tan();
    let sh_y = rng.uniform(-cfg.shear, cfg.shear).to_radians().tan();
    let sh: Mat3 = [1.0, sh_x, 0.0, sh_y, 1.0, 0.0, 0.0, 0.0, 1.0];
    let tx = rng.uniform(0.5 - cfg.translate, 0.5 + cfg.translate) * s;
    let ty = rng.uniform(0.5 - cfg.translate, 0.5 + cfg.translate) * s;
    let t: Mat3 = [1.0, 0.0, tx, 0.0, 1.0, ty, 0.0, 0.0, 1.0];
    let m = mat_mul(&t, &mat_mul(&sh, &mat_mul(&r, &mat_mul(&p, &c))));
    let out = cfg.imgsz;
    let img = warp(&src.img, &m, out, out);

    let (side, n) = (s as f32, src.inst.len());
    let mut inst = Instances { cls: src.inst.cls.clone(), boxes: Vec::with_capacity(n), segments: vec![] };
    let tf = |x: f32, y: f32| {
        let (a, b) = apply(&m, x as f64, y as f64);
        [a as f32, b as f32]
    };
    if src.inst.has_segments() {
        for seg in &src.inst.segments {
            let moved: Vec<[f32; 2]> = seg.iter().map(|q| tf(q[0], q[1])).collect();
            let b = segment2box(&moved, side, side);
            inst.boxes.push(b);
            inst.segments.push(moved.iter().map(|q| [q[0].clamp(b[0], b[2]), q[1].clamp(b[1], b[3])]).collect());
        }
    } else {
        for b in &src.inst.boxes {
            let corners = [tf(b[0], b[1]), tf(b[2], b[3]), tf(b[0], b[3]), tf(b[2], b[1])];
            let (xs, ys) = (corners.map(|q| q[0]), corners.map(|q| q[1]));
            let min = |v: [f32; 4]| v.iter().copied().fold(f32::MAX, f32::min);
            let max = |v: [f32; 4]| v.iter().copied().fold(f32::MIN, f32::max);
            inst.boxes.push([min(xs), min(ys), max(xs), max(ys)]);
        }
    }
    inst.clip(side, side);
    let area_thr = if src.inst.has_segments() { 0.01 } else { 0.10 };
    let keep: Vec<bool> = src
        .inst
        .boxes
        .iter()
        .zip(&inst.boxes)
        .map(|(b1, b2)| box_candidate(b1, b2, sc as f32, area_thr))
        .collect();
    inst.retain(&keep);
    Loaded { img, inst }
}

/// `box_candidates`: the transformed box is > 2 px on each side, keeps more than `area_thr`
/// of its (scaled) original area, and has an aspect ratio under 100.
fn box_candidate(before: &[f32; 4], after: &[f32; 4], scale: f32, area_thr: f32) -> bool {
    const EPS: f32 = 1e-16;
    let (w1, h1) = ((before[2] - before[0]) * scale, (before[3] - before[1]) * scale);
    let (w2, h2) = (after[2] - after[0], after[3] - after[1]);
    let ar = (w2 / (h2 + EPS)).max(h2 / (w2 + EPS));
    w2 > 2.0 && h2 > 2.0 && w2 * h2 / (w1 * h1 + EPS) > area_thr && ar < 100.0
}

/// torchvision's `RandomResizedCrop.get_params`: a region of 8–100 % of the area with an
/// aspect ratio in [3/4, 4/3] (10 tries, then a centre crop), as `(x, y, w, h)`.
pub fn random_resized_crop_region(w: usize, h: usize, rng: &mut Rng) -> (f64, f64, f64, f64) {
    let area = (w * h) as f64;
    let (lr0, lr1) = ((3.0f64 / 4.0).ln(), (4.0f64 / 3.0).ln());
    for _ in 0..10 {
        let target = area * rng.uniform(0.08, 1.0);
        let ratio = rng.uniform(lr0, lr1).exp();
        let cw = (target * ratio).sqrt().round() as usize;
        let ch = (target / ratio).sqrt().round() as usize;
        if cw > 0 && cw <= w && ch > 0 && ch <= h {
            let y = rng.below(h - ch + 1);
            let x = rng.below(w - cw + 1);
            return (x as f64, y as f64, cw as f64, ch as f64);
        }
    }
    let in_ratio = w as f64 / h as f64;
    let (cw, ch) = if in_ratio < 3.0 / 4.0 {
        (w as f64, (w as f64 / (3.0 / 4.0)).round())
    } else if in_ratio > 4.0 / 3.0 {
        ((h as f64 * 4.0 / 3.0).round(), h as f64)
    } else {
        (w as f64, h as f64)
    };
    (((w as f64 - cw) / 2.0).floor(), ((h as f64 - ch) / 2.0).floor(), cw, ch)
}

/// One classification training image: random resized crop to `size`, flips, HSV jitter.
pub fn classify_sample(img: &Img, size: usize, cfg: &AugmentConfig, rng: &mut Rng) -> Img {
    let region = if cfg.random_crop {
        random_resized_crop_region(img.w, img.h, rng)
    } else {
        let side = img.w.min(img.h);
        (((img.w - side) / 2) as f64, ((img.h - side) / 2) as f64, side as f64, side as f64)
    };
    let mut out = resized_crop(img, region, size, size);
    if rng.chance(cfg.fliplr) {
        out.flip_lr();
    }
    if rng.chance(cfg.flipud) {
        out.flip_ud();
    }
    if cfg.hsv.iter().any(|&g| g != 0.0) {
        let r = [rng.uniform(-1.0, 1.0) * cfg.hsv[0], rng.uniform(-1.0, 1.0) * cfg.hsv[1], rng.uniform(-1.0, 1.0) * cfg.hsv[2]];
        hsv_shift(&mut out, r);
    }
    out
}

/// Resizes so the long side is `imgsz` (Ultralytics' `load_image` for training: ceil of the
/// scaled sides, capped at `imgsz`), scaling the objects with it.
pub fn load_resized(img: Img, inst_normalised: &Instances, imgsz: usize) -> Loaded {
    let (w0, h0) = (img.w, img.h);
    let r = imgsz as f64 / w0.max(h0) as f64;
    let img = if r != 1.0 {
        let nw = ((w0 as f64 * r).ceil() as usize).clamp(1, imgsz);
        let nh = ((h0 as f64 * r).ceil() as usize).clamp(1, imgsz);
        resize(&img, nw, nh)
    } else {
        img
    };
    let (w, h) = (img.w as f32, img.h as f32);
    let mut inst = inst_normalised.clone();
    for b in &mut inst.boxes {
        *b = [b[0] * w, b[1] * h, b[2] * w, b[3] * h];
    }
    for s in &mut inst.segments {
        s.iter_mut().for_each(|p| *p = [p[0] * w, p[1] * h]);
    }
    Loaded { img, inst }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_vertices_and_closes_the_outline() {
        let square = [[0.0f32, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let r = resample_segment(&square, 100);
        assert_eq!(r.len(), 100);
        for v in square {
            assert!(r.contains(&v), "{v:?} kept");
        }
        assert!(r.iter().all(|p| p[0] == 0.0 || p[0] == 10.0 || p[1] == 0.0 || p[1] == 10.0), "points on the outline");
    }

    #[test]
    fn segment_box_clips_to_the_image() {
        let tri = [[-10.0f32, 5.0], [10.0, 5.0], [10.0, 15.0]];
        let b = segment2box(&tri, 20.0, 20.0);
        assert_eq!(b, [0.0, 5.0, 10.0, 15.0]);
        assert_eq!(segment2box(&[[30.0, 30.0], [40.0, 30.0], [40.0, 40.0]], 20.0, 20.0), [0.0; 4]);
    }

    #[test]
    fn identity_perspective_is_a_centred_letterbox() {
        let mut img = Img::filled(40, 20, 0);
        img.data.iter_mut().for_each(|v| *v = 200);
        let src = Loaded { img, inst: Instances { cls: vec![1], boxes: vec![[10.0, 5.0, 30.0, 15.0]], segments: vec![] } };
        let out = random_perspective(&src, &AugmentConfig::none(40), &mut Rng::new(1));
        assert_eq!((out.img.w, out.img.h), (40, 40));
        assert_eq!(out.inst.boxes, vec![[10.0, 15.0, 30.0, 25.0]]);
        assert_eq!(out.img.px(0, 5), [114; 3], "padding above");
        assert_eq!(out.img.px(20, 20), [200; 3]);
    }

    #[test]
    fn slivers_are_dropped() {
        assert!(box_candidate(&[0.0, 0.0, 10.0, 10.0], &[0.0, 0.0, 10.0, 10.0], 1.0, 0.1));
        assert!(!box_candidate(&[0.0, 0.0, 10.0, 10.0], &[0.0, 0.0, 1.5, 10.0], 1.0, 0.1), "≤ 2 px wide");
        assert!(!box_candidate(&[0.0, 0.0, 100.0, 100.0], &[0.0, 0.0, 5.0, 5.0], 1.0, 0.1), "lost most of its area");
    }

    #[test]
    fn crop_regions_stay_inside() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let (x, y, w, h) = random_resized_crop_region(50, 30, &mut rng);
            assert!(x >= 0.0 && y >= 0.0 && w >= 1.0 && h >= 1.0 && x + w <= 50.0 && y + h <= 30.0);
        }
    }
}

//! Generated datasets of coloured shapes with exactly known labels, in Ultralytics' layouts:
//! what the tests train on, what the augmentation property tests check against, and what the
//! benchmark against Ultralytics trains both tools on (`examples/synth_dataset.rs`).
//!
//! Classes are shapes — rectangle, ellipse, triangle, diamond, … (class `k % 6`) — drawn as
//! the very polygons written to the segment labels, so pixels and labels agree exactly. Colours
//! are random per object (or fixed per class with `colour_by_class`, which the property tests
//! use to find each object's pixels), on a textured background. Objects do not overlap.

use std::io::Write;
use std::path::Path;

use super::image_ops::Img;
use super::rng::Rng;
use crate::error::{EngineError, Result};
use crate::val::raster::fill_polygon;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    pub train: usize,
    pub val: usize,
    /// Image side in pixels (square images).
    pub size: usize,
    pub classes: usize,
    /// Objects per image, inclusive range.
    pub objects: (usize, usize),
    /// Object side as a fraction of the image side, inclusive range.
    pub scale: (f64, f64),
    pub seed: u64,
    /// Polygon labels (segment) instead of boxes (detect).
    pub polygons: bool,
    /// A fixed, distinct colour per class instead of random colours.
    pub colour_by_class: bool,
    /// A flat background of this colour instead of the random texture.
    pub background: Option<[u8; 3]>,
}

impl SynthSpec {
    pub fn new(train: usize, val: usize, size: usize, classes: usize) -> Self {
        SynthSpec { train, val, size, classes, objects: (1, 4), scale: (0.15, 0.4), seed: 0, polygons: false, colour_by_class: false, background: None }
    }
}

/// The fixed colour of class `c` when `colour_by_class` is set.
pub fn class_colour(c: usize) -> [u8; 3] {
    const C: [[u8; 3]; 6] = [[230, 30, 30], [30, 210, 40], [40, 60, 240], [240, 220, 30], [220, 40, 220], [30, 220, 230]];
    C[c % C.len()]
}

/// One generated object: class and polygon in pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthObject {
    pub cls: usize,
    pub polygon: Vec<[f32; 2]>,
}

impl SynthObject {
    pub fn bbox(&self) -> [f32; 4] {
        let xs = self.polygon.iter().map(|p| p[0]);
        let ys = self.polygon.iter().map(|p| p[1]);
        [xs.clone().fold(f32::MAX, f32::min), ys.clone().fold(f32::MAX, f32::min), xs.fold(f32::MIN, f32::max), ys.fold(f32::MIN, f32::max)]
    }
}

/// The outline of shape `kind` in the box `(x, y, w, h)`.
fn shape(kind: usize, x: f32, y: f32, w: f32, h: f32) -> Vec<[f32; 2]> {
    let (cx, cy) = (x + w / 2.0, y + h / 2.0);
    match kind % 6 {
        0 => vec![[x, y], [x + w, y], [x + w, y + h], [x, y + h]],
        1 => (0..32)
            .map(|i| {
                let t = i as f32 / 32.0 * std::f32::consts::TAU;
                [cx + w / 2.0 * t.cos(), cy + h / 2.0 * t.sin()]
            })
            .collect(),
        2 => vec![[cx, y], [x + w, y + h], [x, y + h]],
        3 => vec![[cx, y], [x + w, cy], [cx, y + h], [x, cy]],
        4 => {
            // A plus sign.
            let (a, b) = (w / 3.0, h / 3.0);
            vec![
                [x + a, y], [x + 2.0 * a, y], [x + 2.0 * a, y + b], [x + w, y + b], [x + w, y + 2.0 * b], [x + 2.0 * a, y + 2.0 * b],
                [x + 2.0 * a, y + h], [x + a, y + h], [x + a, y + 2.0 * b], [x, y + 2.0 * b], [x, y + b], [x + a, y + b],
            ]
        }
        _ => (0..6)
            .map(|i| {
                let t = i as f32 / 6.0 * std::f32::consts::TAU;
                [cx + w / 2.0 * t.cos(), cy + h / 2.0 * t.sin()]
            })
            .collect(),
    }
}

/// Draws one image and its objects.
pub fn draw(spec: &SynthSpec, rng: &mut Rng) -> (Img, Vec<SynthObject>) {
    let s = spec.size;
    let mut img = Img::filled(s, s, 0);
    // Background: a random smooth gradient plus noise.
    let base = [rng.uniform(40.0, 200.0), rng.uniform(40.0, 200.0), rng.uniform(40.0, 200.0)];
    let grad = [rng.uniform(-60.0, 60.0), rng.uniform(-60.0, 60.0), rng.uniform(-60.0, 60.0)];
    match spec.background {
        Some(bg) => img.data.chunks_exact_mut(3).for_each(|p| p.copy_from_slice(&bg)),
        None => {
            for y in 0..s {
                for x in 0..s {
                    let t = (x + y) as f64 / (2 * s) as f64;
                    for c in 0..3 {
                        let v = base[c] + grad[c] * t + rng.uniform(-12.0, 12.0);
                        img.data[(y * s + x) * 3 + c] = v.clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
    }
    let n = spec.objects.0 + rng.below(spec.objects.1 - spec.objects.0 + 1);
    let mut objects: Vec<SynthObject> = Vec::new();
    let mut taken: Vec<[f32; 4]> = Vec::new();
    for _ in 0..n {
        for _attempt in 0..20 {
            let w = (rng.uniform(spec.scale.0, spec.scale.1) * s as f64) as f32;
            let h = (w as f64 * rng.uniform(0.7, 1.4)).min(s as f64 * 0.9) as f32;
            let x = rng.uniform(1.0, (s as f32 - w - 1.0).max(1.0) as f64) as f32;
            let y = rng.uniform(1.0, (s as f32 - h - 1.0).max(1.0) as f64) as f32;
            let b = [x - 2.0, y - 2.0, x + w + 2.0, y + h + 2.0];
            if taken.iter().any(|t| b[0] < t[2] && t[0] < b[2] && b[1] < t[3] && t[1] < b[3]) {
                continue;
            }
            let cls = rng.below(spec.classes);
            let colour = if spec.colour_by_class {
                class_colour(cls)
            } else {
                [rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8]
            };
            let polygon = shape(cls, x, y, w, h);
            let mask = fill_polygon(&polygon, s, s);
            for (i, &m) in mask.iter().enumerate() {
                if m != 0 {
                    img.data[i * 3..i * 3 + 3].copy_from_slice(&colour);
                }
            }
            taken.push(b);
            objects.push(SynthObject { cls, polygon });
            break;
        }
    }
    (img, objects)
}

/// The YOLO label lines of one image (6 decimals, as the dataset writer prints them).
pub fn label_lines(objects: &[SynthObject], size: usize, polygons: bool) -> String {
    let s = size as f64;
    let mut out = String::new();
    for o in objects {
        if polygons {
            out.push_str(&o.cls.to_string());
            for p in &o.polygon {
                out.push_str(&format!(" {:.6} {:.6}", (p[0] as f64 / s).clamp(0.0, 1.0), (p[1] as f64 / s).clamp(0.0, 1.0)));
            }
            out.push('\n');
        } else {
            let [x1, y1, x2, y2] = o.bbox().map(|v| v as f64);
            out.push_str(&format!(
                "{} {:.6} {:.6} {:.6} {:.6}\n",
                o.cls,
                ((x1 + x2) / 2.0 / s).clamp(0.0, 1.0),
                ((y1 + y2) / 2.0 / s).clamp(0.0, 1.0),
                ((x2 - x1) / s).clamp(0.0, 1.0),
                ((y2 - y1) / s).clamp(0.0, 1.0)
            ));
        }
    }
    out
}

fn class_names(n: usize) -> Vec<String> {
    const NAMES: [&str; 6] = ["rectangle", "ellipse", "triangle", "diamond", "plus", "hexagon"];
    (0..n).map(|i| if i < NAMES.len() { NAMES[i].to_string() } else { format!("shape{i}") }).collect()
}

fn save_png(img: &Img, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    let buf = image::RgbImage::from_raw(img.w as u32, img.h as u32, img.data.clone()).expect("buffer size");
    buf.save(path).map_err(|e| EngineError::image(path.display().to_string(), e.to_string()))
}

/// Writes a detect (boxes) or segment (`polygons`) dataset: `images/{train,val}/*.png`,
/// `labels/{train,val}/*.txt`, `data.yaml`. Returns the path of `data.yaml`.
pub fn write_detect(dir: &Path, spec: &SynthSpec) -> Result<std::path::PathBuf> {
    for (split, count, salt) in [("train", spec.train, 1u64), ("val", spec.val, 2)] {
        for i in 0..count {
            let mut rng = Rng::derive(&[spec.seed, salt, i as u64]);
            let (img, objects) = draw(spec, &mut rng);
            let stem = format!("{split}_{i:05}");
            save_png(&img, &dir.join("images").join(split).join(format!("{stem}.png")))?;
            let label = dir.join("labels").join(split).join(format!("{stem}.txt"));
            std::fs::create_dir_all(label.parent().expect("parent")).map_err(|e| EngineError::io(&label, e))?;
            std::fs::write(&label, label_lines(&objects, spec.size, spec.polygons)).map_err(|e| EngineError::io(&label, e))?;
        }
    }
    let names = class_names(spec.classes);
    let yaml = dir.join("data.yaml");
    let mut f = std::fs::File::create(&yaml).map_err(|e| EngineError::io(&yaml, e))?;
    let mut text = format!("path: {}\ntrain: images/train\nval: images/val\nnc: {}\nnames:\n", dir.display(), spec.classes);
    for (i, n) in names.iter().enumerate() {
        text.push_str(&format!("  {i}: {n}\n"));
    }
    f.write_all(text.as_bytes()).map_err(|e| EngineError::io(&yaml, e))?;
    Ok(yaml)
}

/// Writes an ImageFolder dataset (`train/<class>/*.png`, `val/<class>/*.png`): one shape per
/// image, its class the shape.
pub fn write_classify(dir: &Path, spec: &SynthSpec) -> Result<()> {
    let names = class_names(spec.classes);
    let one = SynthSpec { objects: (1, 1), scale: (spec.scale.0.max(0.3), spec.scale.1.max(0.6)), ..spec.clone() };
    for (split, count, salt) in [("train", spec.train, 1u64), ("val", spec.val, 2)] {
        for i in 0..count {
            let mut rng = Rng::derive(&[spec.seed, salt, i as u64]);
            let (img, objects) = draw(&one, &mut rng);
            let cls = objects.first().map(|o| o.cls).unwrap_or(0);
            save_png(&img, &dir.join(split).join(&names[cls]).join(format!("{split}_{i:05}.png")))?;
        }
        // Every class folder exists even if no image drew it.
        for n in &names {
            let d = dir.join(split).join(n);
            std::fs::create_dir_all(&d).map_err(|e| EngineError::io(&d, e))?;
        }
    }
    Ok(())
}

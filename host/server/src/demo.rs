//! The demo project: generated, annotated images a new user can train on right away.
//!
//! Each image is 256×256 (by default) with a textured background and one to three shapes of
//! one class: `circle`s (annotated as circles), `square`s (boxes) and `triangle`s (polygons);
//! the image-level class label is that class. So the one project serves all three tasks:
//! classify (image labels), detect (all three annotation types → boxes) and segment (polygons,
//! with circles and boxes turned into polygons by the converter). Generation is seeded and
//! deterministic, so tests can use it as a fixture.

use af_core::{AnnotationData, AnnotationSource, AnnotationType};
use image::{ImageFormat, Rgb, RgbImage};
use std::io::Cursor;

use crate::state::AppState;

pub const CLASSES: [&str; 3] = ["circle", "square", "triangle"];
pub const PROJECT_NAME: &str = "Demo: shapes";
pub const DEFAULT_SEED: u64 = 20_240_601;
pub const DEFAULT_COUNT: usize = 72;
pub const DEFAULT_SIZE: u32 = 256;

/// One generated image with the annotations that describe it exactly.
#[derive(Debug, Clone)]
pub struct DemoImage {
    pub filename: String,
    pub png: Vec<u8>,
    pub class_label: String,
    pub shapes: Vec<DemoShape>,
}

#[derive(Debug, Clone)]
pub struct DemoShape {
    pub ty: AnnotationType,
    pub data: AnnotationData,
    pub class_label: String,
}

/// SplitMix64: tiny, fast and good enough for test pictures.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Generates `count` images of `size`×`size` pixels; classes rotate so each has `count / 3`.
pub fn generate(seed: u64, count: usize, size: u32) -> Vec<DemoImage> {
    let mut rng = Rng(seed);
    (0..count).map(|i| generate_one(&mut rng, i, size)).collect()
}

fn generate_one(rng: &mut Rng, index: usize, size: u32) -> DemoImage {
    let class = CLASSES[index % CLASSES.len()];
    let s = size as f64;
    // Background: a two-colour diagonal gradient, soft stripes and per-pixel noise.
    let dark = |rng: &mut Rng| [rng.range(20.0, 110.0), rng.range(20.0, 110.0), rng.range(20.0, 110.0)];
    let (c0, c1) = (dark(rng), dark(rng));
    let freq = rng.range(0.05, 0.2);
    let mut img = RgbImage::from_fn(size, size, |x, y| {
        let t = (x + y) as f64 / (2.0 * s);
        let stripe = 10.0 * ((x as f64 * freq).sin() * (y as f64 * freq * 0.7).cos());
        let px = |k: usize| c0[k] * (1.0 - t) + c1[k] * t + stripe;
        Rgb([px(0), px(1), px(2)].map(|v| v.clamp(0.0, 255.0) as u8))
    });
    for p in img.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (*c as i32 + rng.below(25) as i32 - 12).clamp(0, 255) as u8;
        }
    }

    let wanted = 1 + rng.below(3) as usize;
    let mut placed: Vec<(f64, f64, f64)> = Vec::new();
    let mut shapes = Vec::new();
    for _ in 0..wanted * 20 {
        if shapes.len() == wanted {
            break;
        }
        let r = rng.range(s * 0.07, s * 0.18);
        let (cx, cy) = (rng.range(r + 2.0, s - r - 2.0), rng.range(r + 2.0, s - r - 2.0));
        // Keep shapes apart so every annotation outlines exactly one visible object.
        if placed.iter().any(|&(x, y, pr)| ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() < r + pr + 4.0) {
            continue;
        }
        placed.push((cx, cy, r));
        let colour = Rgb([rng.range(150.0, 255.0) as u8, rng.range(150.0, 255.0) as u8, rng.range(150.0, 255.0) as u8]);
        let (ty, data) = match class {
            "circle" => (AnnotationType::Circle, AnnotationData::Circle { x: cx, y: cy, size: r }),
            "square" => (
                AnnotationType::Box,
                AnnotationData::Corners { corners: [[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]] },
            ),
            _ => {
                let a0 = rng.range(0.0, std::f64::consts::TAU);
                let points = (0..3)
                    .map(|k| {
                        let a = a0 + k as f64 * std::f64::consts::TAU / 3.0;
                        [cx + r * a.cos(), cy + r * a.sin()]
                    })
                    .collect();
                (AnnotationType::Polygon, AnnotationData::Points { points })
            }
        };
        fill(&mut img, &data, colour);
        shapes.push(DemoShape { ty, data, class_label: class.to_string() });
    }

    let mut png = Cursor::new(Vec::new());
    img.write_to(&mut png, ImageFormat::Png).expect("encoding a PNG in memory");
    DemoImage { filename: format!("{class}_{index:03}.png"), png: png.into_inner(), class_label: class.to_string(), shapes }
}

/// Paints the shape: pixels whose centre lies inside it.
fn fill(img: &mut RgbImage, shape: &AnnotationData, colour: Rgb<u8>) {
    let (x1, y1, x2, y2) = shape.bbox();
    let (w, h) = (img.width() as i64, img.height() as i64);
    for y in (y1.floor() as i64).max(0)..(y2.ceil() as i64).min(h) {
        for x in (x1.floor() as i64).max(0)..(x2.ceil() as i64).min(w) {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let inside = match shape {
                AnnotationData::Circle { x, y, size } => (px - x).powi(2) + (py - y).powi(2) <= size * size,
                AnnotationData::Corners { .. } => true,
                AnnotationData::Points { points } => inside_polygon(points, px, py),
            };
            if inside {
                img.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}

fn inside_polygon(points: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut inside = false;
    let mut j = points.len() - 1;
    for i in 0..points.len() {
        let (a, b) = (points[i], points[j]);
        if (a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0] {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Creates the demo project unless one with its name exists. Before any user has registered
/// it has no owner; the first user (the admin) adopts it on registration.
pub async fn install(state: &AppState) -> anyhow::Result<Option<i64>> {
    if af_db::projects::find_by_name(&state.db, PROJECT_NAME).await?.is_some() {
        return Ok(None);
    }
    let owner = af_db::users::first_admin(&state.db).await?;
    let images = tokio::task::spawn_blocking(|| generate(DEFAULT_SEED, DEFAULT_COUNT, DEFAULT_SIZE)).await?;
    let description = "Generated shapes in three classes (circle, square, triangle): circles are annotated as \
        circles, squares as boxes, triangles as polygons, and each image carries its class as an image-level \
        label. Train classify on the image labels, detect on circle+box+polygon, segment on polygon (or all three).";
    let project_id = af_db::projects::create(&state.db, owner, PROJECT_NAME, description).await?;
    let files: Vec<(String, Vec<u8>)> = images.iter().map(|i| (i.filename.clone(), i.png.clone())).collect();
    let labels = images.iter().map(|i| Some(i.class_label.clone())).collect();
    let accepted = crate::api::images::accept_images(files).await.map_err(|e| anyhow::anyhow!("demo image rejected: {e}"))?;
    let (created, skipped) = crate::api::images::store_images(state, project_id, accepted, labels)
        .await
        .map_err(|e| anyhow::anyhow!("storing demo images: {e}"))?;
    anyhow::ensure!(skipped.is_empty(), "demo images collided: {skipped:?}");
    let annotations: Vec<af_db::annotations::NewAnnotation> = created
        .iter()
        .zip(&images)
        .flat_map(|(row, img)| {
            img.shapes.iter().map(move |s| af_db::annotations::NewAnnotation {
                image_id: row.id,
                ty: s.ty,
                data: serde_json::to_value(&s.data).expect("shapes serialise"),
                class_label: s.class_label.clone(),
                confidence: None,
                source: AnnotationSource::Manual,
                created_by: owner,
            })
        })
        .collect();
    af_db::annotations::insert_many(&state.db, &annotations).await?;
    tracing::info!(project_id, images = created.len(), annotations = annotations.len(), "created the demo project");
    Ok(Some(project_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_balanced() {
        let a = generate(7, 6, 96);
        let b = generate(7, 6, 96);
        assert_eq!(a.iter().map(|i| &i.png).collect::<Vec<_>>(), b.iter().map(|i| &i.png).collect::<Vec<_>>());
        assert_ne!(a[0].png, generate(8, 1, 96)[0].png);
        let per_class: Vec<usize> = CLASSES.iter().map(|c| a.iter().filter(|i| i.class_label == *c).count()).collect();
        assert_eq!(per_class, vec![2, 2, 2]);
    }

    #[test]
    fn annotations_are_valid_and_match_the_pixels() {
        for img in generate(11, 9, 128) {
            assert!((1..=3).contains(&img.shapes.len()));
            let decoded = image::load_from_memory(&img.png).unwrap().to_rgb8();
            for s in &img.shapes {
                assert_eq!(s.class_label, img.class_label);
                let mut clipped = s.data.clone();
                clipped.validate_and_clip(128, 128).unwrap();
                assert_eq!(clipped, s.data, "shapes lie inside the image");
                let expected = match img.class_label.as_str() {
                    "circle" => AnnotationType::Circle,
                    "square" => AnnotationType::Box,
                    _ => AnnotationType::Polygon,
                };
                assert_eq!(s.ty, expected);
                // The shape's centre pixel is painted (bright), not background (dark).
                let (x1, y1, x2, y2) = s.data.bbox();
                let (cx, cy) = (((x1 + x2) / 2.0) as u32, ((y1 + y2) / 2.0) as u32);
                let p = decoded.get_pixel(cx, cy);
                assert!(p.0.iter().all(|&v| v >= 140), "{:?} at ({cx},{cy}) in {}", p, img.filename);
            }
        }
    }
}

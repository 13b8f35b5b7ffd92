//! Reading and checking a split's labels once, with a label cache.
//!
//! Each image is checked as Ultralytics' `verify_image_label` checks it; a bad image is
//! **skipped with a reason** (reported as a warning), never silently and never fatally:
//! missing or unreadable image, image under 10 px, malformed label line (not numbers, wrong
//! count), class id outside `0..nc`, negative or non-normalised (> 1) coordinates. Duplicate
//! label lines are dropped. A missing label file means an image without objects (background).
//!
//! The parsed result is cached as JSON beside the label folder (`labels/<split>.af-cache.json`,
//! a name of its own so it never collides with Ultralytics' `labels/<split>.cache` on the same
//! dataset), keyed by a fingerprint of every image and label file's path, size and
//! modification time and by `nc`; any change re-reads the split. An unwritable folder only
//! costs the cache.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::{label_path, list_images, YoloSample};
use crate::error::Result;

const CACHE_VERSION: u32 = 1;
/// Ultralytics refuses images smaller than this on either side.
const MIN_SIDE: u32 = 10;

/// One usable image of a detect/segment split, coordinates normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRecord {
    pub image: PathBuf,
    /// `(height, width)` of the image file.
    pub shape: (u32, u32),
    pub cls: Vec<i64>,
    /// `[cx, cy, w, h]` per object.
    pub boxes: Vec<[f32; 4]>,
    /// One polygon per object when the label file has any polygon line (box lines then become
    /// their four corners); empty when it has boxes only.
    pub segments: Vec<Vec<[f32; 2]>>,
}

impl LabelRecord {
    /// The validator's sample type (polygons for every object; box corners for box labels).
    pub fn to_sample(&self) -> YoloSample {
        let segments = if self.segments.is_empty() { self.boxes.iter().map(|b| corners(*b)).collect() } else { self.segments.clone() };
        YoloSample { image: self.image.clone(), cls: self.cls.clone(), boxes: self.boxes.clone(), segments }
    }
}

fn corners([cx, cy, w, h]: [f32; 4]) -> Vec<[f32; 2]> {
    let (x1, y1, x2, y2) = (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0);
    vec![[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
}

/// An image left out of training, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// A checked split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitLabels {
    pub records: Vec<LabelRecord>,
    pub skipped: Vec<Skipped>,
    /// Duplicate label lines dropped, per image (warnings).
    pub duplicates: Vec<Skipped>,
    #[serde(skip)]
    pub from_cache: bool,
}

impl SplitLabels {
    pub fn instances(&self) -> usize {
        self.records.iter().map(|r| r.cls.len()).sum()
    }
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    fingerprint: String,
    labels: SplitLabels,
}

/// Where the cache of a split whose first image is `first_image` lives.
pub fn cache_path(first_image: &Path) -> PathBuf {
    let labels_dir = label_path(first_image).parent().map(Path::to_path_buf).unwrap_or_default();
    let name = labels_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "labels".into());
    labels_dir.with_file_name(format!("{name}.af-cache.json"))
}

/// Lists, checks and parses a split (`images/<split>` directory or `.txt` list), through the cache.
pub fn load_split(split: &Path, root: &Path, nc: usize) -> Result<SplitLabels> {
    let images = list_images(split, root)?;
    let fingerprint = fingerprint(&images, nc);
    let cache = cache_path(&images[0]);
    if let Some(cached) = read_cache(&cache, &fingerprint) {
        return Ok(cached);
    }
    let results: Vec<std::result::Result<(LabelRecord, Option<String>), String>> =
        images.par_iter().map(|img| check_image(img, nc)).collect();
    let mut out = SplitLabels { records: vec![], skipped: vec![], duplicates: vec![], from_cache: false };
    for (img, r) in images.iter().zip(results) {
        match r {
            Ok((rec, dup)) => {
                if let Some(d) = dup {
                    out.duplicates.push(Skipped { path: label_path(img), reason: d });
                }
                out.records.push(rec);
            }
            Err(reason) => out.skipped.push(Skipped { path: img.clone(), reason }),
        }
    }
    let file = CacheFile { version: CACHE_VERSION, fingerprint, labels: out };
    if let Ok(json) = serde_json::to_vec(&file) {
        let tmp = cache.with_extension("json.tmp");
        if std::fs::write(&tmp, json).and_then(|_| std::fs::rename(&tmp, &cache)).is_err() {
            tracing::warn!(path = %cache.display(), "could not write the label cache (read-only dataset?); labels are re-read next time");
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(file.labels)
}

fn read_cache(path: &Path, fingerprint: &str) -> Option<SplitLabels> {
    let bytes = std::fs::read(path).ok()?;
    let file: CacheFile = serde_json::from_slice(&bytes).ok()?;
    (file.version == CACHE_VERSION && file.fingerprint == fingerprint).then(|| SplitLabels { from_cache: true, ..file.labels })
}

/// FNV-1a over every image and label file's path, size and mtime (and `nc`): stable across
/// runs and processes, cheap (metadata only).
fn fingerprint(images: &[PathBuf], nc: usize) -> String {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(&(nc as u64).to_le_bytes());
    for img in images {
        for p in [img.clone(), label_path(img)] {
            h.write(p.to_string_lossy().as_bytes());
            match std::fs::metadata(&p) {
                Ok(m) => {
                    h.write(&m.len().to_le_bytes());
                    let t = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
                    h.write(&t.as_nanos().to_le_bytes());
                }
                Err(_) => h.write(b"-"),
            }
        }
    }
    format!("{:016x}", h.finish())
}

/// Checks one image and parses its labels; `Err(reason)` skips the image.
fn check_image(image: &Path, nc: usize) -> std::result::Result<(LabelRecord, Option<String>), String> {
    if !image.is_file() {
        return Err("image file is missing".into());
    }
    let (w, h) = image::image_dimensions(image).map_err(|e| format!("unreadable image: {e}"))?;
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(format!("image is {w}x{h}, smaller than {MIN_SIDE} px"));
    }
    let path = label_path(image);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("unreadable label file {}: {e}", path.display())),
    };
    let (rec, dup) = parse_labels(&text, nc).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((LabelRecord { image: image.to_path_buf(), shape: (h, w), ..rec }, dup))
}

/// Parses a label file's text. Returns the record (without image/shape) and a warning when
/// duplicate lines were dropped.
pub fn parse_labels(text: &str, nc: usize) -> std::result::Result<(LabelRecord, Option<String>), String> {
    let mut rows: Vec<(i64, Vec<f32>)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: String| format!("line {}: {m}", n + 1);
        let vals: Vec<f32> = line
            .split_whitespace()
            .map(|v| v.parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(|| at(format!("`{v}` is not a number"))))
            .collect::<std::result::Result<_, _>>()?;
        let coords = vals.len() - 1;
        if !(coords == 4 || (coords >= 6 && coords % 2 == 0)) {
            return Err(at(format!("expected `cls cx cy w h` or `cls x1 y1 … xn yn` (n ≥ 3), got {} numbers", vals.len())));
        }
        let c = vals[0];
        if c < 0.0 || c.fract() != 0.0 || c as usize >= nc {
            return Err(at(format!("class {c} is not in 0..{nc} (the dataset has {nc} classes)")));
        }
        if let Some(v) = vals[1..].iter().find(|v| **v < 0.0) {
            return Err(at(format!("negative coordinate {v}")));
        }
        if let Some(v) = vals[1..].iter().find(|v| **v > 1.0) {
            return Err(at(format!("coordinate {v} is not normalised to 0..1")));
        }
        rows.push((c as i64, vals[1..].to_vec()));
    }
    let before = rows.len();
    let mut seen = std::collections::HashSet::new();
    rows.retain(|(c, v)| seen.insert((*c, v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())));
    let dup = (rows.len() < before).then(|| format!("{} duplicate label line(s) removed", before - rows.len()));
    let polygons = rows.iter().any(|(_, v)| v.len() > 4);
    let mut rec = LabelRecord { image: PathBuf::new(), shape: (0, 0), cls: vec![], boxes: vec![], segments: vec![] };
    for (c, v) in rows {
        let (bbox, poly) = if v.len() == 4 {
            let b = [v[0], v[1], v[2], v[3]];
            (b, corners(b))
        } else {
            let pts: Vec<[f32; 2]> = v.chunks(2).map(|p| [p[0], p[1]]).collect();
            let (x1, x2) = pts.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
            let (y1, y2) = pts.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[1]), hi.max(p[1])));
            ([(x1 + x2) / 2.0, (y1 + y2) / 2.0, x2 - x1, y2 - y1], pts)
        };
        rec.cls.push(c);
        rec.boxes.push(bbox);
        if polygons {
            rec.segments.push(poly);
        }
    }
    Ok((rec, dup))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::new(w, h).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn parses_boxes_polygons_and_duplicates() {
        let (r, dup) = parse_labels("0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n", 2).unwrap();
        assert_eq!((r.cls.len(), r.segments.len()), (1, 0));
        assert!(dup.unwrap().contains("1 duplicate"));
        let (r, _) = parse_labels("1 0.1 0.1 0.3 0.1 0.2 0.5\n0 0.5 0.5 0.2 0.2\n", 2).unwrap();
        assert_eq!(r.segments.len(), 2, "box lines become corner polygons beside polygon lines");
        assert_eq!(r.segments[1].len(), 4);
        for (bad, what) in [
            ("2 0.5 0.5 0.1 0.1", "class 2 is not in 0..2"),
            ("0 0.5 0.5 0.1", "got 4 numbers"),
            ("0 0.5 zero 0.1 0.1", "`zero` is not a number"),
            ("0 0.5 0.5 1.5 0.1", "not normalised"),
            ("0 0.5 -0.5 0.1 0.1", "negative"),
            ("0 0.1 0.1 0.3 0.1 0.2", "got 6 numbers"),
            ("0 NaN 0.5 0.1 0.1", "not a number"),
        ] {
            let e = parse_labels(&format!("0 0.5 0.5 0.1 0.1\n{bad}\n"), 2).unwrap_err();
            assert!(e.contains("line 2") && e.contains(what), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_images_are_skipped_with_reasons_and_the_rest_cached() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("images/train/a.png"), &png(32, 24));
        write(&root.join("labels/train/a.txt"), b"1 0.5 0.5 0.25 0.5\n");
        write(&root.join("images/train/b.png"), &png(32, 32)); // no label file: background
        write(&root.join("images/train/c.png"), &png(32, 32));
        write(&root.join("labels/train/c.txt"), b"7 0.5 0.5 0.1 0.1\n");
        write(&root.join("images/train/d.png"), b"not a png");
        write(&root.join("images/train/e.png"), &png(8, 8));
        let split = root.join("images/train");
        let got = load_split(&split, root, 2).unwrap();
        assert!(!got.from_cache);
        let names: Vec<_> = got.records.iter().map(|r| r.image.file_name().unwrap().to_str().unwrap().to_string()).collect();
        assert_eq!(names, ["a.png", "b.png"]);
        assert_eq!(got.records[0].shape, (24, 32));
        assert_eq!(got.records[0].cls, [1]);
        let reasons: Vec<&str> = got.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert!(reasons[0].contains("class 7"), "{reasons:?}");
        assert!(reasons[1].contains("unreadable image"), "{reasons:?}");
        assert!(reasons[2].contains("smaller than 10"), "{reasons:?}");
        assert!(cache_path(&split.join("a.png")).ends_with("labels/train.af-cache.json"));

        let again = load_split(&split, root, 2).unwrap();
        assert!(again.from_cache);
        assert_eq!(again.records, got.records);
        // Editing a label invalidates the cache.
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(&root.join("labels/train/c.txt"), b"0 0.5 0.5 0.1 0.1\n");
        let fresh = load_split(&split, root, 2).unwrap();
        assert!(!fresh.from_cache);
        assert_eq!(fresh.records.len(), 3);
        // A different class count invalidates it too.
        assert!(!load_split(&split, root, 3).unwrap().from_cache);
    }

    #[test]
    fn missing_images_in_a_list_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("images/train/a.png"), &png(16, 16));
        write(&dir.path().join("train.txt"), b"./images/train/a.png\n./images/train/gone.png\n");
        let got = load_split(&dir.path().join("train.txt"), dir.path(), 1).unwrap();
        assert_eq!(got.records.len(), 1);
        assert_eq!(got.skipped[0].reason, "image file is missing");
    }
}

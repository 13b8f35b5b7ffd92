//! Datasets on disk, in exactly Ultralytics' layouts, read for validation:
//! - detect / segment: a `data.yaml` (`path`, `train`, `val`, `nc`, `names`) and
//!   `images/<split>/…` beside `labels/<split>/….txt` (`cls cx cy w h` or `cls x1 y1 …`,
//!   normalised);
//! - classify: ImageFolder `<root>/<split>/<class>/…` (classes = sorted folder names).
//!
//! Only listing and parsing: decoding, letterboxing and batching are the validator's
//! (`val`); training's loader lives in `data` (engine-train). A relative `path` in
//! `data.yaml` is taken relative to the yaml file (Ultralytics resolves it against its
//! global datasets directory, which we do not have).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{EngineError, Result};

/// Image file extensions Ultralytics accepts (`IMG_FORMATS`).
pub const IMAGE_EXTENSIONS: [&str; 11] = ["bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"];

pub fn is_image(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A parsed `data.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataConfig {
    pub yaml: PathBuf,
    pub root: PathBuf,
    pub train: Option<PathBuf>,
    pub val: PathBuf,
    pub names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Names {
    List(Vec<String>),
    Map(std::collections::BTreeMap<i64, String>),
}

#[derive(Deserialize)]
struct RawData {
    path: Option<PathBuf>,
    train: Option<PathBuf>,
    val: Option<PathBuf>,
    nc: Option<i64>,
    names: Option<Names>,
}

/// Reads a `data.yaml`: `names` as a list or `{0: a, 1: b}` map (ids 0..n-1), `nc` (if given)
/// must agree, `val` is required.
pub fn read_data_yaml(yaml: impl AsRef<Path>) -> Result<DataConfig> {
    let yaml = yaml.as_ref();
    let bad = |m: String| EngineError::dataset(yaml, m);
    let text = std::fs::read_to_string(yaml).map_err(|e| EngineError::io(yaml, e))?;
    let raw: RawData = serde_yaml::from_str(&text).map_err(|e| bad(format!("not a valid data.yaml: {e}")))?;
    let dir = yaml.parent().unwrap_or(Path::new("."));
    let root = match raw.path {
        Some(p) if p.is_absolute() => p,
        Some(p) => dir.join(p),
        None => dir.to_path_buf(),
    };
    let names = match raw.names.ok_or_else(|| bad("missing `names`".into()))? {
        Names::List(v) => v,
        Names::Map(m) => {
            if m.keys().copied().ne(0..m.len() as i64) {
                return Err(bad("`names` keys must be 0, 1, …, n-1".into()));
            }
            m.into_values().collect()
        }
    };
    if names.is_empty() {
        return Err(bad("`names` is empty".into()));
    }
    if let Some(nc) = raw.nc {
        if nc != names.len() as i64 {
            return Err(bad(format!("nc is {nc} but {} names are given", names.len())));
        }
    }
    let val = root.join(raw.val.ok_or_else(|| bad("missing `val`".into()))?);
    Ok(DataConfig { yaml: yaml.to_path_buf(), train: raw.train.map(|t| root.join(t)), val, root, names })
}

/// One labelled image of a detect/segment split. Coordinates are normalised to the image.
#[derive(Debug, Clone, PartialEq)]
pub struct YoloSample {
    pub image: PathBuf,
    pub cls: Vec<i64>,
    /// `[cx, cy, w, h]` per object (from the polygon's extent for polygon labels).
    pub boxes: Vec<[f32; 4]>,
    /// The polygon of each object (`[x, y]` points); the box's corners for box labels.
    pub segments: Vec<Vec<[f32; 2]>>,
}

/// Ultralytics' `img2label_paths`: `…/images/…/x.jpg` → `…/labels/…/x.txt`.
pub fn label_path(image: &Path) -> PathBuf {
    let s = image.to_string_lossy();
    let sep = std::path::MAIN_SEPARATOR;
    let (from, to) = (format!("{sep}images{sep}"), format!("{sep}labels{sep}"));
    let swapped = match s.rfind(&from) {
        Some(i) => format!("{}{to}{}", &s[..i], &s[i + from.len()..]),
        None => s.to_string(),
    };
    PathBuf::from(swapped).with_extension("txt")
}

/// The images of a split: a directory (searched recursively) or a `.txt` list of paths.
pub fn list_images(split: &Path, root: &Path) -> Result<Vec<PathBuf>> {
    let mut images = Vec::new();
    if split.is_dir() {
        let mut stack = vec![split.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).map_err(|e| EngineError::io(&dir, e))? {
                let p = entry.map_err(|e| EngineError::io(&dir, e))?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if is_image(&p) {
                    images.push(p);
                }
            }
        }
    } else if split.extension().is_some_and(|e| e == "txt") {
        let text = std::fs::read_to_string(split).map_err(|e| EngineError::io(split, e))?;
        images.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| {
            let p = Path::new(l.strip_prefix("./").unwrap_or(l));
            if p.is_absolute() { p.to_path_buf() } else { root.join(p) }
        }));
    } else {
        return Err(EngineError::dataset(split, "split is neither an image directory nor a .txt list"));
    }
    images.sort();
    if images.is_empty() {
        return Err(EngineError::dataset(split, "no images found"));
    }
    Ok(images)
}

/// Parses one label file (a missing file means no objects, as in Ultralytics).
pub fn read_labels(image: &Path, nc: usize) -> Result<YoloSample> {
    let path = label_path(image);
    let mut sample = YoloSample { image: image.to_path_buf(), cls: vec![], boxes: vec![], segments: vec![] };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(sample),
        Err(e) => return Err(EngineError::io(&path, e)),
    };
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |m: String| EngineError::dataset(&path, format!("line {}: {m}", n + 1));
        let vals: Vec<f32> = line.split_whitespace().map(|v| v.parse::<f32>().map_err(|_| bad(format!("`{v}` is not a number")))).collect::<Result<_>>()?;
        let cls = vals[0];
        if cls < 0.0 || cls.fract() != 0.0 || cls as usize >= nc {
            return Err(bad(format!("class {cls} is not in 0..{nc}")));
        }
        let coords = &vals[1..];
        let (bbox, segment) = if coords.len() == 4 {
            let [cx, cy, w, h] = [coords[0], coords[1], coords[2], coords[3]];
            let (x1, y1, x2, y2) = (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0);
            ([cx, cy, w, h], vec![[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
        } else if coords.len() >= 6 && coords.len() % 2 == 0 {
            let pts: Vec<[f32; 2]> = coords.chunks(2).map(|c| [c[0], c[1]]).collect();
            let (x1, x2) = pts.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
            let (y1, y2) = pts.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[1]), hi.max(p[1])));
            ([(x1 + x2) / 2.0, (y1 + y2) / 2.0, x2 - x1, y2 - y1], pts)
        } else {
            return Err(bad(format!("expected `cls cx cy w h` or `cls x1 y1 … xn yn` (n ≥ 3), got {} numbers", vals.len())));
        };
        sample.cls.push(cls as i64);
        sample.boxes.push(bbox);
        sample.segments.push(segment);
    }
    Ok(sample)
}

/// One image of an ImageFolder split.
#[derive(Debug, Clone, PartialEq)]
pub struct ClsSample {
    pub image: PathBuf,
    pub class_id: i64,
}

/// An ImageFolder split `<dir>/<class>/<image>`: classes are the sorted sub-folder names.
pub fn read_image_folder(dir: &Path) -> Result<(Vec<ClsSample>, Vec<String>)> {
    let mut classes: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| EngineError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    if classes.is_empty() {
        return Err(EngineError::dataset(dir, "no class folders (expected <split>/<class>/<image>)"));
    }
    let mut samples = Vec::new();
    for (i, c) in classes.iter().enumerate() {
        let mut images: Vec<PathBuf> =
            std::fs::read_dir(c).map_err(|e| EngineError::io(c, e))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_image(p)).collect();
        images.sort();
        samples.extend(images.into_iter().map(|image| ClsSample { image, class_id: i as i64 }));
    }
    if samples.is_empty() {
        return Err(EngineError::dataset(dir, "no images in the class folders"));
    }
    let names = classes.iter().map(|c| c.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    Ok((samples, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn reads_data_yaml_with_map_or_list_names() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("data.yaml");
        write(&yaml, "path: ds\ntrain: images/train\nval: images/val\nnc: 2\nnames:\n  0: cat\n  1: dog\n");
        let cfg = read_data_yaml(&yaml).unwrap();
        assert_eq!(cfg.names, ["cat", "dog"]);
        assert_eq!(cfg.val, dir.path().join("ds/images/val"));
        write(&yaml, "val: v\nnames: [a, b, c]\n");
        assert_eq!(read_data_yaml(&yaml).unwrap().root, dir.path());
        for bad in ["val: v\nnc: 3\nnames: [a]\n", "names: [a]\n", "val: v\nnames:\n  1: a\n", ": : :"] {
            write(&yaml, bad);
            assert!(matches!(read_data_yaml(&yaml), Err(EngineError::Dataset { .. })), "{bad}");
        }
    }

    #[test]
    fn parses_box_and_polygon_labels() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("images/val/a.png");
        write(&img, "");
        write(&dir.path().join("labels/val/a.txt"), "0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.3 0.1 0.2 0.5\n\n");
        assert_eq!(label_path(&img), dir.path().join("labels/val/a.txt"));
        let s = read_labels(&img, 2).unwrap();
        assert_eq!(s.cls, [0, 1]);
        assert_eq!(s.boxes[0], [0.5, 0.5, 0.2, 0.4]);
        let b = s.boxes[1];
        assert!((b[0] - 0.2).abs() < 1e-6 && (b[2] - 0.2).abs() < 1e-6 && (b[3] - 0.4).abs() < 1e-6, "{b:?}");
        assert_eq!(s.segments[1].len(), 3);
        assert!(read_labels(&dir.path().join("images/val/none.png"), 2).unwrap().cls.is_empty());
        for bad in ["5 0.5 0.5 0.1 0.1", "0 0.5 x 0.1 0.1", "0 0.5 0.5", "0.5 0.5 0.5 0.1 0.1"] {
            write(&dir.path().join("labels/val/a.txt"), bad);
            let err = read_labels(&img, 2).unwrap_err().to_string();
            assert!(err.contains("line 1"), "{bad}: {err}");
        }
    }

    #[test]
    fn lists_images_and_image_folders() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["val/b/2.png", "val/a/1.jpg", "val/a/notes.txt", "val/b/sub.PNG"] {
            write(&dir.path().join(f), "");
        }
        let (samples, names) = read_image_folder(&dir.path().join("val")).unwrap();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(samples.iter().map(|s| s.class_id).collect::<Vec<_>>(), [0, 1, 1]);
        assert_eq!(list_images(&dir.path().join("val"), dir.path()).unwrap().len(), 3);
        assert!(read_image_folder(&dir.path().join("val/a")).is_err());
        write(&dir.path().join("list.txt"), "./val/a/1.jpg\n\n");
        assert_eq!(list_images(&dir.path().join("list.txt"), dir.path()).unwrap(), [dir.path().join("val/a/1.jpg")]);
    }
}

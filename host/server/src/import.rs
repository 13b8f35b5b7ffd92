//! Importing datasets into a project: COCO JSON (boxes and polygon segmentations, with its
//! images), YOLO detection/segmentation (`data.yaml` + `images/` + `labels/`) and ImageFolder
//! (`[split/]<class>/<image>`, for classification), read from a directory: a server path or an
//! uploaded zip unpacked by [`extract_zip`] with guards against path escapes and zip bombs.
//!
//! This module only reads and plans ([`scan`] → [`ImportPlan`]); the API stores the plan,
//! decoding every image and validating every shape, and reports what it skipped and why.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use af_core::AnnotationType;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    Coco,
    Yolo,
    ImageFolder,
}

impl std::str::FromStr for ImportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "coco" => Ok(ImportFormat::Coco),
            "yolo" => Ok(ImportFormat::Yolo),
            "imagefolder" | "image_folder" => Ok(ImportFormat::ImageFolder),
            other => Err(format!("unknown import format `{other}` (expected coco, yolo or imagefolder)")),
        }
    }
}

/// Where a shape's coordinates come from: pixels (COCO) or fractions of the image (YOLO),
/// resolved once the image's size is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// `data` in image pixels, as the API takes it.
    Pixels { ty: AnnotationType, data: Value },
    /// YOLO `cx cy w h`, normalised.
    NormBox([f64; 4]),
    /// YOLO polygon, normalised.
    NormPolygon(Vec<[f64; 2]>),
}

impl Geometry {
    /// The annotation type and pixel data for an image of `w`×`h`.
    pub fn to_pixels(&self, w: u32, h: u32) -> (AnnotationType, Value) {
        let (w, h) = (w as f64, h as f64);
        match self {
            Geometry::Pixels { ty, data } => (*ty, data.clone()),
            Geometry::NormBox([cx, cy, bw, bh]) => {
                let (x1, y1, x2, y2) = ((cx - bw / 2.0) * w, (cy - bh / 2.0) * h, (cx + bw / 2.0) * w, (cy + bh / 2.0) * h);
                (AnnotationType::Box, json!({"corners": [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]}))
            }
            Geometry::NormPolygon(points) => {
                let pts: Vec<[f64; 2]> = points.iter().map(|p| [p[0] * w, p[1] * h]).collect();
                (AnnotationType::Polygon, json!({ "points": pts }))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAnnotation {
    pub geometry: Geometry,
    pub class_label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedImage {
    pub path: PathBuf,
    /// The name to store (relative path inside the dataset, for context).
    pub filename: String,
    pub class_label: Option<String>,
    pub annotations: Vec<PlannedAnnotation>,
}

/// Something not imported, and why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SkippedItem {
    pub kind: SkipKind,
    /// The file (and line or annotation id) concerned.
    pub item: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SkipKind {
    Image,
    Annotation,
}

impl SkippedItem {
    pub fn image(item: impl Into<String>, reason: impl Into<String>) -> Self {
        SkippedItem { kind: SkipKind::Image, item: item.into(), reason: reason.into() }
    }
    pub fn annotation(item: impl Into<String>, reason: impl Into<String>) -> Self {
        SkippedItem { kind: SkipKind::Annotation, item: item.into(), reason: reason.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportPlan {
    pub format: ImportFormat,
    pub images: Vec<PlannedImage>,
    pub skipped: Vec<SkippedItem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input is not a dataset we can read; the message says why.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

const IMAGE_EXTS: [&str; 7] = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"];

fn is_image(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Every file under `dir`, sorted, skipping hidden entries and macOS `__MACOSX` folders.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name == "__MACOSX" {
                continue;
            }
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).to_string_lossy().replace('\\', "/")
}

/// The skip reason for a name that leads outside the dataset. It is decided without looking
/// outside the dataset, so it is the same whether or not anything exists where the name
/// points, and it shows no server path.
pub const OUTSIDE_REASON: &str = "the file name leads outside the dataset (an absolute path, `..` above the archive's root, \
     or a link out of it): name files relative to the JSON file or to the archive's root";

/// Where a path named by the dataset leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A regular file inside the root (canonical path).
    File(PathBuf),
    /// A directory inside the root (canonical path).
    Dir(PathBuf),
    /// Nothing there, inside the root.
    Missing,
    /// Absolute, above the root, or through a link out of it.
    Outside,
}

/// Resolves `name`, a path written inside the dataset (`/` or `\` separated, relative to
/// `base`, a directory inside `root`), within `root` only. `root` must be canonical.
///
/// The check is lexical first (absolute names and `..` above the root are [`Resolved::Outside`]
/// without touching the filesystem), then component by component inside the root: a link is
/// followed only if its canonical target is inside the root too, and a link out of it (or a
/// dangling one) is `Outside` whatever its target, so no answer depends on what exists
/// outside the root.
pub fn resolve(root: &Path, base: &Path, name: &str) -> Resolved {
    let name = name.replace('\\', "/");
    if name.starts_with('/') || Path::new(&name).has_root() {
        return Resolved::Outside;
    }
    let Ok(base) = base.strip_prefix(root) else { return Resolved::Outside };
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in base.components() {
        match c {
            std::path::Component::Normal(c) => parts.push(c),
            _ => return Resolved::Outside,
        }
    }
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Resolved::Outside;
                }
            }
            p => parts.push(std::ffi::OsStr::new(p)),
        }
    }
    let mut cur = root.to_path_buf();
    for part in parts {
        cur.push(part);
        match std::fs::symlink_metadata(&cur) {
            Err(_) => return Resolved::Missing,
            Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(&cur) {
                Ok(target) if target.starts_with(root) => cur = target,
                _ => return Resolved::Outside,
            },
            Ok(_) => {}
        }
    }
    match std::fs::metadata(&cur) {
        Ok(m) if m.is_file() => Resolved::File(cur),
        Ok(m) if m.is_dir() => Resolved::Dir(cur),
        _ => Resolved::Missing,
    }
}

/// A directory named by the dataset, if it is one inside the root.
fn resolve_dir(root: &Path, base: &Path, name: &str) -> Option<PathBuf> {
    match resolve(root, base, name) {
        Resolved::Dir(d) => Some(d),
        _ => None,
    }
}

/// Reads the dataset under `root` in `format`, or in the format its files reveal. Every path
/// the dataset names (COCO `file_name`s, YOLO `path`/`train`/`val` entries, label files) is
/// resolved inside `root` only ([`resolve`]); nothing outside it is read or even looked at.
///
/// Polygons of more than `max_points` points (`max_polygon_points`) are skipped here, before
/// they are copied around.
pub fn scan(root: &Path, format: Option<ImportFormat>, max_points: usize) -> Result<ImportPlan, ImportError> {
    let root = &std::fs::canonicalize(root)?;
    let files = walk_files(root);
    let format = match format {
        Some(f) => f,
        None => detect(root, &files)?,
    };
    match format {
        ImportFormat::Coco => scan_coco(root, &files, max_points),
        ImportFormat::Yolo => scan_yolo(root, &files, max_points),
        ImportFormat::ImageFolder => scan_image_folder(root, &files),
    }
}

fn depth(root: &Path, p: &Path) -> usize {
    p.strip_prefix(root).map(|r| r.components().count()).unwrap_or(usize::MAX)
}

fn find_data_yaml<'a>(root: &Path, files: &'a [PathBuf]) -> Option<&'a PathBuf> {
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml") && depth(root, p) <= 3)
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("names")))
        .min_by_key(|p| (depth(root, p), p.file_name().map(|n| n != "data.yaml")))
}

fn find_coco_json<'a>(files: &'a [PathBuf]) -> Option<&'a PathBuf> {
    files.iter().filter(|p| p.extension().is_some_and(|e| e == "json")).find(|p| {
        std::fs::read(p)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|v| v.get("images").is_some_and(Value::is_array) && v.get("annotations").is_some_and(Value::is_array))
    })
}

fn detect(root: &Path, files: &[PathBuf]) -> Result<ImportFormat, ImportError> {
    if find_data_yaml(root, files).is_some() {
        return Ok(ImportFormat::Yolo);
    }
    if find_coco_json(files).is_some() {
        return Ok(ImportFormat::Coco);
    }
    if files.iter().any(|p| is_image(p) && depth(root, p) >= 2) {
        return Ok(ImportFormat::ImageFolder);
    }
    Err(ImportError::Invalid(
        "could not detect the dataset format: expected a YOLO data.yaml, a COCO JSON file with `images` and \
         `annotations`, or ImageFolder class directories of images"
            .into(),
    ))
}

// ---- COCO ----

#[derive(Deserialize)]
struct Coco {
    images: Vec<CocoImage>,
    #[serde(default)]
    annotations: Vec<CocoAnnotation>,
    #[serde(default)]
    categories: Vec<CocoCategory>,
}

#[derive(Deserialize)]
struct CocoImage {
    id: i64,
    file_name: String,
    #[serde(default)]
    class_label: Option<String>,
}

#[derive(Deserialize)]
struct CocoAnnotation {
    #[serde(default)]
    id: Option<i64>,
    image_id: i64,
    category_id: i64,
    #[serde(default)]
    bbox: Option<Vec<f64>>,
    #[serde(default)]
    segmentation: Option<Value>,
    /// Our own extension: the exact shape, for lossless round trips through export.
    #[serde(default)]
    annotateforge: Option<AfShape>,
}

#[derive(Deserialize)]
struct AfShape {
    #[serde(rename = "type")]
    ty: AnnotationType,
    data: Value,
}

#[derive(Deserialize)]
struct CocoCategory {
    id: i64,
    name: String,
}

fn scan_coco(root: &Path, files: &[PathBuf], max_points: usize) -> Result<ImportPlan, ImportError> {
    let json_path = find_coco_json(files)
        .ok_or_else(|| ImportError::Invalid("no COCO JSON file (with `images` and `annotations`) found".into()))?;
    let coco: Coco = serde_json::from_slice(&std::fs::read(json_path)?)
        .map_err(|e| ImportError::Invalid(format!("{}: not a COCO annotation file: {e}", rel(root, json_path))))?;
    let categories: HashMap<i64, String> = coco.categories.into_iter().map(|c| (c.id, c.name)).collect();
    let by_name: HashMap<String, &PathBuf> = files
        .iter()
        .filter(|p| is_image(p))
        .filter_map(|p| Some((p.file_name()?.to_string_lossy().to_string(), p)))
        .collect();
    let json_dir = json_path.parent().unwrap_or(root);
    let mut skipped = Vec::new();
    let mut images = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let json_images = json_dir.join("images");
    let root_images = root.join("images");
    for img in coco.images {
        // Relative to the JSON file or the archive's root, directly or under `images/`.
        let outcomes: Vec<Resolved> =
            [json_dir, json_images.as_path(), root, root_images.as_path()].iter().map(|base| resolve(root, base, &img.file_name)).collect();
        let found = outcomes.iter().find_map(|r| match r {
            Resolved::File(p) => Some(p.clone()),
            _ => None,
        });
        // Leading outside from any of them (or through a link out) is refused outright, with
        // no search by file name: that answer never depends on what exists outside.
        let escapes = outcomes.iter().any(|r| *r == Resolved::Outside);
        // Exported elsewhere with other folders: the same file name anywhere in the dataset.
        let found = found.or_else(|| {
            if escapes {
                return None;
            }
            Path::new(&img.file_name.replace('\\', "/")).file_name().and_then(|n| by_name.get(&*n.to_string_lossy())).map(|p| (*p).clone())
        });
        match found {
            Some(path) => {
                index.insert(img.id, images.len());
                images.push(PlannedImage { filename: rel(root, &path), path, class_label: img.class_label, annotations: Vec::new() });
            }
            None if escapes => skipped.push(SkippedItem::image(img.file_name, OUTSIDE_REASON)),
            None => skipped.push(SkippedItem::image(img.file_name, "image file not found in the dataset")),
        }
    }
    for (n, a) in coco.annotations.into_iter().enumerate() {
        let item = format!("annotation {}", a.id.unwrap_or(n as i64));
        let Some(&at) = index.get(&a.image_id) else {
            skipped.push(SkippedItem::annotation(item, format!("its image {} was not imported", a.image_id)));
            continue;
        };
        let Some(label) = categories.get(&a.category_id) else {
            skipped.push(SkippedItem::annotation(item, format!("unknown category_id {}", a.category_id)));
            continue;
        };
        let mut shapes = Vec::new();
        let point_count = |v: &Value| v.as_array().map_or(0, Vec::len);
        if let Some(af) = a.annotateforge {
            let n = af.data.get("points").map_or(0, point_count);
            if n > max_points {
                skipped.push(SkippedItem::annotation(item, af_core::annotation::too_many_points(n, max_points)));
                continue;
            }
            shapes.push(Geometry::Pixels { ty: af.ty, data: af.data });
        } else {
            if let Some(Value::Array(polys)) = &a.segmentation {
                if let Some(n) = polys.iter().map(|p| point_count(p) / 2).find(|n| *n > max_points) {
                    // The whole annotation, not its bbox instead: the shape was the polygon.
                    skipped.push(SkippedItem::annotation(item, af_core::annotation::too_many_points(n, max_points)));
                    continue;
                }
                for poly in polys {
                    let nums: Option<Vec<f64>> = poly.as_array().map(|xs| xs.iter().filter_map(Value::as_f64).collect());
                    match nums {
                        Some(nums) if nums.len() >= 6 && nums.len() % 2 == 0 => {
                            let points: Vec<[f64; 2]> = nums.chunks(2).map(|c| [c[0], c[1]]).collect();
                            shapes.push(Geometry::Pixels { ty: AnnotationType::Polygon, data: json!({ "points": points }) });
                        }
                        _ => skipped.push(SkippedItem::annotation(item.clone(), "a segmentation polygon with fewer than 3 points")),
                    }
                }
            }
            if shapes.is_empty() {
                match a.bbox.as_deref() {
                    Some(&[x, y, w, h]) => shapes.push(Geometry::Pixels {
                        ty: AnnotationType::Box,
                        data: json!({"corners": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]}),
                    }),
                    _ => {
                        skipped.push(SkippedItem::annotation(item, "no polygon segmentation and no [x, y, w, h] bbox (RLE masks are not imported)"));
                        continue;
                    }
                }
            }
        }
        for geometry in shapes {
            images[at].annotations.push(PlannedAnnotation { geometry, class_label: label.clone() });
        }
    }
    Ok(ImportPlan { format: ImportFormat::Coco, images, skipped })
}

// ---- YOLO ----

fn yolo_names(v: &serde_yaml::Value) -> Result<BTreeMap<u32, String>, ImportError> {
    let bad = || ImportError::Invalid("data.yaml: `names` must be a list or a map of class id to name".into());
    match v {
        serde_yaml::Value::Sequence(items) => {
            items.iter().enumerate().map(|(i, n)| n.as_str().map(|s| (i as u32, s.to_string())).ok_or_else(bad)).collect()
        }
        serde_yaml::Value::Mapping(m) => m
            .iter()
            .map(|(k, n)| {
                let id = k.as_u64().or_else(|| k.as_str().and_then(|s| s.parse().ok())).ok_or_else(bad)?;
                let name = n.as_str().map(str::to_string).or_else(|| n.as_u64().map(|x| x.to_string())).ok_or_else(bad)?;
                Ok((id as u32, name))
            })
            .collect(),
        _ => Err(bad()),
    }
}

fn scan_yolo(root: &Path, files: &[PathBuf], max_points: usize) -> Result<ImportPlan, ImportError> {
    let yaml_path = find_data_yaml(root, files).ok_or_else(|| ImportError::Invalid("no data.yaml with `names` found".into()))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(yaml_path)?)
        .map_err(|e| ImportError::Invalid(format!("{}: invalid YAML: {e}", rel(root, yaml_path))))?;
    let names = yolo_names(yaml.get("names").ok_or_else(|| ImportError::Invalid("data.yaml has no `names`".into()))?)?;
    // `path` is the dataset root; an absolute path from another machine is ignored.
    let yaml_dir = yaml_path.parent().unwrap_or(root);
    let base = yaml.get("path").and_then(|p| p.as_str()).and_then(|p| resolve_dir(root, yaml_dir, p)).unwrap_or_else(|| yaml_dir.to_path_buf());
    let mut split_dirs = Vec::new();
    for key in ["train", "val", "test"] {
        let entries: Vec<String> = match yaml.get(key) {
            Some(serde_yaml::Value::String(s)) => vec![s.clone()],
            Some(serde_yaml::Value::Sequence(xs)) => xs.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        for e in entries {
            match resolve_dir(root, &base, &e) {
                Some(dir) if !split_dirs.contains(&dir) => split_dirs.push(dir),
                _ => {}
            }
        }
    }
    if split_dirs.is_empty() {
        // No usable split entries: fall back to every `images/` directory.
        split_dirs = files.iter().filter(|p| is_image(p)).filter_map(|p| p.parent().map(Path::to_path_buf)).collect();
        split_dirs.sort();
        split_dirs.dedup();
    }
    let mut images = Vec::new();
    let mut skipped = Vec::new();
    for dir in &split_dirs {
        for path in files.iter().filter(|p| p.starts_with(dir) && is_image(p)) {
            // The label file is read only if it is a file inside the root (not a link out).
            let label_path = yolo_label_path(path).and_then(|p| match resolve(root, root, &rel(root, &p)) {
                Resolved::File(f) => Some(f),
                _ => None,
            });
            let mut annotations = Vec::new();
            if let Some(text) = label_path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
                let label_name = rel(root, label_path.as_ref().expect("read above"));
                for (line_no, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() {
                        continue;
                    }
                    let item = format!("{label_name}:{}", line_no + 1);
                    match parse_yolo_line(line, &names, max_points) {
                        Ok(a) => annotations.push(a),
                        Err(reason) => skipped.push(SkippedItem::annotation(item, reason)),
                    }
                }
            }
            images.push(PlannedImage { path: path.clone(), filename: rel(root, path), class_label: None, annotations });
        }
    }
    Ok(ImportPlan { format: ImportFormat::Yolo, images, skipped })
}

/// `…/images/…/x.jpg` → `…/labels/…/x.txt` (the last `images` component), as Ultralytics does.
fn yolo_label_path(image: &Path) -> Option<PathBuf> {
    let comps: Vec<_> = image.components().collect();
    let pos = comps.iter().rposition(|c| c.as_os_str() == "images")?;
    let mut out = PathBuf::new();
    for (i, c) in comps.iter().enumerate() {
        if i == pos {
            out.push("labels");
        } else {
            out.push(c.as_os_str());
        }
    }
    Some(out.with_extension("txt"))
}

fn parse_yolo_line(line: &str, names: &BTreeMap<u32, String>, max_points: usize) -> Result<PlannedAnnotation, String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let cls: u32 = tokens[0].parse().map_err(|_| format!("class id `{}` is not a non-negative integer", tokens[0]))?;
    let class_label = names.get(&cls).cloned().ok_or_else(|| format!("class id {cls} is not in data.yaml names"))?;
    let nums: Vec<f64> = tokens[1..]
        .iter()
        .map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| format!("`{t}` is not a number")))
        .collect::<Result<_, _>>()?;
    let geometry = match nums.len() {
        4 => Geometry::NormBox([nums[0], nums[1], nums[2], nums[3]]),
        n if n >= 6 && n % 2 == 0 && n / 2 > max_points => return Err(af_core::annotation::too_many_points(n / 2, max_points)),
        n if n >= 6 && n % 2 == 0 => Geometry::NormPolygon(nums.chunks(2).map(|c| [c[0], c[1]]).collect()),
        n => return Err(format!("expected `cls cx cy w h` or `cls x1 y1 … xn yn` (≥ 3 points), got {n} numbers")),
    };
    Ok(PlannedAnnotation { geometry, class_label })
}

// ---- ImageFolder ----

fn scan_image_folder(root: &Path, files: &[PathBuf]) -> Result<ImportPlan, ImportError> {
    let mut images = Vec::new();
    let mut skipped = Vec::new();
    for path in files.iter().filter(|p| is_image(p)) {
        let parts: Vec<String> =
            path.strip_prefix(root).unwrap_or(path).components().map(|c| c.as_os_str().to_string_lossy().to_string()).collect();
        // `<class>/<img>` or `<split>/<class>/<img>` (possibly under one wrapping folder).
        let class = if parts.len() >= 2 { Some(parts[parts.len() - 2].clone()) } else { None };
        match class {
            Some(c) if !["train", "val", "valid", "test", "images"].contains(&c.as_str()) => {
                images.push(PlannedImage { path: path.clone(), filename: rel(root, path), class_label: Some(c), annotations: Vec::new() })
            }
            _ => skipped.push(SkippedItem::image(rel(root, path), "not inside a class directory")),
        }
    }
    if images.is_empty() {
        return Err(ImportError::Invalid("no images in class directories (expected [train|val/]<class>/<image>)".into()));
    }
    Ok(ImportPlan { format: ImportFormat::ImageFolder, images, skipped })
}

// ---- zip ----

/// Most entries an archive may have.
pub const MAX_ZIP_ENTRIES: usize = 200_000;

/// Unpacks `zip_path` into `dest`, refusing entries that would land outside it (`..`,
/// absolute paths), symbolic links, more than [`MAX_ZIP_ENTRIES`] entries, and more than
/// `max_bytes` unpacked in total (counted while copying, not trusted from the headers).
pub fn extract_zip(zip_path: &Path, dest: &Path, max_bytes: u64) -> Result<(), ImportError> {
    let file = File::open(zip_path)?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|_| ImportError::Invalid("not a valid zip archive: send the dataset as a .zip file (COCO, YOLO or ImageFolder inside)".into()))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(ImportError::TooLarge(format!("the archive has {} entries (at most {MAX_ZIP_ENTRIES})", archive.len())));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|_| ImportError::Invalid(format!("zip entry {i} cannot be read (a corrupt or unsupported archive; try zipping it again)")))?;
        let name = entry.name().to_string();
        let Some(relative) = entry.enclosed_name() else {
            return Err(ImportError::Invalid(format!("zip entry `{name}` points outside the archive")));
        };
        if entry.is_symlink() {
            return Err(ImportError::Invalid(format!("zip entry `{name}` is a symbolic link")));
        }
        let out = dest.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&out)?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = File::create(&out)?;
        let remaining = max_bytes.saturating_sub(total);
        let copied = std::io::copy(&mut (&mut entry).take(remaining + 1), &mut f)?;
        total += copied;
        if total > max_bytes {
            return Err(ImportError::TooLarge(format!("the archive unpacks to more than {max_bytes} bytes")));
        }
        f.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    #[test]
    fn yolo_labels_become_boxes_and_polygons() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "data.yaml", b"path: .\ntrain: images/train\nval: images/val\nnames:\n  0: cat\n  1: dog\n");
        write(d.path(), "images/train/a.png", b"img");
        write(d.path(), "labels/train/a.txt", b"0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.3 0.1 0.2 0.3\n7 0.5 0.5 0.1 0.1\n0 0.5 0.5\n");
        write(d.path(), "images/val/b.jpg", b"img");
        let plan = scan(d.path(), None, usize::MAX).unwrap();
        assert_eq!(plan.format, ImportFormat::Yolo);
        assert_eq!(plan.images.len(), 2);
        let a = &plan.images[0];
        assert_eq!(a.filename, "images/train/a.png");
        assert_eq!(a.annotations.len(), 2);
        assert_eq!(a.annotations[0].class_label, "cat");
        let (ty, data) = a.annotations[0].geometry.to_pixels(100, 50);
        assert_eq!(ty, AnnotationType::Box);
        assert_eq!(data, json!({"corners": [[40.0, 15.0], [60.0, 15.0], [60.0, 35.0], [40.0, 35.0]]}));
        assert_eq!(a.annotations[1].geometry.to_pixels(10, 10).0, AnnotationType::Polygon);
        assert_eq!(plan.skipped.len(), 2);
        assert!(plan.skipped[0].reason.contains("class id 7"));
        assert_eq!(plan.skipped[1].item, "labels/train/a.txt:4");
        assert!(plan.images[1].annotations.is_empty(), "an image without a label file is a background image");
    }

    #[test]
    fn coco_polygons_boxes_and_missing_files() {
        let d = tempfile::tempdir().unwrap();
        let coco = json!({
            "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}, {"id": 2, "file_name": "gone.png"}],
            "annotations": [
                {"id": 10, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "segmentation": []},
                {"id": 11, "image_id": 1, "category_id": 4, "bbox": [0, 0, 5, 5], "segmentation": [[0, 0, 5, 0, 5, 5]]},
                {"id": 12, "image_id": 1, "category_id": 99, "bbox": [0, 0, 1, 1]},
                {"id": 13, "image_id": 2, "category_id": 3, "bbox": [0, 0, 1, 1]}
            ],
            "categories": [{"id": 3, "name": "cat"}, {"id": 4, "name": "dog"}]
        });
        write(d.path(), "annotations/instances.json", coco.to_string().as_bytes());
        write(d.path(), "images/a.png", b"img");
        let plan = scan(d.path(), None, usize::MAX).unwrap();
        assert_eq!(plan.format, ImportFormat::Coco);
        assert_eq!(plan.images.len(), 1);
        let anns = &plan.images[0].annotations;
        assert_eq!(anns.len(), 2);
        assert_eq!(anns[0].geometry.to_pixels(10, 10), (AnnotationType::Box, json!({"corners": [[1.0, 2.0], [4.0, 2.0], [4.0, 6.0], [1.0, 6.0]]})));
        assert_eq!(anns[1].geometry.to_pixels(10, 10).0, AnnotationType::Polygon);
        let reasons: Vec<&str> = plan.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("not found")));
        assert!(reasons.iter().any(|r| r.contains("category_id 99")));
    }

    #[test]
    fn image_folder_uses_directory_names() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "train/cat/1.png", b"img");
        write(d.path(), "val/dog/2.jpg", b"img");
        write(d.path(), "stray.png", b"img");
        let plan = scan(d.path(), None, usize::MAX).unwrap();
        assert_eq!(plan.format, ImportFormat::ImageFolder);
        let labels: Vec<_> = plan.images.iter().map(|i| i.class_label.clone().unwrap()).collect();
        assert_eq!(labels, vec!["cat", "dog"]);
        assert_eq!(plan.skipped.len(), 1);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(scan(empty.path(), None, usize::MAX), Err(ImportError::Invalid(_))));
    }

    #[test]
    fn names_resolve_inside_the_root_only() {
        let outer = tempfile::tempdir().unwrap();
        write(outer.path(), "secret.png", b"outside");
        let root_dir = outer.path().join("data");
        write(&root_dir, "images/a.png", b"img");
        write(&root_dir, "ann/coco.json", b"{}");
        let root = std::fs::canonicalize(&root_dir).unwrap();
        let ann = root.join("ann");
        assert_eq!(resolve(&root, &ann, "../images/a.png"), Resolved::File(root.join("images/a.png")));
        assert_eq!(resolve(&root, &ann, "..\\images\\a.png"), Resolved::File(root.join("images/a.png")));
        assert_eq!(resolve(&root, &root, "images"), Resolved::Dir(root.join("images")));
        assert_eq!(resolve(&root, &ann, "nope.png"), Resolved::Missing);
        // Above the root, existing or not, and absolute: the same answer, decided lexically.
        for name in ["../../secret.png", "../../missing.png", "../secret.png", "/etc/passwd", "/definitely/not/here.png"] {
            assert_eq!(resolve(&root, &root, name), Resolved::Outside, "{name}");
        }
        assert_eq!(resolve(&root, &ann, "../../secret.png"), Resolved::Outside);
        // Links: followed inside the root, never out of it (dangling ones neither).
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outer.path().join("secret.png"), root.join("out.png")).unwrap();
            std::os::unix::fs::symlink(outer.path().join("missing.png"), root.join("dangling.png")).unwrap();
            std::os::unix::fs::symlink(outer.path(), root.join("up")).unwrap();
            std::os::unix::fs::symlink(root.join("images/a.png"), root.join("in.png")).unwrap();
            assert_eq!(resolve(&root, &root, "out.png"), Resolved::Outside);
            assert_eq!(resolve(&root, &root, "dangling.png"), Resolved::Outside);
            assert_eq!(resolve(&root, &root, "up/secret.png"), Resolved::Outside);
            assert_eq!(resolve(&root, &root, "up/missing.png"), Resolved::Outside);
            assert_eq!(resolve(&root, &root, "in.png"), Resolved::File(root.join("images/a.png")));
        }
    }

    #[test]
    fn coco_names_outside_the_dataset_are_skipped_alike() {
        let outer = tempfile::tempdir().unwrap();
        write(outer.path(), "exists.png", b"outside");
        let root = outer.path().join("data");
        let coco = json!({
            "images": [
                {"id": 1, "file_name": "../../exists.png"},
                {"id": 2, "file_name": "../../missing.png"},
                {"id": 3, "file_name": outer.path().join("exists.png").to_string_lossy()},
                {"id": 4, "file_name": "images/a.png"},
                // Inside the root relative to `images/`, outside relative to the JSON file.
                {"id": 5, "file_name": "../exists.png"},
                {"id": 6, "file_name": "../missing.png"},
                {"id": 7, "file_name": "nowhere.png"}
            ],
            "annotations": [{"id": 9, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}],
            "categories": [{"id": 1, "name": "x"}]
        });
        write(&root, "coco.json", coco.to_string().as_bytes());
        write(&root, "images/a.png", b"img");
        let plan = scan(&root, Some(ImportFormat::Coco), usize::MAX).unwrap();
        assert_eq!(plan.images.iter().map(|i| i.filename.as_str()).collect::<Vec<_>>(), ["images/a.png"]);
        let reasons: Vec<&str> = plan.skipped.iter().filter(|s| s.kind == SkipKind::Image).map(|s| s.reason.as_str()).collect();
        assert_eq!(reasons[..5], [OUTSIDE_REASON; 5]);
        assert_eq!(reasons[5], "image file not found in the dataset");
        assert!(!OUTSIDE_REASON.contains(&*outer.path().to_string_lossy()));
    }

    #[test]
    fn yolo_entries_and_labels_stay_inside_the_root() {
        let outer = tempfile::tempdir().unwrap();
        write(outer.path(), "elsewhere/images/x.png", b"img");
        let root = outer.path().join("data");
        write(&root, "data.yaml", b"path: ../elsewhere\ntrain: ../elsewhere/images\nnames: [cat]\n");
        write(&root, "images/a.png", b"img");
        write(outer.path(), "secret.txt", b"0 0.5 0.5 0.1 0.1\n");
        #[cfg(unix)]
        {
            std::fs::create_dir_all(root.join("labels")).unwrap();
            std::os::unix::fs::symlink(outer.path().join("secret.txt"), root.join("labels/a.txt")).unwrap();
        }
        let plan = scan(&root, Some(ImportFormat::Yolo), usize::MAX).unwrap();
        assert_eq!(plan.images.len(), 1);
        assert_eq!(plan.images[0].filename, "images/a.png");
        assert!(plan.images[0].annotations.is_empty(), "a label file linked from outside is not read");
    }

    fn zip_with(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        let mut w = zip::ZipWriter::new(f.reopen().unwrap());
        for (name, bytes) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
        f
    }

    #[test]
    fn zip_extraction_refuses_escapes_and_bombs() {
        let ok = zip_with(&[("a/b.txt", b"hello")]);
        let d = tempfile::tempdir().unwrap();
        extract_zip(ok.path(), d.path(), 1000).unwrap();
        assert_eq!(std::fs::read(d.path().join("a/b.txt")).unwrap(), b"hello");

        let evil = zip_with(&[("../escape.txt", b"x")]);
        let d2 = tempfile::tempdir().unwrap();
        let err = extract_zip(evil.path(), &d2.path().join("inner"), 1000).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        assert!(!d2.path().join("escape.txt").exists());

        let big = zip_with(&[("big.bin", &vec![0u8; 10_000])]);
        let d3 = tempfile::tempdir().unwrap();
        assert!(matches!(extract_zip(big.path(), d3.path(), 5_000), Err(ImportError::TooLarge(_))));

        let not_zip = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(not_zip.path(), b"plain text").unwrap();
        assert!(matches!(extract_zip(not_zip.path(), d3.path(), 5_000), Err(ImportError::Invalid(_))));
    }
}

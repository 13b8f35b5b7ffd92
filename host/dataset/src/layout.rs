//! Stage 3: the Ultralytics layout on disk.
//!
//! - detect / segment: `images/{train,val,test}/<name>`, `labels/<same>/<stem>.txt` (one line
//!   per object, `cls cx cy w h` or `cls x1 y1 … xn yn`, 6 decimals, `\n` after every line;
//!   an image without objects gets an empty file: a background image), and `data.yaml`;
//! - classify: ImageFolder, `{train,val,test}/<class dir>/<name>`, with every class directory
//!   present in every subset (Ultralytics builds class indices per split folder).
//!
//! `<name>` is `<image id>_<original file name>` with unsafe characters replaced, so images
//! of several projects never collide. Images are hard-linked when the file system allows it
//! and copied otherwise.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use af_plugin_host::{ImageLabels, Label};
use serde::{Deserialize, Serialize};

use crate::error::DatasetError;
use crate::records::ImageRecord;

/// A subset of the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subset {
    Train,
    Val,
    Test,
}

impl Subset {
    pub const ALL: [Subset; 3] = [Subset::Train, Subset::Val, Subset::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            Subset::Train => "train",
            Subset::Val => "val",
            Subset::Test => "test",
        }
    }
}

/// Image extensions Ultralytics 8.4 reads (`IMG_FORMATS`), compared case-insensitively.
pub const IMAGE_EXTENSIONS: &[&str] = &["bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"];

/// The dataset file name of an image: `<id>_<file name>`, keeping only `[A-Za-z0-9._-]`.
pub fn file_name(image: &ImageRecord) -> Result<String, DatasetError> {
    let original = image.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = Path::new(&original).extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
    if !ext.as_deref().is_some_and(|e| IMAGE_EXTENSIONS.contains(&e)) {
        return Err(DatasetError::UnsupportedImageFormat { image_id: image.id, path: image.path.clone() });
    }
    let safe: String = original.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect();
    Ok(format!("{}_{}", image.id, safe))
}

/// A label file's text: one line per label, `\n` after every line.
pub fn label_text(labels: ImageLabels<'_>) -> String {
    let mut s = String::new();
    for label in labels.iter() {
        match label {
            Label::Bbox { class_id, cx, cy, w, h } => {
                writeln!(s, "{class_id} {cx:.6} {cy:.6} {w:.6} {h:.6}").unwrap();
            }
            Label::Polygon { class_id, points } => {
                write!(s, "{class_id}").unwrap();
                for [x, y] in points {
                    write!(s, " {x:.6} {y:.6}").unwrap();
                }
                s.push('\n');
            }
            // Classification has no label files: the class is the directory.
            Label::ImageClass(_) => {}
        }
    }
    s
}

/// A YAML scalar that is always read back as this exact string (JSON strings are YAML).
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// `data.yaml` for detect / segment.
pub fn data_yaml(root: &Path, names: &[String], with_test: bool) -> String {
    let mut y = String::new();
    writeln!(y, "path: {}", yaml_str(&root.display().to_string())).unwrap();
    writeln!(y, "train: images/train").unwrap();
    writeln!(y, "val: images/val").unwrap();
    if with_test {
        writeln!(y, "test: images/test").unwrap();
    }
    writeln!(y, "nc: {}", names.len()).unwrap();
    writeln!(y, "names:").unwrap();
    for (i, n) in names.iter().enumerate() {
        writeln!(y, "  {i}: {}", yaml_str(n)).unwrap();
    }
    y
}

/// Class directory names for an ImageFolder dataset. Ultralytics numbers classes by sorted
/// directory name, so when the class names sorted are not in class-id order, every name is
/// prefixed with its zero-padded id (`00_zebra`, `01_ant`) to keep the ids. Unsafe
/// characters are replaced.
pub fn class_dirs(names: &[String]) -> Vec<String> {
    let safe: Vec<String> = names
        .iter()
        .map(|n| n.chars().map(|c| if c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ' ') { c } else { '_' }).collect::<String>())
        .map(|n| if n.trim_matches('.').is_empty() { "_".to_string() } else { n })
        .collect();
    let in_order = safe.windows(2).all(|w| w[0] < w[1]);
    if in_order {
        return safe;
    }
    let width = names.len().saturating_sub(1).to_string().len();
    safe.iter().enumerate().map(|(i, n)| format!("{i:0width$}_{n}")).collect()
}

/// Creates the dataset root, which must not exist or be empty.
pub fn create_root(root: &Path) -> Result<(), DatasetError> {
    if root.exists() {
        let mut entries = fs::read_dir(root).map_err(DatasetError::io(format!("reading {}", root.display())))?;
        if entries.next().is_some() {
            return Err(DatasetError::OutputNotEmpty(root.to_path_buf()));
        }
    }
    fs::create_dir_all(root).map_err(DatasetError::io(format!("creating {}", root.display())))
}

pub fn create_dir(dir: &Path) -> Result<(), DatasetError> {
    fs::create_dir_all(dir).map_err(DatasetError::io(format!("creating {}", dir.display())))
}

/// Places an image: a hard link when possible, a copy otherwise. Returns true if linked.
pub fn place_image(image: &ImageRecord, dest: &Path) -> Result<bool, DatasetError> {
    if !image.path.is_file() {
        return Err(DatasetError::Io {
            context: format!("image {} ({})", image.id, image.path.display()),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "the image file is missing"),
        });
    }
    match fs::hard_link(&image.path, dest) {
        Ok(()) => Ok(true),
        Err(_) => {
            fs::copy(&image.path, dest).map_err(DatasetError::io(format!("copying {} to {}", image.path.display(), dest.display())))?;
            Ok(false)
        }
    }
}

pub fn write_file(path: &Path, contents: &str) -> Result<(), DatasetError> {
    fs::write(path, contents).map_err(DatasetError::io(format!("writing {}", path.display())))
}

/// The label file of an image file in `images/<subset>/`.
pub fn label_path(root: &Path, subset: Subset, image_file: &str) -> PathBuf {
    let stem = Path::new(image_file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    root.join("labels").join(subset.as_str()).join(format!("{stem}.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use af_plugin_host::bindings::converter::{ConvertResult, Labels};

    fn image(path: &str) -> ImageRecord {
        ImageRecord { id: 7, project_id: 1, path: path.into(), width: 10, height: 10, class_label: None, metadata: Default::default() }
    }

    #[test]
    fn label_lines_use_six_decimals_with_round_half_even() {
        // A box and a polygon in the first image, nothing in the second.
        let labels = Labels {
            per_image: vec![2, 0],
            class_ids: vec![3, 0],
            coord_counts: vec![4, 6],
            coords: vec![10.0 / 256.0, 0.5, 0.1234565, 1.0, 0.0, 1.0, 0.25, 0.5, 1.0 / 3.0, 0.75],
        };
        let result = ConvertResult { labels, warnings: vec![] };
        let texts: Vec<String> = result.images().map(|i| label_text(i.labels)).collect();
        assert_eq!(texts, ["3 0.039062 0.500000 0.123456 1.000000\n0 0.000000 1.000000 0.250000 0.500000 0.333333 0.750000\n", ""]);
    }

    #[test]
    fn file_names_are_prefixed_sanitised_and_need_an_image_extension() {
        assert_eq!(file_name(&image("/data/a b/Cat photo (1).JPG")).unwrap(), "7_Cat_photo__1_.JPG");
        assert!(matches!(file_name(&image("/data/notes.txt")), Err(DatasetError::UnsupportedImageFormat { image_id: 7, .. })));
        assert!(file_name(&image("/data/noext")).is_err());
    }

    #[test]
    fn data_yaml_quotes_names() {
        let y = data_yaml(Path::new("/tmp/ds"), &["cat".into(), "a: b".into()], false);
        assert_eq!(y, "path: \"/tmp/ds\"\ntrain: images/train\nval: images/val\nnc: 2\nnames:\n  0: \"cat\"\n  1: \"a: b\"\n");
        assert!(data_yaml(Path::new("/x"), &["a".into()], true).contains("test: images/test\n"));
    }

    #[test]
    fn class_dirs_keep_ids_in_sorted_order() {
        assert_eq!(class_dirs(&["ant".into(), "bee".into()]), vec!["ant", "bee"]);
        assert_eq!(class_dirs(&["zebra".into(), "ant".into()]), vec!["0_zebra", "1_ant"]);
        assert_eq!(class_dirs(&["a/b".into(), "..".into()]), vec!["0_a_b", "1__"]);
        let many: Vec<String> = (0..12).map(|i| format!("c{}", 11 - i)).collect();
        assert_eq!(class_dirs(&many)[0], "00_c11");
    }

    #[test]
    fn label_path_mirrors_the_image_path() {
        assert_eq!(label_path(Path::new("/d"), Subset::Val, "7_x.y.png"), PathBuf::from("/d/labels/val/7_x.y.txt"));
    }
}

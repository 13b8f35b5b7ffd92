//! The one error type of dataset preparation: each variant says what to fix.

use std::path::PathBuf;

use af_plugin_host::PluginError;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// Nothing to train on.
    #[error("no images to prepare: {0}")]
    NoImages(String),
    /// Classes of the mapping that no label uses: the model would have outputs never trained.
    #[error("class{} {} in the class mapping {} no instances in the selected data; remove {} from the mapping or annotate some images", if .0.len() == 1 { "" } else { "es" }, .0.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "), if .0.len() == 1 { "has" } else { "have" }, if .0.len() == 1 { "it" } else { "them" })]
    EmptyClasses(Vec<String>),
    /// The split put every image on one side.
    #[error("the split left the {empty} set empty ({train} train, {val} val images); add images, change the ratios or choose another splitter")]
    OneSidedSplit { empty: &'static str, train: usize, val: usize },
    /// The job's choices do not fit together (task, annotation types, plugins).
    #[error("{0}")]
    Incompatible(String),
    /// A plugin failed, refused, or is of the wrong kind.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// An image file Ultralytics would not read.
    #[error("image {image_id} ({path}) has no image file extension Ultralytics reads (bmp, jpeg, jpg, png, tif, tiff, webp, …)")]
    UnsupportedImageFormat { image_id: i64, path: PathBuf },
    /// The output directory already holds files.
    #[error("the dataset directory {0} already exists and is not empty")]
    OutputNotEmpty(PathBuf),
    /// Reading an image or writing the dataset.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl DatasetError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DatasetError {
        let context = context.into();
        move |source| DatasetError::Io { context, source }
    }
}

//! The vocabulary every AnnotateForge crate shares: task types, annotation shapes, class
//! mappings, job statuses. Pure data and validation: no IO, no async, no heavy dependencies,
//! so that everything depending on it compiles and tests in seconds.

pub mod access;
pub mod annotation;
pub mod class_mapping;
pub mod device;
pub mod error;
pub mod hyperparams;
pub mod image_limits;
pub mod job;
pub mod task;

pub use access::{ProjectRole, UserRole};
pub use annotation::{AnnotationData, AnnotationSource, AnnotationType, Point};
pub use class_mapping::ClassMapping;
pub use device::Device;
pub use error::FieldError;
pub use hyperparams::{Hyperparameters, OptimizerKind};
pub use image_limits::{ImageLimits, ImageTooLarge};
pub use job::JobStatus;
pub use task::TaskType;

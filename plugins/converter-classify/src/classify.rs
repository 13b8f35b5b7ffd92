//! The class of an image for classification.
//!
//! The image-level class label wins. An image without one gets a class from the `fallback`
//! option: `none` (the default) leaves it out, `majority` takes the class most of its shape
//! annotations map to (a tie leaves it out: there is no fair way to break it). An image-level
//! label that is not in the class mapping leaves the image out: the user named its class.

use af_plugin_common::batch::{ImageConverter, ImageHead, LabelColumns};
use af_plugin_common::{Annotation, ClassTable, Kind, Settings, Warning, WarningReason};

pub const NAME: &str = "converter-classify";
pub const DESCRIPTION: &str = "The image-level class label, or optionally the majority class of the image's annotations when it has none.";

pub const OPT_FALLBACK: &str = "fallback";
pub const OPT_FALLBACK_DEFAULT: &str = "none";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fallback {
    #[default]
    None,
    Majority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub fallback: Fallback,
}

impl Options {
    pub fn from_settings(s: &Settings) -> Result<Self, String> {
        let fallback = match s.text(OPT_FALLBACK, OPT_FALLBACK_DEFAULT)? {
            "none" => Fallback::None,
            "majority" => Fallback::Majority,
            other => return Err(format!("option `{OPT_FALLBACK}` must be `none` or `majority`, got `{other}`")),
        };
        Ok(Self { fallback })
    }
}

/// The converter the component runs: at most one label per image, with no numbers.
impl ImageConverter for Options {
    fn from_settings(settings: &Settings) -> Result<Self, String> {
        Options::from_settings(settings)
    }

    fn convert_image(&self, image: &ImageHead, annotations: &[Annotation<'_>], classes: &ClassTable, labels: &mut LabelColumns, warnings: &mut Vec<Warning>) {
        // Only the class labels of shape annotations count for the rule; geometry does not.
        let shapes: Vec<Annotation> = annotations.iter().filter(|a| a.kind != Kind::ImageClass).copied().collect();
        match convert(image.class_label, &shapes, classes, self) {
            Ok(class_id) => labels.push(class_id, &[]),
            Err(w) => warnings.push(w),
        }
    }
}

/// The class id of the image, or the warning that says why it has none.
/// `image_label` is the image-level class label, as an index into `classes`.
pub fn convert(image_label: Option<u32>, annotations: &[Annotation], classes: &ClassTable, options: &Options) -> Result<u32, Warning> {
    if let Some(label) = image_label {
        return classes.class_id(label).ok_or_else(|| {
            Warning::image(WarningReason::UnmappedClass, format!("the image's class label `{}` is not in the class mapping", classes.label(label)))
        });
    }
    match options.fallback {
        Fallback::None => Err(Warning::image(WarningReason::NoClassLabel, "the image has no class label")),
        Fallback::Majority => majority(annotations, classes),
    }
}

fn majority(annotations: &[Annotation], classes: &ClassTable) -> Result<u32, Warning> {
    let mut counts = vec![0usize; classes.num_classes() as usize];
    for a in annotations {
        if let Some(id) = classes.class_id(a.class) {
            counts[id as usize] += 1;
        }
    }
    let best = counts.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return Err(Warning::image(WarningReason::NoClassLabel, "the image has no class label and no annotation with a mapped class"));
    }
    let winners: Vec<u32> = (0..counts.len() as u32).filter(|&i| counts[i as usize] == best).collect();
    match winners.as_slice() {
        [one] => Ok(*one),
        tied => Err(Warning::image(
            WarningReason::AmbiguousClass,
            format!("no class label, and classes {tied:?} tie for the majority of its annotations ({best} each)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use af_plugin_common::{Kind, OptionValue, Shape};

    fn classes() -> ClassTable {
        ClassTable::new([("cat".to_string(), Some(0)), ("dog".to_string(), Some(1)), ("puppy".to_string(), Some(1)), ("horse".to_string(), None)], 2)
    }

    fn ann(label: &str) -> Annotation<'static> {
        Annotation { id: 1, kind: Kind::Box, shape: Shape::None, class: classes().index_of(label).unwrap() }
    }

    const MAJORITY: Options = Options { fallback: Fallback::Majority };

    #[test]
    fn image_label_wins() {
        assert_eq!(convert(classes().index_of("puppy"), &[ann("cat"), ann("cat")], &classes(), &MAJORITY), Ok(1));
        let w = convert(classes().index_of("horse"), &[ann("cat")], &classes(), &MAJORITY).unwrap_err();
        assert_eq!((w.annotation_id, w.reason), (None, WarningReason::UnmappedClass));
    }

    #[test]
    fn no_label_is_skipped_by_default() {
        let w = convert(None, &[ann("cat")], &classes(), &Options::default()).unwrap_err();
        assert_eq!(w.reason, WarningReason::NoClassLabel);
    }

    #[test]
    fn majority_counts_mapped_annotations_and_refuses_ties() {
        assert_eq!(convert(None, &[ann("dog"), ann("cat"), ann("puppy"), ann("horse")], &classes(), &MAJORITY), Ok(1));
        assert_eq!(convert(None, &[ann("dog"), ann("cat")], &classes(), &MAJORITY).unwrap_err().reason, WarningReason::AmbiguousClass);
        assert_eq!(convert(None, &[ann("horse")], &classes(), &MAJORITY).unwrap_err().reason, WarningReason::NoClassLabel);
    }

    #[test]
    fn fallback_option_is_checked() {
        let s = |v: &str| Settings::new([(OPT_FALLBACK.to_string(), OptionValue::Text(v.into()))]);
        assert_eq!(Options::from_settings(&s("majority")).unwrap(), MAJORITY);
        assert!(Options::from_settings(&s("vote")).is_err());
    }
}

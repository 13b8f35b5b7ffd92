//! How annotation class labels become the class ids a model is trained on.
//!
//! The job config's `class_mapping` is a JSON object `{ "<class_label>": <class id> }`.
//! Several labels may map to the same id (merging, e.g. `{"cat": 0, "kitty": 0}`); the set of
//! ids used must be exactly `0..n` with no gaps, since ids index the model's outputs. The class
//! *name* of an id is the one given in the job's optional `class_names` list, else the first
//! label (in sorted order) mapped to it. Labels absent from the mapping are not trained on; the
//! converter reports each skipped annotation.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::error::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, i64>", into = "BTreeMap<String, i64>")]
pub struct ClassMapping {
    labels: BTreeMap<String, u32>,
    num_classes: u32,
}

impl ClassMapping {
    /// Builds and validates a mapping: non-empty, non-blank labels, ids exactly `0..n`.
    pub fn new(labels: BTreeMap<String, i64>) -> Result<Self, FieldError> {
        if labels.is_empty() {
            return Err(FieldError::new("class_mapping", "map at least one class label to a class id"));
        }
        let mut out = BTreeMap::new();
        for (label, id) in labels {
            if label.trim().is_empty() {
                return Err(FieldError::new("class_mapping", "class labels must not be blank"));
            }
            if !(0..=u32::MAX as i64).contains(&id) {
                return Err(FieldError::new(format!("class_mapping.{label}"), format!("class id {id} must be 0 or greater")));
            }
            out.insert(label, id as u32);
        }
        let ids: BTreeSet<u32> = out.values().copied().collect();
        let n = ids.len() as u32;
        if let Some(missing) = (0..n).find(|i| !ids.contains(i)) {
            return Err(FieldError::new(
                "class_mapping",
                format!("class ids must be 0..{} without gaps; id {missing} is unused (ids used: {ids:?})", n - 1),
            ));
        }
        Ok(Self { labels: out, num_classes: n })
    }

    /// The mapping that numbers the given labels 0..n in sorted order.
    pub fn from_labels<I: IntoIterator<Item = S>, S: Into<String>>(labels: I) -> Result<Self, FieldError> {
        let set: BTreeSet<String> = labels.into_iter().map(Into::into).collect();
        Self::new(set.into_iter().enumerate().map(|(i, l)| (l, i as i64)).collect())
    }

    pub fn num_classes(&self) -> u32 {
        self.num_classes
    }

    /// The class id for an annotation label, or `None` when the label is not mapped.
    pub fn class_id(&self, label: &str) -> Option<u32> {
        self.labels.get(label).copied()
    }

    /// `(label, id)` pairs in label order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.labels.iter().map(|(l, i)| (l.as_str(), *i))
    }

    /// One name per class id. `names` (the job's `class_names`), if given, must have exactly
    /// `num_classes` non-blank, distinct entries; otherwise each id is named after the first
    /// label mapped to it.
    pub fn class_names(&self, names: Option<&[String]>) -> Result<Vec<String>, FieldError> {
        if let Some(names) = names {
            if names.len() as u32 != self.num_classes {
                return Err(FieldError::new(
                    "class_names",
                    format!("expected {} names (one per class id), got {}", self.num_classes, names.len()),
                ));
            }
            let distinct: BTreeSet<&String> = names.iter().collect();
            if distinct.len() != names.len() || names.iter().any(|n| n.trim().is_empty()) {
                return Err(FieldError::new("class_names", "class names must be distinct and not blank"));
            }
            return Ok(names.to_vec());
        }
        let mut out = vec![String::new(); self.num_classes as usize];
        for (label, id) in self.iter() {
            if out[id as usize].is_empty() {
                out[id as usize] = label.to_string();
            }
        }
        Ok(out)
    }
}

impl TryFrom<BTreeMap<String, i64>> for ClassMapping {
    type Error = FieldError;
    fn try_from(value: BTreeMap<String, i64>) -> Result<Self, Self::Error> {
        ClassMapping::new(value)
    }
}

impl From<ClassMapping> for BTreeMap<String, i64> {
    fn from(m: ClassMapping) -> Self {
        m.labels.into_iter().map(|(l, i)| (l, i as i64)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_labels_and_names_classes() {
        let m: ClassMapping = serde_json::from_value(json!({"kitty": 0, "cat": 0, "dog": 1})).unwrap();
        assert_eq!(m.num_classes(), 2);
        assert_eq!(m.class_id("kitty"), Some(0));
        assert_eq!(m.class_id("bird"), None);
        assert_eq!(m.class_names(None).unwrap(), vec!["cat", "dog"]);
        let custom = vec!["feline".to_string(), "canine".to_string()];
        assert_eq!(m.class_names(Some(&custom)).unwrap(), custom);
        assert_eq!(m.class_names(Some(&custom[..1])).unwrap_err().field, "class_names");
    }

    #[test]
    fn rejects_gaps_negatives_and_empty() {
        assert!(serde_json::from_value::<ClassMapping>(json!({})).is_err());
        let e = ClassMapping::new([("a".into(), 0), ("b".into(), 2)].into()).unwrap_err();
        assert!(e.message.contains("id 1 is unused"), "{e}");
        let e = ClassMapping::new([("a".into(), -1)].into()).unwrap_err();
        assert_eq!(e.field, "class_mapping.a");
    }

    #[test]
    fn from_labels_numbers_in_sorted_order() {
        let m = ClassMapping::from_labels(["square", "circle", "triangle", "circle"]).unwrap();
        assert_eq!(m.class_names(None).unwrap(), vec!["circle", "square", "triangle"]);
        assert_eq!(serde_json::to_value(&m).unwrap(), json!({"circle": 0, "square": 1, "triangle": 2}));
    }
}

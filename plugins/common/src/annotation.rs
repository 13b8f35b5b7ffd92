//! Annotations as converters see them, and the class-label → class-id lookup.

/// `(x, y)` in image pixels (requests) or normalised (labels).
pub type Point = (f64, f64);

/// The annotation kinds of the WIT `annotation-kind` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Circle,
    Box,
    Rectangle,
    Polygon,
    ImageClass,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Circle => "circle",
            Kind::Box => "box",
            Kind::Rectangle => "rectangle",
            Kind::Polygon => "polygon",
            Kind::ImageClass => "image_class",
        }
    }
}

/// The geometry of an annotation, in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Circle { x: f64, y: f64, radius: f64 },
    /// Box / rectangle corners (4 expected; converters check).
    Corners(Vec<Point>),
    Polygon(Vec<Point>),
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub id: i64,
    pub kind: Kind,
    pub shape: Shape,
    pub class_label: String,
}

/// Class labels → class ids, looked up by binary search (a `HashMap` would seed itself from
/// the sandbox's random source on first use; a sorted table needs nothing).
#[derive(Debug, Clone, Default)]
pub struct ClassTable {
    entries: Vec<(String, u32)>,
    num_classes: u32,
}

impl ClassTable {
    /// Builds the table; later duplicates of a label are ignored (the host never sends any).
    pub fn new(entries: impl IntoIterator<Item = (String, u32)>, num_classes: u32) -> Self {
        let mut entries: Vec<(String, u32)> = entries.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|b, a| a.0 == b.0);
        Self { entries, num_classes }
    }

    pub fn num_classes(&self) -> u32 {
        self.num_classes
    }

    /// The id of `label`, or `None` when the label is not mapped (or maps out of range).
    pub fn class_id(&self, label: &str) -> Option<u32> {
        let i = self.entries.binary_search_by(|(l, _)| l.as_str().cmp(label)).ok()?;
        let id = self.entries[i].1;
        (id < self.num_classes).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_merged_labels_and_rejects_unknown_or_out_of_range() {
        let t = ClassTable::new([("dog".into(), 1), ("cat".into(), 0), ("kitty".into(), 0), ("bad".into(), 7)], 2);
        assert_eq!(t.class_id("cat"), Some(0));
        assert_eq!(t.class_id("kitty"), Some(0));
        assert_eq!(t.class_id("dog"), Some(1));
        assert_eq!(t.class_id("bird"), None);
        assert_eq!(t.class_id("bad"), None, "ids must lie in 0..num_classes");
        assert_eq!(t.class_id(""), None);
    }
}

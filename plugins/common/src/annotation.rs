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
    /// The kind a request's `kinds` list names by its number in the WIT enum.
    #[inline]
    pub fn from_number(n: u8) -> Result<Kind, String> {
        Ok(match n {
            0 => Kind::Circle,
            1 => Kind::Box,
            2 => Kind::Rectangle,
            3 => Kind::Polygon,
            4 => Kind::ImageClass,
            other => return Err(format!("annotation kind {other} is not one of 0 (circle) to 4 (image-class)")),
        })
    }

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

/// An `[x, y]` pair as requests carry it (the host's `af_core::Point` has the same layout).
pub type Xy = [f64; 2];

/// The geometry of an annotation, in image pixels, borrowed from the request: converters
/// read it in place, so a request's numbers are never copied per annotation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape<'a> {
    Circle { x: f64, y: f64, radius: f64 },
    /// Box / rectangle corners (4 expected; converters check).
    Corners(&'a [Xy]),
    Polygon(&'a [Xy]),
    /// Numbers that cannot be this kind's geometry: a circle without exactly 3, an odd
    /// count of `x, y` numbers. Converters report it as invalid geometry.
    Malformed { numbers: usize },
    None,
}

impl<'a> Shape<'a> {
    /// Reads an annotation's numbers of the request's `coords` as the geometry of its `kind`: a
    /// circle is `x, y, radius`, box / rectangle / polygon are `x, y` pairs, image-class has
    /// none.
    #[inline]
    pub fn from_coords(kind: Kind, coords: &'a [f64]) -> Shape<'a> {
        let pairs = |wrap: fn(&'a [Xy]) -> Shape<'a>| match coords.as_chunks::<2>() {
            (pairs, []) => wrap(pairs),
            _ => Shape::Malformed { numbers: coords.len() },
        };
        match kind {
            Kind::Circle => match coords {
                [x, y, radius] => Shape::Circle { x: *x, y: *y, radius: *radius },
                _ => Shape::Malformed { numbers: coords.len() },
            },
            Kind::Box | Kind::Rectangle => pairs(Shape::Corners),
            Kind::Polygon => pairs(Shape::Polygon),
            Kind::ImageClass => Shape::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Annotation<'a> {
    pub id: i64,
    pub kind: Kind,
    pub shape: Shape<'a>,
    /// Index into the request's [`ClassTable`].
    pub class: u32,
}

/// The class labels of one request, each with the class id the job's mapping gives it (the
/// host resolves the mapping; `None`: not mapped). Annotations refer to them by index.
#[derive(Debug, Clone, Default)]
pub struct ClassTable {
    entries: Vec<(String, Option<u32>)>,
    num_classes: u32,
}

impl ClassTable {
    pub fn new(entries: impl IntoIterator<Item = (String, Option<u32>)>, num_classes: u32) -> Self {
        Self { entries: entries.into_iter().collect(), num_classes }
    }

    pub fn num_classes(&self) -> u32 {
        self.num_classes
    }

    /// The class id of label `index`, or `None` when the label is not mapped, maps out of
    /// range or the index is not in the table.
    #[inline]
    pub fn class_id(&self, index: u32) -> Option<u32> {
        let id = self.entries.get(index as usize)?.1?;
        (id < self.num_classes).then_some(id)
    }

    /// The index of `label` in the table (tests and tools build annotations with it).
    pub fn index_of(&self, label: &str) -> Option<u32> {
        self.entries.iter().position(|e| e.0 == label).map(|i| i as u32)
    }

    /// The text of label `index` (for messages); empty when the index is not in the table.
    pub fn label(&self, index: u32) -> &str {
        self.entries.get(index as usize).map_or("", |e| e.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flat_coordinates_by_kind() {
        assert_eq!(Shape::from_coords(Kind::Circle, &[1.0, 2.0, 3.0]), Shape::Circle { x: 1.0, y: 2.0, radius: 3.0 });
        assert_eq!(Shape::from_coords(Kind::Circle, &[1.0, 2.0]), Shape::Malformed { numbers: 2 });
        assert_eq!(Shape::from_coords(Kind::Box, &[0.0, 1.0, 2.0, 3.0]), Shape::Corners(&[[0.0, 1.0], [2.0, 3.0]]));
        assert_eq!(Shape::from_coords(Kind::Polygon, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), Shape::Polygon(&[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]));
        assert_eq!(Shape::from_coords(Kind::Polygon, &[0.0, 1.0, 2.0]), Shape::Malformed { numbers: 3 });
        assert_eq!(Shape::from_coords(Kind::ImageClass, &[]), Shape::None);
    }

    #[test]
    fn resolves_indices_and_rejects_unmapped_out_of_range_or_unknown() {
        let t = ClassTable::new([("cat".into(), Some(0)), ("kitty".into(), Some(0)), ("dog".into(), Some(1)), ("bird".into(), None), ("bad".into(), Some(7))], 2);
        assert_eq!((t.class_id(0), t.class_id(1), t.class_id(2)), (Some(0), Some(0), Some(1)));
        assert_eq!(t.class_id(3), None, "unmapped");
        assert_eq!(t.class_id(4), None, "ids must lie in 0..num_classes");
        assert_eq!(t.class_id(5), None, "not in the table");
        assert_eq!((t.label(3), t.label(9)), ("bird", ""));
    }
}

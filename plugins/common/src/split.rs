//! Items and subsets as splitters see them.

/// One image of the dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub image_id: i64,
    pub project_id: i64,
    /// One entry per label instance.
    pub class_ids: Vec<u32>,
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subset {
    Train,
    Val,
    Test,
}

/// Assigns an ordered run of images: the first `val` to val, the next `test` to test, the
/// rest to train.
pub fn assign_in_order(ids: &[i64], val: usize, test: usize, out: &mut Vec<(i64, Subset)>) {
    for (i, &id) in ids.iter().enumerate() {
        let subset = if i < val {
            Subset::Val
        } else if i < val + test {
            Subset::Test
        } else {
            Subset::Train
        };
        out.push((id, subset));
    }
}

//! The stratified split.
//!
//! Each image joins one stratum: its class for a single-label image; for an image with
//! several classes, its *rarest* class (fewest images in the dataset; ties to the lower id),
//! so that rare classes are spread over every subset rather than swamped by common ones;
//! images without labels form a stratum of their own. The dataset-wide counts are those of
//! the random split (`Ratios::counts`), shared among the strata by the largest-remainder
//! method, so each stratum's val (and test) count is within one image of its exact share.
//! Inside a stratum, sorted image ids are shuffled (SplitMix64 seeded by the job's seed, one
//! generator walked through the strata in class order) and cut like the random split.

use std::collections::BTreeMap;

use af_plugin_common::ratio::{apportion, Ratios};
use af_plugin_common::rng::SplitMix64;
use af_plugin_common::split::assign_in_order;
use af_plugin_common::{Item, Subset};

pub const NAME: &str = "split-stratified";
pub const DESCRIPTION: &str = "Keeps each class's share in train, val and test: images are grouped by their (rarest) class and every group is split at the ratios.";

pub fn split(items: &[Item], ratios: Ratios, seed: u64) -> Vec<(i64, Subset)> {
    // Images per class (an image counts once per class it contains).
    let mut images_per_class: BTreeMap<u32, usize> = BTreeMap::new();
    for item in items {
        let mut classes = item.class_ids.clone();
        classes.sort_unstable();
        classes.dedup();
        for c in classes {
            *images_per_class.entry(c).or_default() += 1;
        }
    }
    // Stratum key: Some(rarest class) or None for unlabelled images (sorted last).
    let mut strata: BTreeMap<(bool, u32), Vec<i64>> = BTreeMap::new();
    for item in items {
        let rarest = item.class_ids.iter().copied().min_by_key(|c| (images_per_class[c], *c));
        let key = match rarest {
            Some(c) => (false, c),
            None => (true, 0),
        };
        strata.entry(key).or_default().push(item.image_id);
    }
    let sizes: Vec<usize> = strata.values().map(Vec::len).collect();
    let (_, val, test) = ratios.counts(items.len());
    let val_shares = apportion(val, &sizes);
    let rest: Vec<usize> = sizes.iter().zip(&val_shares).map(|(s, v)| s - v).collect();
    let test_shares = apportion(test, &rest);

    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(items.len());
    for (i, ids) in strata.values_mut().enumerate() {
        ids.sort_unstable();
        rng.shuffle(ids);
        assign_in_order(ids, val_shares[i], test_shares[i], &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(id: i64, classes: &[u32]) -> Item {
        Item { image_id: id, project_id: 1, class_ids: classes.to_vec(), metadata: vec![] }
    }

    fn val_ids(a: &[(i64, Subset)]) -> Vec<i64> {
        let mut v: Vec<i64> = a.iter().filter(|(_, s)| *s == Subset::Val).map(|(i, _)| *i).collect();
        v.sort();
        v
    }

    #[test]
    fn every_class_keeps_its_share() {
        // 80 images of class 0, 20 of class 1: a 25 % val split takes 20 and 5.
        let items: Vec<Item> = (0..100).map(|i| item(i, &[if i < 80 { 0 } else { 1 }])).collect();
        let a = split(&items, Ratios::new(0.75, 0.25, 0.0).unwrap(), 9);
        let val = val_ids(&a);
        assert_eq!(val.len(), 25);
        assert_eq!(val.iter().filter(|&&i| i >= 80).count(), 5);
    }

    #[test]
    fn a_rare_class_is_not_swamped_by_a_common_one() {
        // Class 1 appears only in images that also contain the common class 0.
        let mut items: Vec<Item> = (0..90).map(|i| item(i, &[0])).collect();
        items.extend((90..100).map(|i| item(i, &[0, 0, 1])));
        let a = split(&items, Ratios::new(0.8, 0.2, 0.0).unwrap(), 1);
        let val = val_ids(&a);
        assert_eq!(val.iter().filter(|&&i| i >= 90).count(), 2, "{val:?}");
    }

    #[test]
    fn unlabelled_images_are_split_too() {
        let items: Vec<Item> = (0..10).map(|i| item(i, &[])).collect();
        let a = split(&items, Ratios::new(0.7, 0.3, 0.0).unwrap(), 5);
        assert_eq!(val_ids(&a).len(), 3);
    }

    proptest! {
        #[test]
        fn partition_deterministic_and_proportional(labels in proptest::collection::vec(0u32..4, 0..200), seed: u64, v in 0.1f64..0.5) {
            let items: Vec<Item> = labels.iter().enumerate().map(|(i, c)| item(i as i64, &[*c])).collect();
            let r = Ratios::new(1.0 - v, v, 0.0).unwrap();
            let a = split(&items, r, seed);
            prop_assert_eq!(a.len(), items.len());
            let mut shuffled = items.clone();
            shuffled.reverse();
            let mut b = split(&shuffled, r, seed);
            let mut a2 = a.clone();
            a2.sort();
            b.sort();
            prop_assert_eq!(a2, b, "input order does not matter");
            let (_, val, _) = r.counts(items.len());
            prop_assert_eq!(val_ids(&a).len(), val);
            for c in 0..4u32 {
                let size = labels.iter().filter(|&&l| l == c).count();
                let in_val = a.iter().filter(|(id, s)| *s == Subset::Val && labels[*id as usize] == c).count();
                let quota = size as f64 * val as f64 / items.len().max(1) as f64;
                prop_assert!((in_val as f64 - quota).abs() < 1.0 + 1e-9, "class {} has {} in val, quota {}", c, in_val, quota);
            }
        }
    }
}

//! The group split: no group straddles two subsets, so near-duplicate images (the same
//! scene, patient, camera, …) cannot leak from train into val.
//!
//! Groups: by project (the `group-by` option's default, `project`), or by the value of the
//! image metadata key named in `group-by`; an image without that key is a group of its own.
//! Groups are sorted by key, shuffled (SplitMix64 seeded by the job's seed) and dealt out in
//! that order: a group goes to val if that brings val closer to its target size
//! (`Ratios::counts`), else to test by the same rule, else to train. With two or more groups,
//! a positive val ratio and a positive train ratio, neither side is left empty: the smallest
//! group of the larger side moves over.

use std::collections::BTreeMap;

use af_plugin_common::ratio::Ratios;
use af_plugin_common::rng::SplitMix64;
use af_plugin_common::{Item, Subset};

pub const NAME: &str = "split-group";
pub const DESCRIPTION: &str = "Keeps every image of a project (or of one value of an image metadata key) on the same side of the split.";

pub const OPT_GROUP_BY: &str = "group-by";
pub const OPT_GROUP_BY_DEFAULT: &str = "project";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    Project(i64),
    Value(String),
    /// An image lacking the metadata key.
    Alone(i64),
}

pub fn split(items: &[Item], ratios: Ratios, seed: u64, group_by: &str) -> Vec<(i64, Subset)> {
    let mut groups: BTreeMap<GroupKey, Vec<i64>> = BTreeMap::new();
    for item in items {
        let key = if group_by == OPT_GROUP_BY_DEFAULT {
            GroupKey::Project(item.project_id)
        } else {
            match item.metadata.iter().find(|(k, _)| k == group_by) {
                Some((_, v)) => GroupKey::Value(v.clone()),
                None => GroupKey::Alone(item.image_id),
            }
        };
        groups.entry(key).or_default().push(item.image_id);
    }
    let mut groups: Vec<Vec<i64>> = groups.into_values().collect();
    SplitMix64::new(seed).shuffle(&mut groups);

    let (_, val_target, test_target) = ratios.counts(items.len());
    let (mut val, mut test) = (0usize, 0usize);
    let mut subset_of: Vec<Subset> = Vec::with_capacity(groups.len());
    let closer = |have: usize, add: usize, target: usize| (have + add).abs_diff(target) < have.abs_diff(target);
    for g in &groups {
        let s = if closer(val, g.len(), val_target) {
            val += g.len();
            Subset::Val
        } else if closer(test, g.len(), test_target) {
            test += g.len();
            Subset::Test
        } else {
            Subset::Train
        };
        subset_of.push(s);
    }
    if groups.len() >= 2 {
        if ratios.val > 0.0 && !subset_of.contains(&Subset::Val) {
            move_smallest(&groups, &mut subset_of, Subset::Train, Subset::Val);
        }
        if ratios.train > 0.0 && !subset_of.contains(&Subset::Train) {
            let from = if subset_of.iter().filter(|s| **s == Subset::Val).count() > 1 { Subset::Val } else { Subset::Test };
            move_smallest(&groups, &mut subset_of, from, Subset::Train);
        }
    }
    let mut out = Vec::with_capacity(items.len());
    for (g, s) in groups.iter().zip(&subset_of) {
        out.extend(g.iter().map(|&id| (id, *s)));
    }
    out
}

/// Moves the smallest group of `from` (the first one on ties) to `to`, if `from` has two or
/// more groups.
fn move_smallest(groups: &[Vec<i64>], subset_of: &mut [Subset], from: Subset, to: Subset) {
    let members: Vec<usize> = (0..groups.len()).filter(|&i| subset_of[i] == from).collect();
    if members.len() >= 2 {
        if let Some(&i) = members.iter().min_by_key(|&&i| groups[i].len()) {
            subset_of[i] = to;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn item(id: i64, project: i64, meta: &[(&str, &str)]) -> Item {
        Item { image_id: id, project_id: project, class_ids: vec![], metadata: meta.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn subsets_by<K: std::hash::Hash + Eq>(items: &[Item], a: &[(i64, Subset)], key: impl Fn(&Item) -> K) -> HashMap<K, Vec<Subset>> {
        let of: HashMap<i64, Subset> = a.iter().copied().collect();
        let mut m: HashMap<K, Vec<Subset>> = HashMap::new();
        for i in items {
            m.entry(key(i)).or_default().push(of[&i.image_id]);
        }
        m
    }

    #[test]
    fn projects_stay_together() {
        let items: Vec<Item> = (0..100).map(|i| item(i, i % 5, &[])).collect();
        let a = split(&items, Ratios::new(0.8, 0.2, 0.0).unwrap(), 3, "project");
        for (_, subsets) in subsets_by(&items, &a, |i| i.project_id) {
            assert!(subsets.iter().all(|s| *s == subsets[0]));
        }
        let val = a.iter().filter(|(_, s)| *s == Subset::Val).count();
        assert_eq!(val, 20, "one of five equal projects");
    }

    #[test]
    fn metadata_key_groups_and_images_without_it_stand_alone() {
        let mut items: Vec<Item> = (0..12).map(|i| item(i, 1, &[("patient", ["p1", "p2", "p3"][i as usize % 3])])).collect();
        items.push(item(100, 1, &[]));
        let a = split(&items, Ratios::new(0.7, 0.3, 0.0).unwrap(), 11, "patient");
        for (k, subsets) in subsets_by(&items, &a, |i| i.metadata.first().map(|m| m.1.clone())) {
            assert!(subsets.iter().all(|s| *s == subsets[0]), "{k:?} straddles");
        }
        assert_eq!(a.len(), 13);
    }

    #[test]
    fn one_big_and_one_small_project_still_gives_two_sides() {
        let mut items: Vec<Item> = (0..95).map(|i| item(i, 1, &[])).collect();
        items.extend((95..100).map(|i| item(i, 2, &[])));
        for seed in 0..20 {
            let a = split(&items, Ratios::new(0.99, 0.01, 0.0).unwrap(), seed, "project");
            assert!(a.iter().any(|(_, s)| *s == Subset::Val), "seed {seed}");
            assert!(a.iter().any(|(_, s)| *s == Subset::Train), "seed {seed}");
        }
    }

    #[test]
    fn a_single_group_cannot_be_split() {
        let items: Vec<Item> = (0..10).map(|i| item(i, 1, &[])).collect();
        let a = split(&items, Ratios::new(0.8, 0.2, 0.0).unwrap(), 0, "project");
        let sides: std::collections::BTreeSet<Subset> = a.iter().map(|(_, s)| *s).collect();
        assert_eq!(sides.len(), 1);
    }

    proptest! {
        #[test]
        fn partition_and_deterministic(projects in proptest::collection::vec(0i64..6, 0..150), seed: u64) {
            let items: Vec<Item> = projects.iter().enumerate().map(|(i, p)| item(i as i64, *p, &[])).collect();
            let r = Ratios::new(0.8, 0.2, 0.0).unwrap();
            let a = split(&items, r, seed, "project");
            prop_assert_eq!(a.len(), items.len());
            let mut rev = items.clone();
            rev.reverse();
            let (mut x, mut y) = (a.clone(), split(&rev, r, seed, "project"));
            x.sort();
            y.sort();
            prop_assert_eq!(x, y);
            for (_, subsets) in subsets_by(&items, &a, |i| i.project_id) {
                prop_assert!(subsets.iter().all(|s| *s == subsets[0]));
            }
        }
    }
}

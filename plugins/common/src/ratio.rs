//! Turning split ratios into whole numbers of images.

/// Train / val / test ratios, normalised to sum to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratios {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

impl Ratios {
    /// Checks that the ratios are finite, non-negative and not all zero, and normalises them.
    pub fn new(train: f64, val: f64, test: f64) -> Result<Self, String> {
        for (name, v) in [("train", train), ("val", val), ("test", test)] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("the {name} ratio must be a finite number ≥ 0, got {v}"));
            }
        }
        let sum = train + val + test;
        if sum <= 0.0 {
            return Err("the split ratios are all zero".into());
        }
        Ok(Self { train: train / sum, val: val / sum, test: test / sum })
    }

    /// How many of `n` items go to `(train, val, test)`.
    ///
    /// `val` and `test` are `n × ratio` rounded to the nearest integer, and train gets the
    /// rest, so every count is within one item of its exact share. Small sets get one extra
    /// rule, so that a usable split exists whenever one is possible: with `n ≥ 2`, a positive
    /// val ratio gives at least one val item and a positive train ratio at least one train
    /// item.
    pub fn counts(&self, n: usize) -> (usize, usize, usize) {
        let mut val = ((n as f64) * self.val).round() as usize;
        let mut test = ((n as f64) * self.test).round() as usize;
        if val + test > n {
            // Rounding both up can overshoot by one.
            if test > 0 { test -= 1 } else { val -= 1 }
        }
        if n >= 2 {
            if self.val > 0.0 && val == 0 {
                val = 1;
                if val + test > n {
                    test -= 1;
                }
            }
            if self.train > 0.0 && val + test == n {
                // n ≥ 2, so val or test holds an item to give back; test gives first.
                if test > 0 { test -= 1 } else { val -= 1 }
            }
        }
        (n - val - test, val, test)
    }
}

/// Shares `total` items among groups of the given `sizes` in proportion to their sizes, by
/// the largest-remainder (Hamilton) method: each group gets the floor of its exact quota,
/// and the items left over go one each to the groups with the largest remainders (ties to
/// the earlier group). The result sums to `total` and each share is within one of its quota.
/// `total` must not exceed the sum of `sizes`.
pub fn apportion(total: usize, sizes: &[usize]) -> Vec<usize> {
    let sum: usize = sizes.iter().sum();
    assert!(total <= sum, "apportion {total} among {sum}");
    if sum == 0 {
        return vec![0; sizes.len()];
    }
    // Exact integer arithmetic: quota_i = sizes_i * total / sum.
    let mut shares: Vec<usize> = sizes.iter().map(|&s| s * total / sum).collect();
    let mut remainders: Vec<(usize, usize)> = sizes.iter().enumerate().map(|(i, &s)| (s * total % sum, i)).collect();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = total - shares.iter().sum::<usize>();
    for &(_, i) in remainders.iter().take(left) {
        shares[i] += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_to_the_nearest_item() {
        let r = Ratios::new(0.8, 0.2, 0.0).unwrap();
        assert_eq!(r.counts(10), (8, 2, 0));
        assert_eq!(r.counts(11), (9, 2, 0));
        assert_eq!(r.counts(0), (0, 0, 0));
        assert_eq!(r.counts(1), (1, 0, 0));
        assert_eq!(r.counts(2), (1, 1, 0), "a positive val ratio gets an item");
        let r = Ratios::new(7.0, 2.0, 1.0).unwrap();
        assert_eq!(r.counts(100), (70, 20, 10));
    }

    #[test]
    fn small_sets_keep_both_sides() {
        let r = Ratios::new(0.99, 0.01, 0.0).unwrap();
        assert_eq!(r.counts(3), (2, 1, 0));
        let r = Ratios::new(0.01, 0.99, 0.0).unwrap();
        assert_eq!(r.counts(3), (1, 2, 0));
        let r = Ratios::new(0.0, 1.0, 0.0).unwrap();
        assert_eq!(r.counts(3), (0, 3, 0), "a zero train ratio is respected");
    }

    #[test]
    fn rejects_bad_ratios() {
        assert!(Ratios::new(-0.1, 0.5, 0.0).is_err());
        assert!(Ratios::new(0.0, 0.0, 0.0).is_err());
        assert!(Ratios::new(f64::NAN, 0.5, 0.0).is_err());
    }

    #[test]
    fn apportion_is_exact_and_fair() {
        assert_eq!(apportion(3, &[5, 5, 5]), vec![1, 1, 1]);
        assert_eq!(apportion(2, &[5, 5, 5]), vec![1, 1, 0]);
        assert_eq!(apportion(4, &[10, 1, 9]), vec![2, 0, 2]);
        assert_eq!(apportion(0, &[3, 4]), vec![0, 0]);
        assert_eq!(apportion(7, &[3, 4]), vec![3, 4]);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn counts_partition_and_stay_within_one_item(n in 0usize..500, t in 0.0f64..1.0, v in 0.0f64..1.0, s in 0.0f64..0.5) {
            prop_assume!(t + v + s > 0.0);
            let r = Ratios::new(t, v, s).unwrap();
            // The small-set rule may move an item when a positive share is under one item.
            let nf = n as f64;
            prop_assume!([r.train, r.val, r.test].iter().all(|&x| x == 0.0 || nf * x >= 1.0));
            let (a, b, c) = r.counts(n);
            prop_assert_eq!(a + b + c, n);
            prop_assert!((b as f64 - nf * r.val).abs() <= 1.0 + 1e-9, "val {} vs {}", b, nf * r.val);
            prop_assert!((c as f64 - nf * r.test).abs() <= 1.0 + 1e-9, "test {} vs {}", c, nf * r.test);
            prop_assert!((a as f64 - nf * r.train).abs() <= 2.0 + 1e-9, "train {} vs {}", a, nf * r.train);
        }

        #[test]
        fn apportion_sums_and_stays_within_one(sizes in proptest::collection::vec(0usize..50, 0..12), frac in 0.0f64..=1.0) {
            let sum: usize = sizes.iter().sum();
            let total = ((sum as f64) * frac).floor() as usize;
            let shares = apportion(total, &sizes);
            prop_assert_eq!(shares.iter().sum::<usize>(), total);
            for (s, &size) in shares.iter().zip(&sizes) {
                prop_assert!(*s <= size);
                if sum > 0 {
                    let quota = size as f64 * total as f64 / sum as f64;
                    prop_assert!((*s as f64 - quota).abs() < 1.0 + 1e-9);
                }
            }
        }
    }
}

//! The augmentation RNG: xoshiro256++ seeded through SplitMix64. Every sample of every epoch
//! gets its own generator from `(seed, epoch, position)`, so what a sample looks like never
//! depends on which loader thread built it or in which order — the basis of reproducible
//! training with a multi-threaded loader.

/// SplitMix64 step: a well-mixed 64-bit value from any counter.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        Rng { s: [splitmix(&mut sm), splitmix(&mut sm), splitmix(&mut sm), splitmix(&mut sm)] }
    }

    /// A generator for one purpose identified by several numbers (seed, epoch, index, …).
    pub fn derive(parts: &[u64]) -> Self {
        let mut h = 0x243F_6A88_85A3_08D3u64;
        for &p in parts {
            h ^= p;
            h = splitmix(&mut h);
        }
        Rng::new(h)
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform integer in `0..n` (n ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.f64() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(f64::MIN_POSITIVE);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Gamma(shape, 1) for shape ≥ 1 (Marsaglia–Tsang).
    fn gamma(&mut self, shape: f64) -> f64 {
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.f64();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// Beta(a, b) for a, b ≥ 1 (MixUp's ratio is Beta(32, 32)).
    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        x / (x + y)
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::derive(&[0, 1, 2]).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::derive(&[0, 1, 2]).next_u64(), Rng::derive(&[0, 2, 1]).next_u64());
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut r = Rng::new(7);
        let n = 20_000;
        let u: f64 = (0..n).map(|_| r.uniform(-1.0, 3.0)).sum::<f64>() / n as f64;
        assert!((u - 1.0).abs() < 0.05, "{u}");
        let b: Vec<f64> = (0..n).map(|_| r.beta(32.0, 32.0)).collect();
        let mean = b.iter().sum::<f64>() / n as f64;
        let var = b.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01 && (var - 0.25 / 65.0).abs() < 0.001, "{mean} {var}");
        let mut counts = [0usize; 5];
        (0..n).for_each(|_| counts[r.below(5)] += 1);
        assert!(counts.iter().all(|&c| (c as f64 - n as f64 / 5.0).abs() < 300.0), "{counts:?}");
        let mut v: Vec<usize> = (0..10).collect();
        r.shuffle(&mut v);
        let mut s = v.clone();
        s.sort();
        assert_eq!(s, (0..10).collect::<Vec<_>>());
    }
}

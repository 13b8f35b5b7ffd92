//! Plane geometry on `(x, y)` points: bounds, clipping, area, circles as polygons.
//!
//! Everything is IEEE `+ - * /` so a result is bit-identical natively and in wasm.

use crate::annotation::Point;

/// Axis-aligned bounds `(x1, y1, x2, y2)` of a non-empty set of finite points.
///
/// Comparisons (`x < x1`) rather than `f64::min` / `max`: those promise NaN handling that
/// wasm's `f64.min` lacks, so in a component each is a call into libc's `fmin`. In a
/// component built with `simd128` (the built-ins are) both coordinates go through one
/// `f64x2.pmin` / `pmax`, which are these same comparisons without a branch: cranelift turns
/// a scalar `select` on floats into a branch, which random boxes mispredict.
#[inline]
pub fn bounds(points: impl IntoIterator<Item = Point>) -> (f64, f64, f64, f64) {
    let (mut lo, mut hi) = (lanes::splat(f64::INFINITY), lanes::splat(f64::NEG_INFINITY));
    for p in points {
        let p = lanes::pair(p);
        lo = lanes::pmin(lo, p);
        hi = lanes::pmax(hi, p);
    }
    let ((x1, y1), (x2, y2)) = (lanes::point(lo), lanes::point(hi));
    (x1, y1, x2, y2)
}

/// The point clamped into `[0, w] × [0, h]` (as `f64::clamp`, NaN stays NaN).
#[inline]
pub fn clip_point(p: Point, w: f64, h: f64) -> Point {
    lanes::point(lanes::clamp(lanes::pair(p), lanes::pair((w, h))))
}

/// The box `(x1, y1, x2, y2)` clamped into `[0, w] × [0, h]`.
#[inline]
pub fn clip_box(b: (f64, f64, f64, f64), w: f64, h: f64) -> (f64, f64, f64, f64) {
    let ((x1, y1), (x2, y2)) = (clip_point((b.0, b.1), w, h), clip_point((b.2, b.3), w, h));
    (x1, y1, x2, y2)
}

/// Both coordinates of a point at once: `f64x2` lanes in a `simd128` component, a pair of
/// scalars elsewhere, with the same results bit for bit (`pmin(a, b)` is `b < a ? b : a`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::{f64x2, f64x2_extract_lane, f64x2_pmax, f64x2_pmin, f64x2_splat, v128};

    pub type Lanes = v128;

    #[inline(always)]
    pub fn splat(v: f64) -> Lanes {
        f64x2_splat(v)
    }

    #[inline(always)]
    pub fn pair(p: super::Point) -> Lanes {
        f64x2(p.0, p.1)
    }

    #[inline(always)]
    pub fn point(l: Lanes) -> super::Point {
        (f64x2_extract_lane::<0>(l), f64x2_extract_lane::<1>(l))
    }

    #[inline(always)]
    pub fn pmin(a: Lanes, b: Lanes) -> Lanes {
        f64x2_pmin(a, b)
    }

    #[inline(always)]
    pub fn pmax(a: Lanes, b: Lanes) -> Lanes {
        f64x2_pmax(a, b)
    }

    /// `f64::clamp(p, 0, max)` per lane: `if p < 0 { 0 }`, then `if p > max { max }`.
    #[inline(always)]
    pub fn clamp(p: Lanes, max: Lanes) -> Lanes {
        f64x2_pmin(f64x2_pmax(p, f64x2_splat(0.0)), max)
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    pub type Lanes = super::Point;

    #[inline(always)]
    pub fn splat(v: f64) -> Lanes {
        (v, v)
    }

    #[inline(always)]
    pub fn pair(p: super::Point) -> Lanes {
        p
    }

    #[inline(always)]
    pub fn point(l: Lanes) -> super::Point {
        l
    }

    /// `b < a ? b : a` per lane (wasm's `pmin`).
    #[inline(always)]
    pub fn pmin(a: Lanes, b: Lanes) -> Lanes {
        (if b.0 < a.0 { b.0 } else { a.0 }, if b.1 < a.1 { b.1 } else { a.1 })
    }

    /// `a < b ? b : a` per lane (wasm's `pmax`).
    #[inline(always)]
    pub fn pmax(a: Lanes, b: Lanes) -> Lanes {
        (if a.0 < b.0 { b.0 } else { a.0 }, if a.1 < b.1 { b.1 } else { a.1 })
    }

    #[inline(always)]
    pub fn clamp(p: Lanes, max: Lanes) -> Lanes {
        (p.0.clamp(0.0, max.0), p.1.clamp(0.0, max.1))
    }
}

/// True when every coordinate is finite.
#[inline]
pub fn all_finite(points: impl IntoIterator<Item = Point>) -> bool {
    points.into_iter().all(|p| p.0.is_finite() && p.1.is_finite())
}

/// `[x, y]` pairs of a request as points.
#[inline]
pub fn points(xy: &[crate::annotation::Xy]) -> impl Iterator<Item = Point> + '_ {
    xy.iter().map(|p| (p[0], p[1]))
}

/// True when the box `(x1, y1, x2, y2)` and the image `[0, w] × [0, h]` share no area.
#[inline]
pub fn outside_image(b: (f64, f64, f64, f64), w: f64, h: f64) -> bool {
    b.2 <= 0.0 || b.3 <= 0.0 || b.0 >= w || b.1 >= h
}

/// Absolute area of a simple polygon (shoelace formula).
pub fn polygon_area(points: &[Point]) -> f64 {
    let n = points.len();
    let mut twice = 0.0;
    for i in 0..n {
        let (a, b) = (points[i], points[(i + 1) % n]);
        twice += a.0 * b.1 - b.0 * a.1;
    }
    twice.abs() / 2.0
}

const TAU: f64 = std::f64::consts::TAU;
const PI: f64 = std::f64::consts::PI;

/// `(sin θ, cos θ)` by Taylor series after reducing θ to `[-π, π]`: deterministic on every
/// target (no libm), accurate to ~1e-15, plenty for labels printed with 6 decimals.
pub fn sin_cos(theta: f64) -> (f64, f64) {
    let mut t = theta % TAU;
    if t > PI {
        t -= TAU;
    } else if t < -PI {
        t += TAU;
    }
    let t2 = t * t;
    let (mut sin, mut cos) = (0.0, 0.0);
    let (mut s_term, mut c_term) = (t, 1.0);
    // 30 terms: |t|^(2k)/(2k)! < 1e-17 for |t| ≤ π well before k = 30.
    for k in 0..30 {
        sin += s_term;
        cos += c_term;
        let k = k as f64;
        s_term *= -t2 / ((2.0 * k + 2.0) * (2.0 * k + 3.0));
        c_term *= -t2 / ((2.0 * k + 1.0) * (2.0 * k + 2.0));
    }
    (sin, cos)
}

/// A circle as a regular polygon of `n` vertices, starting at angle 0 (the rightmost point)
/// and turning towards +y, i.e. clockwise on screen.
pub fn circle_polygon(x: f64, y: f64, radius: f64, n: u32) -> Vec<Point> {
    (0..n)
        .map(|k| {
            let (s, c) = sin_cos(TAU * k as f64 / n as f64);
            (x + radius * c, y + radius * s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_of_rotated_corners() {
        let b = bounds([(5.0, 0.0), (10.0, 5.0), (5.0, 10.0), (0.0, 5.0)]);
        assert_eq!(b, (0.0, 0.0, 10.0, 10.0));
    }

    #[test]
    fn clipping_clamps_each_coordinate_as_f64_clamp_does() {
        assert_eq!(clip_box((-3.0, 5.0, 250.0, 120.0), 200.0, 100.0), (0.0, 5.0, 200.0, 100.0));
        assert_eq!(clip_point((12.5, -0.5), 20.0, 10.0), (12.5, 0.0));
        let (x, y) = clip_point((f64::NAN, -0.0), 20.0, 10.0);
        assert!(x.is_nan());
        assert_eq!(y.to_bits(), (-0.0f64).clamp(0.0, 10.0).to_bits(), "-0 stays -0, as in f64::clamp");
    }

    #[test]
    fn outside_needs_no_shared_area() {
        assert!(outside_image((-5.0, -5.0, 0.0, 3.0), 10.0, 10.0), "touching the left edge has no area");
        assert!(!outside_image((-5.0, -5.0, 0.5, 3.0), 10.0, 10.0));
        assert!(outside_image((10.0, 1.0, 12.0, 2.0), 10.0, 10.0));
    }

    #[test]
    fn series_matches_libm() {
        for i in -100..=100 {
            let t = i as f64 * 0.173;
            let (s, c) = sin_cos(t);
            assert!((s - t.sin()).abs() < 1e-14, "sin {t}: {s} vs {}", t.sin());
            assert!((c - t.cos()).abs() < 1e-14, "cos {t}: {c} vs {}", t.cos());
        }
    }

    #[test]
    fn circle_polygon_lies_on_the_circle() {
        let poly = circle_polygon(50.0, 40.0, 10.0, 8);
        assert_eq!(poly.len(), 8);
        assert_eq!(poly[0], (60.0, 40.0));
        for p in &poly {
            let r = ((p.0 - 50.0).powi(2) + (p.1 - 40.0).powi(2)).sqrt();
            assert!((r - 10.0).abs() < 1e-12);
        }
        // An octagon inscribed in r = 10 has area 2√2·r².
        assert!((polygon_area(&poly) - 2.0 * 2f64.sqrt() * 100.0).abs() < 1e-9);
    }

    #[test]
    fn shoelace_area() {
        assert_eq!(polygon_area(&[(0.0, 0.0), (4.0, 0.0), (0.0, 3.0)]), 6.0);
        assert_eq!(polygon_area(&[(0.0, 0.0), (4.0, 0.0), (8.0, 0.0)]), 0.0);
    }
}

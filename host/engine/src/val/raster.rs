//! Ground-truth instance masks for segmentation validation, built as Ultralytics'
//! `polygons2masks_overlap` builds them: each polygon (vertices truncated to whole pixels) is
//! filled at the input resolution, downsampled 4x with bilinear sampling (each output pixel
//! is the mean of the 2x2 centre pixels of its 4x4 block, rounded), and instances are layered
//! largest first so smaller ones win where they overlap.

/// Fills a polygon (pixel coordinates) into a `w` x `h` 0/1 image, even-odd rule sampled at
/// integer pixel coordinates, boundary pixels included.
pub fn fill_polygon(points: &[[f32; 2]], w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * h];
    if points.len() < 3 {
        return out;
    }
    let pts: Vec<(f64, f64)> = points.iter().map(|p| (p[0].trunc() as f64, p[1].trunc() as f64)).collect();
    let n = pts.len();
    let mut xs = Vec::new();
    for y in 0..h {
        let yf = y as f64;
        xs.clear();
        for i in 0..n {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            let (lo, hi) = if a.1 <= b.1 { (a, b) } else { (b, a) };
            // Half-open in y so a vertex shared by two edges is counted once.
            if yf >= lo.1 && yf < hi.1 {
                xs.push(lo.0 + (yf - lo.1) * (hi.0 - lo.0) / (hi.1 - lo.1));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks(2) {
            if let [x0, x1] = *pair {
                let (a, b) = (x0.ceil().max(0.0), x1.floor().min(w as f64 - 1.0));
                if a <= b {
                    out[y * w + a as usize..=y * w + b as usize].iter_mut().for_each(|v| *v = 1);
                }
            }
        }
        // Horizontal edges and vertices lie on the boundary, which fillPoly draws too.
        for i in 0..n {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            if a.1 == yf && b.1 == yf {
                let (x0, x1) = (a.0.min(b.0).max(0.0), a.0.max(b.0).min(w as f64 - 1.0));
                if x0 <= x1 {
                    out[y * w + x0 as usize..=y * w + x1 as usize].iter_mut().for_each(|v| *v = 1);
                }
            }
        }
    }
    out
}

/// 4x downsampling of a 0/1 image as `cv2.resize(..., INTER_LINEAR)` samples it.
pub fn downsample4(full: &[u8], w: usize, h: usize) -> Vec<u8> {
    let (mw, mh) = (w / 4, h / 4);
    let mut out = vec![0u8; mw * mh];
    for y in 0..mh {
        for x in 0..mw {
            let s: u32 = [(1, 1), (1, 2), (2, 1), (2, 2)].iter().map(|(dy, dx)| full[(4 * y + dy) * w + 4 * x + dx] as u32).sum();
            out[y * mw + x] = u8::from(s >= 2);
        }
    }
    out
}

/// Per-instance masks at 1/4 of a `w` x `h` input (both multiples of 4) from polygons in input
/// pixels, after the largest-first overlap: returns the order (indices into `polygons`, by
/// descending area) and the masks in that order, `[n][(h/4)·(w/4)]`.
pub fn overlap_masks(polygons: &[Vec<[f32; 2]>], w: usize, h: usize) -> (Vec<usize>, Vec<Vec<u8>>) {
    let small: Vec<Vec<u8>> = polygons.iter().map(|p| downsample4(&fill_polygon(p, w, h), w, h)).collect();
    let areas: Vec<u32> = small.iter().map(|m| m.iter().map(|&v| v as u32).sum()).collect();
    let mut order: Vec<usize> = (0..polygons.len()).collect();
    order.sort_by(|&a, &b| areas[b].cmp(&areas[a]));
    let mut layered = vec![0u32; (w / 4) * (h / 4)];
    for (k, &i) in order.iter().enumerate() {
        for (l, &v) in layered.iter_mut().zip(&small[i]) {
            *l = (*l).max(v as u32 * (k as u32 + 1));
        }
    }
    let masks = (0..order.len()).map(|k| layered.iter().map(|&l| u8::from(l == k as u32 + 1)).collect()).collect();
    (order, masks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_rectangles_inclusively() {
        let m = fill_polygon(&[[1.0, 1.0], [4.0, 1.0], [4.0, 3.0], [1.0, 3.0]], 6, 5);
        let filled: usize = m.iter().map(|&v| v as usize).sum();
        assert_eq!(filled, 4 * 3, "columns 1..=4, rows 1..=3");
        assert_eq!(m[1 * 6 + 1], 1);
        assert_eq!(m[3 * 6 + 4], 1);
        assert_eq!(m[0], 0);
    }

    #[test]
    fn triangle_area_is_about_half() {
        let m = fill_polygon(&[[0.0, 0.0], [99.0, 0.0], [0.0, 99.0]], 100, 100);
        let filled: f64 = m.iter().map(|&v| v as f64).sum();
        assert!((filled - 5050.0).abs() < 150.0, "{filled}");
    }

    #[test]
    fn smaller_instances_win_overlaps() {
        let big = vec![[0.0, 0.0], [31.0, 0.0], [31.0, 31.0], [0.0, 31.0]];
        let small = vec![[8.0, 8.0], [15.0, 8.0], [15.0, 15.0], [8.0, 15.0]];
        let (order, masks) = overlap_masks(&[small.clone(), big], 32, 32);
        assert_eq!(order, [1, 0], "largest first");
        let area = |m: &Vec<u8>| m.iter().map(|&v| v as usize).sum::<usize>();
        assert_eq!(area(&masks[1]), 4, "the 8x8 square is 2x2 at 1/4");
        assert_eq!(area(&masks[0]), 64 - 4, "the big one loses the overlap");
    }
}

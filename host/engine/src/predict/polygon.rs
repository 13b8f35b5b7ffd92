//! Binary mask → one polygon: the outer contour of the mask's largest 8-connected component
//! (Moore-neighbour tracing, the boundary pixels in clockwise order, like OpenCV's
//! `findContours(RETR_EXTERNAL)` on that component), straight runs reduced to their end
//! points (`CHAIN_APPROX_SIMPLE`), then Douglas–Peucker with `epsilon` pixels. Ultralytics'
//! `Masks.xy` merges all components; an annotation polygon must be one simple outline, so we
//! keep the largest and drop the rest (and holes).

/// Neighbour offsets, clockwise on screen (y down) starting east.
const DIRS: [(i64, i64); 8] = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)];

fn dir_index(dx: i64, dy: i64) -> usize {
    DIRS.iter().position(|&d| d == (dx, dy)).expect("unit neighbour step")
}

/// A row-major binary image view.
struct Grid<'a> {
    data: &'a [u8],
    w: i64,
    h: i64,
}

impl Grid<'_> {
    fn on(&self, x: i64, y: i64) -> bool {
        x >= 0 && y >= 0 && x < self.w && y < self.h && self.data[(y * self.w + x) as usize] != 0
    }
}

/// Pixels of the largest 8-connected component (as a 0/1 image of the same size), or `None`
/// for an empty mask.
fn largest_component(g: &Grid) -> Option<Vec<u8>> {
    let (w, h) = (g.w as usize, g.h as usize);
    let mut label = vec![0u32; w * h];
    let (mut best, mut best_size, mut next) = (0u32, 0usize, 0u32);
    let mut stack = Vec::new();
    for start in 0..w * h {
        if g.data[start] == 0 || label[start] != 0 {
            continue;
        }
        next += 1;
        let mut size = 0;
        label[start] = next;
        stack.push(start);
        while let Some(p) = stack.pop() {
            size += 1;
            let (x, y) = ((p % w) as i64, (p / w) as i64);
            for (dx, dy) in DIRS {
                let (nx, ny) = (x + dx, y + dy);
                if g.on(nx, ny) {
                    let q = ny as usize * w + nx as usize;
                    if label[q] == 0 {
                        label[q] = next;
                        stack.push(q);
                    }
                }
            }
        }
        if size > best_size {
            (best, best_size) = (next, size);
        }
    }
    (best_size > 0).then(|| label.iter().map(|&l| u8::from(l == best)).collect())
}

/// Moore-neighbour tracing of the outer boundary of the (single) component in `g`.
fn trace_outer(g: &Grid) -> Vec<(i64, i64)> {
    let Some(first) = g.data.iter().position(|&v| v != 0) else { return vec![] };
    let s = ((first as i64) % g.w, (first as i64) / g.w);
    let mut pts = vec![s];
    let (mut cur, mut back) = (s, 4usize); // entered from the west, which is background
    let mut second = None;
    let limit = 4 * g.data.iter().filter(|&&v| v != 0).count() + 16;
    for _ in 0..limit {
        let found = (1..=8).map(|k| (back + k) % 8).find(|&d| g.on(cur.0 + DIRS[d].0, cur.1 + DIRS[d].1));
        let Some(d) = found else { break }; // an isolated pixel
        let p = (cur.0 + DIRS[d].0, cur.1 + DIRS[d].1);
        if cur == s {
            match second {
                Some(sec) if sec == p => {
                    pts.pop(); // the closing repeat of the start
                    break;
                }
                None => second = Some(p),
                _ => {}
            }
        }
        // Backtrack = the last background neighbour examined, seen from p.
        let prev = DIRS[(d + 7) % 8];
        back = dir_index(cur.0 + prev.0 - p.0, cur.1 + prev.1 - p.1);
        cur = p;
        pts.push(cur);
    }
    pts
}

/// Drops the interior points of straight runs of a closed chain.
fn approx_simple(pts: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let n = pts.len();
    if n < 3 {
        return pts.to_vec();
    }
    let step = |a: (i64, i64), b: (i64, i64)| ((b.0 - a.0).signum(), (b.1 - a.1).signum());
    (0..n)
        .filter(|&i| {
            let (prev, next) = (pts[(i + n - 1) % n], pts[(i + 1) % n]);
            step(prev, pts[i]) != step(pts[i], next)
        })
        .map(|i| pts[i])
        .collect()
}

fn perpendicular_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len == 0.0 {
        return ((p.0 - a.0).powi(2) + (p.1 - a.1).powi(2)).sqrt();
    }
    ((p.0 - a.0) * dy - (p.1 - a.1) * dx).abs() / len
}

/// Douglas–Peucker on an open chain (both end points kept).
fn douglas_peucker(pts: &[(f64, f64)], eps: f64, out: &mut Vec<(f64, f64)>) {
    if pts.len() < 3 {
        out.extend_from_slice(&pts[..pts.len().saturating_sub(1)]);
        return;
    }
    let (a, b) = (pts[0], pts[pts.len() - 1]);
    let (idx, dmax) = pts[1..pts.len() - 1]
        .iter()
        .enumerate()
        .map(|(i, &p)| (i + 1, perpendicular_distance(p, a, b)))
        .fold((0, -1.0), |acc, x| if x.1 > acc.1 { x } else { acc });
    if dmax > eps {
        douglas_peucker(&pts[..=idx], eps, out);
        douglas_peucker(&pts[idx..], eps, out);
    } else {
        out.push(a);
    }
}

/// Douglas–Peucker on a closed polygon: split at the point farthest from the first one.
fn simplify_closed(pts: &[(f64, f64)], eps: f64) -> Vec<(f64, f64)> {
    if pts.len() <= 3 || eps <= 0.0 {
        return pts.to_vec();
    }
    let far = (1..pts.len())
        .max_by(|&i, &j| {
            let d = |k: usize| (pts[k].0 - pts[0].0).powi(2) + (pts[k].1 - pts[0].1).powi(2);
            d(i).total_cmp(&d(j))
        })
        .expect("at least two points");
    let mut out = Vec::new();
    douglas_peucker(&pts[..=far], eps, &mut out);
    let mut tail: Vec<(f64, f64)> = pts[far..].to_vec();
    tail.push(pts[0]);
    douglas_peucker(&tail, eps, &mut out);
    out
}

/// The outline of the largest component of a `w` x `h` row-major 0/1 mask, in pixel
/// coordinates (boundary pixel indices, as OpenCV reports them), simplified with `epsilon`.
/// Components too thin to have an area (a line, a dot) become the rectangle around their
/// pixels. `None` for an empty mask.
pub fn mask_to_polygon(mask: &[u8], w: usize, h: usize, epsilon: f64) -> Option<Vec<(f64, f64)>> {
    assert_eq!(mask.len(), w * h, "mask is w x h");
    let grid = Grid { data: mask, w: w as i64, h: h as i64 };
    let comp = largest_component(&grid)?;
    let comp_grid = Grid { data: &comp, w: w as i64, h: h as i64 };
    let chain = approx_simple(&trace_outer(&comp_grid));
    let pts: Vec<(f64, f64)> = chain.iter().map(|&(x, y)| (x as f64, y as f64)).collect();
    let simplified = simplify_closed(&pts, epsilon);
    if simplified.len() >= 3 && polygon_area(&simplified) > 0.0 {
        return Some(simplified);
    }
    // Degenerate outline: the pixel rectangle of the component.
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (i, _) in comp.iter().enumerate().filter(|(_, &v)| v != 0) {
        let (x, y) = (i % w, i / w);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let (x0, y0, x1, y1) = (x0 as f64, y0 as f64, (x1 + 1) as f64, (y1 + 1) as f64);
    Some(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
}

/// Absolute shoelace area.
pub fn polygon_area(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len();
    (0..n).map(|i| pts[i].0 * pts[(i + 1) % n].1 - pts[(i + 1) % n].0 * pts[i].1).sum::<f64>().abs() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&str]) -> (Vec<u8>, usize, usize) {
        let h = rows.len();
        let w = rows[0].len();
        (rows.iter().flat_map(|r| r.bytes().map(|b| u8::from(b == b'#'))).collect(), w, h)
    }

    #[test]
    fn rectangle_becomes_its_four_corners() {
        let (m, w, h) = grid(&["......", ".####.", ".####.", ".####.", "......"]);
        let poly = mask_to_polygon(&m, w, h, 0.0).unwrap();
        assert_eq!(poly, [(1.0, 1.0), (4.0, 1.0), (4.0, 3.0), (1.0, 3.0)]);
    }

    #[test]
    fn keeps_the_largest_component_and_ignores_holes() {
        let (m, w, h) = grid(&["##.......", "##.#####.", "...#...#.", "...#####.", "........."]);
        let poly = mask_to_polygon(&m, w, h, 0.0).unwrap();
        assert_eq!(poly, [(3.0, 1.0), (7.0, 1.0), (7.0, 3.0), (3.0, 3.0)]);
    }

    #[test]
    fn traces_concave_shapes_clockwise() {
        let (m, w, h) = grid(&["##..##", "##..##", "######", "######"]);
        let poly = mask_to_polygon(&m, w, h, 0.0).unwrap();
        assert_eq!(poly[0], (0.0, 0.0));
        assert_eq!(poly[1], (1.0, 0.0), "starts eastwards: clockwise on screen");
        // The outline dips into the notch, so it encloses less than its bounding rectangle.
        assert!(poly.iter().any(|&(x, y)| y == 2.0 && (2.0..=3.0).contains(&x)), "{poly:?}");
        assert!(polygon_area(&poly) < 15.0);
        let n = poly.len();
        let signed: f64 = (0..n).map(|i| poly[i].0 * poly[(i + 1) % n].1 - poly[(i + 1) % n].0 * poly[i].1).sum();
        assert!(signed > 0.0, "positive shoelace in y-down coordinates = clockwise on screen");
    }

    #[test]
    fn simplification_reduces_a_disc_and_keeps_its_area() {
        let (w, h) = (64usize, 64usize);
        let m: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64 - 31.5, (i / w) as f64 - 31.5);
                u8::from(x * x + y * y <= 20.0 * 20.0)
            })
            .collect();
        let raw = mask_to_polygon(&m, w, h, 0.0).unwrap();
        let simple = mask_to_polygon(&m, w, h, 1.0).unwrap();
        assert!(simple.len() < raw.len() && simple.len() >= 8, "{} vs {}", simple.len(), raw.len());
        let area = polygon_area(&simple);
        let disc = std::f64::consts::PI * 400.0;
        assert!((area - disc).abs() / disc < 0.12, "{area} vs {disc}");
    }

    #[test]
    fn thin_and_empty_masks() {
        let (m, w, h) = grid(&["....", ".##.", "...."]);
        assert_eq!(mask_to_polygon(&m, w, h, 1.0).unwrap(), [(1.0, 1.0), (3.0, 1.0), (3.0, 2.0), (1.0, 2.0)]);
        let (m, w, h) = grid(&["...", ".#.", "..."]);
        assert_eq!(mask_to_polygon(&m, w, h, 1.0).unwrap().len(), 4);
        let (m, w, h) = grid(&["...", "..."]);
        assert!(mask_to_polygon(&m, w, h, 1.0).is_none());
    }
}

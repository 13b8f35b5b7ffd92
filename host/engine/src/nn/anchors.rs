//! Anchor points and box decoding shared by the head (eval decoding) and the losses
//! (engine-train): `make_anchors`, `dist2bbox`, and the DFL expectation — Ultralytics'
//! `utils/tal.py` and `nn/modules/block.py::DFL`.

use tch::{Device, Kind, Tensor};

/// Anchor centres in grid units and the stride of each anchor, for levels of the given
/// `(height, width)` sizes and strides, in level order and row-major within a level:
/// anchor = (x + offset, y + offset). Returns `([N, 2] (x, y), [N, 1] stride)`.
pub fn make_anchors(
    sizes: &[(i64, i64)],
    strides: &[f64],
    offset: f64,
    options: (Kind, Device),
) -> (Tensor, Tensor) {
    assert_eq!(sizes.len(), strides.len(), "one stride per level");
    let mut points = Vec::with_capacity(sizes.len());
    let mut stride_rows = Vec::with_capacity(sizes.len());
    for (&(h, w), &stride) in sizes.iter().zip(strides) {
        let sx = Tensor::arange(w, options) + offset; // [W]
        let sy = Tensor::arange(h, options) + offset; // [H]
        let grid = Tensor::meshgrid_indexing(&[sy, sx], "ij"); // 2 x [H, W]
        let xy = Tensor::stack(&[&grid[1], &grid[0]], -1).view([-1, 2]); // [H*W, 2]
        points.push(xy);
        stride_rows.push(Tensor::full([h * w, 1], stride, options)); // [H*W, 1]
    }
    (Tensor::cat(&points, 0), Tensor::cat(&stride_rows, 0))
}

/// Distances (l, t, r, b) from anchor points → boxes, as `xywh` (centre, size) or `xyxy`.
/// `distance` holds the four sides along `dim` (chunked into lt, rb); `anchor_points` must
/// broadcast against each half (e.g. `[B, 4, N]` with anchors `[1, 2, N]` and `dim = 1`, or
/// `[B, N, 4]` with `[N, 2]` and `dim = -1`).
pub fn dist2bbox(distance: &Tensor, anchor_points: &Tensor, xywh: bool, dim: i64) -> Tensor {
    let halves = distance.chunk(2, dim);
    let (lt, rb) = (&halves[0], &halves[1]);
    let x1y1 = anchor_points - lt;
    let x2y2 = anchor_points + rb;
    if xywh {
        let c_xy = (&x1y1 + &x2y2) / 2.0;
        let wh = &x2y2 - &x1y1;
        Tensor::cat(&[c_xy, wh], dim)
    } else {
        Tensor::cat(&[x1y1, x2y2], dim)
    }
}

/// Distribution Focal Loss decoding: box logits `[B, 4 * reg_max, N]` (channel = side *
/// reg_max + bin) → expected distances `[B, 4, N]`, using `bins` (`[reg_max]`, the DFL conv's
/// fixed weights 0..reg_max-1) as the bin values.
pub fn dfl_expectation(boxes: &Tensor, bins: &Tensor) -> Tensor {
    let (b, c, n) = boxes.size3().expect("box logits are [B, 4*reg_max, N]");
    let reg_max = c / 4;
    let probs = boxes.view([b, 4, reg_max, n]).softmax(2, boxes.kind()); // [B, 4, R, N]
    (probs * bins.view([1, 1, reg_max, 1])).sum_dim_intlist(2, false, boxes.kind()) // [B, 4, N]
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPU: (Kind, Device) = (Kind::Float, Device::Cpu);

    #[test]
    fn anchors_are_row_major_per_level() {
        let (a, s) = make_anchors(&[(2, 3), (1, 1)], &[8.0, 16.0], 0.5, CPU);
        assert_eq!(a.size(), [7, 2]);
        let a: Vec<f32> = a.view(-1).try_into().unwrap();
        assert_eq!(a, [0.5, 0.5, 1.5, 0.5, 2.5, 0.5, 0.5, 1.5, 1.5, 1.5, 2.5, 1.5, 0.5, 0.5]);
        let s: Vec<f32> = s.view(-1).try_into().unwrap();
        assert_eq!(s, [8., 8., 8., 8., 8., 8., 16.]);
    }

    #[test]
    fn dist2bbox_both_formats() {
        let d = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).view([1, 4]);
        let a = Tensor::from_slice(&[10.0f32, 20.0]).view([1, 2]);
        let xyxy: Vec<f32> = dist2bbox(&d, &a, false, -1).view(-1).try_into().unwrap();
        assert_eq!(xyxy, [9.0, 18.0, 13.0, 24.0]);
        let xywh: Vec<f32> = dist2bbox(&d, &a, true, -1).view(-1).try_into().unwrap();
        assert_eq!(xywh, [11.0, 21.0, 4.0, 6.0]);
    }

    #[test]
    fn dfl_of_one_hot_logits_is_the_bin() {
        let bins = Tensor::arange(16, CPU);
        // Side s peaks at bin 3s+1 with a huge logit.
        let logits = Tensor::zeros([1, 64, 1], CPU);
        for s in 0..4i64 {
            let _ = logits.get(0).get(s * 16 + 3 * s + 1).fill_(100.0);
        }
        let d: Vec<f32> = dfl_expectation(&logits, &bins).view(-1).try_into().unwrap();
        for (s, v) in d.iter().enumerate() {
            assert!((v - (3 * s + 1) as f32).abs() < 1e-4, "{d:?}");
        }
    }
}

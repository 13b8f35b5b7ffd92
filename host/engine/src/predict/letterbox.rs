//! Geometry between an original image and the network input, as Ultralytics does it:
//! `LetterBox` (keep the aspect ratio, resize bilinearly, pad with 114, centred) and its
//! inverse `scale_boxes` / `scale_coords`; and the classification transform (resize the
//! shorter side, centre-crop).
//!
//! Which letterbox `predict` uses: `Model.predict` sets `rect=True`, so for a single image (or
//! a batch of equally sized images) Ultralytics uses `auto=True`, the minimal stride-aligned
//! rectangle (a 640x480 photo at imgsz 640 runs at 640x480, not 640x640); a batch of mixed
//! sizes is padded to the `imgsz` square so the images stack. [`letterbox_shape`] takes that
//! `auto` flag; `Predictor` applies the same rule.

use tch::{Kind, Tensor};

/// Padding value of the letterbox border (grey, as Ultralytics).
pub const PAD_VALUE: f64 = 114.0;

/// Python's `round()` (half to even), which Ultralytics' integer geometry relies on.
fn py_round(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// Where an original image lands in the network input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Original `(height, width)`.
    pub orig: (i64, i64),
    /// Resized, unpadded `(height, width)`.
    pub resized: (i64, i64),
    /// Network input `(height, width)` after padding.
    pub input: (i64, i64),
    pub top: i64,
    pub left: i64,
}

/// `LetterBox.get_params`: the resize and padding of an `orig` `(h, w)` image into `target`
/// `(h, w)`; with `auto` the padding is only what makes each side a multiple of `stride`.
pub fn letterbox_shape(orig: (i64, i64), target: (i64, i64), auto: bool, stride: i64) -> Letterbox {
    letterbox_shape_scaled(orig, target, auto, true, stride)
}

/// [`letterbox_shape`] with `scaleup = false` as an option (validation never enlarges).
pub fn letterbox_shape_scaled(orig: (i64, i64), target: (i64, i64), auto: bool, scaleup: bool, stride: i64) -> Letterbox {
    let (h0, w0) = (orig.0 as f64, orig.1 as f64);
    let mut r = (target.0 as f64 / h0).min(target.1 as f64 / w0);
    if !scaleup {
        r = r.min(1.0);
    }
    let new_w = py_round(w0 * r).max(1);
    let new_h = py_round(h0 * r).max(1);
    let (mut dw, mut dh) = (target.1 - new_w, target.0 - new_h);
    if auto {
        dw = dw.rem_euclid(stride);
        dh = dh.rem_euclid(stride);
    }
    let (dw, dh) = (dw as f64 / 2.0, dh as f64 / 2.0);
    let (top, bottom) = (py_round(dh - 0.1), py_round(dh + 0.1));
    let (left, right) = (py_round(dw - 0.1), py_round(dw + 0.1));
    Letterbox { orig, resized: (new_h, new_w), input: (new_h + top + bottom, new_w + left + right), top, left }
}

/// Resizes `[C, H, W]` to `(h, w)`, bilinear with half-pixel centres, plain (`aa = false`,
/// as OpenCV's INTER_LINEAR) or antialiased (`aa = true`, as PIL's BILINEAR). u8 images stay
/// u8 and take libtorch's uint8 channels-last kernels (the layout `image_to_tensor` gives),
/// an order of magnitude faster than going through f32; other kinds return f32 rounded to
/// whole grey levels.
fn resize(img: &Tensor, size: (i64, i64), aa: bool) -> Tensor {
    let (h, w) = (img.size()[1], img.size()[2]);
    if (h, w) == size {
        return img.shallow_clone();
    }
    let x = if img.kind() == Kind::Uint8 { img.unsqueeze(0) } else { img.to_kind(Kind::Float).unsqueeze(0) }; // [1, C, H, W]
    let y = if aa {
        Tensor::internal_upsample_bilinear2d_aa(&x, [size.0, size.1], false, None, None)
    } else {
        x.upsample_bilinear2d([size.0, size.1], false, None, None)
    };
    let y = if y.kind() == Kind::Uint8 { y } else { y.round().clamp(0.0, 255.0) };
    y.squeeze_dim(0)
}

/// Bilinear resize without antialiasing (OpenCV's INTER_LINEAR, what `LetterBox` uses).
pub fn resize_bilinear(img: &Tensor, size: (i64, i64)) -> Tensor {
    resize(img, size, false)
}

/// Downscaling with an area-like filter (antialiased bilinear, standing in for OpenCV's
/// INTER_AREA that Ultralytics' `load_image` uses to shrink validation images); enlarging is
/// plain bilinear.
pub fn resize_area(img: &Tensor, size: (i64, i64)) -> Tensor {
    let (h, w) = (img.size()[1], img.size()[2]);
    resize(img, size, size.0 < h || size.1 < w)
}

/// Applies a letterbox to an image `[3, H, W]` (u8, or any kind with values 0–255):
/// `[3, input_h, input_w]` of the same kind family, padded with 114 (divide by 255 after
/// converting to float for the network).
pub fn apply_letterbox(img: &Tensor, lb: &Letterbox) -> Tensor {
    let resized = resize_bilinear(img, lb.resized); // [3, h, w]
    if lb.resized == lb.input {
        return resized;
    }
    let out = Tensor::full([3, lb.input.0, lb.input.1], PAD_VALUE, (resized.kind(), img.device())); // [3, H, W]
    out.narrow(1, lb.top, lb.resized.0).narrow(2, lb.left, lb.resized.1).copy_(&resized);
    out
}

/// `scale_boxes`: xyxy boxes `[K, 4]` in network-input pixels → original-image pixels, clipped.
pub fn scale_boxes(lb: &Letterbox, boxes: &Tensor) -> Tensor {
    let (gx, gy, px, py) = inverse_gain(lb);
    let (h0, w0) = (lb.orig.0 as f64, lb.orig.1 as f64);
    let x1 = ((boxes.select(1, 0) - px) / gx).clamp(0.0, w0);
    let y1 = ((boxes.select(1, 1) - py) / gy).clamp(0.0, h0);
    let x2 = ((boxes.select(1, 2) - px) / gx).clamp(0.0, w0);
    let y2 = ((boxes.select(1, 3) - py) / gy).clamp(0.0, h0);
    Tensor::stack(&[x1, y1, x2, y2], 1) // [K, 4]
}

/// `scale_coords`: points `(x, y)` in network-input pixels → original pixels, clipped.
pub fn scale_point(lb: &Letterbox, x: f64, y: f64) -> (f64, f64) {
    let (gx, gy, px, py) = inverse_gain(lb);
    (((x - px) / gx).clamp(0.0, lb.orig.1 as f64), ((y - py) / gy).clamp(0.0, lb.orig.0 as f64))
}

/// Ultralytics recomputes the gain and padding from the two shapes (not from the letterbox
/// that was applied); mirror that so rescaled boxes agree with theirs to the last bit.
fn inverse_gain(lb: &Letterbox) -> (f64, f64, f64, f64) {
    let (h0, w0) = (lb.orig.0 as f64, lb.orig.1 as f64);
    let (h1, w1) = (lb.input.0 as f64, lb.input.1 as f64);
    let gain = (h1 / h0).min(w1 / w0);
    let (new_h, new_w) = (py_round(h0 * gain).max(1) as f64, py_round(w0 * gain).max(1) as f64);
    let pad_x = py_round((w1 - new_w) / 2.0 - 0.1) as f64;
    let pad_y = py_round((h1 - new_h) / 2.0 - 0.1) as f64;
    (new_w / w0, new_h / h0, pad_x, pad_y)
}

/// The classification transform of Ultralytics' predictor and validator
/// (`classify_transforms`): resize the shorter side to `size` (bilinear with antialiasing,
/// like PIL; the longer side truncated as torchvision does), centre-crop `size` x `size`.
/// Input `[3, H, W]` 0–255 (u8 for speed), output `[3, size, size]` of the same kind.
/// With u8 input libtorch's antialiased kernel reproduces PIL's resize (a port of
/// Pillow-SIMD) to the grey level.
pub fn classify_transform(img: &Tensor, size: i64) -> Tensor {
    let (h, w) = (img.size()[1], img.size()[2]);
    let (rh, rw) = if w <= h { (size * h / w, size) } else { (size, size * w / h) };
    let (rh, rw) = (rh.max(1), rw.max(1));
    let resized = resize(img, (rh, rw), true).unsqueeze(0);
    // torchvision CenterCrop: offsets int(round((H - size) / 2)); pad first if smaller.
    let top = py_round((rh - size) as f64 / 2.0).max(0);
    let left = py_round((rw - size) as f64 / 2.0).max(0);
    resized.squeeze_dim(0).narrow(1, top, size.min(rh)).narrow(2, left, size.min(rw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn auto_letterbox_is_the_minimal_stride_rectangle() {
        // 480x640 photo at 640: no resize, no padding.
        let lb = letterbox_shape((480, 640), (640, 640), true, 32);
        assert_eq!((lb.resized, lb.input, lb.top, lb.left), ((480, 640), (480, 640), 0, 0));
        // 500x375 (h x w) at 640: r = 1.28 → 640x480, no padding.
        let lb = letterbox_shape((500, 375), (640, 640), true, 32);
        assert_eq!((lb.resized, lb.input), ((640, 480), (640, 480)));
        // 300x200 at 640: r = 2.1333 → 640 x 427, padded to 448 wide (10 left, 11 right).
        let lb = letterbox_shape((300, 200), (640, 640), true, 32);
        assert_eq!((lb.resized, lb.input, lb.left), ((640, 427), (640, 448), 10));
    }

    #[test]
    fn square_letterbox_pads_to_target() {
        let lb = letterbox_shape((300, 200), (640, 640), false, 32);
        assert_eq!((lb.resized, lb.input, lb.top, lb.left), ((640, 427), (640, 640), 0, 106));
        let img = Tensor::full([3, 300, 200], 10.0, (Kind::Float, Device::Cpu));
        let out = apply_letterbox(&img, &lb);
        assert_eq!(out.size(), [3, 640, 640]);
        assert_eq!(out.double_value(&[0, 5, 0]), PAD_VALUE);
        assert_eq!(out.double_value(&[1, 320, 106]), 10.0);
        assert_eq!(out.double_value(&[2, 320, 106 + 427]), PAD_VALUE);
    }

    #[test]
    fn scale_boxes_inverts_the_letterbox() {
        let lb = letterbox_shape((300, 200), (640, 640), false, 32);
        let r = 640.0 / 300.0;
        let orig = [20.0f32, 30.0, 120.0, 290.0];
        let input: Vec<f32> = vec![20.0 * r + 106.0, 30.0 * r, 120.0 * r + 106.0, 290.0 * r].into_iter().map(|v| v as f32).collect();
        let back: Vec<f32> = scale_boxes(&lb, &Tensor::from_slice(&input).view([1, 4])).view(-1).try_into().unwrap();
        for (a, b) in back.iter().zip(orig) {
            assert!((a - b).abs() < 0.5, "{back:?}");
        }
        // Clipped to the image.
        let out: Vec<f32> = scale_boxes(&lb, &Tensor::from_slice(&[0.0f32, -5.0, 700.0, 700.0]).view([1, 4])).view(-1).try_into().unwrap();
        assert_eq!(out, [0.0, 0.0, 200.0, 300.0]);
        let (x, y) = scale_point(&lb, 106.0, 0.0);
        assert!(x.abs() < 0.5 && y == 0.0);
    }

    #[test]
    fn classify_transform_resizes_short_side_and_centre_crops() {
        let img = Tensor::arange(3 * 40 * 80, (Kind::Float, Device::Cpu)).remainder(256).view([3, 40, 80]);
        let out = classify_transform(&img, 32);
        assert_eq!(out.size(), [3, 32, 32]);
        let same = classify_transform(&Tensor::ones([3, 32, 32], (Kind::Uint8, Device::Cpu)), 32);
        assert_eq!(same.size(), [3, 32, 32]);
    }
}

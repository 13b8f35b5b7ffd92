//! Pixel operations of the training augmentations on 8-bit RGB images, written to match
//! OpenCV's semantics where Ultralytics relies on them: bilinear resize with half-pixel
//! centres (`INTER_LINEAR`), affine / perspective warps with a grey (114) border, the 8-bit
//! HSV round trip with look-up tables (`RandomHSV`), flips, and MixUp's blend.

/// An 8-bit RGB image, rows top to bottom, pixels interleaved `[r, g, b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Img {
    pub w: usize,
    pub h: usize,
    pub data: Vec<u8>,
}

/// Ultralytics' padding / border grey.
pub const GREY: u8 = 114;

impl Img {
    pub fn filled(w: usize, h: usize, v: u8) -> Self {
        Img { w, h, data: vec![v; w * h * 3] }
    }

    pub fn from_rgb(img: image::RgbImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        Img { w, h, data: img.into_raw() }
    }

    #[inline]
    pub fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.w + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Copies `src[sy0..sy0+h, sx0..sx0+w]` to `self[dy0.., dx0..]`.
    pub fn paste(&mut self, src: &Img, (dx0, dy0): (usize, usize), (sx0, sy0): (usize, usize), (w, h): (usize, usize)) {
        for r in 0..h {
            let d = ((dy0 + r) * self.w + dx0) * 3;
            let s = ((sy0 + r) * src.w + sx0) * 3;
            self.data[d..d + w * 3].copy_from_slice(&src.data[s..s + w * 3]);
        }
    }

    pub fn flip_lr(&mut self) {
        for row in self.data.chunks_exact_mut(self.w * 3) {
            let (mut a, mut b) = (0, self.w - 1);
            while a < b {
                for c in 0..3 {
                    row.swap(a * 3 + c, b * 3 + c);
                }
                a += 1;
                b -= 1;
            }
        }
    }

    pub fn flip_ud(&mut self) {
        let stride = self.w * 3;
        for y in 0..self.h / 2 {
            let (top, bottom) = self.data.split_at_mut((self.h - 1 - y) * stride);
            top[y * stride..(y + 1) * stride].swap_with_slice(&mut bottom[..stride]);
        }
    }
}

/// Source coordinate and weights of a bilinear axis: `(i0, i1, w1)` per output index.
fn axis(out: usize, input: usize, scale: f64, offset: f64) -> Vec<(usize, usize, f32)> {
    (0..out)
        .map(|o| {
            let s = ((o as f64 + 0.5) * scale - 0.5 + offset).max(0.0);
            let i0 = (s.floor() as usize).min(input - 1);
            let i1 = (i0 + 1).min(input - 1);
            (i0, i1, (s - i0 as f64).clamp(0.0, 1.0) as f32)
        })
        .collect()
}

/// Bilinear resize (`cv2.resize(..., INTER_LINEAR)`: half-pixel centres, no antialiasing).
pub fn resize(img: &Img, nw: usize, nh: usize) -> Img {
    if (nw, nh) == (img.w, img.h) {
        return img.clone();
    }
    resized_crop(img, (0.0, 0.0, img.w as f64, img.h as f64), nw, nh)
}

/// Bilinear resample of the region `(x, y, w, h)` of `img` to `nw` x `nh`
/// (torchvision's `resized_crop`, used by the classification augmentation).
pub fn resized_crop(img: &Img, (x, y, w, h): (f64, f64, f64, f64), nw: usize, nh: usize) -> Img {
    let xs = axis(nw, img.w, w / nw as f64, x);
    let ys = axis(nh, img.h, h / nh as f64, y);
    let mut out = Img::filled(nw, nh, 0);
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        let r0 = &img.data[y0 * img.w * 3..(y0 + 1) * img.w * 3];
        let r1 = &img.data[y1 * img.w * 3..(y1 + 1) * img.w * 3];
        let dst = &mut out.data[oy * nw * 3..(oy + 1) * nw * 3];
        for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
            for c in 0..3 {
                let top = r0[x0 * 3 + c] as f32 * (1.0 - fx) + r0[x1 * 3 + c] as f32 * fx;
                let bot = r1[x0 * 3 + c] as f32 * (1.0 - fx) + r1[x1 * 3 + c] as f32 * fx;
                dst[ox * 3 + c] = (top * (1.0 - fy) + bot * fy).round() as u8;
            }
        }
    }
    out
}

/// A 3x3 transform in row-major order (`[m00, m01, m02, m10, …]`).
pub type Mat3 = [f64; 9];

pub fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut o = [0.0; 9];
    for r in 0..3 {
        for c in 0..3 {
            o[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
        }
    }
    o
}

pub fn mat_inv(m: &Mat3) -> Option<Mat3> {
    let [a, b, c, d, e, f, g, h, i] = *m;
    let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    if det.abs() < 1e-12 {
        return None;
    }
    let inv = [
        e * i - f * h, c * h - b * i, b * f - c * e,
        f * g - d * i, a * i - c * g, c * d - a * f,
        d * h - e * g, b * g - a * h, a * e - b * d,
    ];
    Some(inv.map(|v| v / det))
}

/// Applies `m` to a point (with the perspective division).
#[inline]
pub fn apply(m: &Mat3, x: f64, y: f64) -> (f64, f64) {
    let w = m[6] * x + m[7] * y + m[8];
    ((m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w)
}

/// `cv2.warpAffine` / `cv2.warpPerspective` with bilinear sampling and a grey border:
/// output pixel (x, y) takes the input at `m⁻¹ · (x, y)`.
pub fn warp(img: &Img, m: &Mat3, ow: usize, oh: usize) -> Img {
    let Some(inv) = mat_inv(m) else { return Img::filled(ow, oh, GREY) };
    let affine = inv[6] == 0.0 && inv[7] == 0.0;
    let mut out = Img::filled(ow, oh, GREY);
    let (w, h) = (img.w as isize, img.h as isize);
    let sample = |xi: isize, yi: isize| -> [f32; 3] {
        if xi < 0 || yi < 0 || xi >= w || yi >= h {
            [GREY as f32; 3]
        } else {
            let p = img.px(xi as usize, yi as usize);
            [p[0] as f32, p[1] as f32, p[2] as f32]
        }
    };
    for oy in 0..oh {
        let row = &mut out.data[oy * ow * 3..(oy + 1) * ow * 3];
        for ox in 0..ow {
            let (sx, sy) = if affine {
                let (x, y) = (ox as f64, oy as f64);
                (inv[0] * x + inv[1] * y + inv[2], inv[3] * x + inv[4] * y + inv[5])
            } else {
                apply(&inv, ox as f64, oy as f64)
            };
            if !(sx > -1.0 && sy > -1.0 && sx < img.w as f64 && sy < img.h as f64) {
                continue; // entirely outside: stays grey
            }
            let (x0, y0) = (sx.floor() as isize, sy.floor() as isize);
            let (fx, fy) = ((sx - x0 as f64) as f32, (sy - y0 as f64) as f32);
            let (a, b, c, d) = (sample(x0, y0), sample(x0 + 1, y0), sample(x0, y0 + 1), sample(x0 + 1, y0 + 1));
            for ch in 0..3 {
                let top = a[ch] + (b[ch] - a[ch]) * fx;
                let bot = c[ch] + (d[ch] - c[ch]) * fx;
                row[ox * 3 + ch] = (top + (bot - top) * fy).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// OpenCV's 8-bit RGB → HSV (H in 0..180, S and V in 0..=255).
#[inline]
fn rgb_to_hsv(r: u8, g: u8, b: u8) -> (u8, u8, u8) {
    let (rf, gf, bf) = (r as f32, g as f32, b as f32);
    let v = rf.max(gf).max(bf);
    let min = rf.min(gf).min(bf);
    let diff = v - min;
    let s = if v > 0.0 { (255.0 * diff / v).round() } else { 0.0 };
    let mut h = if diff == 0.0 {
        0.0
    } else if v == rf {
        60.0 * (gf - bf) / diff
    } else if v == gf {
        120.0 + 60.0 * (bf - rf) / diff
    } else {
        240.0 + 60.0 * (rf - gf) / diff
    };
    if h < 0.0 {
        h += 360.0;
    }
    let h = (h / 2.0).round() as u32 % 180;
    (h as u8, s as u8, v as u8)
}

/// OpenCV's 8-bit HSV → RGB.
#[inline]
fn hsv_to_rgb(h: u8, s: u8, v: u8) -> [u8; 3] {
    let (h, s, v) = (h as f32 * 2.0, s as f32 / 255.0, v as f32);
    let sector = (h / 60.0).floor();
    let f = h / 60.0 - sector;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    let (r, g, b) = match sector as i32 % 6 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    [r.round() as u8, g.round() as u8, b.round() as u8]
}

/// `RandomHSV` with gains already drawn (`r` = uniform(-1, 1) × (hgain, sgain, vgain)): hue
/// shifted by `r[0]·180` (mod 180), saturation and value scaled by `1 + r`, clipped.
pub fn hsv_shift(img: &mut Img, r: [f64; 3]) {
    let mut lut_h = [0u8; 256];
    let mut lut_s = [0u8; 256];
    let mut lut_v = [0u8; 256];
    for x in 0..256 {
        let xf = x as f64;
        lut_h[x] = ((xf + r[0] * 180.0).rem_euclid(180.0)) as u8;
        lut_s[x] = (xf * (r[1] + 1.0)).clamp(0.0, 255.0) as u8;
        lut_v[x] = (xf * (r[2] + 1.0)).clamp(0.0, 255.0) as u8;
    }
    lut_s[0] = 0; // keep pure greys grey (Ultralytics 8.3.79+)
    for p in img.data.chunks_exact_mut(3) {
        let (h, s, v) = rgb_to_hsv(p[0], p[1], p[2]);
        p.copy_from_slice(&hsv_to_rgb(lut_h[h as usize], lut_s[s as usize], lut_v[v as usize]));
    }
}

/// MixUp's blend `a·r + b·(1 − r)`, truncated to u8 as numpy's `astype(uint8)`.
pub fn blend(a: &mut Img, b: &Img, r: f64) {
    for (x, &y) in a.data.iter_mut().zip(&b.data) {
        *x = (*x as f64 * r + y as f64 * (1.0 - r)) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> Img {
        let mut img = Img::filled(w, h, 0);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 3;
                img.data[i..i + 3].copy_from_slice(&[(x * 10) as u8, (y * 10) as u8, 77]);
            }
        }
        img
    }

    #[test]
    fn resize_identity_and_halving() {
        let img = gradient(8, 6);
        assert_eq!(resize(&img, 8, 6), img);
        let half = resize(&img, 4, 3);
        // Output pixel 0 samples input 0.5 → mean of columns 0 and 1.
        assert_eq!(half.px(0, 0), [5, 5, 77]);
        assert_eq!(half.px(3, 2), [65, 45, 77]);
    }

    #[test]
    fn warp_with_identity_copies_and_translation_shifts_with_grey_border() {
        let img = gradient(6, 5);
        let id = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(warp(&img, &id, 6, 5), img);
        let shift = [1.0, 0.0, 2.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
        let out = warp(&img, &shift, 6, 5);
        assert_eq!(out.px(2, 1), img.px(0, 0));
        assert_eq!(out.px(5, 4), img.px(3, 3));
        assert_eq!(out.px(0, 0), [GREY; 3]);
        let persp = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0 + 1e-12];
        assert_eq!(warp(&img, &persp, 6, 5), img, "the perspective path agrees");
    }

    #[test]
    fn hsv_round_trip_is_identity_at_zero_gain() {
        let mut img = Img { w: 4, h: 1, data: vec![10, 200, 30, 255, 0, 0, 128, 128, 128, 0, 0, 0] };
        let orig = img.clone();
        hsv_shift(&mut img, [0.0, 0.0, 0.0]);
        for (a, b) in img.data.iter().zip(&orig.data) {
            assert!((*a as i32 - *b as i32).abs() <= 3, "{:?} vs {:?}", img.data, orig.data);
        }
        // Value gain darkens; greys stay grey.
        hsv_shift(&mut img, [0.0, 0.5, -0.5]);
        assert_eq!(img.px(2, 0), [64, 64, 64]);
    }

    #[test]
    fn flips_mirror() {
        let mut img = gradient(3, 2);
        let orig = img.clone();
        img.flip_lr();
        assert_eq!(img.px(0, 1), orig.px(2, 1));
        img.flip_lr();
        img.flip_ud();
        assert_eq!(img.px(1, 0), orig.px(1, 1));
    }

    #[test]
    fn matrices_invert() {
        let m = [2.0, 0.5, 3.0, 0.1, 1.5, -2.0, 0.0, 0.0, 1.0];
        let p = mat_mul(&m, &mat_inv(&m).unwrap());
        for (i, v) in p.iter().enumerate() {
            assert!((v - if i % 4 == 0 { 1.0 } else { 0.0 }).abs() < 1e-12);
        }
    }
}

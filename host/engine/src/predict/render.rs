//! Draws predictions onto a copy of the image (boxes and polygon outlines, one colour per
//! class) for the `predict --render` option. Labels are not drawn: there is no font here.

use image::{Rgb, RgbImage};

use super::result::Prediction;

/// Ultralytics' default palette (first ten colours), cycled by class id.
const PALETTE: [[u8; 3]; 10] = [
    [255, 56, 56], [255, 157, 151], [255, 112, 31], [255, 178, 29], [207, 210, 49],
    [72, 249, 10], [146, 204, 23], [61, 219, 134], [26, 147, 52], [0, 212, 187],
];

fn colour(class_id: i64) -> Rgb<u8> {
    Rgb(PALETTE[class_id.rem_euclid(PALETTE.len() as i64) as usize])
}

/// A line of `width` pixels (Bresenham, thickened by drawing neighbours).
fn line(img: &mut RgbImage, a: (f32, f32), b: (f32, f32), c: Rgb<u8>, width: i64) {
    let (mut x0, mut y0, x1, y1) = (a.0.round() as i64, a.1.round() as i64, b.0.round() as i64, b.1.round() as i64);
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    let (w, h) = (img.width() as i64, img.height() as i64);
    loop {
        for ox in 0..width {
            for oy in 0..width {
                let (x, y) = (x0 + ox - width / 2, y0 + oy - width / 2);
                if x >= 0 && y >= 0 && x < w && y < h {
                    img.put_pixel(x as u32, y as u32, c);
                }
            }
        }
        if x0 == x1 && y0 == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x0 += sx;
        }
        if e2 <= dx {
            err += dx;
            y0 += sy;
        }
    }
}

/// The image with the prediction's boxes (and polygons) drawn on it.
pub fn render(image: &RgbImage, pred: &Prediction) -> RgbImage {
    let mut out = image.clone();
    let width = ((image.width().max(image.height()) as f32 / 300.0).round() as i64).max(1);
    for d in &pred.detections {
        let c = colour(d.class_id);
        let [x1, y1, x2, y2] = d.bbox;
        for (a, b) in [((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))] {
            line(&mut out, a, b, c, width);
        }
        if let Some(poly) = &d.polygon {
            for i in 0..poly.len() {
                let (p, q) = (poly[i], poly[(i + 1) % poly.len()]);
                line(&mut out, (p[0], p[1]), (q[0], q[1]), c, width);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::result::{Detection, Timing};
    use af_core::TaskType;

    #[test]
    fn draws_the_box_outline_only() {
        let img = RgbImage::new(20, 20);
        let pred = Prediction {
            task: TaskType::Detect,
            width: 20,
            height: 20,
            input_size: [32, 32],
            detections: vec![Detection { class_id: 0, class_label: "a".into(), confidence: 0.9, bbox: [2.0, 3.0, 12.0, 15.0], polygon: None }],
            classes: vec![],
            timing: Timing::default(),
        };
        let out = render(&img, &pred);
        assert_eq!(*out.get_pixel(2, 3), colour(0));
        assert_eq!(*out.get_pixel(12, 9), colour(0));
        assert_eq!(*out.get_pixel(7, 9), Rgb([0, 0, 0]), "inside stays untouched");
    }
}

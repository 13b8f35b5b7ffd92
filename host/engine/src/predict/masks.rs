//! Instance masks from prototypes, as Ultralytics' `ops.process_mask(..., upsample=True)`:
//! `coef @ proto` per detection, bilinearly upsampled to the network input, binarised at 0
//! (sigmoid > 0.5), then zeroed outside the detection's box (`crop_mask`).

use tch::{Kind, Tensor};

/// `protos` `[32, mh, mw]`, `coefs` `[K, 32]`, `boxes` `[K, 4]` xyxy in input pixels, `shape`
/// the input `(h, w)` → `[K, h, w]` u8 masks (0/1).
pub fn process_mask(protos: &Tensor, coefs: &Tensor, boxes: &Tensor, shape: (i64, i64)) -> Tensor {
    let k = coefs.size()[0];
    if k == 0 {
        return Tensor::zeros([0, shape.0, shape.1], (Kind::Uint8, protos.device()));
    }
    let (c, mh, mw) = protos.size3().expect("protos are [C, H, W]");
    let masks = coefs.matmul(&protos.to_kind(Kind::Float).view([c, mh * mw])).view([1, k, mh, mw]); // [1, K, mh, mw]
    let masks = masks.upsample_bilinear2d([shape.0, shape.1], false, None, None).squeeze_dim(0); // [K, h, w]
    crop_mask(&masks.gt(0.0).to_kind(Kind::Uint8), boxes)
}

/// `process_mask(..., upsample=False)`, what the validator uses: masks at the prototype
/// resolution `[K, mh, mw]` (u8 0/1), cropped to the boxes scaled from input `shape` `(h, w)`.
pub fn process_mask_proto(protos: &Tensor, coefs: &Tensor, boxes: &Tensor, shape: (i64, i64)) -> Tensor {
    let (c, mh, mw) = protos.size3().expect("protos are [C, H, W]");
    let k = coefs.size()[0];
    if k == 0 {
        return Tensor::zeros([0, mh, mw], (Kind::Uint8, protos.device()));
    }
    let masks = coefs.matmul(&protos.to_kind(Kind::Float).view([c, mh * mw])).view([k, mh, mw]); // [K, mh, mw]
    let (rw, rh) = (mw as f64 / shape.1 as f64, mh as f64 / shape.0 as f64);
    let ratios = Tensor::from_slice(&[rw as f32, rh as f32, rw as f32, rh as f32]).to_device(boxes.device()).view([1, 4]);
    crop_mask(&masks.gt(0.0).to_kind(Kind::Uint8), &(boxes.to_kind(Kind::Float) * ratios))
}

/// Zeroes every mask outside its box: column `c` is kept when `x1 <= c < x2`, row `r` when
/// `y1 <= r < y2`.
pub fn crop_mask(masks: &Tensor, boxes: &Tensor) -> Tensor {
    let (_, h, w) = masks.size3().expect("masks are [K, H, W]");
    let b = boxes.to_device(masks.device()).to_kind(Kind::Float).unsqueeze(2); // [K, 4, 1]
    let (x1, y1, x2, y2) = (b.narrow(1, 0, 1), b.narrow(1, 1, 1), b.narrow(1, 2, 1), b.narrow(1, 3, 1)); // [K, 1, 1]
    let cols = Tensor::arange(w, (Kind::Float, masks.device())).view([1, 1, w]);
    let rows = Tensor::arange(h, (Kind::Float, masks.device())).view([1, h, 1]);
    let keep_cols = cols.ge_tensor(&x1).logical_and(&cols.lt_tensor(&x2)); // [K, 1, w]
    let keep_rows = rows.ge_tensor(&y1).logical_and(&rows.lt_tensor(&y2)); // [K, h, 1]
    masks * keep_cols.to_kind(Kind::Uint8) * keep_rows.to_kind(Kind::Uint8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn masks_are_cropped_to_their_boxes() {
        // One prototype that is positive everywhere; coefficient 1 → all-ones mask before cropping.
        let protos = Tensor::ones([1, 4, 4], (Kind::Float, Device::Cpu));
        let coefs = Tensor::ones([2, 1], (Kind::Float, Device::Cpu));
        let boxes = Tensor::from_slice(&[2.0f32, 2.0, 6.0, 5.0, 0.0, 0.0, 16.0, 16.0]).view([2, 4]);
        let m = process_mask(&protos, &coefs, &boxes, (16, 16));
        assert_eq!(m.size(), [2, 16, 16]);
        assert_eq!(m.get(0).sum(Kind::Int64).int64_value(&[]), 4 * 3);
        assert_eq!(m.get(0).int64_value(&[2, 2]), 1);
        assert_eq!(m.get(0).int64_value(&[5, 2]), 0, "y2 is exclusive");
        assert_eq!(m.get(1).sum(Kind::Int64).int64_value(&[]), 256);
        // A negative coefficient gives an empty mask.
        let neg = process_mask(&protos, &(-coefs.get(0).unsqueeze(0)), &boxes.narrow(0, 0, 1), (16, 16));
        assert_eq!(neg.sum(Kind::Int64).int64_value(&[]), 0);
    }
}

//! Reading images for inference: any format the `image` crate decodes (PNG, JPEG, WebP,
//! BMP, TIFF) → RGB8, alpha dropped and grey expanded (as `cv2.imread(IMREAD_COLOR)` does).
//! Non-images and zero-size images are errors that name the source; every decode follows one
//! size policy ([`af_core::ImageLimits`], checked on the header before decoding).

use std::fmt;
use std::io::Cursor;
use std::path::Path;

use af_core::{ImageLimits, ImageTooLarge};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use tch::{Device, Tensor};

use crate::error::{EngineError, Result};

/// Why bytes were not decoded under an [`ImageLimits`] policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The header's width × height is over the limit; nothing was decoded.
    TooLarge(ImageTooLarge),
    /// Empty, not an image, or a file its decoder cannot read (corrupt, truncated).
    Invalid(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLarge(e) => e.fmt(f),
            DecodeError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes `bytes` under `limits`: the header is read first and an image over the pixel
/// limit is refused before any pixel is decoded (a 20000×20000 PNG of a few hundred KB costs
/// microseconds, not seconds and gigabytes); the decoder's allocations are then capped by
/// [`ImageLimits::max_decoder_bytes`], which any image within the pixel limit fits.
pub fn decode_limited(bytes: &[u8], limits: &ImageLimits) -> std::result::Result<(ImageFormat, DynamicImage), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Invalid("the file is empty".into()));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Invalid(format!("cannot read the file: {e}")))?;
    let format = reader
        .format()
        .ok_or_else(|| DecodeError::Invalid("not an image: the format is not recognised (expected PNG, JPEG, WebP, BMP or TIFF)".into()))?;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_decoder_bytes());
    reader.limits(decoder_limits);
    let what = format!("{format:?}").to_ascii_uppercase();
    // Constructing the decoder reads only the header (dimensions and pixel layout).
    let decoder = reader.into_decoder().map_err(|e| DecodeError::Invalid(format!("the {what} file cannot be decoded: {e}")))?;
    let (width, height) = decoder.dimensions();
    limits.check(width, height).map_err(DecodeError::TooLarge)?;
    if decoder.total_bytes() > limits.max_decoder_bytes() {
        // Only reachable with an unusual pixel layout: still the pixel policy's refusal.
        return Err(DecodeError::TooLarge(ImageTooLarge { width, height, max_pixels: limits.max_pixels }));
    }
    let img = DynamicImage::from_decoder(decoder).map_err(|e| DecodeError::Invalid(format!("the {what} file cannot be decoded: {e}")))?;
    Ok((format, img))
}

/// Decodes an in-memory image under the default [`ImageLimits`]; `name` is used in errors
/// (a file name or upload name).
pub fn decode_image(bytes: &[u8], name: &str) -> Result<RgbImage> {
    decode_image_limited(bytes, name, &ImageLimits::default())
}

/// Decodes an in-memory image to RGB8 under `limits`.
pub fn decode_image_limited(bytes: &[u8], name: &str, limits: &ImageLimits) -> Result<RgbImage> {
    let (_, img) = decode_limited(bytes, limits).map_err(|e| EngineError::image(name, e.to_string()))?;
    check_size(img.to_rgb8(), name)
}

/// Reads and decodes an image file under the default [`ImageLimits`].
pub fn read_image(path: impl AsRef<Path>) -> Result<RgbImage> {
    read_image_limited(path, &ImageLimits::default())
}

/// Reads and decodes an image file under `limits`.
pub fn read_image_limited(path: impl AsRef<Path>, limits: &ImageLimits) -> Result<RgbImage> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
    decode_image_limited(&bytes, &path.display().to_string(), limits)
}

fn check_size(img: RgbImage, name: &str) -> Result<RgbImage> {
    if img.width() == 0 || img.height() == 0 {
        return Err(EngineError::image(name, format!("zero-size image ({}x{})", img.width(), img.height())));
    }
    Ok(img)
}

/// `[3, H, W]` u8 tensor on `device` (RGB, channels first).
pub fn image_to_tensor(img: &RgbImage, device: Device) -> Tensor {
    let (w, h) = (img.width() as i64, img.height() as i64);
    Tensor::from_slice(img.as_raw()).view([h, w, 3]).to_device(device).permute([2, 0, 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn decodes_png_to_channels_first_tensor() {
        let img = decode_image(&png(5, 3), "a.png").unwrap();
        let t = image_to_tensor(&img, Device::Cpu);
        assert_eq!(t.size(), [3, 3, 5]);
        assert_eq!(t.int64_value(&[0, 2, 4]), 4); // R = x
        assert_eq!(t.int64_value(&[1, 2, 4]), 2); // G = y
        assert_eq!(t.int64_value(&[2, 0, 0]), 7);
    }

    #[test]
    fn rejects_non_images_and_empty_input() {
        for (bytes, what) in [(&b"hello, not an image"[..], "not an image"), (&b""[..], "empty")] {
            let err = decode_image(bytes, "x.txt").unwrap_err().to_string();
            assert!(err.contains("x.txt") && err.contains(what), "{err}");
        }
        let mut truncated = png(8, 8);
        truncated.truncate(40);
        assert!(matches!(decode_image(&truncated, "t.png"), Err(EngineError::Image { .. })));
        assert!(matches!(read_image("/definitely/not/here.png"), Err(EngineError::Io { .. })));
    }

    #[test]
    fn refuses_images_over_the_pixel_limit_from_the_header() {
        let bytes = png(40, 30);
        let limits = ImageLimits::new(40 * 30 - 1);
        match decode_limited(&bytes, &limits) {
            Err(DecodeError::TooLarge(e)) => assert_eq!((e.width, e.height, e.max_pixels), (40, 30, 1199)),
            other => panic!("{other:?}"),
        }
        let err = decode_image_limited(&bytes, "big.png", &limits).unwrap_err().to_string();
        assert!(err.contains("max_image_pixels"), "{err}");
        assert_eq!(decode_image_limited(&bytes, "ok.png", &ImageLimits::new(1200)).unwrap().dimensions(), (40, 30));
    }

    #[test]
    fn rejects_zero_size_images() {
        // A PNG header claiming 0x0 is refused by the decoder or by our size check.
        let mut bytes = png(1, 1);
        bytes[16..24].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(decode_image(&bytes, "zero.png").is_err());
        assert!(check_size(RgbImage::new(0, 4), "z").is_err());
    }
}

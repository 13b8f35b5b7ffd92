//! Reading images for inference: any format the `image` crate decodes (PNG, JPEG, WebP,
//! BMP, TIFF) → RGB8, alpha dropped and grey expanded (as `cv2.imread(IMREAD_COLOR)` does).
//! Non-images and zero-size images are errors that name the source.

use std::io::Cursor;
use std::path::Path;

use image::{ImageReader, RgbImage};
use tch::{Device, Tensor};

use crate::error::{EngineError, Result};

/// Decodes an in-memory image; `name` is used in errors (a file name or upload name).
pub fn decode_image(bytes: &[u8], name: &str) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(EngineError::image(name, "empty file"));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| EngineError::image(name, e.to_string()))?;
    if reader.format().is_none() {
        return Err(EngineError::image(name, "not an image (unrecognised format)"));
    }
    let img = reader.decode().map_err(|e| EngineError::image(name, format!("cannot decode: {e}")))?;
    check_size(img.to_rgb8(), name)
}

/// Reads and decodes an image file.
pub fn read_image(path: impl AsRef<Path>) -> Result<RgbImage> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
    decode_image(&bytes, &path.display().to_string())
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
    fn rejects_zero_size_images() {
        // A PNG header claiming 0x0 is refused by the decoder or by our size check.
        let mut bytes = png(1, 1);
        bytes[16..24].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(decode_image(&bytes, "zero.png").is_err());
        assert!(check_size(RgbImage::new(0, 4), "z").is_err());
    }
}

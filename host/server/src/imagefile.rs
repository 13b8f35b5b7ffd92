//! Deciding whether bytes are an image we accept: PNG, JPEG, WebP, BMP or TIFF, decoded in full
//! (a truncated or corrupt file fails here, not later in training), within size limits.

use image::{ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// What the API stores about an accepted image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// File extension used for storage (`png`, `jpg`, `webp`, `bmp`, `tiff`).
    pub ext: &'static str,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub sha256: String,
}

/// Largest accepted side, in pixels.
pub const MAX_SIDE: u32 = 20_000;

/// Decodes `bytes` fully and describes the image, or says in words why it is not acceptable.
/// CPU-bound: call from `spawn_blocking`.
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| format!("cannot read the file: {e}"))?;
    let format = reader.format().ok_or("not an image: the format is not recognised (expected PNG, JPEG, WebP, BMP or TIFF)")?;
    let (ext, content_type) = match format {
        ImageFormat::Png => ("png", "image/png"),
        ImageFormat::Jpeg => ("jpg", "image/jpeg"),
        ImageFormat::WebP => ("webp", "image/webp"),
        ImageFormat::Bmp => ("bmp", "image/bmp"),
        ImageFormat::Tiff => ("tiff", "image/tiff"),
        other => return Err(format!("unsupported image format {other:?} (expected PNG, JPEG, WebP, BMP or TIFF)")),
    };
    let mut reader = reader;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| format!("the {ext} file cannot be decoded: {e}"))?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    Ok(ImageInfo { ext, content_type, width: img.width(), height: img.height(), sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn accepts_real_images_with_their_size() {
        let bytes = png(31, 17);
        let info = inspect(&bytes).unwrap();
        assert_eq!((info.ext, info.content_type, info.width, info.height), ("png", "image/png", 31, 17));
        assert_eq!(info.sha256.len(), 64);
        let mut jpeg = Cursor::new(Vec::new());
        image::RgbImage::new(8, 9).write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
        assert_eq!(inspect(jpeg.get_ref()).unwrap().content_type, "image/jpeg");
    }

    #[test]
    fn rejects_text_empty_and_truncated_files() {
        assert!(inspect(b"").unwrap_err().contains("empty"));
        assert!(inspect(b"hello, world").unwrap_err().contains("not recognised"));
        let bytes = png(64, 64);
        let err = inspect(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(err.contains("cannot be decoded"), "{err}");
    }
}

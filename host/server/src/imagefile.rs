//! Deciding whether bytes are an image we accept: PNG, JPEG, WebP, BMP or TIFF, decoded in full
//! (a truncated or corrupt file fails here, not later in training), within the server's one
//! image-size policy ([`ImageLimits`], the setting `max_image_pixels`): the header's
//! dimensions are checked before anything is decoded, and the decoder's memory is capped by
//! the same limit. Upload, import, predict and pre-label all decode through here, so an image
//! the server stored can always be predicted, and one too large is refused up front with a
//! message naming the limit.

use af_core::{ImageLimits, ImageTooLarge};
use af_engine::predict::{decode_limited, DecodeError};
use image::{ImageFormat, RgbImage};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::AppError;
use crate::storage::Storage;

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

/// The server's image-size policy.
pub fn limits(config: &Config) -> ImageLimits {
    ImageLimits::new(config.limits.max_image_pixels)
}

/// The storage extension and content type of a format we accept, from the file's magic bytes.
fn accepted_format(bytes: &[u8]) -> Result<(&'static str, &'static str), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Invalid("the file is empty".into()));
    }
    let format = image::guess_format(bytes)
        .map_err(|_| DecodeError::Invalid("not an image: the format is not recognised (expected PNG, JPEG, WebP, BMP or TIFF)".into()))?;
    Ok(match format {
        ImageFormat::Png => ("png", "image/png"),
        ImageFormat::Jpeg => ("jpg", "image/jpeg"),
        ImageFormat::WebP => ("webp", "image/webp"),
        ImageFormat::Bmp => ("bmp", "image/bmp"),
        ImageFormat::Tiff => ("tiff", "image/tiff"),
        other => return Err(DecodeError::Invalid(format!("unsupported image format {other:?} (expected PNG, JPEG, WebP, BMP or TIFF)"))),
    })
}

/// Decodes `bytes` fully and describes the image, or says why it is not acceptable.
/// CPU-bound: call from `spawn_blocking`.
pub fn inspect(bytes: &[u8], limits: &ImageLimits) -> Result<ImageInfo, DecodeError> {
    let (ext, content_type) = accepted_format(bytes)?;
    let (_, img) = decode_limited(bytes, limits)?;
    let (width, height) = (img.width(), img.height());
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(DecodeError::Invalid(format!("the image is {width}×{height}; its sides may be at most {MAX_SIDE} pixels")));
    }
    if width == 0 || height == 0 {
        return Err(DecodeError::Invalid(format!("the image is {width}×{height}: it has no pixels")));
    }
    let sha256 = hex::encode(Sha256::digest(bytes));
    Ok(ImageInfo { ext, content_type, width, height, sha256 })
}

/// Decodes an uploaded file for a prediction (one decode, same checks as [`inspect`]).
pub fn decode_rgb(bytes: &[u8], limits: &ImageLimits) -> Result<RgbImage, DecodeError> {
    accepted_format(bytes)?;
    let (_, img) = decode_limited(bytes, limits)?;
    if img.width() == 0 || img.height() == 0 {
        return Err(DecodeError::Invalid(format!("the image is {}×{}: it has no pixels", img.width(), img.height())));
    }
    Ok(img.to_rgb8())
}

/// The 422 for an image over the limit; `field` names the request field that chose it.
pub fn too_large(field: &str, e: &ImageTooLarge) -> AppError {
    AppError::Unprocessable {
        message: e.to_string(),
        details: serde_json::json!({
            "field": field,
            "limit": ImageTooLarge::SETTING,
            "max_image_pixels": e.max_pixels,
            "width": e.width,
            "height": e.height,
        }),
    }
}

/// Refuses a stored image over the policy by the dimensions recorded at upload, before its
/// file is read (images stored before the policy, or before the limit was lowered).
pub fn check_stored(image: &af_db::images::Image, limits: &ImageLimits) -> Result<(), ImageTooLarge> {
    let side = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    limits.check(side(image.width), side(image.height))
}

/// A stored image decoded to RGB for a prediction. Over the limit: a 422 naming it (and
/// `field`); a stored file that cannot be read or decoded is a server-side failure (500).
pub async fn read_stored_rgb(storage: &Storage, image: &af_db::images::Image, limits: ImageLimits, field: &str) -> Result<RgbImage, AppError> {
    check_stored(image, &limits).map_err(|e| too_large(field, &e))?;
    let bytes = storage.read_image(&image.storage_key).await?;
    let id = image.id;
    let decoded = tokio::task::spawn_blocking(move || decode_limited(&bytes, &limits).map(|(_, img)| img.to_rgb8()))
        .await
        .map_err(anyhow::Error::from)?;
    match decoded {
        Ok(img) => Ok(img),
        // The file disagrees with its recorded size: the file is what gets decoded.
        Err(DecodeError::TooLarge(e)) => Err(too_large(field, &e)),
        Err(DecodeError::Invalid(m)) => Err(anyhow::anyhow!("stored image {id} cannot be decoded: {m}").into()),
    }
}

/// Images for tests (here and in the integration tests).
#[doc(hidden)]
pub mod testing {
    /// A PNG whose header says `w`×`h` greyscale, with a token of pixel data: enough to be
    /// recognised and have its dimensions read, far too little to decode.
    pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = 0xFFFF_FFFFu32;
            for &b in bytes {
                crc ^= u32::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                }
            }
            !crc
        }
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend_from_slice(data);
            out.extend_from_slice(&body);
            out.extend_from_slice(&crc32(&body).to_be_bytes());
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, deflate, no filter, no interlace
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[0x78, 0x01, 0x01, 0x00, 0x00]);
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testing::png_header_only;
    use super::*;
    use std::io::Cursor;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn accepts_real_images_with_their_size() {
        let bytes = png(31, 17);
        let info = inspect(&bytes, &ImageLimits::default()).unwrap();
        assert_eq!((info.ext, info.content_type, info.width, info.height), ("png", "image/png", 31, 17));
        assert_eq!(info.sha256.len(), 64);
        let mut jpeg = Cursor::new(Vec::new());
        image::RgbImage::new(8, 9).write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
        assert_eq!(inspect(jpeg.get_ref(), &ImageLimits::default()).unwrap().content_type, "image/jpeg");
    }

    #[test]
    fn rejects_text_empty_and_truncated_files() {
        let l = ImageLimits::default();
        assert!(inspect(b"", &l).unwrap_err().to_string().contains("empty"));
        assert!(inspect(b"hello, world", &l).unwrap_err().to_string().contains("not recognised"));
        let bytes = png(64, 64);
        let err = inspect(&bytes[..bytes.len() / 2], &l).unwrap_err().to_string();
        assert!(err.contains("cannot be decoded"), "{err}");
    }


    /// A 20000×20000 greyscale PNG compresses to a few hundred KB; decoding it would take
    /// seconds and 400 MB. The header check refuses it without decoding: this file's pixel
    /// data is truncated, so a decode would fail differently (how fast: docs/benchmarks.md).
    #[test]
    fn refuses_a_huge_png_from_its_header_quickly() {
        let bytes = png_header_only(20_000, 20_000);
        assert!(bytes.len() < 2 << 20, "{} bytes", bytes.len());
        let err = inspect(&bytes, &ImageLimits::default()).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge(_)), "{err}");
        assert!(err.to_string().contains("max_image_pixels") && err.to_string().contains("20000×20000"), "{err}");
    }
}

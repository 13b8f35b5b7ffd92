//! The one image-size policy: upload, import, predict and pre-label all accept an image only
//! if its width × height is at most [`ImageLimits::max_pixels`], checked on the header's
//! dimensions before anything is decoded, and decode it with a memory limit derived from that
//! number. Everything stored was accepted under the policy, so everything stored can be
//! predicted; an image stored before it (or after the limit was lowered) is refused with the
//! same message, never a decoder's allocation failure.

use std::fmt;

/// 8192 × 8192: a large photograph or scan; decoded as 16-bit RGBA it needs 512 MiB.
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 8192 * 8192;

/// Bytes per pixel of the widest layout the decoders produce (16-bit RGBA).
const WIDEST_PIXEL_BYTES: u64 = 8;

/// Room for a decoder's own buffers (rows, Huffman tables, zlib window) beyond the image.
const DECODER_OVERHEAD_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// The largest width × height accepted (the setting `max_image_pixels`).
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits { max_pixels: DEFAULT_MAX_IMAGE_PIXELS }
    }
}

impl ImageLimits {
    pub const fn new(max_pixels: u64) -> Self {
        ImageLimits { max_pixels }
    }

    /// The most a decoder may allocate: the largest accepted image in the widest pixel
    /// layout, plus the decoder's own buffers. Any image within `max_pixels` fits.
    pub fn max_decoder_bytes(&self) -> u64 {
        self.max_pixels.saturating_mul(WIDEST_PIXEL_BYTES).saturating_add(DECODER_OVERHEAD_BYTES)
    }

    /// Refuses an image whose header says it is larger than the limit.
    pub fn check(&self, width: u32, height: u32) -> Result<(), ImageTooLarge> {
        if u64::from(width) * u64::from(height) > self.max_pixels {
            return Err(ImageTooLarge { width, height, max_pixels: self.max_pixels });
        }
        Ok(())
    }
}

/// An image over [`ImageLimits::max_pixels`]; its message names the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTooLarge {
    pub width: u32,
    pub height: u32,
    pub max_pixels: u64,
}

impl ImageTooLarge {
    /// The setting that refused the image, as the configuration names it.
    pub const SETTING: &'static str = "max_image_pixels";
}

impl fmt::Display for ImageTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pixels = u64::from(self.width) * u64::from(self.height);
        write!(
            f,
            "the image is {}×{} = {}; this server accepts at most {} ({} = {})",
            self.width,
            self.height,
            amount(pixels),
            amount(self.max_pixels),
            Self::SETTING,
            self.max_pixels
        )
    }
}

impl std::error::Error for ImageTooLarge {}

/// `324 megapixels`, `2.5 megapixels`, `40000 pixels`: exact enough to compare with the limit.
fn amount(pixels: u64) -> String {
    if pixels >= 10_000_000 {
        format!("{} megapixels", (pixels as f64 / 1e6).round())
    } else if pixels >= 1_000_000 {
        format!("{:.1} megapixels", pixels as f64 / 1e6)
    } else {
        format!("{pixels} pixels")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_width_times_height_and_names_the_setting() {
        let l = ImageLimits::default();
        assert!(l.check(8192, 8192).is_ok());
        assert!(l.check(u32::MAX, 0).is_ok());
        let e = l.check(18000, 18000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the image is 18000×18000 = 324 megapixels; this server accepts at most 67 megapixels (max_image_pixels = 67108864)"
        );
        assert_eq!(ImageLimits::new(10_000).check(101, 100).unwrap_err().to_string(), "the image is 101×100 = 10100 pixels; this server accepts at most 10000 pixels (max_image_pixels = 10000)");
        // u32 × u32 cannot overflow u64.
        assert!(l.check(u32::MAX, u32::MAX).is_err());
    }

    #[test]
    fn decoder_memory_covers_the_largest_accepted_image() {
        let l = ImageLimits::default();
        assert!(l.max_decoder_bytes() >= 8192 * 8192 * 8);
        assert_eq!(ImageLimits::new(u64::MAX).max_decoder_bytes(), u64::MAX);
    }
}

//! The upload decode policy's cost: `imagefile::inspect` (header read, pixel-limit check, then
//! a full decode under the derived memory limit) against the check it replaced (a full decode
//! with fixed side and allocation limits), on 640×480 photo-like PNG and JPEG images.
//!
//! ```sh
//! source scripts/env.sh
//! cargo run -p annotateforge --example bench_decode            # dev profile: image crates at opt-level 3
//! cargo run -p annotateforge --example bench_decode -- 200 7   # images per format, rounds
//! ```
//!
//! Prints images/s per format (median over the rounds, rotating which runs first so drift hits
//! all alike): `before` (the old check) and `after` (the policy's steps) are both written out
//! in this file, so they are compiled alike and their ratio is the policy's cost; `shipped` is
//! `imagefile::inspect` itself, whose decoders are instantiated in af-engine (opt-level 3 in
//! the dev profile too), where the old `inspect` instantiated them in `annotateforge`
//! (opt-level 0 in dev): in dev builds that, not the policy, is the difference. Then the time
//! to refuse a 20000×20000 PNG from its header, and what the old check did with it.

use std::io::Cursor;
use std::time::{Duration, Instant};

use af_core::ImageLimits;
use annotateforge::imagefile;
use image::{ImageFormat, ImageReader, Limits, RgbImage};

/// The check before the policy: decode in full with the image crate's limits set directly.
fn inspect_before(bytes: &[u8]) -> Result<(u32, u32), String> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    reader.format().ok_or("not an image")?;
    let mut reader = reader;
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| e.to_string())?;
    // The hash both versions compute.
    use sha2::Digest;
    std::hint::black_box(sha2::Sha256::digest(bytes));
    Ok((img.width(), img.height()))
}

/// The policy's steps written out here, so they are compiled exactly like [`inspect_before`]
/// (the image crate's decoders are generic over the reader and so are compiled, at this
/// crate's opt-level, where they are instantiated): format sniff, header, pixel check,
/// allocation check, decode under the derived memory limit, hash.
fn inspect_after_inline(bytes: &[u8], policy: &ImageLimits) -> Result<(u32, u32), String> {
    use image::ImageDecoder;
    image::guess_format(bytes).map_err(|e| e.to_string())?;
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    reader.format().ok_or("not an image")?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(policy.max_decoder_bytes());
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    policy.check(w, h).map_err(|e| e.to_string())?;
    if decoder.total_bytes() > policy.max_decoder_bytes() {
        return Err("too large".into());
    }
    let img = image::DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    use sha2::Digest;
    std::hint::black_box(sha2::Sha256::digest(bytes));
    Ok((img.width(), img.height()))
}

/// Smooth shading, a few shapes and sensor-like noise: compresses like a photograph.
fn photo(w: u32, h: u32, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 24) as i32 - 12
    };
    let (cx, cy) = ((seed * 37 % w) as i32, (seed * 91 % h) as i32);
    RgbImage::from_fn(w, h, |x, y| {
        let (xi, yi) = (x as i32, y as i32);
        let inside = (xi - cx).pow(2) + (yi - cy).pow(2) < 90 * 90;
        let base = [(x * 255 / w) as i32, (y * 255 / h) as i32, ((x + y + seed) % 256) as i32];
        let mut px = [0u8; 3];
        for (c, b) in base.into_iter().enumerate() {
            let v = if inside { 255 - b } else { b } + noise();
            px[c] = v.clamp(0, 255) as u8;
        }
        image::Rgb(px)
    })
}

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().map(|a| a.parse().expect("images per format")).unwrap_or(200);
    let rounds: usize = args.next().map(|a| a.parse().expect("rounds")).unwrap_or(7);
    let limits = ImageLimits::default();
    println!("{n} images per format, 640x480, {rounds} rounds (median); max_image_pixels = {}", limits.max_pixels);
    println!(
        "{:<6} {:>10} {:>14} {:>14} {:>8} {:>16} {:>8}",
        "format", "avg bytes", "before img/s", "after img/s", "ratio", "shipped img/s", "ratio"
    );
    for format in [ImageFormat::Png, ImageFormat::Jpeg] {
        let files: Vec<Vec<u8>> = (0..n).map(|i| encode(&photo(640, 480, i + 1), format)).collect();
        let avg = files.iter().map(Vec::len).sum::<usize>() / files.len();
        // Warm up both paths once.
        for f in files.iter().take(5) {
            inspect_before(f).unwrap();
            imagefile::inspect(f, &limits).unwrap();
        }
        let (mut before, mut after, mut shipped) = (Vec::new(), Vec::new(), Vec::new());
        let time_before = || {
            let t = Instant::now();
            for f in &files {
                std::hint::black_box(inspect_before(f).unwrap());
            }
            t.elapsed()
        };
        let time_after = || {
            let t = Instant::now();
            for f in &files {
                std::hint::black_box(inspect_after_inline(f, &limits).unwrap());
            }
            t.elapsed()
        };
        let time_shipped = || {
            let t = Instant::now();
            for f in &files {
                std::hint::black_box(imagefile::inspect(f, &limits).unwrap());
            }
            t.elapsed()
        };
        for round in 0..rounds {
            // Rotate which goes first, so order effects (caches, clock) cancel out.
            let mut runs: [(&dyn Fn() -> Duration, &mut Vec<Duration>); 3] =
                [(&time_before, &mut before), (&time_after, &mut after), (&time_shipped, &mut shipped)];
            runs.rotate_left(round % 3);
            for (run, out) in runs {
                out.push(run());
            }
        }
        let rate = |d: Duration| n as f64 / d.as_secs_f64();
        let (b, a, sh) = (rate(median(before)), rate(median(after)), rate(median(shipped)));
        println!("{:<6} {:>10} {:>14.1} {:>14.1} {:>8.3} {:>16.1} {:>8.3}", format!("{format:?}"), avg, b, a, a / b, sh, sh / b);
    }

    // The refusal: a 20000×20000 greyscale PNG, refused from its header.
    let mut huge = Cursor::new(Vec::new());
    {
        use image::ImageEncoder;
        let (w, h) = (20_000u32, 20_000u32);
        let pixels = vec![0u8; (w * h) as usize];
        image::codecs::png::PngEncoder::new_with_quality(&mut huge, image::codecs::png::CompressionType::Fast, image::codecs::png::FilterType::NoFilter)
            .write_image(&pixels, w, h, image::ExtendedColorType::L8)
            .unwrap();
    }
    let huge = huge.into_inner();
    let t = Instant::now();
    let refused = imagefile::inspect(&huge, &limits).unwrap_err();
    let took = t.elapsed();
    println!("20000x20000 greyscale PNG ({} KB): refused in {:.3} ms: {refused}", huge.len() / 1024, took.as_secs_f64() * 1e3);
    let t = Instant::now();
    let before = inspect_before(&huge);
    println!("  the check before the policy: {:.0} ms ({})", t.elapsed().as_secs_f64() * 1e3, if before.is_ok() { "accepted" } else { "refused" });
}

//! PDQ, Meta's 256-bit perceptual image hash, following the ThreatExchange reference
//! (`pdq/cpp/hashing/pdqhashing.cpp`, BSD licence) step by step:
//!
//! 1. luminance `0.299 R + 0.587 G + 0.114 B` per pixel, in `f32`;
//! 2. two passes of a Jarosz box filter along rows then columns, with window sizes
//!    `ceil-ish(dimension / 128)` ([`jarosz_window`]), then decimation to 64×64 by
//!    sampling pixel centres;
//! 3. quality: the sum of quantised neighbour differences of the 64×64 image / 90,
//!    capped at 100;
//! 4. the 16×16 top-left block of a 2D DCT of the 64×64 image (skipping the DC row and
//!    column), each coefficient compared with the median → 256 bits.
//!
//! Bit `k = 16 i + j` is DCT coefficient `[i][j]`; hex is printed as the reference does,
//! 16-bit word 15 first, so [`PdqHash`] stores the bytes in that printed order.
//!
//! Decoding uses the `image` crate; decoders differ slightly from the reference's, which
//! is why conformance is "within 10 bits where quality ≥ 80", the reference's own rule.
//! As in the reference, EXIF orientation is not applied and alpha is ignored.

use std::fmt;
use std::io::Cursor;
use std::str::FromStr;
use std::sync::OnceLock;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::Error;

/// Images smaller than this in either dimension hash to all zeros with quality 0, as in
/// the reference.
const MIN_HASHABLE_DIM: usize = 5;

/// A 256-bit PDQ hash. Ordered and printed as the reference's hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash([u8; 32]);

impl PdqHash {
    /// From the 32 bytes in printed (hex) order.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes in printed (hex) order.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hexadecimal digits (either case, surrounding spaces ignored).
    pub fn from_hex(hex: &str) -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex.trim(), &mut bytes).map_err(|_| Error::BadHex {
            what: "PDQ hash",
            expected: 64,
        })?;
        Ok(Self(bytes))
    }

    /// 64 lower-case hex digits, as the reference prints them.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The hash as four big-endian 64-bit words (for fast distance computation).
    pub fn to_words(&self) -> [u64; 4] {
        let mut w = [0u64; 4];
        for (i, chunk) in self.0.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            w[i] = u64::from_be_bytes(b);
        }
        w
    }

    /// Inverse of [`Self::to_words`].
    pub fn from_words(words: [u64; 4]) -> Self {
        let mut bytes = [0u8; 32];
        for (i, w) in words.iter().enumerate() {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
        }
        Self(bytes)
    }

    /// Number of differing bits.
    pub fn distance(&self, other: &Self) -> u32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// Whether bit `k` (= DCT coefficient `[k / 16][k % 16]`) is set.
    pub fn bit(&self, k: usize) -> bool {
        let word = k / 16;
        let byte = 2 * (15 - word) + if k % 16 >= 8 { 0 } else { 1 };
        self.0.get(byte).is_some_and(|b| b >> (k % 8) & 1 == 1)
    }

    fn set_bit(&mut self, k: usize) {
        let word = k / 16;
        let byte = 2 * (15 - word) + if k % 16 >= 8 { 0 } else { 1 };
        if let Some(b) = self.0.get_mut(byte) {
            *b |= 1 << (k % 8);
        }
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

impl FromStr for PdqHash {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_hex(s)
    }
}

/// A hash and its quality (0–100; below 50 the hash is unreliable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqDigest {
    /// The hash.
    pub hash: PdqHash,
    /// The reference's quality metric.
    pub quality: u8,
}

/// Decodes a JPEG or PNG and hashes it. Refuses (before decoding pixels) images with
/// more than `max_pixels` pixels. Progressive JPEGs and images smaller than 64×64 work.
pub fn hash_image_bytes(bytes: &[u8], max_pixels: u64) -> Result<PdqDigest, Error> {
    let undecodable = |e: &dyn fmt::Display| Error::UndecodableImage(e.to_string());
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| undecodable(&e))?;
    if reader.format().is_none() {
        return Err(Error::UndecodableImage(
            "not a JPEG or PNG image".to_owned(),
        ));
    }
    let mut decoder = reader.into_decoder().map_err(|e| undecodable(&e))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(Error::OversizeImage {
            width,
            height,
            limit: max_pixels,
        });
    }
    let mut limits = Limits::default();
    // Room for the largest pixel format (16-bit RGBA) plus decoder scratch.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    decoder.set_limits(limits).map_err(|e| undecodable(&e))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| undecodable(&e))?;
    let (w, h) = (image.width() as usize, image.height() as usize);
    let luma = luma_of(image);
    Ok(hash_luma(&luma, w, h))
}

/// Per-pixel luminance, row-major, as the reference computes it from 8-bit RGB (alpha is
/// ignored, grey is replicated to RGB first).
fn luma_of(image: DynamicImage) -> Vec<f32> {
    let rgb = image.into_rgb8();
    rgb.pixels()
        .map(|p| {
            0.299f32 * f32::from(p[0]) + 0.587f32 * f32::from(p[1]) + 0.114f32 * f32::from(p[2])
        })
        .collect()
}

/// Hashes a luminance image (`width × height`, row-major, values 0–255).
///
/// Returns an all-zero hash with quality 0 if the image is smaller than 5 pixels in either
/// dimension or `luma` is shorter than `width × height`.
pub fn hash_luma(luma: &[f32], width: usize, height: usize) -> PdqDigest {
    let zero = PdqDigest {
        hash: PdqHash::default(),
        quality: 0,
    };
    let Some(n) = width.checked_mul(height) else {
        return zero;
    };
    if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM || luma.len() < n {
        return zero;
    }
    let mut buf1 = luma[..n].to_vec();
    let mut buf2 = vec![0f32; n];
    let window_along_rows = jarosz_window(width, 64);
    let window_along_cols = jarosz_window(height, 64);
    for _ in 0..2 {
        box_along_rows(&buf1, &mut buf2, height, width, window_along_rows);
        box_along_cols(&buf2, &mut buf1, height, width, window_along_cols);
    }
    drop(buf2);
    let small = decimate(&buf1, height, width);
    let quality = quality_metric(&small);
    let dct = dct_64_to_16(&small);
    PdqDigest {
        hash: bits_from_dct(&dct),
        quality,
    }
}

/// `computeJaroszFilterWindowSize` in the reference: `(old + 2 new - 1) / (2 new)`, that
/// is `old / (2 new)` rounded up.
pub fn jarosz_window(old_dimension: usize, new_dimension: usize) -> usize {
    old_dimension.div_ceil((2 * new_dimension).max(1))
}

/// The reference's `box1DFloat`: a running mean whose window grows at the start and shrinks
/// at the end, so the output has the input's length. `stride` steps between elements.
fn box_1d(
    input: &[f32],
    output: &mut [f32],
    offset: usize,
    len: usize,
    stride: usize,
    window: usize,
) {
    let window = window.clamp(1, len.max(1));
    let half = (window + 2) / 2;
    let phase1 = half - 1;
    let phase2 = window - half + 1;
    let phase3 = len - window;
    let phase4 = half - 1;
    let at = |i: usize| offset + i * stride;
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut sum = 0f32;
    let mut current = 0usize;
    for _ in 0..phase1 {
        sum += input[at(ri)];
        current += 1;
        ri += 1;
    }
    for _ in 0..phase2 {
        sum += input[at(ri)];
        current += 1;
        output[at(oi)] = sum / current as f32;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase3 {
        sum += input[at(ri)];
        sum -= input[at(li)];
        output[at(oi)] = sum / current as f32;
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase4 {
        sum -= input[at(li)];
        current -= 1;
        output[at(oi)] = sum / current as f32;
        li += 1;
        oi += 1;
    }
}

fn box_along_rows(input: &[f32], output: &mut [f32], rows: usize, cols: usize, window: usize) {
    for i in 0..rows {
        box_1d(input, output, i * cols, cols, 1, window);
    }
}

fn box_along_cols(input: &[f32], output: &mut [f32], rows: usize, cols: usize, window: usize) {
    for j in 0..cols {
        box_1d(input, output, j, rows, cols, window);
    }
}

/// Samples the blurred image at the centres of a 64×64 grid.
fn decimate(input: &[f32], rows: usize, cols: usize) -> [[f32; 64]; 64] {
    let mut out = [[0f32; 64]; 64];
    for (i, row) in out.iter_mut().enumerate() {
        let ini = (((i as f64 + 0.5) * rows as f64) / 64.0) as usize;
        for (j, v) in row.iter_mut().enumerate() {
            let inj = (((j as f64 + 0.5) * cols as f64) / 64.0) as usize;
            *v = input[ini.min(rows - 1) * cols + inj.min(cols - 1)];
        }
    }
    out
}

/// `pdqImageDomainQualityMetric`: counts significant gradients, not many small ones.
fn quality_metric(b: &[[f32; 64]; 64]) -> u8 {
    let mut gradient_sum: i64 = 0;
    for (upper, lower) in b.iter().zip(b.iter().skip(1)) {
        for (u, v) in upper.iter().zip(lower) {
            let d = ((u - v) * 100f32 / 255f32) as i32;
            gradient_sum += i64::from(d.abs());
        }
    }
    for row in b.iter() {
        for j in 0..63 {
            let d = ((row[j] - row[j + 1]) * 100f32 / 255f32) as i32;
            gradient_sum += i64::from(d.abs());
        }
    }
    (gradient_sum / 90).min(100) as u8
}

/// `D[i][j] = sqrt(2/64) cos(pi/128 (i+1) (2j+1))`: DCT-II rows 1–16 (no DC).
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static MATRIX: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt();
        let mut d = [[0f32; 64]; 16];
        for (i, row) in d.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (scale
                    * (std::f64::consts::PI / 2.0 / 64.0 * (i + 1) as f64 * (2 * j + 1) as f64)
                        .cos()) as f32;
            }
        }
        d
    })
}

/// `B = D A Dᵀ`, 16×16.
fn dct_64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for i in 0..16 {
        for j in 0..64 {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += d[i][k] * a[k][j];
            }
            t[i][j] = sum;
        }
    }
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += t[i][k] * d[j][k];
            }
            b[i][j] = sum;
        }
    }
    b
}

/// Bit `16 i + j` is set when coefficient `[i][j]` is above the median. The reference's
/// Torben median of 256 values is the 128th smallest.
fn bits_from_dct(dct: &[[f32; 16]; 16]) -> PdqHash {
    let mut values: Vec<f32> = dct.iter().flatten().copied().collect();
    values.sort_by(f32::total_cmp);
    let median = values[127];
    let mut hash = PdqHash::default();
    for (i, row) in dct.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            if *v > median {
                hash.set_bit(i * 16 + j);
            }
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_layout_matches_the_reference_hex() {
        // Bit 0 is the lowest bit of word 0, printed last.
        let mut h = PdqHash::default();
        h.set_bit(0);
        assert!(h.to_hex().ends_with("0001"));
        let mut h = PdqHash::default();
        h.set_bit(255);
        assert!(h.to_hex().starts_with("8000"));
        let mut h = PdqHash::default();
        h.set_bit(16 + 9);
        assert_eq!(&h.to_hex()[56..60], "0200");
        assert!(h.bit(25) && !h.bit(24));
    }

    #[test]
    fn hex_and_words_round_trip() {
        let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let h = PdqHash::from_hex(hex).unwrap();
        assert_eq!(h.to_hex(), hex);
        assert_eq!(PdqHash::from_words(h.to_words()), h);
        assert_eq!(h.distance(&h), 0);
        assert!(PdqHash::from_hex("f8f8").is_err());
        assert!(PdqHash::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn window_sizes_follow_the_reference() {
        assert_eq!(jarosz_window(1600, 64), 13);
        assert_eq!(jarosz_window(1004, 64), 8);
        assert_eq!(jarosz_window(256, 64), 2);
        assert_eq!(jarosz_window(34, 64), 1);
    }

    #[test]
    fn box_filter_keeps_the_mean_of_a_constant() {
        let input = vec![7f32; 20];
        let mut out = vec![0f32; 20];
        box_1d(&input, &mut out, 0, 20, 1, 4);
        assert!(out.iter().all(|v| (*v - 7.0).abs() < 1e-5));
    }

    #[test]
    fn tiny_and_flat_images() {
        assert_eq!(hash_luma(&[0.0; 16], 4, 4).quality, 0);
        let flat = hash_luma(&vec![128.0; 100 * 80], 100, 80);
        assert_eq!(flat.quality, 0);
    }
}

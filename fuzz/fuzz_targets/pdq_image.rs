//! PDQ hashing of arbitrary bytes as an image: a hash or an `UndecodableImage` /
//! `OversizeImage` error, never a panic. Sizes are bounded (64 Ki pixels) so one input
//! stays fast and small. The same bytes read as a luminance image go through the hasher
//! directly, covering sizes and values no decoder produces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reachline_matcher::pdq::{hash_image_bytes, hash_luma};
use reachline_matcher::Error;

const MAX_PIXELS: u64 = 1 << 16;

fuzz_target!(|data: &[u8]| {
    match hash_image_bytes(data, MAX_PIXELS) {
        Ok(d) => assert!(d.quality <= 100),
        Err(Error::UndecodableImage(_) | Error::OversizeImage { .. }) => {}
        Err(e) => panic!("unexpected error kind {e:?}"),
    }
    // Luminance: the first byte is the width (1–256), the rest the pixels, with a value
    // per byte scaled into and (now and then) out of 0–255.
    if let Some((&w, rest)) = data.split_first() {
        let width = usize::from(w) + 1;
        let luma: Vec<f32> = rest.iter().map(|&b| f32::from(b) * 1.5 - 64.0).collect();
        let height = luma.len() / width;
        let d = hash_luma(&luma, width, height);
        assert!(d.quality <= 100);
        // Too short a buffer for the stated size gives the zero hash, not a panic.
        let d = hash_luma(&luma, width, height + 1);
        assert!(d.quality <= 100);
    }
});

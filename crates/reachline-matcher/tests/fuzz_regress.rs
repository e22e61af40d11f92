//! Inputs the fuzzer found, kept as tests.

use reachline_matcher::{Normalizer, NormalizerConfig};

/// A confusable skeleton held compatibility characters (subscript zeros from U+2031), so a
/// second pass changed the words. Found by `fuzz/fuzz_targets/normalize.rs`.
#[test]
fn normalising_a_skeleton_with_compatibility_characters_twice_changes_nothing() {
    let data = [
        0xe6u8, 0xb0, 0xb4, 0x25, 0xb1, 0x62, 0x6c, 0x75, 0xe2, 0x80, 0xb1, 0x80, 0x05, 0x00, 0x8b,
    ];
    let text = String::from_utf8_lossy(&data);
    let n = Normalizer::new(NormalizerConfig::default());
    let once = n.normalize(&text);
    assert_eq!(once, n.normalize_step_by_step(&text));
    let twice = n.normalize(&once.text());
    assert_eq!(twice.words(), once.words());
}

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

/// Step 7 joined one-character words that were combining marks standing alone (a Hebrew
/// accent, then a point), so the joined word was not in canonical order and a second pass
/// reordered it. Such characters are no longer joined. Found by
/// `fuzz/fuzz_targets/normalize.rs`.
#[test]
fn combining_marks_standing_alone_are_not_joined() {
    let data = [
        0xe6u8, 0xd6, 0x98, 0xd6, 0xd6, 0xb0, 0xb4, 0xe5, 0xb5, 0xe6, 0x8c, 0xa9, 0xb1, 0x20, 0xe5,
        0xb1, 0xb1, 0x20, 0x65, 0xa4, 0xd3, 0xd3, 0xd3, 0xd3, 0xd3, 0xd3, 0xd3, 0xb9, 0xb9,
    ];
    let text = String::from_utf8_lossy(&data);
    // A Hangul leading consonant and vowel, spelled apart: joined, NFKC would compose them.
    let jamo = "\u{1100} \u{1161}";
    for config in [NormalizerConfig::default(), {
        let mut c = NormalizerConfig::default();
        c.strip_diacritics = false;
        c
    }] {
        let n = Normalizer::new(config);
        for text in [&*text, jamo, "b l u e \u{301}"] {
            let once = n.normalize(text);
            assert_eq!(once, n.normalize_step_by_step(text), "{text:?}");
            let twice = n.normalize(&once.text());
            assert_eq!(twice.words(), once.words(), "{text:?}");
        }
    }
    assert_eq!(Normalizer::default().normalize(jamo).words().len(), 2);
}

/// Folded one character at a time, the text held a Hangul leading consonant (from one
/// character's skeleton) next to vowels (from a halfwidth jamo), which NFKC composes, so
/// a second pass changed the words. Steps 1–3 now compose and fold again until nothing
/// changes. Found by `fuzz/fuzz_targets/normalize.rs`.
#[test]
fn jamo_left_by_folding_are_composed_before_the_words_are_read() {
    let data = b"b h\x00\xbb\x00\x00\xfc\xff\xe3\xab\x9a\xec\xab\x9a\xef\xbf\x95\xef!\xbd";
    let text = String::from_utf8_lossy(data);
    let n = Normalizer::new(NormalizerConfig::default());
    let once = n.normalize(&text);
    assert_eq!(once, n.normalize_step_by_step(&text));
    let twice = n.normalize(&once.text());
    assert_eq!(twice.words(), once.words());
    assert_eq!(twice.compact(), once.compact());
}

//! Normalisation: never panics; normalising normalised text changes nothing; the fused
//! `normalize` agrees with the step-by-step pipeline `explain` shows, for several
//! configurations; keyword checks and explanations never panic and agree.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reachline_matcher::{
    Entry, KeywordMode, Matcher, MatcherBuilder, Normalizer, NormalizerConfig,
};

/// The default configuration first, then variants with one step changed.
fn normalizers() -> &'static [Normalizer] {
    static N: OnceLock<Vec<Normalizer>> = OnceLock::new();
    N.get_or_init(|| {
        let mut configs = vec![NormalizerConfig::default()];
        for i in 0..7 {
            let mut c = NormalizerConfig::default();
            match i {
                0 => c.leet.clear(),
                1 => c.collapse_repeats = false,
                2 => c.join_spelled_out = false,
                3 => c.confusables = false,
                4 => c.strip_diacritics = false,
                // A letter read as one that step 7 does not join (a Hangul vowel).
                5 => c.leet.push(('ж', '\u{1161}')),
                // A leet target outside ASCII: ASCII text takes the paths of prepared
                // characters, not the byte-level ones.
                _ => c.leet.push(('6', 'б')),
            }
            configs.push(c);
        }
        configs.into_iter().map(Normalizer::new).collect()
    })
}

/// A matcher over invented entries in every mode.
fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| {
        let mut b = MatcherBuilder::new();
        for (i, (term, mode)) in [
            ("bluepineapple", KeywordMode::Word),
            ("quiet harbour", KeywordMode::Phrase),
            ("zephyr", KeywordMode::Substring),
            ("水山", KeywordMode::Word),
            ("pine", KeywordMode::Word),
        ]
        .into_iter()
        .enumerate()
        {
            b.add_keyword(Entry::new(i.to_string(), "fuzz", "invented"), term, mode)
                .unwrap();
        }
        b.build().unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for (i, n) in normalizers().iter().enumerate() {
        let once = n.normalize(&text);
        assert_eq!(once, n.normalize_step_by_step(&text), "config {i}");
        assert_eq!(once.words().concat(), once.compact(), "config {i}");
        if i == 0 {
            let (explained, steps) = n.explain(&text);
            assert_eq!(explained, once);
            assert_eq!(steps.len(), 7);
            let twice = n.normalize(&once.text());
            assert_eq!(
                twice.words(),
                once.words(),
                "normalising twice changed the words"
            );
        }
    }
    let m = matcher();
    match (m.check_query(&text), m.explain(&text)) {
        (Ok(found), Ok(explained)) => assert_eq!(found, explained.matches),
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            assert!(text.len() > m.config().max_query_bytes);
        }
        (a, b) => panic!("check_query and explain disagree: {a:?} / {b:?}"),
    }
});

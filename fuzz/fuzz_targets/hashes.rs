//! Hash parsing: PDQ, MD5 and SHA-256 digests parse exactly when the text (surrounding
//! whitespace aside) is the right number of hex digits, never panic, and round-trip.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reachline_matcher::{Entry, Error, HashKind, Matcher, MatcherBuilder, PdqHash};

fn is_hex_of(s: &str, digits: usize) -> bool {
    let t = s.trim();
    t.len() == digits && t.bytes().all(|b| b.is_ascii_hexdigit())
}

fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| {
        let mut b = MatcherBuilder::new();
        let e = || Entry::new("h", "fuzz", "invented");
        b.add_hash(e(), HashKind::Pdq, &"f0".repeat(32)).unwrap();
        b.add_hash(e(), HashKind::Md5, &"0a".repeat(16)).unwrap();
        b.add_hash(e(), HashKind::Sha256, &"b1".repeat(32)).unwrap();
        b.build().unwrap()
    })
}

fn expect_bad_hex<T: std::fmt::Debug>(r: Result<T, Error>, expected_digits: usize) {
    match r {
        Err(Error::BadHex { expected, .. }) => assert_eq!(expected, expected_digits),
        other => panic!("expected BadHex, got {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let m = matcher();

    match PdqHash::from_hex(&text) {
        Ok(h) => {
            assert!(is_hex_of(&text, 64));
            assert_eq!(h.to_hex(), text.trim().to_ascii_lowercase());
            assert_eq!(PdqHash::from_words(h.to_words()), h);
            assert_eq!(h.distance(&h), 0);
            let found = m.check_pdq_hex(&text).unwrap();
            assert!(found.len() <= 1);
        }
        Err(e) => {
            assert!(!is_hex_of(&text, 64));
            expect_bad_hex::<()>(Err(e), 64);
            expect_bad_hex(m.check_pdq_hex(&text), 64);
        }
    }
    match m.check_md5(&text) {
        Ok(found) => assert!(is_hex_of(&text, 32) && found.len() <= 1),
        Err(e) => {
            assert!(!is_hex_of(&text, 32));
            expect_bad_hex::<()>(Err(e), 32);
        }
    }
    match m.check_sha256(&text) {
        Ok(found) => assert!(is_hex_of(&text, 64) && found.len() <= 1),
        Err(e) => {
            assert!(!is_hex_of(&text, 64));
            expect_bad_hex::<()>(Err(e), 64);
        }
    }
    for kind in [HashKind::Pdq, HashKind::Md5, HashKind::Sha256] {
        let digits = if kind == HashKind::Md5 { 32 } else { 64 };
        let mut b = MatcherBuilder::new();
        let added = b
            .add_hash(Entry::new("x", "fuzz", "invented"), kind, &text)
            .is_ok();
        assert_eq!(added, is_hex_of(&text, digits), "{kind:?}");
    }
    // The kind names a hash list's first column accepts.
    let _ = text.parse::<HashKind>();
});

//! URL canonicalisation: never panics on any bytes; only `MalformedUrl` errors;
//! canonicalising a canonical URL changes nothing; expressions never panic, are at most
//! 5 × 6, distinct, and their digests are the SHA-256 of each.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use reachline_matcher::url::{expression_digest, CanonicalUrl};
use reachline_matcher::{canonicalize, lookup_expressions, Error};

fuzz_target!(|data: &[u8]| {
    let c = match CanonicalUrl::parse_bytes(data) {
        Ok(c) => c,
        Err(Error::MalformedUrl(_)) => return,
        Err(e) => panic!("unexpected error kind {e:?}"),
    };
    let once = c.to_string();
    assert!(
        once.bytes().all(|b| b.is_ascii_graphic() && b != b'#'),
        "{once:?}: not escaped"
    );
    assert_eq!(
        canonicalize(&once).as_deref(),
        Ok(once.as_str()),
        "not stable"
    );
    let expressions = c.expressions();
    assert_eq!(lookup_expressions(&once).as_ref(), Ok(&expressions));
    assert!(!expressions.is_empty() && expressions.len() <= 30);
    let unique: BTreeSet<&String> = expressions.iter().collect();
    assert_eq!(unique.len(), expressions.len(), "{expressions:?}");
    assert_eq!(expressions[0], c.full_expression());
    let hashed: Vec<[u8; 32]> = expressions.iter().map(|e| expression_digest(e)).collect();
    assert_eq!(c.expression_digests(), hashed);
    assert!(c.host_suffixes().len() <= 5 && c.path_prefixes().len() <= 6);
    // The text form of any input goes through the same code.
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(canonicalize(text).as_deref(), Ok(once.as_str()));
    }
});

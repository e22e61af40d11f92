//! Randomised robustness tests: in-process fuzz loops with fixed seeds and fixed iteration
//! budgets, run by plain `cargo test` (a few seconds unoptimised).
//!
//! They complement the cargo-fuzz targets in `fuzz/` (coverage-guided, run for a bounded
//! time by `.ci/run`): these run wherever `cargo test` does, deterministically. Each loop
//! feeds generated and mutated input to one entry point that takes outside input — URL
//! canonicalisation, the three list parsers, hash parsing, normalisation and keyword
//! checks, image decoding — and checks that it never panics, that errors are the
//! documented kinds and never repeat the input, and the properties that must hold on success:
//!
//! - canonicalising a canonical URL changes nothing; expressions are at most 5 × 6,
//!   distinct, and their digests are the SHA-256 of each;
//! - a hex digest parses exactly when it has the right number of hex digits;
//! - the keyword matcher finds exactly what a naive scan of every entry finds;
//! - normalising normalised text changes nothing.
//!
//! A failure prints the input (these are generated, never real data) so it can be turned
//! into a fixed test. `REACHLINE_FUZZ_ITERATIONS_SCALE=10` runs ten times as many, and
//! `REACHLINE_FUZZ_SEED=N` explores other inputs; both are for longer runs by hand.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use reachline_matcher::url::{expression_digest, CanonicalUrl};
use reachline_matcher::{
    canonicalize, Entry, Error, HashKind, KeywordMode, Matcher, MatcherBuilder, Normalizer, PdqHash,
};

struct Rng(u64);

impl Rng {
    /// A generator for one loop; `REACHLINE_FUZZ_SEED` varies every loop's seed.
    fn seeded(seed: u64) -> Self {
        let extra = std::env::var("REACHLINE_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        Self(seed ^ extra.wrapping_mul(0x2545_F491_4F6C_DD1D))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn piece(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }
}

fn iterations(base: usize) -> usize {
    let scale = std::env::var("REACHLINE_FUZZ_ITERATIONS_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1);
    base * scale.max(1)
}

/// Random edits drawn from bytes that matter to the code under test.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, special: &[u8]) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(5) {
            0 if at < input.len() => {
                input.remove(at);
            }
            1 if at < input.len() => input[at] = *rng.pick(special),
            2 => input.insert(at, *rng.pick(special)),
            3 => input.insert(at, rng.next() as u8),
            _ if at < input.len() => {
                // Duplicate a slice (repeats, nested escapes).
                let end = (at + 1 + rng.below(6)).min(input.len());
                let piece = input[at..end].to_vec();
                input.splice(at..at, piece);
            }
            _ => input.push(*rng.pick(special)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// URLs

const SCHEMES: &[&str] = &[
    "",
    "http://",
    "https://",
    "HTTP://",
    "http:",
    "http:/",
    "https:///",
    "ftp://",
    "%68ttp://",
    "  http://",
    "javascript:",
    "a+b.c://",
    "1http://",
    "http:\\\\",
    "\thttp://",
];
const USERINFO: &[&str] = &["", "", "", "user@", "u:p@", "@", "a@b@", "%40@"];
const LABELS: &[&str] = &[
    "quietharbour",
    "example",
    "test",
    "www",
    "a",
    "xn--bcher-kva",
    "bücher",
    "ＥＸＡＭＰＬＥ",
    "B%C3%BCcher",
    "%31%32%37",
    "0x7f",
    "0X7F",
    "0177",
    "127",
    "1",
    "255",
    "256",
    "4294967295",
    "4294967296",
    "0",
    "08",
    "0x",
    "",
    " ",
    "%20",
    "%25",
    "%2e",
    "%2E%2E",
    "\x01",
    "ÿ",
    "例え",
    "Яндекс",
    "ß",
    "a\u{200B}b",
    "%00",
    "%zz",
    "%",
    "-",
    "_",
];
const PORTS: &[&str] = &["", "", ":80", ":", ":99999", ":a:b", ":%38"];
const SEGMENTS: &[&str] = &[
    "",
    ".",
    "..",
    "a",
    "%2E%2E",
    "%2F",
    "b c",
    "%252F",
    "~x",
    "%",
    "%%",
    "%4",
    "%zz",
    "é",
    "\t",
    "q?r",
    ";",
    "%23",
    "%3F",
    "%2525",
    "%25%32%35",
    "..%2F..",
    "\x7f",
    "\u{FEFF}",
];
const QUERIES: &[&str] = &[
    "", "a=1", "a=1&b=2", "?", "//x", "%25", "#", "%23", "ü", " ",
];
const URL_SPECIAL: &[u8] = b"%/?#.:@[]0123456789abcdefABCDEFxX \t\r\n\x00\x01\x7f\x80\xff";

fn urlish(rng: &mut Rng) -> Vec<u8> {
    let mut s = String::new();
    if rng.chance(8) {
        s.push(' ');
    }
    s.push_str(rng.piece(SCHEMES));
    s.push_str(rng.piece(USERINFO));
    if rng.chance(10) {
        s.push_str(rng.piece(&["[::1]", "[2001:DB8::1]", "[", "[]", "[v1.x]"]));
    } else {
        for i in 0..1 + rng.below(6) {
            if i > 0 {
                s.push_str(if rng.chance(6) { ".." } else { "." });
            }
            s.push_str(rng.piece(LABELS));
        }
    }
    s.push_str(rng.piece(PORTS));
    let segments = rng.below(7);
    for _ in 0..segments {
        s.push_str(if rng.chance(8) { "//" } else { "/" });
        s.push_str(rng.piece(SEGMENTS));
    }
    if rng.chance(3) {
        s.push('?');
        s.push_str(rng.piece(QUERIES));
    }
    if rng.chance(4) {
        s.push('#');
        s.push_str(rng.piece(QUERIES));
    }
    if rng.chance(8) {
        s.push_str("  ");
    }
    let mut bytes = s.into_bytes();
    if rng.chance(2) {
        mutate(rng, &mut bytes, URL_SPECIAL);
    }
    bytes
}

fn check_canonical_url(input: &[u8]) {
    let shown = String::from_utf8_lossy(input);
    let c = match CanonicalUrl::parse_bytes(input) {
        Ok(c) => c,
        Err(Error::MalformedUrl(_)) => return,
        Err(e) => panic!("{shown:?}: unexpected error kind {e:?}"),
    };
    let once = c.to_string();
    assert!(
        once.bytes().all(|b| b.is_ascii_graphic() && b != b'#'),
        "{shown:?} -> {once:?}: not escaped"
    );
    assert_eq!(
        canonicalize(&once).as_deref(),
        Ok(once.as_str()),
        "{shown:?} -> {once:?} is not stable"
    );
    let expressions = c.expressions();
    let again = CanonicalUrl::parse(&once).unwrap();
    assert_eq!(again.expressions(), expressions, "{shown:?} -> {once:?}");
    assert!(
        !expressions.is_empty() && expressions.len() <= 30,
        "{shown:?}"
    );
    let unique: BTreeSet<&String> = expressions.iter().collect();
    assert_eq!(
        unique.len(),
        expressions.len(),
        "{shown:?}: {expressions:?}"
    );
    assert_eq!(expressions[0], c.full_expression());
    let hashed: Vec<[u8; 32]> = expressions.iter().map(|e| expression_digest(e)).collect();
    assert_eq!(c.expression_digests(), hashed, "{shown:?}");
    assert!(c.host_suffixes().len() <= 5 && c.path_prefixes().len() <= 6);
}

#[test]
fn url_canonicalisation_never_panics_and_is_idempotent() {
    let mut rng = Rng::seeded(0x517e);
    for _ in 0..iterations(20_000) {
        check_canonical_url(&urlish(&mut rng));
    }
    // Unstructured bytes too.
    for _ in 0..iterations(5_000) {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.chance(2) {
                    *rng.pick(URL_SPECIAL)
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        check_canonical_url(&bytes);
    }
}

#[test]
fn url_checks_never_panic() {
    let mut b = MatcherBuilder::new();
    b.add_url_lines(
        "l",
        "c",
        "quietharbour.example/\nhttp://127.0.0.1/a/\nxn--bcher-kva.test/x/y\n",
    )
    .unwrap();
    let m = b.build().unwrap();
    let mut rng = Rng::seeded(0xc4ec);
    for _ in 0..iterations(5_000) {
        let bytes = urlish(&mut rng);
        let text = String::from_utf8_lossy(&bytes);
        match m.check_url(&text) {
            Ok(found) => assert!(found.len() <= 3, "{text:?}"),
            Err(Error::MalformedUrl(_)) => {}
            Err(e) => panic!("{text:?}: {e:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// List parsers

/// A marker in every field: no error message may contain it.
const MARKER: &str = "zqxmarker";

fn field(rng: &mut Rng, choices: &[&str]) -> String {
    let mut f = (*rng.pick(choices)).to_owned();
    if rng.chance(3) {
        f.push_str(MARKER);
    }
    if rng.chance(10) {
        f = format!("\"{}\"", f.replace('"', "\"\""));
    }
    if rng.chance(10) {
        f.insert(0, ' ');
    }
    f
}

fn lines_of(rng: &mut Rng, make: &mut dyn FnMut(&mut Rng) -> String) -> String {
    let mut text = String::new();
    for _ in 0..rng.below(8) {
        let line = match rng.below(12) {
            0 => String::new(),
            1 => format!("# comment {MARKER}"),
            2 => "   ".to_owned(),
            _ => make(rng),
        };
        text.push_str(&line);
        text.push_str(if rng.chance(5) { "\r\n" } else { "\n" });
    }
    let mut bytes = text.into_bytes();
    if rng.chance(4) {
        mutate(rng, &mut bytes, b",\"\n\r#:%. \x00\xff");
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Lines that are neither blank nor comments, less a leading header.
fn content_lines(text: &str, header: &str) -> usize {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let skip = lines.first().is_some_and(|l| {
        l.split(',')
            .next()
            .is_some_and(|f| f.trim().eq_ignore_ascii_case(header))
    });
    lines.len() - usize::from(skip)
}

fn check_list_error(e: &Error, text: &str) {
    let message = e.to_string();
    assert!(
        !message.contains(MARKER),
        "{message:?} repeats the input {text:?}"
    );
    match e {
        Error::BadLine { line, .. } => assert!(*line >= 1 && *line <= text.lines().count().max(1)),
        other => panic!("unexpected error kind {other:?} for {text:?}"),
    }
}

const TERMS: &[&str] = &[
    "bluepineapple",
    "quiet harbour",
    "b l u e",
    "ｂｌｕｅ",
    "tolly,stripe",
    "...",
    "",
    "12",
    "x",
    "сalt",
    "ZEPHYR",
    "a\u{200B}b",
    "\u{FEFF}",
    "水山",
    "p@$$",
    "mauve  zephyr",
];
const MODES: &[&str] = &[
    "word",
    "phrase",
    "substring",
    "WORD",
    "",
    "fuzzy",
    " phrase ",
];

#[test]
fn keyword_lists_never_panic_and_count_what_they_add() {
    let mut rng = Rng::seeded(0x7e57);
    for _ in 0..iterations(1_500) {
        let mut make = |rng: &mut Rng| {
            let mut f = vec![field(rng, TERMS)];
            for _ in 0..rng.below(4) {
                f.push(if f.len() == 2 {
                    field(rng, MODES)
                } else {
                    field(rng, &["test", "en", "", "x,y"])
                });
            }
            f.join(",")
        };
        let mut text = lines_of(&mut rng, &mut make);
        if rng.chance(3) {
            text.insert_str(0, "term,category,match,language\n");
        }
        let mut b = MatcherBuilder::new();
        match b.add_keywords_csv("l", &text) {
            Ok(_) => {
                let m = b.build().unwrap();
                assert_eq!(m.stats().keywords, content_lines(&text, "term"), "{text:?}");
            }
            Err(e) => check_list_error(&e, &text),
        }
    }
}

const URL_LINES: &[&str] = &[
    "http://quietharbour.example/gallery/",
    "bluepineapple.test/",
    "http://",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "sha256:e3b0",
    "sha256:",
    "http://0x7f.1/",
    "%%%",
    "...",
];

#[test]
fn url_lists_never_panic_and_count_what_they_add() {
    let mut rng = Rng::seeded(0x0417);
    for _ in 0..iterations(1_500) {
        let mut make = |rng: &mut Rng| {
            let mut l = (*rng.pick(URL_LINES)).to_owned();
            if rng.chance(3) {
                l.push_str(MARKER);
            }
            l
        };
        let text = lines_of(&mut rng, &mut make);
        let mut b = MatcherBuilder::new();
        match b.add_url_lines("l", "c", &text) {
            Ok(_) => {
                let m = b.build().unwrap();
                assert!(
                    m.stats().url_digests <= content_lines(&text, "\u{FFFF}no header"),
                    "{text:?}"
                );
            }
            Err(e) => check_list_error(&e, &text),
        }
    }
}

const HASH_KINDS: &[&str] = &[
    "pdq", "md5", "sha256", "SHA-256", "PDQ", "", "crc32", "kind",
];
const HASH_VALUES: &[&str] = &[
    "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "d41d8cd98f00b204e9800998ecf8427e",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "D41D8CD98F00B204E9800998ECF8427E",
    "zz",
    "",
    "0",
];

#[test]
fn hash_lists_never_panic_and_count_what_they_add() {
    let mut rng = Rng::seeded(0x4a54);
    for _ in 0..iterations(1_500) {
        let mut make = |rng: &mut Rng| {
            let mut f = vec![field(rng, HASH_KINDS)];
            for _ in 0..rng.below(4) {
                f.push(if f.len() == 1 {
                    field(rng, HASH_VALUES)
                } else {
                    field(rng, &["test", "", "x,y"])
                });
            }
            f.join(",")
        };
        let mut text = lines_of(&mut rng, &mut make);
        if rng.chance(3) {
            text.insert_str(0, "kind,hash,category\n");
        }
        let mut b = MatcherBuilder::new();
        match b.add_hashes_csv("l", &text) {
            Ok(_) => {
                let m = b.build().unwrap();
                let s = m.stats();
                // Equal digests share one slot, so at most one per line.
                assert!(
                    s.pdq_hashes + s.md5 + s.sha256 <= content_lines(&text, "kind"),
                    "{text:?}"
                );
            }
            Err(e) => check_list_error(&e, &text),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Hash parsing

fn random_hexish(rng: &mut Rng) -> String {
    let len = match rng.below(4) {
        0 => 64,
        1 => 32,
        2 => rng.below(70),
        _ => 62 + rng.below(5),
    };
    let alphabet = b"0123456789abcdefABCDEF";
    let mut s: Vec<u8> = (0..len).map(|_| *rng.pick(alphabet)).collect();
    if rng.chance(3) {
        mutate(rng, &mut s, b"0aFgGzZ x-\t\n\x00\xff\xc3");
    }
    if rng.chance(6) {
        s.insert(0, b' ');
        s.push(b'\n');
    }
    String::from_utf8_lossy(&s).into_owned()
}

fn is_hex_of(s: &str, digits: usize) -> bool {
    let t = s.trim();
    t.len() == digits && t.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn hash_parsing_accepts_exactly_hex_of_the_right_length() {
    let mut b = MatcherBuilder::new();
    b.add_hash(
        Entry::new("h", "l", "c"),
        HashKind::Md5,
        "d41d8cd98f00b204e9800998ecf8427e",
    )
    .unwrap();
    let m = b.build().unwrap();
    let mut rng = Rng::seeded(0x4e58);
    for _ in 0..iterations(20_000) {
        let s = random_hexish(&mut rng);
        match PdqHash::from_hex(&s) {
            Ok(h) => {
                assert!(is_hex_of(&s, 64), "{s:?}");
                assert_eq!(h.to_hex(), s.trim().to_ascii_lowercase());
                assert_eq!(s.parse::<PdqHash>().ok(), Some(h));
                assert_eq!(PdqHash::from_words(h.to_words()), h);
                assert!(m.check_pdq_hex(&s).unwrap().is_empty());
            }
            Err(e) => {
                assert!(!is_hex_of(&s, 64), "{s:?}");
                assert_eq!(
                    e,
                    Error::BadHex {
                        what: "PDQ hash",
                        expected: 64
                    }
                );
                assert!(m.check_pdq_hex(&s).is_err());
            }
        }
        assert_eq!(m.check_md5(&s).is_ok(), is_hex_of(&s, 32), "{s:?}");
        assert_eq!(m.check_sha256(&s).is_ok(), is_hex_of(&s, 64), "{s:?}");
        let kind = s.parse::<HashKind>();
        assert!(
            kind.is_err()
                || matches!(
                    s.trim().to_ascii_lowercase().as_str(),
                    "pdq" | "md5" | "sha256" | "sha-256"
                )
        );
    }
}

// ---------------------------------------------------------------------------------------
// Normalisation and keyword matching

/// Characters that exercise every step: case, width, invisibles, confusables, combining
/// marks, leetspeak symbols, separators, several scripts.
const TEXT_ALPHABET: &str = "abcdeilnoprstuz ABCEILOP 0134579 @$!|+€ .-_,'/ \u{200B}\u{200D}\u{202E}\u{FEFF}\u{00AD} аеорсі ιοα ｂｌｕ \u{0301}\u{0308}ßéüñ İǅﬁ ΣςДЖ 水山한 ℌ𝐛 \u{FFA0}\u{0900}\u{093F}";

fn random_text(rng: &mut Rng, alphabet: &[char], max: usize) -> String {
    let len = rng.below(max + 1);
    (0..len)
        .map(|_| {
            if rng.chance(20) {
                // Any scalar value at all, now and then.
                loop {
                    if let Some(c) = char::from_u32((rng.next() % 0x11_0000) as u32) {
                        break c;
                    }
                }
            } else {
                *rng.pick(alphabet)
            }
        })
        .collect()
}

#[test]
fn normalisation_is_idempotent_on_any_text() {
    let alphabet: Vec<char> = TEXT_ALPHABET.chars().collect();
    let n = Normalizer::default();
    let mut rng = Rng::seeded(0x1d3);
    for _ in 0..iterations(5_000) {
        let s = random_text(&mut rng, &alphabet, 30);
        let once = n.normalize(&s);
        let twice = n.normalize(&once.text());
        assert_eq!(once.words(), twice.words(), "{s:?}");
        assert_eq!(once, n.normalize_step_by_step(&s), "{s:?}");
    }
}

/// A naive reference: every entry's normalised form tested at every position of the
/// query's compact view, with the same boundary rules as [`KeywordMode`] documents.
fn naive_matches(
    n: &Normalizer,
    entries: &[(String, KeywordMode)],
    query: &str,
) -> BTreeSet<usize> {
    let q = n.normalize(query);
    let compact = q.compact();
    let mut out = BTreeSet::new();
    for (i, (term, mode)) in entries.iter().enumerate() {
        let t = n.normalize(term);
        let pattern = t.compact();
        if pattern.is_empty() {
            continue;
        }
        let inner: Vec<usize> = pattern
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .filter(|&i| t.is_word_boundary(i))
            .collect();
        for start in (0..compact.len()).filter(|&s| compact.is_char_boundary(s)) {
            if !compact[start..].starts_with(pattern) {
                continue;
            }
            let end = start + pattern.len();
            let on_words = q.is_word_boundary(start) && q.is_word_boundary(end);
            let ok = match mode {
                KeywordMode::Substring => true,
                KeywordMode::Word => on_words,
                KeywordMode::Phrase => on_words && inner.iter().all(|b| q.is_boundary(start + b)),
            };
            if ok {
                out.insert(i);
            }
        }
    }
    out
}

fn matched_entries(m: &Matcher, query: &str) -> BTreeSet<usize> {
    m.check_query(query)
        .unwrap()
        .into_iter()
        .map(|x| x.entry_id.parse().unwrap())
        .collect()
}

#[test]
fn keyword_checks_find_exactly_what_a_naive_scan_finds() {
    // Short words from a small alphabet, so that entries overlap, nest and share forms.
    let letters: Vec<char> = "abeilnopst".chars().collect();
    let query_alphabet: Vec<char> = "abeilnopst 1304@$ .-аеоｂ\u{200B}ABE".chars().collect();
    let n = Normalizer::default();
    let mut rng = Rng::seeded(0xac);
    for round in 0..iterations(60) {
        let mut entries: Vec<(String, KeywordMode)> = Vec::new();
        for _ in 0..1 + rng.below(25) {
            let words = 1 + rng.below(2);
            let term: Vec<String> = (0..words)
                .map(|_| (0..1 + rng.below(4)).map(|_| *rng.pick(&letters)).collect())
                .collect();
            let mode = *rng.pick(&[
                KeywordMode::Word,
                KeywordMode::Phrase,
                KeywordMode::Substring,
            ]);
            entries.push((term.join(" "), mode));
        }
        let mut b = MatcherBuilder::new();
        for (i, (term, mode)) in entries.iter().enumerate() {
            // Terms with nothing left after normalisation are refused, as documented.
            match b.add_keyword(Entry::new(i.to_string(), "l", "c"), term, *mode) {
                Ok(_) => {}
                Err(Error::EmptyTerm { .. }) => assert!(n.normalize(term).compact().is_empty()),
                Err(e) => panic!("{term:?}: {e:?}"),
            }
        }
        let m = b.build().unwrap();
        for _ in 0..80 {
            let q = if rng.chance(4) {
                // An entry with noise around it.
                let (t, _) = rng.pick(&entries);
                format!(
                    "{} {t}{}",
                    random_text(&mut rng, &query_alphabet, 5),
                    random_text(&mut rng, &query_alphabet, 5)
                )
            } else {
                random_text(&mut rng, &query_alphabet, 24)
            };
            assert_eq!(
                matched_entries(&m, &q),
                naive_matches(&n, &entries, &q),
                "round {round}: query {q:?} against {entries:?}"
            );
        }
    }
}

#[test]
fn keyword_checks_never_panic_on_any_text() {
    let mut b = MatcherBuilder::new();
    b.add_keywords_csv(
        "l",
        "bluepineapple,c,word\nquiet harbour,c,phrase\nzephyr,c,substring\n水山,c,word\n",
    )
    .unwrap();
    let m = b.build().unwrap();
    let alphabet: Vec<char> = TEXT_ALPHABET.chars().collect();
    let mut rng = Rng::seeded(0xa11);
    for _ in 0..iterations(5_000) {
        let s = random_text(&mut rng, &alphabet, 60);
        let found = m.check_query(&s).unwrap();
        let explained = m.explain(&s).unwrap();
        assert_eq!(found, explained.matches, "{s:?}");
    }
    // Over the length limit: an error that does not repeat the input.
    let long = format!("{MARKER}{}", "a".repeat(5000));
    let e = m.check_query(&long).unwrap_err();
    assert!(matches!(e, Error::InputTooLong { .. }));
    assert!(!e.to_string().contains(MARKER));
}

// ---------------------------------------------------------------------------------------
// Images

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[test]
fn image_checks_never_panic_on_damaged_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pdq/");
    let seeds: Vec<Vec<u8>> = vec![
        std::fs::read(format!("{dir}small.jpg")).unwrap(),
        std::fs::read(format!("{dir}q0003.jpg")).unwrap(),
        png(40, 30),
        png(3, 90),
    ];
    let m = Matcher::empty();
    let mut rng = Rng::seeded(0x1a6e);
    for i in 0..iterations(300) {
        let mut bytes = rng.pick(&seeds).clone();
        if i % 3 == 0 {
            let keep = rng.below(bytes.len() + 1);
            bytes.truncate(keep);
        }
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(bytes.len().max(1));
            if let Some(b) = bytes.get_mut(at) {
                *b ^= 1 << rng.below(8);
            }
        }
        match m.check_image_bytes(&bytes) {
            Ok(check) => assert!(check.pdq.quality <= 100),
            Err(Error::UndecodableImage(_) | Error::OversizeImage { .. }) => {}
            Err(e) => panic!("unexpected error kind {e:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// PDQ index

#[test]
fn the_pdq_index_finds_exactly_what_a_scan_finds() {
    let mut rng = Rng::seeded(0x9d9);
    for _ in 0..iterations(12) {
        let threshold = rng.below(52) as u32;
        let random =
            |rng: &mut Rng| PdqHash::from_words([rng.next(), rng.next(), rng.next(), rng.next()]);
        let mut hashes: Vec<PdqHash> = (0..5_000).map(|_| random(&mut rng)).collect();
        let queries: Vec<PdqHash> = (0..40).map(|_| random(&mut rng)).collect();
        for q in &queries {
            // Neighbours at and around the threshold, with the flipped bits bunched in a
            // few neighbouring bytes (the hard case for a chunked index) or spread out.
            for d in [
                threshold.saturating_sub(1),
                threshold,
                threshold + 1,
                rng.below(60) as u32,
            ] {
                let mut w = q.to_words();
                let base = rng.below(256);
                let spread = if rng.chance(2) {
                    (d as usize + 8).max(24)
                } else {
                    256
                };
                let mut flipped = BTreeSet::new();
                while flipped.len() < d as usize {
                    flipped.insert((base + rng.below(spread)) % 256);
                }
                for bit in flipped {
                    w[bit / 64] ^= 1 << (63 - bit % 64);
                }
                let slot = rng.below(hashes.len());
                hashes[slot] = PdqHash::from_words(w);
            }
        }
        let index = reachline_matcher::PdqIndex::multi_index(&hashes, threshold);
        let scan = reachline_matcher::PdqIndex::brute_force(&hashes, threshold);
        for q in &queries {
            assert_eq!(index.search(q), scan.search(q), "threshold {threshold}");
        }
    }
}

/// ASCII text takes a byte-level path in `normalize`; it must agree with the step-by-step
/// pipeline for every configuration, on any ASCII.
#[test]
fn the_ascii_path_agrees_with_the_step_by_step_pipeline() {
    use reachline_matcher::NormalizerConfig;
    let mut configs = vec![NormalizerConfig::default()];
    for i in 0..5 {
        let mut c = NormalizerConfig::default();
        match i {
            0 => c.leet.clear(),
            1 => c.collapse_repeats = false,
            2 => c.join_spelled_out = false,
            3 => c.leet.push(('x', 'k')),
            // A leet target outside ASCII: the general path handles that config.
            _ => c.leet.push(('6', 'б')),
        }
        configs.push(c);
    }
    let alphabet: Vec<u8> = b"aabeilloopsstt  AEIL 0134567@$!|+.-_,'\t\x01~".to_vec();
    let mut rng = Rng::seeded(0xa5c1);
    for config in configs {
        let n = Normalizer::new(config.clone());
        for _ in 0..iterations(3_000) {
            let len = rng.below(32);
            let s: String = (0..len)
                .map(|_| {
                    if rng.chance(10) {
                        char::from((rng.next() % 128) as u8)
                    } else {
                        char::from(*rng.pick(&alphabet))
                    }
                })
                .collect();
            assert_eq!(
                n.normalize(&s),
                n.normalize_step_by_step(&s),
                "{s:?} with {config:?}"
            );
        }
    }
}

/// The fused pass has several paths: ASCII bytes, prepared characters, and for each of
/// them a branch-free pass for text of letters and separators only (most queries), which
/// hands over to the general pass on a digit, a leet symbol or two one-letter words in a
/// row. All must agree with the step-by-step pipeline for every configuration: on mixed
/// text (look-alikes that fold to ASCII, capitals, digits, symbols, ignorables), and on
/// text of letters of several scripts and separators only, which the branch-free passes
/// take. The inputs come one after another in a mix of lengths, so the per-thread scratch
/// buffers are reused between texts of every size (a stale byte left over from a longer
/// text would show here).
#[test]
fn every_fused_path_agrees_with_the_step_by_step_pipeline() {
    use reachline_matcher::NormalizerConfig;
    let mut configs = vec![NormalizerConfig::default()];
    for i in 0..7 {
        let mut c = NormalizerConfig::default();
        match i {
            0 => c.leet.clear(),
            1 => c.collapse_repeats = false,
            2 => c.join_spelled_out = false,
            3 => c.confusables = false,
            4 => c.strip_diacritics = false,
            // A letter read as one that step 7 does not join (a Hangul vowel, which NFKC
            // would compose with a consonant before it).
            5 => c.leet.push(('ж', '\u{1161}')),
            _ => c.leet.push(('6', 'б')),
        }
        configs.push(c);
    }
    let mixed: Vec<char> =
        "aeiopstl AEIOPST 0134@$!|. -аеорсіАЕОРС ιοαΑΟ ｂｌｕＢ é\u{0301}\u{200B} бдж水ß"
            .chars()
            .collect();
    // Letters only (`l` and `L` have a leet target; `і` folds to one too), and separators.
    let letters: Vec<char> = "aabellLoo uy AEL  ,.-' аеолтиі Жж σοτΛ 水山 é"
        .chars()
        .collect();
    let mut rng = Rng::seeded(0xf01d);
    for config in configs {
        let n = Normalizer::new(config.clone());
        for alphabet in [&mixed, &letters] {
            for _ in 0..iterations(3_000) {
                let max = if rng.chance(8) { 200 } else { 24 };
                let s = random_text(&mut rng, alphabet, max);
                assert_eq!(
                    n.normalize(&s),
                    n.normalize_step_by_step(&s),
                    "{s:?} with {config:?}"
                );
            }
        }
    }
}

/// `check_query` normalises in per-thread scratch buffers, `explain` into fresh ones: the
/// two agree on a run of texts of mixed lengths and scripts.
#[test]
fn checks_in_reused_buffers_agree_with_explanations() {
    let mut b = MatcherBuilder::new();
    b.add_keywords_csv(
        "l",
        "bluepineapple,c,word\nquiet harbour,c,phrase\nzephyr,c,substring\npine,c,word\n",
    )
    .unwrap();
    let m = b.build().unwrap();
    let alphabet: Vec<char> = "bluepinaqthrozy BLUE аеорс 134@$ .-\u{200B}水ｂ"
        .chars()
        .collect();
    let mut rng = Rng::seeded(0x5c7a);
    for _ in 0..iterations(3_000) {
        let max = if rng.chance(8) { 300 } else { 30 };
        let s = random_text(&mut rng, &alphabet, max);
        let found = m.check_query(&s).unwrap();
        assert_eq!(found, m.explain(&s).unwrap().matches, "{s:?}");
        let n = m.normalizer().normalize(&s);
        assert_eq!(n, m.normalizer().normalize_step_by_step(&s), "{s:?}");
    }
}

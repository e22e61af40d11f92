//! List parsers: the keyword CSV, URL lines and hash CSV formats as `MatcherBuilder`
//! reads them, and the URL preparation the server's list import does first
//! (`crates/reachline-web/src/deterrence/lists.rs`, mirrored below because that crate is
//! too heavy to build under the fuzzer). Any text gives a list or a line-numbered error,
//! never a panic, and a list that parsed builds and answers checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reachline_matcher::url::{expression_digest, CanonicalUrl};
use reachline_matcher::{Error, MatcherBuilder};

/// What `lists::prepare` does to a URL list before the matcher parses it: every content
/// line becomes `sha256:` and the digest of its full expression, other lines stay empty.
fn prepare_urls(text: &str) -> Result<String, String> {
    let text = text.trim_start_matches('\u{feff}');
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            out.push('\n');
            continue;
        }
        let hex = match l.strip_prefix("sha256:") {
            Some(h) => h.trim().to_ascii_lowercase(),
            None => {
                let canonical =
                    CanonicalUrl::parse(l).map_err(|e| format!("line {}: {e}", i + 1))?;
                hex_encode(&expression_digest(&canonical.full_expression()))
            }
        };
        out.push_str("sha256:");
        out.push_str(&hex);
        out.push('\n');
    }
    Ok(out)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parsers report a bad line as `BadLine`, with a line number inside the text.
fn check_error(e: &Error, text: &str) {
    match e {
        Error::BadLine { line, .. } => {
            assert!(*line >= 1 && *line <= text.lines().count().max(1), "{e:?}")
        }
        other => panic!("unexpected error kind {other:?}"),
    }
}

fn check_built(b: MatcherBuilder) {
    match b.build() {
        Ok(m) => {
            let _ = m.check_query("blue pineapple");
            let _ = m.check_url("http://quietharbour.example/a/b.html");
            let _ = m.check_pdq_hex(&"0".repeat(64));
            let _ = m.check_md5(&"0".repeat(32));
            let _ = m.check_sha256(&"0".repeat(64));
        }
        // The keyword automaton may refuse to grow past its limits: an error, not a panic.
        Err(Error::Build(_)) => {}
        Err(e) => panic!("unexpected build error {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let mut b = MatcherBuilder::new();
    match b.add_keywords_csv("fuzz", &text) {
        Ok(_) => check_built(b),
        Err(e) => check_error(&e, &text),
    }

    let mut b = MatcherBuilder::new();
    match b.add_url_lines("fuzz", "invented", &text) {
        Ok(_) => check_built(b),
        Err(e) => check_error(&e, &text),
    }

    let mut b = MatcherBuilder::new();
    match b.add_hashes_csv("fuzz", &text) {
        Ok(_) => check_built(b),
        Err(e) => check_error(&e, &text),
    }

    if let Ok(prepared) = prepare_urls(&text) {
        // Every prepared line is empty or a digest line; the matcher reads them by the
        // same line numbers.
        assert_eq!(
            prepared.lines().count(),
            text.trim_start_matches('\u{feff}').lines().count()
        );
        let mut b = MatcherBuilder::new();
        match b.add_url_lines("fuzz", "invented", &prepared) {
            Ok(_) => check_built(b),
            Err(e) => check_error(&e, &prepared),
        }
    }
});

//! Importing deterrence lists: validation, conversion of plaintext URLs to digests, sealing.
//! The repository ships no list; operators import their own.

use reachline_core::keys::Key;
use reachline_core::sealing::Context;
use reachline_matcher::url::{expression_digest, CanonicalUrl};
use reachline_matcher::MatcherBuilder;

pub use reachline_core::vocabulary::ListKind;

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("list names are 1 to 64 lowercase letters, digits, dots, hyphens or underscores")]
    Name,
    #[error("the list is not valid: {0}")]
    Invalid(String),
    #[error("the list is empty")]
    Empty,
}

/// A list ready to store: its text (URLs already reduced to `sha256:` digests, line
/// positions kept so entry ids stay the file's line numbers) and its entry count.
pub struct Prepared {
    pub text: String,
    pub entries: usize,
}

pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'_'
        })
}

fn content(line: &str) -> bool {
    let l = line.trim();
    !l.is_empty() && !l.starts_with('#')
}

/// Checks a list and prepares it for storage.
pub fn prepare(
    kind: ListKind,
    name: &str,
    category: &str,
    text: &str,
) -> Result<Prepared, ListError> {
    if !valid_name(name) {
        return Err(ListError::Name);
    }
    let text = text.trim_start_matches('\u{feff}');
    let prepared = match kind {
        ListKind::Keywords | ListKind::Hashes => text.to_string(),
        ListKind::Urls => {
            let mut out = String::with_capacity(text.len());
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if !content(l) {
                    out.push('\n');
                    continue;
                }
                let hex = match l.strip_prefix("sha256:") {
                    Some(h) => h.trim().to_ascii_lowercase(),
                    None => {
                        let canonical = CanonicalUrl::parse(l)
                            .map_err(|e| ListError::Invalid(format!("line {}: {e}", i + 1)))?;
                        hex::encode(expression_digest(&canonical.full_expression()))
                    }
                };
                out.push_str("sha256:");
                out.push_str(&hex);
                out.push('\n');
            }
            out
        }
    };
    let mut builder = MatcherBuilder::new();
    let result = match kind {
        ListKind::Keywords => builder.add_keywords_csv(name, &prepared).map(|_| ()),
        ListKind::Urls => builder.add_url_lines(name, category, &prepared).map(|_| ()),
        ListKind::Hashes => builder.add_hashes_csv(name, &prepared).map(|_| ()),
    };
    result.map_err(|e| ListError::Invalid(e.to_string()))?;
    // The matcher skips a first line that is the CSV header (`term,…` / `kind,…`); so does
    // the count. A list without a header counts every line.
    let header = match kind {
        ListKind::Keywords => Some("term"),
        ListKind::Hashes => Some("kind"),
        ListKind::Urls => None,
    };
    let mut lines = prepared.lines().filter(|l| content(l)).peekable();
    if let (Some(h), Some(first)) = (header, lines.peek()) {
        let field = first.split(',').next().unwrap_or_default().trim();
        if field.trim_matches('"').eq_ignore_ascii_case(h) {
            lines.next();
        }
    }
    let entries = lines.count();
    if entries == 0 {
        return Err(ListError::Empty);
    }
    Ok(Prepared {
        text: prepared,
        entries,
    })
}

pub fn seal(key: &Key, kind: &str, name: &str, version: i64, text: &str) -> Vec<u8> {
    let context = Context::ListVersion {
        kind,
        name,
        version,
    };
    key.seal(context, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_lists_keep_only_digests_and_line_numbers() {
        let p = prepare(
            ListKind::Urls,
            "test-urls",
            "test",
            "# invented\nhttp://quietharbour.example/gallery/\n\nsha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n",
        );
        let p = p.ok().map(|p| (p.text, p.entries));
        let (text, entries) = p.unwrap_or_default();
        assert_eq!(entries, 2);
        assert!(!text.contains("quietharbour"));
        assert_eq!(
            text.lines().nth(1).map(|l| l.starts_with("sha256:")),
            Some(true)
        );
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn entries_are_counted_with_or_without_a_header() {
        let count = |kind, text: &str| prepare(kind, "n", "c", text).map(|p| p.entries).ok();
        assert_eq!(
            count(ListKind::Keywords, "bluepineapple,test,word,en\n"),
            Some(1)
        );
        assert_eq!(
            count(
                ListKind::Keywords,
                "term,category,match,language\nbluepineapple,test,word,en\nquietharbour,test,phrase,en\n"
            ),
            Some(2)
        );
        let md5 = "md5,d41d8cd98f00b204e9800998ecf8427e,test\n";
        assert_eq!(count(ListKind::Hashes, md5), Some(1));
        assert_eq!(
            count(ListKind::Hashes, &format!("kind,hash,category\n{md5}")),
            Some(1)
        );
    }

    #[test]
    fn bad_lists_are_refused_with_a_reason() {
        assert!(matches!(
            prepare(ListKind::Keywords, "Bad Name", "", "x"),
            Err(ListError::Name)
        ));
        assert!(matches!(
            prepare(
                ListKind::Keywords,
                "k",
                "",
                "term,category,match,language\n"
            ),
            Err(ListError::Empty)
        ));
        assert!(matches!(
            prepare(
                ListKind::Hashes,
                "h",
                "",
                "kind,hash,category\npdq,zz,test\n"
            ),
            Err(ListError::Invalid(_))
        ));
        assert!(matches!(
            prepare(ListKind::Urls, "u", "t", "http://\n"),
            Err(ListError::Invalid(_))
        ));
    }
}

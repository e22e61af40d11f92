//! The Reachline deterrence matcher: decides whether a search query, a URL or an image
//! matches a list an operator loaded, so a platform can show a warning that leads to help.
//!
//! It does no I/O and has no async: lists come in as strings or values, results go out
//! as values. Search engines, adult sites, hosts and ISPs can embed it directly; the
//! Reachline server wraps the same code in an HTTP API. It ships no list of its own.
//!
//! Three kinds of list:
//!
//! - **Keywords** ([`KeywordMode`]): every entry and every query go through one
//!   [normalisation pipeline](normalize) (NFKC and case folding, invisible characters,
//!   look-alike letters from other scripts, leetspeak, spelled-out letters, repeated
//!   letters), then a single Aho-Corasick automaton finds all entries at once.
//! - **URLs** ([`url`]): canonicalised and expanded into lookup expressions exactly as
//!   Google Safe Browsing documents; lists hold only SHA-256 digests of expressions.
//! - **Image hashes**: PDQ ([`pdq`], with a hasher that agrees with Meta's reference and a
//!   [multi-index](index) for large lists), plus exact MD5 and SHA-256 of file bytes.
//!
//! Build a [`Matcher`] once with a [`MatcherBuilder`]; it is immutable and `Send + Sync`,
//! so a server can keep it in an `Arc` and swap in a new one when lists change.
//! Matches name the entry's id, list and category, never the listed term, URL or hash.
//!
//! ```
//! use reachline_matcher::{Entry, HashKind, KeywordMode, MatcherBuilder, Signal};
//!
//! # fn main() -> Result<(), reachline_matcher::Error> {
//! let mut builder = MatcherBuilder::new();
//! // Invented terms: the real lists are loaded by the operator at run time.
//! builder.add_keyword(
//!     Entry::new("k1", "invented-terms", "test"),
//!     "bluepineapple",
//!     KeywordMode::Word,
//! )?;
//! builder.add_keywords_csv("more-terms", "term,category,match,language\nquiet harbour,test,phrase,en\n")?;
//! builder.add_url(Entry::new("u1", "invented-urls", "test"), "http://quietharbour.example/gallery/")?;
//! builder.add_hash(
//!     Entry::new("h1", "invented-hashes", "test"),
//!     HashKind::Pdq,
//!     "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
//! )?;
//! let matcher = builder.build()?;
//!
//! // Evasive spellings of a listed word match…
//! for query in ["BLUE pine apple", "b.l.u.e p-1-n-e-a-p-p-l-e", "bluеpineаpple" /* Cyrillic е, а */] {
//!     let found = matcher.check_query(query)?;
//!     assert_eq!(found[0].entry_id, "k1");
//! }
//! // …but a longer word that merely contains it does not.
//! assert!(matcher.check_query("bluepineapples")?.is_empty());
//! assert_eq!(matcher.check_query("Quiet   HARBOUR tours")?[0].entry_id, "more-terms:2");
//!
//! // URLs match by host suffix and path prefix.
//! let found = matcher.check_url("https://www.QuietHarbour.example/gallery/2024/index.html?p=2#top")?;
//! assert_eq!(found[0].list, "invented-urls");
//!
//! // PDQ matches within the threshold (31 bits by default) and reports the distance.
//! let found = matcher.check_pdq_hex("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23")?;
//! assert_eq!(found[0].signal, Signal::Pdq { distance: 1 });
//!
//! // Explanations show every normalisation step.
//! let why = matcher.explain("ｂｌｕｅ\u{200B}pineapple")?;
//! assert_eq!(why.steps[0].name, "nfkc_casefold");
//! assert_eq!(why.matches.len(), 1);
//! # Ok(())
//! # }
//! ```

pub mod error;
pub mod index;
pub mod keywords;
mod matcher;
pub mod normalize;
pub mod pdq;
pub mod url;

pub use error::Error;
pub use index::PdqIndex;
pub use keywords::{AutomatonChoice, KeywordMode};
pub use matcher::{
    Entry, Explanation, HashKind, ImageCheck, Match, Matcher, MatcherBuilder, MatcherConfig,
    MatcherStats, Signal,
};
pub use normalize::{Normalized, Normalizer, NormalizerConfig, Step};
pub use pdq::{PdqDigest, PdqHash};
pub use url::{canonicalize, lookup_expressions, CanonicalUrl};

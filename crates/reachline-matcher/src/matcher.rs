//! [`MatcherBuilder`] loads lists from memory; [`Matcher`] answers checks.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::index::PdqIndex;
use crate::keywords::{AutomatonChoice, KeywordIndex, KeywordIndexBuilder, KeywordMode};
use crate::normalize::{Normalizer, NormalizerConfig, Step};
use crate::pdq::{hash_image_bytes, PdqDigest, PdqHash};
use crate::url::{expression_digest, CanonicalUrl};
use crate::Error;

/// Entries by digest (URL expressions, MD5, SHA-256).
type DigestMap<const N: usize> = HashMap<[u8; N], Vec<u32>, BuildHasherDefault<DigestHasher>>;

/// Hashes a digest by folding its bytes together: digests are uniformly distributed
/// already, so SipHash's mixing (about a tenth of a URL check) buys nothing. Flooding is not a
/// concern: the maps hold listed digests only, and a query never inserts.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word.get_mut(..chunk.len())
                .unwrap_or_default()
                .copy_from_slice(chunk);
            self.0 = self.0.rotate_left(23) ^ u64::from_le_bytes(word);
        }
    }
}

/// Who an entry is: its id, the list it came from and its category. Returned with every
/// match; the term, URL or hash itself never is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The entry's id, unique within its list (the caller's choice).
    pub id: String,
    /// The list's name.
    pub list: String,
    /// The category the list maintainer gave the entry.
    pub category: String,
}

impl Entry {
    /// An entry with the given id, list and category.
    pub fn new(
        id: impl Into<String>,
        list: impl Into<String>,
        category: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            list: list.into(),
            category: category.into(),
        }
    }
}

/// What kind of signal matched, with kind-specific detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Signal {
    /// A keyword entry matched the query.
    Keyword {
        /// The entry's mode.
        mode: KeywordMode,
    },
    /// One of the URL's lookup expressions is listed.
    Url,
    /// A listed PDQ hash is within the list's threshold.
    Pdq {
        /// Hamming distance between the query and the listed hash.
        distance: u32,
    },
    /// The MD5 digest is listed.
    Md5,
    /// The SHA-256 digest is listed.
    Sha256,
}

/// One listed entry that matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Match {
    /// The entry's id.
    pub entry_id: String,
    /// The entry's list.
    pub list: String,
    /// The entry's category.
    pub category: String,
    /// How it matched.
    #[serde(flatten)]
    pub signal: Signal,
}

/// The kinds of exact and perceptual hash a hash list can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    /// PDQ, 64 hex digits, matched within a distance threshold.
    Pdq,
    /// MD5 of the file bytes, 32 hex digits, exact.
    Md5,
    /// SHA-256 of the file bytes, 64 hex digits, exact.
    Sha256,
}

impl std::str::FromStr for HashKind {
    type Err = ();
    /// `pdq`, `md5` or `sha256` (any case); also ThreatExchange's signal-type name
    /// `video_md5` (an MD5 of the file's bytes), so hash lists exported from
    /// Hasher-Matcher-Actioner banks load as they are.
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pdq" => Ok(Self::Pdq),
            "md5" | "video_md5" => Ok(Self::Md5),
            "sha256" | "sha-256" => Ok(Self::Sha256),
            _ => Err(()),
        }
    }
}

/// Settings fixed when the matcher is built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MatcherConfig {
    /// The normalisation pipeline for keyword entries and queries.
    pub normalizer: NormalizerConfig,
    /// Which Aho-Corasick automaton to build for keywords.
    pub automaton: AutomatonChoice,
    /// PDQ distance threshold for lists without their own (inclusive). Default 31.
    pub pdq_threshold: u32,
    /// PDQ hashes with a quality below this are not compared (default 50, the reference's
    /// recommendation); 0 turns the gate off.
    pub pdq_min_quality: u8,
    /// Images with more pixels are refused before decoding. Hashing needs about 8 bytes
    /// per pixel at its peak, so the default of 25 million pixels needs about 200 MB.
    pub max_image_pixels: u64,
    /// Queries longer than this many bytes are refused. Default 4096.
    pub max_query_bytes: usize,
}

impl Default for MatcherConfig {
    fn default() -> Self {
        Self {
            normalizer: NormalizerConfig::default(),
            automaton: AutomatonChoice::Auto,
            pdq_threshold: 31,
            pdq_min_quality: 50,
            max_image_pixels: 25_000_000,
            max_query_bytes: 4096,
        }
    }
}

/// Loads lists from memory and builds an immutable [`Matcher`].
///
/// Reading files, fetching lists and decrypting them is the caller's job; this takes
/// entries one by one or in the simple text formats of [`Self::add_keywords_csv`],
/// [`Self::add_url_lines`] and [`Self::add_hashes_csv`].
pub struct MatcherBuilder {
    config: MatcherConfig,
    normalizer: Normalizer,
    entries: Vec<Entry>,
    keyword_entries: usize,
    keywords: KeywordIndexBuilder,
    urls: DigestMap<32>,
    /// Fast hashes of the plaintext expressions added, for [`ExpressionFilter`].
    url_fast: Vec<u64>,
    /// Whether any URL entry came as a digest only (then no fast filter can be built).
    url_digest_only: bool,
    md5: DigestMap<16>,
    sha256: DigestMap<32>,
    pdq: BTreeMap<String, Vec<(PdqHash, u32)>>,
    pdq_thresholds: HashMap<String, u32>,
}

/// Counts only: digests and terms stay out of debug output and logs.
impl std::fmt::Debug for MatcherBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatcherBuilder")
            .field("entries", &self.entries.len())
            .field("keywords", &self.keywords)
            .field("url_digests", &self.urls.len())
            .finish_non_exhaustive()
    }
}

impl Default for MatcherBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn parse_hex<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text.trim(), &mut out).map_err(|_| Error::BadHex {
        what,
        expected: N * 2,
    })?;
    Ok(out)
}

/// Splits one CSV line into fields; double quotes protect commas and `""` is a quote.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Lines worth reading: not blank, not `#` comments. Yields 1-based line numbers.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

impl MatcherBuilder {
    /// A builder with the default configuration.
    pub fn new() -> Self {
        Self::with_config(MatcherConfig::default())
    }

    /// A builder with the given configuration.
    pub fn with_config(config: MatcherConfig) -> Self {
        Self {
            normalizer: Normalizer::new(config.normalizer.clone()),
            config,
            entries: Vec::new(),
            keyword_entries: 0,
            keywords: KeywordIndexBuilder::default(),
            urls: DigestMap::default(),
            url_fast: Vec::new(),
            url_digest_only: false,
            md5: DigestMap::default(),
            sha256: DigestMap::default(),
            pdq: BTreeMap::new(),
            pdq_thresholds: HashMap::new(),
        }
    }

    fn push_entry(&mut self, entry: Entry) -> u32 {
        self.entries.push(entry);
        (self.entries.len() - 1) as u32
    }

    /// Adds a keyword entry. The term is normalised now and its text is not kept.
    pub fn add_keyword(
        &mut self,
        entry: Entry,
        term: &str,
        mode: KeywordMode,
    ) -> Result<&mut Self, Error> {
        let normalized = self.normalizer.normalize(term);
        if normalized.compact().is_empty() {
            return Err(Error::EmptyTerm { id: entry.id });
        }
        let idx = self.push_entry(entry);
        self.keywords.add(&normalized, idx, mode);
        self.keyword_entries += 1;
        Ok(self)
    }

    /// Adds keywords in the list format `term,category,match,language` (`match` is
    /// `word`, `phrase` or `substring`, default `word`; `language` is informative). Blank
    /// lines, `#` comments and a first line starting `term,` (a header) are skipped. Entry
    /// ids are `LIST:LINE`, with 1-based line numbers of the text given.
    pub fn add_keywords_csv(&mut self, list: &str, csv: &str) -> Result<&mut Self, Error> {
        for (n, (line, text)) in content_lines(csv).enumerate() {
            let fields = csv_fields(text);
            if n == 0
                && fields
                    .first()
                    .is_some_and(|f| f.trim().eq_ignore_ascii_case("term"))
            {
                continue;
            }
            let term = fields.first().map(|s| s.trim()).unwrap_or_default();
            let category = fields.get(1).map(|s| s.trim()).unwrap_or_default();
            let mode = match fields.get(2).map(|s| s.trim()).filter(|s| !s.is_empty()) {
                None => KeywordMode::Word,
                Some(m) => m.parse().map_err(|()| Error::BadLine {
                    line,
                    reason: "match must be word, phrase or substring".to_owned(),
                })?,
            };
            let entry = Entry::new(format!("{list}:{line}"), list, category);
            self.add_keyword(entry, term, mode).map_err(|e| match e {
                Error::EmptyTerm { .. } => Error::BadLine {
                    line,
                    reason: "the term has no letters or digits".to_owned(),
                },
                other => other,
            })?;
        }
        Ok(self)
    }

    /// Adds a URL or expression given in plaintext (`http://evil.example/a/`,
    /// `evil.example/a/`). It is canonicalised and only the SHA-256 of its full
    /// expression is kept.
    pub fn add_url(&mut self, entry: Entry, url: &str) -> Result<&mut Self, Error> {
        let canonical = CanonicalUrl::parse(url)?;
        let mut expression = canonical.full_expression();
        let digest = expression_digest(&expression);
        zeroize::Zeroize::zeroize(&mut expression);
        self.url_fast.push(canonical.full_expression_fast_hash());
        let idx = self.push_entry(entry);
        self.urls.entry(digest).or_default().push(idx);
        Ok(self)
    }

    /// Adds the SHA-256 digest (64 hex digits) of an expression, for lists that are
    /// distributed hashed.
    pub fn add_url_digest(&mut self, entry: Entry, hex: &str) -> Result<&mut Self, Error> {
        let digest = parse_hex::<32>(hex, "SHA-256")?;
        let idx = self.push_entry(entry);
        self.urls.entry(digest).or_default().push(idx);
        self.url_digest_only = true;
        Ok(self)
    }

    /// Adds URLs one per line: a plaintext URL or expression, or `sha256:` and 64 hex
    /// digits. Blank lines and `#` comments are skipped. Ids are `LIST:LINE`.
    pub fn add_url_lines(
        &mut self,
        list: &str,
        category: &str,
        text: &str,
    ) -> Result<&mut Self, Error> {
        for (line, content) in content_lines(text) {
            let entry = Entry::new(format!("{list}:{line}"), list, category);
            let result = match content.strip_prefix("sha256:") {
                Some(hex) => self.add_url_digest(entry, hex).map(|_| ()),
                None => self.add_url(entry, content).map(|_| ()),
            };
            result.map_err(|e| Error::BadLine {
                line,
                reason: e.to_string(),
            })?;
        }
        Ok(self)
    }

    /// Adds a hash of the given kind (hex).
    pub fn add_hash(
        &mut self,
        entry: Entry,
        kind: HashKind,
        hex: &str,
    ) -> Result<&mut Self, Error> {
        match kind {
            HashKind::Pdq => {
                let hash = PdqHash::from_hex(hex)?;
                self.add_pdq(entry, hash);
            }
            HashKind::Md5 => {
                let digest = parse_hex::<16>(hex, "MD5")?;
                let idx = self.push_entry(entry);
                self.md5.entry(digest).or_default().push(idx);
            }
            HashKind::Sha256 => {
                let digest = parse_hex::<32>(hex, "SHA-256")?;
                let idx = self.push_entry(entry);
                self.sha256.entry(digest).or_default().push(idx);
            }
        }
        Ok(self)
    }

    /// Adds a PDQ hash to the entry's list.
    pub fn add_pdq(&mut self, entry: Entry, hash: PdqHash) -> &mut Self {
        let list = entry.list.clone();
        let idx = self.push_entry(entry);
        self.pdq.entry(list).or_default().push((hash, idx));
        self
    }

    /// Adds hashes in the list format `kind,hash,category` (`kind` is `pdq`, `md5` or
    /// `sha256`). Blank lines, `#` comments and a first line starting `kind,` (a header)
    /// are skipped. Ids are `LIST:LINE`.
    pub fn add_hashes_csv(&mut self, list: &str, csv: &str) -> Result<&mut Self, Error> {
        for (n, (line, text)) in content_lines(csv).enumerate() {
            let fields = csv_fields(text);
            let kind_field = fields.first().map(|s| s.trim()).unwrap_or_default();
            if n == 0 && kind_field.eq_ignore_ascii_case("kind") {
                continue;
            }
            let kind: HashKind = kind_field.parse().map_err(|()| Error::BadLine {
                line,
                reason: "kind must be pdq, md5 or sha256".to_owned(),
            })?;
            let hash = fields.get(1).map(|s| s.trim()).unwrap_or_default();
            let category = fields.get(2).map(|s| s.trim()).unwrap_or_default();
            let entry = Entry::new(format!("{list}:{line}"), list, category);
            self.add_hash(entry, kind, hash)
                .map_err(|e| Error::BadLine {
                    line,
                    reason: e.to_string(),
                })?;
        }
        Ok(self)
    }

    /// Sets the PDQ distance threshold (inclusive, 0–256) for one list.
    pub fn pdq_threshold(&mut self, list: &str, threshold: u32) -> Result<&mut Self, Error> {
        if threshold > 256 {
            return Err(Error::BadThreshold(threshold));
        }
        self.pdq_thresholds.insert(list.to_owned(), threshold);
        Ok(self)
    }

    /// Builds the matcher: compiles the keyword automaton and the PDQ indexes.
    pub fn build(self) -> Result<Matcher, Error> {
        if self.config.pdq_threshold > 256 {
            return Err(Error::BadThreshold(self.config.pdq_threshold));
        }
        let keywords = self
            .keywords
            .build(self.config.automaton)
            .map_err(|e| Error::Build(format!("keyword automaton: {e}")))?;
        let pdq = self
            .pdq
            .into_iter()
            .map(|(list, items)| {
                let threshold = self
                    .pdq_thresholds
                    .get(&list)
                    .copied()
                    .unwrap_or(self.config.pdq_threshold);
                let hashes: Vec<PdqHash> = items.iter().map(|(h, _)| *h).collect();
                let entries = items.iter().map(|(_, e)| *e).collect();
                PdqList {
                    index: PdqIndex::new(&hashes, threshold),
                    entries,
                }
            })
            .collect();
        Ok(Matcher {
            config: self.config,
            normalizer: self.normalizer,
            entries: self.entries,
            keyword_entries: self.keyword_entries,
            keywords,
            url_filter: DigestFilter::new(self.urls.keys()),
            url_fast: (!self.url_digest_only).then(|| ExpressionFilter::new(&self.url_fast)),
            urls: self.urls,
            md5: self.md5,
            sha256: self.sha256,
            pdq,
        })
    }
}

/// One bit per digest prefix, so that most lookups of a digest that is not listed end
/// after one read of a table small enough to stay in cache: the map itself is megabytes
/// for a large list, and most of a URL's lookup expressions are not listed.
#[derive(Debug, Clone, Default)]
struct DigestFilter {
    bits: Vec<u64>,
    /// The prefix (first eight bytes, big-endian) shifted right by this is the bit.
    shift: u32,
}

impl DigestFilter {
    /// About sixteen bits per digest: an unlisted digest passes one time in sixteen.
    fn new<'a>(digests: impl ExactSizeIterator<Item = &'a [u8; 32]>) -> Self {
        let bits_n = (digests.len() * 16).max(64).next_power_of_two();
        let mut bits = vec![0u64; bits_n / 64];
        let shift = 64 - bits_n.trailing_zeros();
        for digest in digests {
            let i = Self::bit(digest, shift);
            if let Some(word) = bits.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        }
        Self { bits, shift }
    }

    fn bit(digest: &[u8; 32], shift: u32) -> usize {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
        (u64::from_be_bytes(prefix) >> shift) as usize
    }

    /// False if `digest` is certainly not in the set the filter was built from.
    fn may_contain(&self, digest: &[u8; 32]) -> bool {
        let i = Self::bit(digest, self.shift);
        self.bits
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 != 0)
    }
}

/// One bit per listed plaintext expression's fast hash, about sixteen bits an expression:
/// a check computes SHA-256 only for the expressions that pass (one in sixteen of the
/// unlisted ones), instead of for every one of a URL's up to 30 expressions. Built only
/// when every URL entry of the lists came in plaintext: a digest-only entry's expression is
/// unknown, so then every expression is hashed with SHA-256 as before. It only skips work:
/// whatever passes is looked up by its SHA-256 exactly as without it, so the results are
/// the same.
#[derive(Debug, Clone, Default)]
struct ExpressionFilter {
    bits: Vec<u64>,
    mask: u64,
}

impl ExpressionFilter {
    fn new(hashes: &[u64]) -> Self {
        let bits_n = (hashes.len() * 16).max(64).next_power_of_two();
        let mut bits = vec![0u64; bits_n / 64];
        let mask = bits_n as u64 - 1;
        for h in hashes {
            let i = (h & mask) as usize;
            if let Some(word) = bits.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        }
        Self { bits, mask }
    }

    fn may_contain(&self, fast_hash: u64) -> bool {
        let i = (fast_hash & self.mask) as usize;
        self.bits
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 != 0)
    }
}

#[derive(Debug, Clone)]
struct PdqList {
    index: PdqIndex,
    /// Entry index for each hash id in `index`.
    entries: Vec<u32>,
}

/// Checks queries, URLs, images and digests against the loaded lists.
///
/// Immutable and `Send + Sync`: share it behind an `Arc` and swap in a newly built one to
/// reload lists; checks in flight keep the old one.
#[derive(Clone)]
pub struct Matcher {
    config: MatcherConfig,
    normalizer: Normalizer,
    entries: Vec<Entry>,
    keyword_entries: usize,
    keywords: KeywordIndex,
    /// Rules out most unlisted URL expressions before `urls` is read.
    url_filter: DigestFilter,
    /// None when some URL entry is a digest only.
    url_fast: Option<ExpressionFilter>,
    urls: DigestMap<32>,
    md5: DigestMap<16>,
    sha256: DigestMap<32>,
    pdq: Vec<PdqList>,
}

/// What [`Matcher::explain`] returns: the query after every normalisation step, the
/// compact view that was searched, and the matches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    /// Text after each named step.
    pub steps: Vec<Step>,
    /// The words run together: what the keyword automaton searched.
    pub compact: String,
    /// The normalised words.
    pub words: Vec<String>,
    /// Entries that matched.
    pub matches: Vec<Match>,
}

/// What [`Matcher::check_image_bytes`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageCheck {
    /// The image's PDQ hash and quality.
    pub pdq: PdqDigest,
    /// True if the quality was below the gate, so the PDQ hash was not compared (exact
    /// digests still were).
    pub low_quality: bool,
    /// MD5, SHA-256 and PDQ matches.
    pub matches: Vec<Match>,
}

/// Counts of loaded entries, for status pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MatcherStats {
    /// Keyword entries.
    pub keywords: usize,
    /// Distinct normalised keyword patterns.
    pub keyword_patterns: usize,
    /// The keyword automaton built: `"dfa"` or `"contiguous-nfa"` (none without keywords).
    pub keyword_automaton: Option<&'static str>,
    /// URL expression digests.
    pub url_digests: usize,
    /// PDQ hashes.
    pub pdq_hashes: usize,
    /// MD5 digests.
    pub md5: usize,
    /// SHA-256 digests.
    pub sha256: usize,
}

/// Counts only: digests, hashes and terms stay out of debug output and logs.
impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Matcher {
    /// A matcher with no lists (every check finds nothing).
    pub fn empty() -> Self {
        let config = MatcherConfig::default();
        Self {
            normalizer: Normalizer::new(config.normalizer.clone()),
            config,
            entries: Vec::new(),
            keyword_entries: 0,
            keywords: KeywordIndex::empty(),
            url_filter: DigestFilter::default(),
            url_fast: None,
            urls: DigestMap::default(),
            md5: DigestMap::default(),
            sha256: DigestMap::default(),
            pdq: Vec::new(),
        }
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &MatcherConfig {
        &self.config
    }

    /// The normaliser used for keyword entries and queries.
    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// Counts of what is loaded.
    pub fn stats(&self) -> MatcherStats {
        MatcherStats {
            keywords: self.keyword_entries,
            keyword_patterns: self.keywords.pattern_count(),
            keyword_automaton: self.keywords.automaton_name(),
            url_digests: self.urls.len(),
            pdq_hashes: self.pdq.iter().map(|l| l.index.len()).sum(),
            md5: self.md5.len(),
            sha256: self.sha256.len(),
        }
    }

    fn entry_match(&self, idx: u32, signal: Signal) -> Option<Match> {
        self.entries.get(idx as usize).map(|e| Match {
            entry_id: e.id.clone(),
            list: e.list.clone(),
            category: e.category.clone(),
            signal,
        })
    }

    fn check_len(&self, query: &str) -> Result<(), Error> {
        if query.len() > self.config.max_query_bytes {
            return Err(Error::InputTooLong {
                len: query.len(),
                limit: self.config.max_query_bytes,
            });
        }
        Ok(())
    }

    /// Keyword entries matching a search query.
    pub fn check_query(&self, query: &str) -> Result<Vec<Match>, Error> {
        self.check_len(query)?;
        // Normalised in this thread's scratch buffers: no allocation for the query's
        // normalised form once they have grown.
        let found = crate::normalize::with_scratch(|scratch| {
            self.normalizer.normalize_into(query, scratch);
            self.keywords.find(&scratch.out)
        });
        Ok(found
            .into_iter()
            .filter_map(|(e, mode)| self.entry_match(e, Signal::Keyword { mode }))
            .collect())
    }

    /// Like [`Self::check_query`], and shows the text after every normalisation step.
    pub fn explain(&self, query: &str) -> Result<Explanation, Error> {
        self.check_len(query)?;
        let (normalized, steps) = self.normalizer.explain(query);
        let matches = self
            .keywords
            .find(&normalized)
            .into_iter()
            .filter_map(|(e, mode)| self.entry_match(e, Signal::Keyword { mode }))
            .collect();
        Ok(Explanation {
            steps,
            compact: normalized.compact().to_owned(),
            words: normalized.words().into_iter().map(str::to_owned).collect(),
            matches,
        })
    }

    /// URL list entries matching any lookup expression of `url`.
    pub fn check_url(&self, url: &str) -> Result<Vec<Match>, Error> {
        let canonical = CanonicalUrl::parse(url)?;
        let mut out = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        let lookup = |digest: [u8; 32]| {
            if !self.url_filter.may_contain(&digest) {
                return;
            }
            for &idx in self
                .urls
                .get(&digest)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if !seen.contains(&idx) {
                    seen.push(idx);
                    out.extend(self.entry_match(idx, Signal::Url));
                }
            }
        };
        match &self.url_fast {
            Some(fast) => {
                canonical.for_each_expression_digest_passing(|h| fast.may_contain(h), lookup)
            }
            None => canonical.for_each_expression_digest(lookup),
        }
        Ok(out)
    }

    /// PDQ list entries within their list's threshold of `hash`, closest first. No
    /// quality gate: use [`Self::check_pdq_with_quality`] when the quality is known.
    pub fn check_pdq(&self, hash: &PdqHash) -> Vec<Match> {
        let mut found: Vec<(u32, u32)> = Vec::new();
        for list in &self.pdq {
            for (id, distance) in list.index.search(hash) {
                if let Some(&entry) = list.entries.get(id as usize) {
                    found.push((distance, entry));
                }
            }
        }
        found.sort_unstable();
        found
            .into_iter()
            .filter_map(|(distance, e)| self.entry_match(e, Signal::Pdq { distance }))
            .collect()
    }

    /// [`Self::check_pdq`] behind the quality gate: a hash whose quality is below
    /// `pdq_min_quality` is an error ([`Error::LowQuality`]), not a silent non-match.
    pub fn check_pdq_with_quality(&self, hash: &PdqHash, quality: u8) -> Result<Vec<Match>, Error> {
        if quality < self.config.pdq_min_quality {
            return Err(Error::LowQuality {
                quality,
                min: self.config.pdq_min_quality,
            });
        }
        Ok(self.check_pdq(hash))
    }

    /// Parses a PDQ hash from hex and checks it (no quality gate).
    pub fn check_pdq_hex(&self, hex: &str) -> Result<Vec<Match>, Error> {
        Ok(self.check_pdq(&PdqHash::from_hex(hex)?))
    }

    /// MD5 list entries equal to the digest (32 hex digits).
    pub fn check_md5(&self, hex: &str) -> Result<Vec<Match>, Error> {
        let digest = parse_hex::<16>(hex, "MD5")?;
        Ok(self.md5_matches(&digest))
    }

    /// SHA-256 list entries equal to the digest (64 hex digits).
    pub fn check_sha256(&self, hex: &str) -> Result<Vec<Match>, Error> {
        let digest = parse_hex::<32>(hex, "SHA-256")?;
        Ok(self.sha256_matches(&digest))
    }

    fn md5_matches(&self, digest: &[u8; 16]) -> Vec<Match> {
        self.md5
            .get(digest)
            .into_iter()
            .flatten()
            .filter_map(|&e| self.entry_match(e, Signal::Md5))
            .collect()
    }

    fn sha256_matches(&self, digest: &[u8; 32]) -> Vec<Match> {
        self.sha256
            .get(digest)
            .into_iter()
            .flatten()
            .filter_map(|&e| self.entry_match(e, Signal::Sha256))
            .collect()
    }

    /// MD5 and SHA-256 matches for any file's bytes (no decoding).
    pub fn check_file_bytes(&self, bytes: &[u8]) -> Vec<Match> {
        let md5: [u8; 16] = Md5::digest(bytes).into();
        let sha: [u8; 32] = Sha256::digest(bytes).into();
        let mut out = self.md5_matches(&md5);
        out.extend(self.sha256_matches(&sha));
        out
    }

    /// Hashes an image (JPEG or PNG) and checks its MD5, SHA-256 and PDQ hash. Errors if
    /// the bytes are not a decodable image or it has too many pixels; call
    /// [`Self::check_file_bytes`] for exact digests of anything.
    pub fn check_image_bytes(&self, bytes: &[u8]) -> Result<ImageCheck, Error> {
        let pdq = hash_image_bytes(bytes, self.config.max_image_pixels)?;
        let mut matches = self.check_file_bytes(bytes);
        let low_quality = pdq.quality < self.config.pdq_min_quality;
        if !low_quality {
            matches.extend(self.check_pdq(&pdq.hash));
        }
        Ok(ImageCheck {
            pdq,
            low_quality,
            matches,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_handle_quotes() {
        assert_eq!(csv_fields("a,b,c"), ["a", "b", "c"]);
        assert_eq!(csv_fields("\"a,b\",c"), ["a,b", "c"]);
        assert_eq!(csv_fields("\"say \"\"hi\"\"\",x"), ["say \"hi\"", "x"]);
        assert_eq!(csv_fields(""), [""]);
    }

    #[test]
    fn url_lists_hold_only_digests_of_full_expressions() {
        let mut b = MatcherBuilder::new();
        b.add_url(
            Entry::new("a", "l", "c"),
            "HTTP://www.QuietHarbour.example:81/x/../gallery/#f",
        )
        .unwrap();
        b.add_url(Entry::new("b", "l", "c"), "quietharbour.example")
            .unwrap();
        let m = b.build().unwrap();
        let mut stored: Vec<[u8; 32]> = m.urls.keys().copied().collect();
        stored.sort_unstable();
        let mut expected = vec![
            expression_digest("www.quietharbour.example/gallery/"),
            expression_digest("quietharbour.example/"),
        ];
        expected.sort_unstable();
        assert_eq!(stored, expected);
        // Nothing else holds text but the caller's entry metadata.
        assert!(m.entries.iter().all(|e| !e.id.contains("harbour")));
    }

    #[test]
    fn matcher_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Matcher>();
    }
}

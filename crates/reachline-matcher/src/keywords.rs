//! Keyword lists: one Aho-Corasick automaton over every entry's normalised form.
//!
//! Queries and entries are normalised by the same [`Normalizer`](crate::Normalizer); the automaton searches
//! the query's compact view (its words run together), and each hit is then accepted or
//! rejected by the entry's [`KeywordMode`] using the query's word boundaries. Searching
//! the compact view is what lets `blue pine apple`, `b.l.u.e` and `bluepineapple` meet
//! the same entry, and the boundary check is what keeps `pine` from matching inside
//! `bluepineapple`.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::normalize::Normalized;

/// How a keyword entry must sit in the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeywordMode {
    /// The entry must start and end on word boundaries of the query. It may span several
    /// query words run together (`blue pine apple` matches the entry `bluepineapple`), but
    /// a word that merely contains it does not match (`pine` does not match
    /// `bluepineapple`, and `bluepineapple` does not match `bluepineapples`: list plural
    /// forms separately, or use `Substring`). Spaces inside a `Word` entry are ignored.
    Word,
    /// Like `Word`, and in addition every word boundary inside the entry must be a boundary
    /// in the query (a word gap, or a gap between spelled-out letters). So the phrase
    /// `blue pineapple` matches `blue pineapple`, `blue-pine-apple` and
    /// `b l u e p i n e a p p l e`, but not `bluepineapple`.
    Phrase,
    /// Anywhere in the compact view, including inside longer words and across word gaps.
    /// For distinctive terms only.
    Substring,
}

impl KeywordMode {
    /// The mode's name as used in list files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Word => "word",
            Self::Phrase => "phrase",
            Self::Substring => "substring",
        }
    }
}

impl std::str::FromStr for KeywordMode {
    type Err = ();

    /// `word`, `phrase` or `substring` (any case, surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "word" => Ok(Self::Word),
            "phrase" => Ok(Self::Phrase),
            "substring" => Ok(Self::Substring),
            _ => Err(()),
        }
    }
}

/// Which Aho-Corasick automaton to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AutomatonChoice {
    /// A DFA up to [`DFA_MAX_PATTERNS`] distinct patterns (fastest search, memory grows
    /// with the alphabet × states), a contiguous NFA above (compact, still fast).
    #[default]
    Auto,
    /// Always a DFA.
    Dfa,
    /// Always a contiguous NFA.
    ContiguousNfa,
}

/// Lists up to this many distinct normalised patterns get a DFA under
/// [`AutomatonChoice::Auto`].
pub const DFA_MAX_PATTERNS: usize = 5_000;

/// One keyword entry after normalisation (its term text is not kept).
#[derive(Debug, Clone)]
pub(crate) struct CompiledKeyword {
    /// Index into the matcher's entry metadata.
    pub entry: u32,
    pub mode: KeywordMode,
    /// Byte offsets inside the pattern where the entry itself has a word boundary.
    pub inner_bounds: Vec<u32>,
}

/// The keyword automaton and, per pattern, the entries that share it.
#[derive(Clone)]
pub(crate) struct KeywordIndex {
    automaton: Option<AhoCorasick>,
    by_pattern: Vec<Vec<CompiledKeyword>>,
    kind: Option<AhoCorasickKind>,
}

/// Builds a [`KeywordIndex`], deduplicating entries with the same normalised form.
#[derive(Default)]
pub(crate) struct KeywordIndexBuilder {
    patterns: Vec<String>,
    by_pattern: Vec<Vec<CompiledKeyword>>,
    lookup: std::collections::HashMap<String, usize>,
}

/// Debug output shows counts, never the (normalised) terms: lists must not reach logs.
impl std::fmt::Debug for KeywordIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordIndex")
            .field("patterns", &self.by_pattern.len())
            .field("automaton", &self.automaton_name())
            .finish()
    }
}

impl std::fmt::Debug for KeywordIndexBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordIndexBuilder")
            .field("patterns", &self.patterns.len())
            .finish()
    }
}

impl KeywordIndexBuilder {
    /// Adds an entry's normalised form. Returns false if it is empty.
    pub fn add(&mut self, normalized: &Normalized, entry: u32, mode: KeywordMode) -> bool {
        let pattern = normalized.compact();
        if pattern.is_empty() {
            return false;
        }
        let inner_bounds = pattern
            .char_indices()
            .skip(1)
            .filter(|(i, _)| normalized.is_word_boundary(*i))
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        let compiled = CompiledKeyword {
            entry,
            mode,
            inner_bounds,
        };
        let slot = match self.lookup.get(pattern) {
            Some(&slot) => slot,
            None => {
                let slot = self.patterns.len();
                self.patterns.push(pattern.to_owned());
                self.by_pattern.push(Vec::new());
                self.lookup.insert(pattern.to_owned(), slot);
                slot
            }
        };
        self.by_pattern[slot].push(compiled);
        true
    }

    pub fn build(self, choice: AutomatonChoice) -> Result<KeywordIndex, aho_corasick::BuildError> {
        if self.patterns.is_empty() {
            return Ok(KeywordIndex::empty());
        }
        let kind = match choice {
            AutomatonChoice::Dfa => AhoCorasickKind::DFA,
            AutomatonChoice::ContiguousNfa => AhoCorasickKind::ContiguousNFA,
            AutomatonChoice::Auto if self.patterns.len() <= DFA_MAX_PATTERNS => {
                AhoCorasickKind::DFA
            }
            AutomatonChoice::Auto => AhoCorasickKind::ContiguousNFA,
        };
        // Standard semantics: overlapping search reports every occurrence of every
        // pattern, which the boundary check needs (the first hit may be rejected).
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(&self.patterns)?;
        Ok(KeywordIndex {
            automaton: Some(automaton),
            by_pattern: self.by_pattern,
            kind: Some(kind),
        })
    }
}

impl KeywordIndex {
    /// An index with no entries.
    pub fn empty() -> Self {
        Self {
            automaton: None,
            by_pattern: Vec::new(),
            kind: None,
        }
    }

    /// Entries matched by a normalised query, each once, in the order found.
    pub fn find(&self, query: &Normalized) -> Vec<(u32, KeywordMode)> {
        let mut out: Vec<(u32, KeywordMode)> = Vec::new();
        let Some(ac) = &self.automaton else {
            return out;
        };
        for m in ac.find_overlapping_iter(query.compact_bytes()) {
            let Some(entries) = self.by_pattern.get(m.pattern().as_usize()) else {
                continue;
            };
            let (start, end) = (m.start(), m.end());
            let ends_on_words = query.is_word_boundary(start) && query.is_word_boundary(end);
            for k in entries {
                let accepted = match k.mode {
                    KeywordMode::Substring => true,
                    KeywordMode::Word => ends_on_words,
                    KeywordMode::Phrase => {
                        ends_on_words
                            && k.inner_bounds
                                .iter()
                                .all(|b| query.is_boundary(start + *b as usize))
                    }
                };
                if accepted && !out.iter().any(|(e, _)| *e == k.entry) {
                    out.push((k.entry, k.mode));
                }
            }
        }
        out
    }

    /// Number of distinct normalised patterns.
    pub fn pattern_count(&self) -> usize {
        self.by_pattern.len()
    }

    /// The automaton kind chosen, if there are entries: `"dfa"` or `"contiguous-nfa"`.
    pub fn automaton_name(&self) -> Option<&'static str> {
        self.kind.map(|k| match k {
            AhoCorasickKind::DFA => "dfa",
            AhoCorasickKind::ContiguousNFA => "contiguous-nfa",
            _ => "noncontiguous-nfa",
        })
    }
}

//! The normalisation pipeline shared by keyword list entries and queries.
//!
//! Evasion only works if the list entry and the query end up as the same text, so both go
//! through exactly this code with the same [`NormalizerConfig`]. The steps, in order (each
//! has a name that [`Normalizer::explain`] reports):
//!
//! 1. `nfkc_casefold`: Unicode NFKC, full case folding, NFKC again. Fullwidth and
//!    mathematical letters become plain ones, `ß` becomes `ss`, case disappears.
//! 2. `remove_ignorables`: drops default-ignorable code points: zero-width spaces and
//!    joiners, bidirectional controls, soft hyphens, variation selectors.
//! 3. `confusables`: every non-ASCII character is replaced by its UTS #39 confusable
//!    skeleton (Cyrillic `а`, Greek `ο` become Latin `a`, `o`), combining diacritics are
//!    dropped (`é` → `e`) and the result is case-folded again. ASCII is left alone on
//!    purpose: the skeleton maps `1` → `l`, `0` → `O` and `m` → `rn`, which would undo the
//!    leetspeak step and make ordinary text unreadable in explanations.
//! 4. `tokenise`: splits into words of letters, digits and combining marks. Everything else
//!    (spaces, punctuation, symbols) separates words, except leetspeak symbols such as `@`
//!    or `$` when a letter or digit follows them (`$ex`, `p@ss`).
//! 5. `leetspeak`: inside a word that has at least one letter, digits and symbols are read
//!    as letters (`0`→`o`, `1`→`i`, `3`→`e`, `4`→`a`, `5`→`s`, `7`→`t`, `@`→`a`,
//!    `$`→`s` …). Numbers on their own (`2024`) are left alone. Because `1` stands for
//!    both `i` and `l`, the default map folds the letter `l` to `i` as well, so `b1ue`,
//!    `blue` and `biue` are one word; the cost is that words differing only in `i`/`l`
//!    collide, which is rare. See [`DEFAULT_LEET`].
//! 6. `collapse_repeats`: a run of the same letter becomes one letter (`bluuuue` → `blue`).
//!    This applies to every word, list entries included, so `apple` is stored as `aple`:
//!    collapsing only "long" runs cannot be consistent, because `appppple` must meet `apple`.
//! 7. `join_spelled_out`: consecutive one-letter words are joined into one word
//!    (`b l u e`, `b.l.u.e`, `p-1-n-e`), then steps 5 and 6 run again on the joined word.
//!    The original gaps are kept as *soft* boundaries, which phrase entries may use.
//!
//! The result ([`Normalized`]) is the words run together (the *compact* view) plus, for
//! each position, whether a word boundary (hard) or a joined-letter gap (soft) was there.
//! Keyword matching runs one automaton over the compact view and then checks boundaries;
//! see [`crate::KeywordMode`].
//!
//! Speed: [`Normalizer::normalize`] does steps 4–7 in one fused pass, and steps 1–3 by
//! a per-character table when the text is already in NFKC (ordinary text in any script
//! is). Text that is ASCII, or becomes ASCII after steps 1–3 (look-alike Cyrillic or
//! Greek letters, fullwidth forms), takes a byte-level pass that reads words in place. The
//! working buffers are kept per thread, so a keyword check allocates nothing for its
//! normalised query. [`Normalizer::explain`] runs the steps one at a time to show them;
//! tests (and the `normalize` fuzz target) hold the paths equal on random text.

use std::sync::OnceLock;

use caseless::Caseless;
use unicode_normalization::char::{canonical_combining_class, is_combining_mark};
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// The default leetspeak map: digits and symbols read as letters, and `l` folded to `i`
/// because `1` and `|` stand for either.
pub const DEFAULT_LEET: &[(char, char)] = &[
    ('0', 'o'),
    ('1', 'i'),
    ('3', 'e'),
    ('4', 'a'),
    ('5', 's'),
    ('7', 't'),
    ('8', 'b'),
    ('9', 'g'),
    ('@', 'a'),
    ('$', 's'),
    ('!', 'i'),
    ('|', 'i'),
    ('+', 't'),
    ('€', 'e'),
    ('l', 'i'),
];

/// Which normalisation steps run. The same config must be used for lists and queries;
/// [`crate::Matcher`] guarantees that by owning one [`Normalizer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NormalizerConfig {
    /// Map non-ASCII characters to their UTS #39 confusable skeleton.
    pub confusables: bool,
    /// Drop combining diacritical marks (U+0300–U+036F and the related extension blocks).
    pub strip_diacritics: bool,
    /// Leetspeak pairs `(from, to)`; empty turns the step off. `from` is matched after case
    /// folding, so give lower-case letters; pairs whose `to` is not a letter are ignored.
    pub leet: Vec<(char, char)>,
    /// Collapse runs of a repeated letter to one.
    pub collapse_repeats: bool,
    /// Join runs of one-letter words (`b l u e` → `blue`).
    pub join_spelled_out: bool,
}

impl Default for NormalizerConfig {
    fn default() -> Self {
        Self {
            confusables: true,
            strip_diacritics: true,
            leet: DEFAULT_LEET.to_vec(),
            collapse_repeats: true,
            join_spelled_out: true,
        }
    }
}

/// The text after one named step, for [`Normalizer::explain`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// The step's name (`nfkc_casefold`, `remove_ignorables`, `confusables`, `tokenise`,
    /// `leetspeak`, `collapse_repeats`, `join_spelled_out`).
    pub name: &'static str,
    /// The text after the step. From `tokenise` on, words are shown separated by one space.
    pub text: String,
}

/// Flag: a word starts here (a hard boundary).
pub(crate) const HARD: u8 = 1;
/// Flag: a gap between joined single letters (a soft boundary).
pub(crate) const SOFT: u8 = 2;

/// Normalised text: the words run together, with boundary flags per byte offset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalized {
    compact: String,
    /// `bounds[i]` for byte offset `i` in `compact` (and one past the end): `HARD`, `SOFT`
    /// or 0. Only offsets that start a character can be non-zero.
    bounds: Vec<u8>,
}

impl Normalized {
    /// The words run together: the view the keyword automaton searches.
    pub fn compact(&self) -> &str {
        &self.compact
    }

    /// The words, in order.
    pub fn words(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, _) in self.compact.char_indices().skip(1) {
            if self.is_word_boundary(i) {
                out.push(&self.compact[start..i]);
                start = i;
            }
        }
        if !self.compact.is_empty() {
            out.push(&self.compact[start..]);
        }
        out
    }

    /// The words separated by single spaces (what explanations show).
    pub fn text(&self) -> String {
        self.words().join(" ")
    }

    /// Whether a word starts or ends at this byte offset of [`Self::compact`].
    pub fn is_word_boundary(&self, byte: usize) -> bool {
        self.bounds.get(byte).is_some_and(|f| f & HARD != 0)
    }

    /// Whether a word boundary or a gap between joined letters is at this byte offset.
    pub fn is_boundary(&self, byte: usize) -> bool {
        self.bounds.get(byte).is_some_and(|f| *f != 0)
    }
}

/// Buffers one normalisation works in, kept per thread ([`with_scratch`]) so that a check
/// allocates nothing once they have grown to the size of the queries seen.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Steps 1–3 applied to non-ASCII input, as characters: the word pass reads each one
    /// several times, and decoding UTF-8 whose widths alternate (Cyrillic text with Latin
    /// look-alikes folded in) costs a mispredicted branch per character per read.
    chars: Vec<char>,
    /// The same as bytes, when it came out all ASCII (for the byte-level pass).
    prepared: String,
    /// The result of the last [`Normalizer::normalize_into`].
    pub(crate) out: Normalized,
}

/// Scratch buffers that grew past this many bytes (a very long input, such as a list
/// entry far above the query limit) are dropped after use rather than kept.
const SCRATCH_KEEP_BYTES: usize = 64 * 1024;

impl Scratch {
    fn bytes(&self) -> usize {
        self.chars.capacity() * 4
            + self.prepared.capacity()
            + self.out.compact.capacity()
            + self.out.bounds.capacity()
    }
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = const {
        std::cell::Cell::new(Scratch {
            chars: Vec::new(),
            prepared: String::new(),
            out: Normalized {
                compact: String::new(),
                bounds: Vec::new(),
            },
        })
    };
}

/// Runs `f` with this thread's scratch buffers. The buffers are taken out of the thread
/// local for the call, so a nested call (or one during thread teardown) simply gets fresh
/// empty ones: nothing can panic or be shared.
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut scratch = SCRATCH.try_with(std::cell::Cell::take).unwrap_or_default();
    let result = f(&mut scratch);
    if scratch.bytes() <= SCRATCH_KEEP_BYTES {
        // Fails only while the thread is being torn down; the buffers are then dropped.
        let _ = SCRATCH.try_with(|cell| cell.set(scratch));
    }
    result
}

/// Working state of [`Normalizer::fused`].
struct Fused {
    compact: String,
    bounds: Vec<u8>,
    /// Byte offset in `compact` where the current run of one-letter words starts.
    run_start: usize,
    run_len: usize,
}

impl Fused {
    /// Takes the buffers (cleared) out of the scratch space for one pass.
    fn start(out: &mut Normalized, len: usize) -> Self {
        let mut state = Fused {
            compact: std::mem::take(&mut out.compact),
            bounds: std::mem::take(&mut out.bounds),
            run_start: 0,
            run_len: 0,
        };
        state.compact.clear();
        state.bounds.clear();
        state.compact.reserve(len);
        state.bounds.reserve(len + 1);
        state
    }

    /// Ends the text with a word boundary and puts the buffers back.
    fn finish(mut self, out: &mut Normalized) {
        self.bounds.push(HARD);
        out.compact = self.compact;
        out.bounds = self.bounds;
    }
}

/// A sequence of characters with boundary flags, the working form from `tokenise` on.
#[derive(Debug, Default)]
struct Seq {
    chars: Vec<char>,
    flags: Vec<u8>,
}

impl Seq {
    fn push(&mut self, c: char, flag: u8) {
        self.chars.push(c);
        self.flags.push(flag);
    }

    /// `(start, end)` index ranges of the words.
    fn words(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = 0;
        for i in 1..self.chars.len() {
            if self.flags[i] & HARD != 0 {
                out.push((start, i));
                start = i;
            }
        }
        if !self.chars.is_empty() {
            out.push((start, self.chars.len()));
        }
        out
    }

    fn text(&self) -> String {
        let mut s = String::with_capacity(self.chars.len() + 8);
        for (i, (c, f)) in self.chars.iter().zip(&self.flags).enumerate() {
            if i > 0 && f & HARD != 0 {
                s.push(' ');
            }
            s.push(*c);
        }
        s
    }

    fn into_normalized(self) -> Normalized {
        let mut compact = String::with_capacity(self.chars.len());
        let mut bounds = Vec::with_capacity(self.chars.len() + 1);
        for (c, f) in self.chars.iter().zip(&self.flags) {
            bounds.push(*f);
            bounds.extend(std::iter::repeat_n(0, c.len_utf8() - 1));
            compact.push(*c);
        }
        bounds.push(HARD);
        Normalized { compact, bounds }
    }
}

/// Applies the pipeline. Cheap to clone; immutable once built.
#[derive(Debug, Clone)]
pub struct Normalizer {
    config: NormalizerConfig,
    /// Leet targets for ASCII sources, indexed by byte.
    leet_ascii: [Option<char>; 128],
    /// Leet pairs for non-ASCII sources, sorted by source.
    leet_other: Vec<(char, char)>,
    /// `leet_ascii` as bytes (0: none), when every ASCII source maps to an ASCII letter:
    /// then ASCII text stays ASCII and takes the byte-level path.
    leet_bytes: Option<[u8; 128]>,
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new(NormalizerConfig::default())
    }
}

/// Class bits of a character: [`ALPHA`] (`char::is_alphabetic`), [`WORD`] (alphabetic,
/// numeric or a combining mark).
const ALPHA: u8 = 1;
const WORD: u8 = 2;

/// Classes below this are precomputed: the Unicode property lookups behind
/// `is_alphabetic` and `is_combining_mark` are binary searches, and every character of
/// every query is classified several times.
const CLASS_TABLE_END: u32 = 0x1_0000;

fn compute_class(c: char) -> u8 {
    let mut class = 0;
    if c.is_alphabetic() {
        class |= ALPHA;
    }
    if c.is_alphanumeric() || is_combining_mark(c) {
        class |= WORD;
    }
    class
}

#[inline]
fn class_of(c: char) -> u8 {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    if c.is_ascii() {
        return match c {
            'a'..='z' | 'A'..='Z' => ALPHA | WORD,
            '0'..='9' => WORD,
            _ => 0,
        };
    }
    if (c as u32) < CLASS_TABLE_END {
        let table = TABLE.get_or_init(|| {
            (0..CLASS_TABLE_END)
                .map(|u| char::from_u32(u).map_or(0, compute_class))
                .collect()
        });
        if let Some(&class) = table.get(c as usize) {
            return class;
        }
    }
    compute_class(c)
}

#[inline]
fn is_word_char(c: char) -> bool {
    class_of(c) & WORD != 0
}

/// `char::is_alphabetic`, faster for the characters queries are made of.
#[inline]
fn is_alpha(c: char) -> bool {
    class_of(c) & ALPHA != 0
}

/// Combining diacritical marks used over Latin, Greek and Cyrillic letters. Marks of other
/// scripts (Devanagari vowel signs, Arabic harakat) carry meaning and are kept.
fn is_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Unicode `Default_Ignorable_Code_Point` (DerivedCoreProperties, Unicode 16), which
/// includes the zero-width characters and every bidirectional control.
fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{034F}'
        | '\u{061C}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

impl Normalizer {
    /// Builds a normaliser. Leet pairs are resolved so the map is idempotent (if `a`→`b`
    /// and `b`→`c`, then `a`→`c`); pairs that map to a non-letter or loop are dropped.
    pub fn new(config: NormalizerConfig) -> Self {
        // Build the shared tables now rather than on the first query.
        fold_table(config.confusables, config.strip_diacritics);
        class_of('\u{e9}');
        // Leet sources are looked up after the first three steps, so they are put through
        // them too (`€` becomes its skeleton `ꞓ`); sources that do not stay one character
        // are dropped.
        let plain = Self {
            config: NormalizerConfig {
                leet: Vec::new(),
                ..config.clone()
            },
            leet_ascii: [None; 128],
            leet_other: Vec::new(),
            leet_bytes: None,
        };
        let raw: Vec<(char, char)> = config
            .leet
            .iter()
            .filter_map(|&(from, to)| {
                let folded = plain.confusables(remove_ignorables(nfkc_casefold(&from.to_string())));
                let mut chars = folded.chars();
                match (chars.next(), chars.next()) {
                    (Some(f), None) => Some((f, to)),
                    _ => None,
                }
            })
            .filter(|(from, to)| to.is_alphabetic() && !from.is_whitespace() && from != to)
            .collect();
        let lookup = |c: char| raw.iter().find(|(f, _)| *f == c).map(|(_, t)| *t);
        let mut resolved = Vec::with_capacity(raw.len());
        for &(from, to) in &raw {
            let mut target = to;
            let mut steps = 0;
            while let Some(next) = lookup(target) {
                target = next;
                steps += 1;
                if steps > raw.len() {
                    break;
                }
            }
            if steps <= raw.len() && target != from {
                resolved.push((from, target));
            }
        }
        let mut leet_ascii = [None; 128];
        let mut leet_other = Vec::new();
        for (from, to) in resolved {
            if from.is_ascii() {
                leet_ascii[from as usize] = Some(to);
            } else {
                leet_other.push((from, to));
            }
        }
        leet_other.sort_unstable();
        leet_other.dedup_by_key(|p| p.0);
        let mut leet_bytes = Some([0u8; 128]);
        for (from, to) in leet_ascii.iter().enumerate() {
            match (to, leet_bytes.as_mut()) {
                (Some(t), Some(table)) if t.is_ascii() => table[from] = *t as u8,
                (Some(_), _) => leet_bytes = None,
                (None, _) => {}
            }
        }
        Self {
            config,
            leet_ascii,
            leet_other,
            leet_bytes,
        }
    }

    /// The configuration this normaliser applies.
    pub fn config(&self) -> &NormalizerConfig {
        &self.config
    }

    /// Normalises `input`.
    pub fn normalize(&self, input: &str) -> Normalized {
        with_scratch(|scratch| {
            self.normalize_into(input, scratch);
            scratch.out.clone()
        })
    }

    /// Normalises `input` into `scratch.out`, reusing the scratch buffers.
    pub(crate) fn normalize_into(&self, input: &str, scratch: &mut Scratch) {
        let Scratch {
            chars,
            prepared,
            out,
        } = scratch;
        if input.is_ascii() {
            if let Some(leet) = &self.leet_bytes {
                return self.fused_ascii(input.as_bytes(), leet, out);
            }
            chars.clear();
            chars.extend(input.chars());
            return self.fused(chars, true, out);
        }
        let (confusables, strip) = (self.config.confusables, self.config.strip_diacritics);
        let table = fold_table(confusables, strip);
        chars.clear();
        chars.reserve(input.len());
        // Fast path: text of simple characters needs no NFKC pass (see FOLD_SIMPLE).
        let mut all_simple = true;
        for c in input.chars() {
            if c.is_ascii() {
                chars.push(c.to_ascii_lowercase());
            } else if table.push_if_simple(c, chars) {
                // Simple characters are never default-ignorable, so the common case
                // needs one table lookup only.
            } else if is_default_ignorable(c) {
                continue;
            } else {
                all_simple = false;
                break;
            }
        }
        if !all_simple {
            // Steps 1, then 2 and 3 in one pass.
            chars.clear();
            for c in nfkc_casefold(input).chars() {
                if c.is_ascii() {
                    chars.push(c);
                } else if is_default_ignorable(c) {
                    continue;
                } else {
                    table.push_folded(c, chars, confusables, strip);
                }
            }
        }
        // Look-alike letters of other scripts often fold to plain ASCII (Cyrillic `а`,
        // Greek `ο`): then the rest is the byte-level path. It lower-cases ASCII, which
        // `fused(_, false)` does not, so it is taken only for text without capitals (a
        // test holds the paths equal).
        if let Some(leet) = &self.leet_bytes {
            if chars
                .iter()
                .all(|c| c.is_ascii() && !c.is_ascii_uppercase())
            {
                prepared.clear();
                prepared.extend(chars.iter());
                return self.fused_ascii(prepared.as_bytes(), leet, out);
            }
        }
        self.fused(chars, false, out)
    }

    /// Normalises `input` and returns the text after every step.
    pub fn explain(&self, input: &str) -> (Normalized, Vec<Step>) {
        let mut steps = Vec::with_capacity(7);
        self.run(input, Some(&mut steps));
        (self.normalize(input), steps)
    }

    /// The step-by-step pipeline (what `explain` shows); `normalize` runs the fused
    /// equivalent. Exposed for the test that holds the two equal.
    #[doc(hidden)]
    pub fn normalize_step_by_step(&self, input: &str) -> Normalized {
        self.run(input, None)
    }

    fn leet(&self, c: char) -> Option<char> {
        if c.is_ascii() {
            self.leet_ascii[c as usize]
        } else {
            self.leet_other
                .binary_search_by_key(&c, |p| p.0)
                .ok()
                .map(|i| self.leet_other[i].1)
        }
    }

    fn is_leet_symbol(&self, c: char) -> bool {
        !is_word_char(c) && self.leet(c).is_some()
    }

    fn run(&self, input: &str, mut steps: Option<&mut Vec<Step>>) -> Normalized {
        let mut record = |name: &'static str, text: &dyn Fn() -> String| {
            if let Some(s) = steps.as_deref_mut() {
                s.push(Step { name, text: text() });
            }
        };
        let s = nfkc_casefold(input);
        record("nfkc_casefold", &|| s.clone());
        let s = remove_ignorables(s);
        record("remove_ignorables", &|| s.clone());
        let s = self.confusables(s);
        record("confusables", &|| s.clone());
        let seq = self.tokenise(&s);
        record("tokenise", &|| seq.text());
        let seq = self.leetspeak(seq);
        record("leetspeak", &|| seq.text());
        let seq = self.collapse_repeats(seq);
        record("collapse_repeats", &|| seq.text());
        let seq = self.join_spelled_out(seq);
        record("join_spelled_out", &|| seq.text());
        seq.into_normalized()
    }

    /// The whole pipeline from step 4 on in one pass over the prepared text, producing the
    /// same result as the step-by-step version that `explain` shows (a test holds them
    /// equal). `lower_ascii` lower-cases on the fly, which is all steps 1–3 do to ASCII.
    fn fused(&self, prepared: &[char], lower_ascii: bool, out: &mut Normalized) {
        let mut state = Fused::start(out, prepared.len() * 2);
        let map = |c: char| {
            if lower_ascii {
                c.to_ascii_lowercase()
            } else {
                c
            }
        };
        // The current word is `prepared[word_start..i]`: words are contiguous spans of
        // the text (word characters, and leet symbols that a word character follows).
        let mut word_start = 0;
        // Whether the current word has a letter (leetspeak applies only then).
        let mut alpha = false;
        let mut i = 0;
        while let Some(&raw) = prepared.get(i) {
            let c = map(raw);
            let class = class_of(c);
            if class & WORD != 0 {
                alpha |= class & ALPHA != 0;
                i += 1;
                continue;
            }
            let mut next = i + 1;
            if self.is_leet_symbol(c) {
                // A run of leet symbols belongs to a word only if a letter or digit follows.
                // The whole run is taken at once: into the word, or as one separator (also
                // keeps long runs of symbols linear).
                while prepared
                    .get(next)
                    .is_some_and(|&d| self.is_leet_symbol(map(d)))
                {
                    next += 1;
                }
                if prepared.get(next).is_some_and(|&d| is_word_char(map(d))) {
                    i = next;
                    continue;
                }
            }
            let word = prepared.get(word_start..i).unwrap_or_default();
            self.flush_word(&mut state, word, alpha, lower_ascii);
            i = next;
            word_start = next;
            alpha = false;
        }
        let word = prepared.get(word_start..).unwrap_or_default();
        self.flush_word(&mut state, word, alpha, lower_ascii);
        self.finish_run(&mut state);
        state.finish(out);
    }

    /// [`Self::fused`] for ASCII text whose leetspeak stays ASCII, byte by byte: the same
    /// result without decoding characters (a test holds the paths equal). A word is always
    /// a contiguous span of the input (letters and digits, and leet symbols that a letter
    /// or digit follows), so words are read in place, not copied.
    fn fused_ascii(&self, input: &[u8], leet: &[u8; 128], out: &mut Normalized) {
        let mut state = Fused::start(out, input.len());
        let is_symbol = |b: u8| !b.is_ascii_alphanumeric() && leet[usize::from(b & 0x7f)] != 0;
        // The current word is `input[word_start..i]`; `alpha`: it has a letter.
        let mut word_start = 0;
        let mut alpha = false;
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            if b.is_ascii_alphanumeric() {
                alpha |= b.is_ascii_alphabetic();
                i += 1;
                continue;
            }
            let mut next = i + 1;
            if is_symbol(b) {
                // A run of leet symbols belongs to a word only if a letter or digit follows.
                while input.get(next).is_some_and(|&d| is_symbol(d)) {
                    next += 1;
                }
                if input.get(next).is_some_and(u8::is_ascii_alphanumeric) {
                    i = next;
                    continue;
                }
            }
            self.flush_ascii_word(
                &mut state,
                input.get(word_start..i).unwrap_or_default(),
                alpha,
                leet,
            );
            i = next;
            word_start = next;
            alpha = false;
        }
        self.flush_ascii_word(
            &mut state,
            input.get(word_start..).unwrap_or_default(),
            alpha,
            leet,
        );
        self.finish_run(&mut state);
        state.finish(out);
    }

    /// [`Self::flush_word`] for an ASCII word, in one pass: lower-case, leetspeak and
    /// collapse each byte straight into the compact text. `alpha`: the word has a letter.
    fn flush_ascii_word(&self, state: &mut Fused, word: &[u8], alpha: bool, leet: &[u8; 128]) {
        if word.is_empty() {
            return;
        }
        let apply_leet = alpha && !self.config.leet.is_empty();
        let collapse = self.config.collapse_repeats;
        let start = state.compact.len();
        // 0 is never a letter, so the first byte is never taken for a repeat.
        let mut prev = 0u8;
        for &raw in word {
            let mut b = raw.to_ascii_lowercase();
            if apply_leet {
                let t = leet[usize::from(b & 0x7f)];
                if t != 0 {
                    b = t;
                }
            }
            if collapse && b == prev && b.is_ascii_alphabetic() {
                continue;
            }
            state.compact.push(char::from(b));
            prev = b;
        }
        let len = state.compact.len() - start;
        let single = len == 1 && self.config.join_spelled_out;
        if single {
            if state.run_len == 0 {
                state.run_start = start;
            }
            state.run_len += 1;
        } else if state.run_len >= 2 {
            // A run of one-letter words ends here: join it before this word (rare, so the
            // word is simply set aside meanwhile).
            let word_text = state.compact.split_off(start);
            self.finish_run(state);
            state.compact.push_str(&word_text);
        } else {
            state.run_len = 0;
        }
        let first = if single && state.run_len >= 2 {
            SOFT
        } else {
            HARD
        };
        state.bounds.push(first);
        state.bounds.resize(state.compact.len(), 0);
    }

    /// Ends the current word (a span of the prepared text): leetspeak, collapse and append
    /// in one pass; tracks runs of one-letter words. `lower_ascii` as in [`Self::fused`].
    fn flush_word(&self, state: &mut Fused, word: &[char], alpha: bool, lower_ascii: bool) {
        if word.is_empty() {
            return;
        }
        let map = |c: char| {
            if lower_ascii {
                c.to_ascii_lowercase()
            } else {
                c
            }
        };
        let apply_leet = alpha && !self.config.leet.is_empty();
        let collapse = self.config.collapse_repeats;
        let start = state.compact.len();
        let mut prev = None;
        let mut count = 0;
        for &c in word {
            let mut c = map(c);
            if apply_leet {
                if let Some(t) = self.leet(c) {
                    c = t;
                }
            }
            if collapse && prev == Some(c) && is_alpha(c) {
                continue;
            }
            state.bounds.push(if count == 0 { HARD } else { 0 });
            state.compact.push(c);
            state.bounds.resize(state.compact.len(), 0);
            prev = Some(c);
            count += 1;
        }
        let single = count == 1 && self.config.join_spelled_out;
        if single {
            if state.run_len == 0 {
                state.run_start = start;
            }
            state.run_len += 1;
            if state.run_len >= 2 {
                if let Some(flag) = state.bounds.get_mut(start) {
                    *flag = SOFT;
                }
            }
        } else if state.run_len >= 2 {
            // A run of one-letter words ends here: join it before this word (rare, so the
            // word is simply set aside meanwhile).
            let word_text = state.compact.split_off(start);
            let word_bounds = state.bounds.split_off(start);
            self.finish_run(state);
            state.compact.push_str(&word_text);
            state.bounds.extend_from_slice(&word_bounds);
        } else {
            state.run_len = 0;
        }
    }

    /// Joins a finished run of two or more one-letter words and reads it again (step 7).
    fn finish_run(&self, state: &mut Fused) {
        let (start, len) = (state.run_start, state.run_len);
        state.run_len = 0;
        if len < 2 {
            return;
        }
        let tail: Vec<(char, u8)> = state.compact[start..]
            .char_indices()
            .map(|(i, c)| (c, state.bounds[start + i]))
            .collect();
        let mut seq = Seq::default();
        for (c, f) in tail {
            seq.push(c, f);
        }
        let seq = self.collapse_repeats(self.leetspeak(seq));
        state.compact.truncate(start);
        state.bounds.truncate(start);
        for (c, f) in seq.chars.iter().zip(&seq.flags) {
            state.bounds.push(*f);
            state
                .bounds
                .extend(std::iter::repeat_n(0, c.len_utf8() - 1));
            state.compact.push(*c);
        }
    }

    fn confusables(&self, s: String) -> String {
        let (confusables, strip) = (self.config.confusables, self.config.strip_diacritics);
        if s.is_ascii() || !(confusables || strip) {
            return s;
        }
        let table = fold_table(confusables, strip);
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                table.push_folded(c, &mut out, confusables, strip);
            }
        }
        out
    }

    fn tokenise(&self, s: &str) -> Seq {
        let chars: Vec<char> = s.chars().collect();
        let mut seq = Seq::default();
        let mut in_word = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if is_word_char(c) {
                seq.push(c, if in_word { 0 } else { HARD });
                in_word = true;
                i += 1;
            } else if self.is_leet_symbol(c) {
                // A run of leet symbols belongs to a word only if a letter or digit follows.
                let mut j = i;
                while j < chars.len() && self.is_leet_symbol(chars[j]) {
                    j += 1;
                }
                if j < chars.len() && is_word_char(chars[j]) {
                    for &d in &chars[i..j] {
                        seq.push(d, if in_word { 0 } else { HARD });
                        in_word = true;
                    }
                } else {
                    in_word = false;
                }
                i = j;
            } else {
                in_word = false;
                i += 1;
            }
        }
        seq
    }

    fn leetspeak(&self, mut seq: Seq) -> Seq {
        if self.config.leet.is_empty() {
            return seq;
        }
        for (a, b) in seq.words() {
            if seq.chars[a..b].iter().any(|&c| is_alpha(c)) {
                for c in &mut seq.chars[a..b] {
                    if let Some(t) = self.leet(*c) {
                        *c = t;
                    }
                }
            }
        }
        seq
    }

    fn collapse_repeats(&self, seq: Seq) -> Seq {
        if !self.config.collapse_repeats {
            return seq;
        }
        let mut out = Seq::default();
        for (i, (&c, &f)) in seq.chars.iter().zip(&seq.flags).enumerate() {
            let repeat = i > 0 && f & HARD == 0 && is_alpha(c) && seq.chars[i - 1] == c;
            if !repeat {
                out.push(c, f);
            }
        }
        out
    }

    fn join_spelled_out(&self, mut seq: Seq) -> Seq {
        if !self.config.join_spelled_out {
            return seq;
        }
        let words = seq.words();
        let mut joined_any = false;
        let mut run_len = 0;
        for &(a, b) in &words {
            if b - a == 1 {
                run_len += 1;
                if run_len >= 2 {
                    seq.flags[a] = SOFT;
                    joined_any = true;
                }
            } else {
                run_len = 0;
            }
        }
        if !joined_any {
            return seq;
        }
        // Joined words may now contain letters next to digits (`p 1 n e`) or repeats
        // (`b l u u e`): read them again. Other words are already stable under both steps.
        let seq = self.leetspeak(seq);
        self.collapse_repeats(seq)
    }
}

/// Skeleton, drop diacritics, case-fold; repeated until stable (at most a few rounds) so
/// that normalising twice changes nothing.
fn fold_confusable(c: char, confusables: bool, strip: bool) -> String {
    let mut cur = String::from(c);
    for _ in 0..4 {
        let next: String = if confusables {
            // NFKC again: a skeleton can hold compatibility characters (subscript digits,
            // say) that the first step of a second pass would otherwise change.
            let folded: String = unicode_security::skeleton(&cur)
                .filter(|d| !(strip && is_diacritic(*d)))
                .default_case_fold()
                .collect();
            folded.chars().nfkc().collect()
        } else {
            cur.chars()
                .nfd()
                .filter(|d| !(strip && is_diacritic(*d)))
                .nfkc()
                .collect()
        };
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// Characters below this have their confusable fold precomputed (Latin, Greek, Cyrillic,
/// the other alphabets, symbols, CJK): a table lookup instead of a skeleton per character.
const FOLD_TABLE_END: u32 = 0xA000;
/// Marks a table value as an index into `FoldTable::multi` (a result that is not exactly
/// one character).
const FOLD_MULTI: u32 = 0x8000_0000;
/// Marks a table value whose character is *simple*: it and its case folding are all NFKC
/// quick-check "yes" with combining class 0. Text made only of such characters (and ASCII)
/// is already NFKC before and after case folding, so steps 1–3 are this table per
/// character. Kept in the same word as the fold, so the common case is one lookup.
const FOLD_SIMPLE: u32 = 0x4000_0000;

/// Where folded characters go: a string (step by step) or characters (the fused pass).
trait Sink {
    fn put(&mut self, c: char);
    fn put_str(&mut self, s: &str);
}

impl Sink for String {
    fn put(&mut self, c: char) {
        self.push(c);
    }
    fn put_str(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl Sink for Vec<char> {
    fn put(&mut self, c: char) {
        self.push(c);
    }
    fn put_str(&mut self, s: &str) {
        self.extend(s.chars());
    }
}

struct FoldTable {
    /// For `0x80 + i`: case fold then confusable fold, as one character or
    /// `FOLD_MULTI | index`; with `FOLD_SIMPLE` set for simple characters.
    map: Vec<u32>,
    multi: Vec<Box<str>>,
}

fn nfkc_stable_starter(c: char) -> bool {
    canonical_combining_class(c) == 0 && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
}

impl FoldTable {
    fn build(confusables: bool, strip: bool) -> Self {
        let size = (FOLD_TABLE_END - 0x80) as usize;
        let mut map = Vec::with_capacity(size);
        let mut multi: Vec<Box<str>> = Vec::new();
        for code in 0x80..FOLD_TABLE_END {
            let (folded, is_simple) = match char::from_u32(code) {
                Some(c) => {
                    let case_folded: String = std::iter::once(c).default_case_fold().collect();
                    let mut folded = String::new();
                    for d in case_folded.chars() {
                        if d.is_ascii() {
                            folded.push(d);
                        } else {
                            folded.push_str(&fold_confusable(d, confusables, strip));
                        }
                    }
                    let is_simple = nfkc_stable_starter(c)
                        && case_folded.chars().all(nfkc_stable_starter)
                        && !is_default_ignorable(c);
                    (folded, is_simple)
                }
                None => (String::new(), false),
            };
            let flag = if is_simple { FOLD_SIMPLE } else { 0 };
            let mut chars = folded.chars();
            match (chars.next(), chars.next()) {
                (Some(one), None) => map.push(one as u32 | flag),
                _ => {
                    map.push(FOLD_MULTI | flag | multi.len() as u32);
                    multi.push(folded.into_boxed_str());
                }
            }
        }
        Self { map, multi }
    }

    /// Appends the fold of `c` (which has already been case-folded, or is simple).
    #[inline]
    fn push_folded(&self, c: char, out: &mut impl Sink, confusables: bool, strip: bool) {
        let value = (c as u32)
            .checked_sub(0x80)
            .and_then(|i| self.map.get(i as usize));
        match value {
            Some(&v) => self.push_value(v, out),
            None => out.put_str(&fold_confusable(c, confusables, strip)),
        }
    }

    #[inline]
    fn push_value(&self, v: u32, out: &mut impl Sink) {
        let v = v & !FOLD_SIMPLE;
        if v & FOLD_MULTI == 0 {
            if let Some(c) = char::from_u32(v) {
                out.put(c);
            }
        } else {
            out.put_str(self.multi.get((v & !FOLD_MULTI) as usize).map_or("", |s| s));
        }
    }

    /// Appends the fold of `c` if it is simple (one lookup); false, appending nothing,
    /// if it is not.
    #[inline]
    fn push_if_simple(&self, c: char, out: &mut impl Sink) -> bool {
        match (c as u32)
            .checked_sub(0x80)
            .and_then(|i| self.map.get(i as usize))
        {
            Some(&v) if v & FOLD_SIMPLE != 0 => {
                self.push_value(v, out);
                true
            }
            _ => false,
        }
    }
}

/// The shared table for one combination of the two flags, built once per process (about
/// 40,000 skeletons, tens of milliseconds) by the first [`Normalizer::new`] that needs it.
fn fold_table(confusables: bool, strip: bool) -> &'static FoldTable {
    static TABLES: [OnceLock<FoldTable>; 4] = [const { OnceLock::new() }; 4];
    let i = usize::from(confusables) * 2 + usize::from(strip);
    TABLES[i].get_or_init(|| FoldTable::build(confusables, strip))
}

fn nfkc_casefold(input: &str) -> String {
    if input.is_ascii() {
        // NFKC is the identity on ASCII and case folding is lower-casing.
        return input.to_ascii_lowercase();
    }
    // NFKC, case fold, NFKC; the quick checks skip a pass when the text is already in
    // NFKC, which ordinary text in any script usually is.
    let folded: String = if is_nfkc_quick(input.chars()) == IsNormalized::Yes {
        input.chars().default_case_fold().collect()
    } else {
        input.nfkc().default_case_fold().collect()
    };
    if is_nfkc_quick(folded.chars()) == IsNormalized::Yes {
        folded
    } else {
        folded.nfkc().collect()
    }
}

fn remove_ignorables(s: String) -> String {
    if s.is_ascii() {
        return s;
    }
    s.chars().filter(|c| !is_default_ignorable(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Normalizer::default().normalize(s).text()
    }

    #[test]
    fn each_step_does_its_job() {
        assert_eq!(norm("BLUE Pineapple"), "biue pineapie");
        assert_eq!(norm("ｂｌｕｅ"), "biue");
        assert_eq!(norm("blu\u{200B}e\u{202E}"), "biue");
        assert_eq!(norm("bluе"), "biue"); // Cyrillic е
        assert_eq!(norm("b1u3"), "biue");
        assert_eq!(norm("2024 b1ue"), "2024 biue");
        assert_eq!(norm("bluuuuue"), "biue");
        assert_eq!(norm("b l u e"), "biue");
        assert_eq!(norm("p 1 n e"), "pine");
        assert_eq!(norm("$ex hello!"), "sex heio");
        assert_eq!(norm("café"), "cafe");
    }

    #[test]
    fn the_class_table_agrees_with_the_unicode_properties() {
        for c in (0..0x11_0000).filter_map(char::from_u32) {
            assert_eq!(is_alpha(c), c.is_alphabetic(), "{c:?}");
            assert_eq!(
                is_word_char(c),
                c.is_alphanumeric() || is_combining_mark(c),
                "{c:?}"
            );
        }
    }

    #[test]
    fn soft_boundaries_mark_joined_letters() {
        let n = Normalizer::default().normalize("b l u e x");
        assert_eq!(n.compact(), "biuex");
        assert!(n.is_word_boundary(0) && n.is_word_boundary(5));
        assert!(!n.is_word_boundary(1) && n.is_boundary(1));
    }

    #[test]
    fn explain_names_every_step() {
        let (_, steps) = Normalizer::default().explain("Ｂ.l.u.e");
        let names: Vec<_> = steps.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "nfkc_casefold",
                "remove_ignorables",
                "confusables",
                "tokenise",
                "leetspeak",
                "collapse_repeats",
                "join_spelled_out"
            ]
        );
        assert_eq!(steps[0].text, "b.l.u.e");
        assert_eq!(steps[3].text, "b l u e");
        assert_eq!(steps[6].text, "biue");
    }

    #[test]
    fn leet_map_is_resolved_and_can_be_turned_off() {
        let n = Normalizer::new(NormalizerConfig {
            leet: vec![('1', 'l'), ('l', 'i'), ('x', '5')],
            ..NormalizerConfig::default()
        });
        assert_eq!(n.normalize("b1ue").text(), "biue");
        assert_eq!(n.normalize("xoxo").text(), "xoxo");
        let mut off = NormalizerConfig::default();
        off.leet.clear();
        assert_eq!(Normalizer::new(off).normalize("b1ue").text(), "b1ue");
    }
}

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
//!    The original gaps are kept as *soft* boundaries, which phrase entries may use. A
//!    one-character word that could combine with the one before it under NFKC (a
//!    combining mark standing alone, a Hangul vowel jamo) is not joined: the joined text
//!    would not be in NFKC, and normalising it again would change it.
//!
//! The result ([`Normalized`]) is the words run together (the *compact* view) plus, for
//! each position, whether a word boundary (hard) or a joined-letter gap (soft) was there.
//! Keyword matching runs one automaton over the compact view and then checks boundaries;
//! see [`crate::KeywordMode`].
//!
//! Speed: text of letters and separators only (most queries) takes one pass that does
//! steps 1–7 with no branch per character (where words start and end in ordinary text
//! cannot be predicted, and a mispredicted branch costs more than the rest of a
//! character's work): ASCII a byte at a time through one table, other scripts a character
//! at a time, decoded and prepared by one lookup in a table of the normaliser's own. Other
//! text gets steps 1–3 from that table too when it is already in NFKC (ordinary text in
//! any script is), then steps 4–7 in one fused pass that reads each word once.
//! The working buffers are kept per thread, so a keyword check allocates nothing for its
//! normalised query. [`Normalizer::explain`] runs the steps one at a time to show them;
//! tests (and the `normalize` fuzz target) hold the paths equal on random text.

use std::sync::{Arc, OnceLock};

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
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Normalized {
    /// UTF-8, always: every pass writes whole characters' encodings. Kept as bytes so
    /// that the passes that write encodings directly need not validate them again.
    compact: Vec<u8>,
    /// `bounds[i]` for byte offset `i` in `compact` (and one past the end): `HARD`, `SOFT`
    /// or 0. Only offsets that start a character can be non-zero.
    bounds: Vec<u8>,
}

impl std::fmt::Debug for Normalized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Normalized")
            .field("compact", &self.compact())
            .field("bounds", &self.bounds)
            .finish()
    }
}

impl Normalized {
    /// The words run together: the view the keyword automaton searches.
    pub fn compact(&self) -> &str {
        match std::str::from_utf8(&self.compact) {
            Ok(text) => text,
            // Cannot happen (see the field); the valid part rather than a panic.
            Err(e) => std::str::from_utf8(&self.compact[..e.valid_up_to()]).unwrap_or_default(),
        }
    }

    /// [`Self::compact`] as bytes, without checking it again (what matching reads).
    pub(crate) fn compact_bytes(&self) -> &[u8] {
        &self.compact
    }

    /// The words, in order.
    pub fn words(&self) -> Vec<&str> {
        let compact = self.compact();
        let mut out = Vec::new();
        let mut start = 0;
        for (i, _) in compact.char_indices().skip(1) {
            if self.is_word_boundary(i) {
                out.push(&compact[start..i]);
                start = i;
            }
        }
        if !compact.is_empty() {
            out.push(&compact[start..]);
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

    /// The first `room` places of the text and of its flags, for the one-pass paths to
    /// write at will. Every place up to the last one kept is written before it is read, so
    /// the buffers are only grown (zeroed where new), not cleared; plain slices, so that a
    /// pass keeps their addresses in registers (a byte stored through a vector may alias
    /// its length, which the compiler would then read again for every byte).
    fn places(&mut self, room: usize) -> (&mut [u8], &mut [u8]) {
        for buffer in [&mut self.compact, &mut self.bounds] {
            if buffer.len() < room {
                buffer.resize(room, 0);
            }
        }
        let (compact, bounds) = (&mut self.compact, &mut self.bounds);
        // Both buffers were just grown to at least `room`, so neither `get_mut` can fail;
        // the empty fallback only stands in for an index that could panic.
        (
            compact.get_mut(..room).unwrap_or_default(),
            bounds.get_mut(..room).unwrap_or_default(),
        )
    }

    /// Ends the text written through [`Self::places`] at `len` bytes (whole characters, so
    /// it is UTF-8), with the word boundary one past the end.
    fn end_at(&mut self, len: usize) {
        self.compact.truncate(len);
        self.bounds.truncate(len);
        self.bounds.push(HARD);
    }
}

/// Buffers one normalisation works in, kept per thread ([`with_scratch`]) so that a check
/// allocates nothing once they have grown to the size of the queries seen.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Steps 1–3 applied to non-ASCII input, as [`Packed`] characters: the word pass then
    /// decodes and encodes no UTF-8 (whose widths alternate in Cyrillic text with Latin
    /// look-alikes folded in, a mispredicted branch per character) and looks up no
    /// character property.
    chars: Vec<Packed>,
    /// The result of the last [`Normalizer::normalize_into`].
    pub(crate) out: Normalized,
}

/// Scratch buffers that grew past this many bytes (a very long input, such as a list
/// entry far above the query limit) are dropped after use rather than kept.
const SCRATCH_KEEP_BYTES: usize = 64 * 1024;

impl Scratch {
    fn bytes(&self) -> usize {
        self.chars.capacity() * 8 + self.out.compact.capacity() + self.out.bounds.capacity()
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = const {
        std::cell::RefCell::new(Scratch {
            chars: Vec::new(),
            out: Normalized {
                compact: Vec::new(),
                bounds: Vec::new(),
            },
        })
    };
}

/// Runs `f` with this thread's scratch buffers. A nested call (or one during thread
/// teardown) simply gets fresh empty ones: nothing can panic or be shared.
pub(crate) fn with_scratch<R>(mut f: impl FnMut(&mut Scratch) -> R) -> R {
    let kept = SCRATCH.try_with(|cell| {
        let mut scratch = cell.try_borrow_mut().ok()?;
        let result = f(&mut scratch);
        if scratch.bytes() > SCRATCH_KEEP_BYTES {
            // A very long input: do not keep its buffers.
            *scratch = Scratch::default();
        }
        Some(result)
    });
    match kept {
        Ok(Some(result)) => result,
        _ => f(&mut Scratch::default()),
    }
}

/// Working state of the word passes.
struct Fused {
    /// UTF-8 (see [`Normalized`]).
    compact: Vec<u8>,
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
        Normalized {
            compact: compact.into_bytes(),
            bounds,
        }
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
    /// The smallest and largest source in `leet_other` (`(1, 0)` when there is none): most
    /// characters are ruled out by two comparisons.
    leet_other_range: (u32, u32),
    /// Class bits and folds of ASCII characters.
    ascii: AsciiTables,
    /// Whether every ASCII leet source maps to an ASCII letter: then ASCII text stays ASCII
    /// and takes the byte-level path ([`Normalizer::fused`] over bytes).
    ascii_bytes: bool,
    /// Steps 1–3 for every character below `FOLD_TABLE_END`, as [`Packed`] characters
    /// with this normaliser's leet map applied: the shared fold table (`FoldTable::map`,
    /// same flags) with ASCII and leet sources filled in, so that preparing a text is one
    /// lookup per character whatever its script.
    prepare: Arc<[u64]>,
}

/// Class bits of a character, kept next to it in the word pass so that it is looked up
/// once. [`WORD`] and [`ALPHA`] are Unicode properties; [`SYMBOL`] and [`LEET`] depend on
/// the normaliser's leet map.
///
/// A word character: `char::is_alphanumeric`, or a combining mark.
const WORD: u8 = 1;
/// `char::is_alphabetic`.
const ALPHA: u8 = 2;
/// A leet symbol: not a word character, but has a leet target (`@`, `$`).
const SYMBOL: u8 = 4;
/// Has a leet target (`0`, `@`, and `l` in the default map).
const LEET: u8 = 8;
/// As a one-character word, is not joined to its neighbours by step 7 (see [`joins`]);
/// of the leet target for letters that have one (a word with a letter gets leetspeak).
const NOJOIN: u8 = 16;

/// Whether a one-character word of `c` may be joined to the one before it (step 7): `c`
/// is an NFKC-stable starter, so the joined text stays in NFKC.
fn joins(c: char) -> bool {
    c.is_ascii() || nfkc_stable_starter(c)
}

/// [`class_of`] with [`NOJOIN`].
fn char_class(c: char) -> u8 {
    class_of(c) | if joins(c) { 0 } else { NOJOIN }
}

/// A character as the word passes read it, packed with what they need of it, so that
/// each is looked up once: bits 0–31 its UTF-8 encoding (little-endian) *after leetspeak*
/// (the leet target's, if it has one), bits 32–36 its class bits, bits 37–39 the length
/// of that encoding, bits 40–60 the character itself (before leetspeak).
type Packed = u64;
const P_CLASS: u32 = 32;
const P_LEN: u32 = 37;
const P_CHAR: u32 = 40;

/// Packs `c`, whose leet target (if any) is `target`, with class bits `class`.
fn pack_char(c: char, class: u8, target: Option<char>) -> Packed {
    let mut utf8 = [0u8; 4];
    let len = target.unwrap_or(c).encode_utf8(&mut utf8).len();
    u64::from(u32::from_le_bytes(utf8))
        | u64::from(class) << P_CLASS
        | (len as u64) << P_LEN
        | u64::from(c) << P_CHAR
}

#[inline]
fn packed_class(v: Packed) -> u8 {
    (v >> P_CLASS) as u8 & 0x1F
}

#[inline]
fn packed_char(v: Packed) -> char {
    char::from_u32((v >> P_CHAR) as u32 & 0x1F_FFFF).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Per-byte tables of ASCII characters.
#[derive(Debug, Clone)]
struct AsciiTables {
    /// The byte lower-cased, then leetspeak-folded (meaningful when the normaliser's
    /// `ascii_bytes` is set).
    fold: [u8; 128],
    /// Class bits of the byte.
    class: [u8; 128],
    /// The (lower-cased) byte as a [`Packed`] character.
    packed: [Packed; 128],
    /// For [`Normalizer::ascii_letters`], by byte: a letter's fold (lower-cased, then
    /// leetspeak-folded), 0 for a separator, [`OTHER_BYTE`] for a digit, a leet symbol or
    /// a byte outside ASCII.
    letters: [u8; 256],
}

/// In [`AsciiTables::letters`]: a byte the letters-only pass leaves to the general one.
const OTHER_BYTE: u8 = 0x80;

impl AsciiTables {
    /// The tables for the leet targets of ASCII sources (by lower-cased byte).
    fn new(leet: &[Option<char>; 128]) -> Self {
        let (mut fold, mut class) = ([0u8; 128], [0u8; 128]);
        for b in 0..128u8 {
            let i = usize::from(b);
            let lower = b.to_ascii_lowercase();
            let target = leet[usize::from(lower)];
            let mut c = 0;
            if b.is_ascii_alphanumeric() {
                c |= WORD;
            } else if target.is_some() {
                c |= SYMBOL;
            }
            if b.is_ascii_alphabetic() {
                c |= ALPHA;
            }
            if target.is_some() {
                c |= LEET;
            }
            if b.is_ascii_alphabetic() && target.is_some_and(|t| !joins(t)) {
                c |= NOJOIN;
            }
            fold[i] = match target {
                Some(t) if t.is_ascii() => t as u8,
                _ => lower,
            };
            class[i] = c;
        }
        let mut packed = [0; 128];
        for (b, p) in (0..128u8).zip(&mut packed) {
            let target = leet[usize::from(b.to_ascii_lowercase())];
            *p = pack_char(char::from(b), class[usize::from(b)], target);
        }
        let mut letters = [OTHER_BYTE; 256];
        for (b, slot) in (0..128u8).zip(&mut letters) {
            let (i, c) = (usize::from(b), class[usize::from(b)]);
            *slot = if c & ALPHA != 0 {
                fold[i]
            } else if c & (WORD | SYMBOL) != 0 {
                OTHER_BYTE
            } else {
                0
            };
        }
        Self {
            fold,
            class,
            packed,
            letters,
        }
    }
}

/// What the word passes ([`Normalizer::fused`]) read: an ASCII byte (text that is ASCII
/// and whose leetspeak stays ASCII, read in place) or a [`Packed`] character. Each pass is
/// compiled once for each, so the byte-level one decodes and encodes nothing.
trait Unit: Copy {
    /// The most bytes one unit's encoding takes.
    const MAX_LEN: usize;
    /// Class bits.
    fn class(self, n: &Normalizer) -> u8;
    /// The UTF-8 encoding after lower-casing and leetspeak (little-endian) and its length.
    fn folded(self, n: &Normalizer) -> (u32, usize);
    /// Appends the encoding before leetspeak (for a word without a letter, which has no
    /// capitals either).
    fn push_original(self, out: &mut Vec<u8>);
}

impl Unit for u8 {
    const MAX_LEN: usize = 1;

    #[inline]
    fn class(self, n: &Normalizer) -> u8 {
        n.ascii.class[usize::from(self & 0x7f)]
    }

    #[inline]
    fn folded(self, n: &Normalizer) -> (u32, usize) {
        (u32::from(n.ascii.fold[usize::from(self & 0x7f)]), 1)
    }

    fn push_original(self, out: &mut Vec<u8>) {
        out.push(self);
    }
}

impl Unit for Packed {
    const MAX_LEN: usize = 4;

    #[inline]
    fn class(self, _: &Normalizer) -> u8 {
        packed_class(self)
    }

    #[inline]
    fn folded(self, _: &Normalizer) -> (u32, usize) {
        (self as u32, (self >> P_LEN) as usize & 7)
    }

    fn push_original(self, out: &mut Vec<u8>) {
        let mut utf8 = [0u8; 4];
        out.extend_from_slice(packed_char(self).encode_utf8(&mut utf8).as_bytes());
    }
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new(NormalizerConfig::default())
    }
}

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
            leet_other_range: (1, 0),
            ascii: AsciiTables::new(&[None; 128]),
            ascii_bytes: true,
            prepare: Arc::from([]),
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
        let leet_other_range = match (leet_other.first(), leet_other.last()) {
            (Some(first), Some(last)) => (first.0 as u32, last.0 as u32),
            _ => (1, 0),
        };
        let mut normalizer = Self {
            config,
            leet_ascii,
            leet_other,
            leet_other_range,
            ascii: AsciiTables::new(&leet_ascii),
            ascii_bytes: leet_ascii.iter().flatten().all(char::is_ascii),
            prepare: Arc::from([]),
        };
        normalizer.prepare = normalizer.prepare_table();
        normalizer
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
        let Scratch { chars, out } = scratch;
        chars.clear();
        // The one-pass paths first: ASCII bytes, then prepared characters of any script.
        // Each hands over to the general pass below (which reads the text again) when the
        // text has a digit, a leet symbol, two one-letter words in a row, or a character
        // outside its table.
        let ascii = input.is_ascii();
        if ascii && self.ascii_bytes {
            if self.ascii_letters(input.as_bytes(), out) {
                return;
            }
            return self.fused(input.as_bytes(), out);
        }
        if self.prepared_letters(input, out) {
            return;
        }
        if ascii {
            chars.extend(
                input
                    .bytes()
                    .map(|b| self.pack_ascii(b.to_ascii_lowercase())),
            );
            return self.fused(chars.as_slice(), out);
        }
        let (confusables, strip) = (self.config.confusables, self.config.strip_diacritics);
        let table = fold_table(confusables, strip);
        chars.reserve(input.len());
        // Fast path: text of simple characters needs no NFKC pass (see FOLD_SIMPLE).
        let mut all_simple = true;
        let bytes = input.as_bytes();
        let mut i = 0;
        while let Some(&lead) = bytes.get(i) {
            // Decoded without a branch on the width: text that mixes scripts (Latin
            // look-alikes in Cyrillic) alternates widths, which branches mispredict.
            let (c, width) = decode(lead, bytes, i);
            i += width;
            let v = self.prepare.get(c as usize).copied().unwrap_or(0);
            if v & FOLD_SIMPLE == 0 {
                // Simple characters are never default-ignorable.
                if char::from_u32(c).is_some_and(is_default_ignorable) {
                    continue;
                }
                all_simple = false;
                break;
            }
            if v & FOLD_MULTI != 0 {
                table.push_value(
                    v,
                    &mut Packer {
                        n: self,
                        out: chars,
                    },
                );
                continue;
            }
            chars.push(v & !(FOLD_SIMPLE | NOT_LETTERS));
        }
        if !all_simple {
            // Steps 1–3 as the step-by-step pipeline does them (rare text: compatibility
            // characters, combining marks, scripts beyond the table).
            chars.clear();
            let prepared = self.confusables(remove_ignorables(nfkc_casefold(input)));
            let mut packer = Packer {
                n: self,
                out: chars,
            };
            for c in prepared.chars() {
                packer.put(c);
            }
        }
        self.fused(chars.as_slice(), out)
    }

    /// What [`Self::ascii_letters`] does, for text in any script of simple characters
    /// (see `FOLD_SIMPLE`), as most queries are: each character is decoded and prepared
    /// (steps 1–3 and its leetspeak) by one lookup in [`Self::prepare`], and its folded
    /// encoding written whole (four bytes, of which the next character overwrites what is
    /// not its own). Returns false, having left nothing of use in `out`, for other text.
    fn prepared_letters(&self, input: &str, out: &mut Normalized) -> bool {
        let bytes = input.as_bytes();
        // Text of one- and two-byte characters only (Cyrillic, Greek, accented Latin: no
        // byte from 0xE0 up, a test the compiler makes a vector maximum) takes a copy of
        // the pass whose decoding is one comparison, not a count of leading ones and three
        // selections.
        if bytes.iter().fold(0, |max, &b| max.max(b)) < 0xE0 {
            self.prepared_letters_in::<true>(bytes, out)
        } else {
            self.prepared_letters_in::<false>(bytes, out)
        }
    }

    /// [`Self::prepared_letters`] over `bytes` (UTF-8), where `SHORT` says that every
    /// character is one or two bytes long.
    fn prepared_letters_in<const SHORT: bool>(&self, bytes: &[u8], out: &mut Normalized) -> bool {
        let no_collapse = !self.config.collapse_repeats;
        // A fold may take more bytes than its character (`и` becomes the three-byte `ᴎ`),
        // never more than four.
        let (text_out, flags_out) = out.places((bytes.len() + 1) * 4);
        let prepare = &*self.prepare;
        // `pos`: the next free place; `prev`: the last character's folded encoding if it
        // was a letter, else 0; `seen`: every table value or-ed together, for
        // `NOT_LETTERS`; `single`: whether the open (or last) word has kept one letter;
        // `last_single`: the same for the word before it; `pair`: two one-letter words in
        // a row (step 7) were seen. Letters that step 7 does not join are counted as if it
        // did: a pair sends the text to the general pass, which is right either way.
        let (mut pos, mut prev, mut seen) = (0usize, 0u32, 0u64);
        let (mut single, mut last_single, mut pair) = (false, false, false);
        let mut i = 0;
        while let Some(&lead) = bytes.get(i) {
            let (c, width) = if SHORT {
                decode_short(lead, bytes, i)
            } else {
                decode(lead, bytes, i)
            };
            i += width;
            let v = prepare.get(c as usize).copied().unwrap_or(NOT_LETTERS);
            seen |= v;
            let letter = packed_class(v) & ALPHA != 0;
            let utf8 = v as u32;
            let folded = std::hint::select_unpredictable(letter, utf8, 0);
            if let (Some(slot), Some(flags)) = (
                text_out.get_mut(pos..pos + 4),
                flags_out.get_mut(pos..pos + 4),
            ) {
                slot.copy_from_slice(&utf8.to_le_bytes());
                flags.copy_from_slice(&[u8::from(prev == 0) * HARD, 0, 0, 0]);
            }
            let keep = letter & ((folded != prev) | no_collapse);
            pos += usize::from(keep) * ((v >> P_LEN) as usize & 7);
            let ending = (prev != 0) & !letter;
            pair |= ending & single & last_single;
            last_single = std::hint::select_unpredictable(ending, single, last_single);
            single = (letter & (prev == 0)) | (single & !keep);
            prev = folded;
        }
        pair |= (prev != 0) & single & last_single;
        if seen & NOT_LETTERS != 0 || (pair && self.config.join_spelled_out) {
            return false;
        }
        out.end_at(pos);
        true
    }

    /// An ASCII character (already lower-cased), packed.
    #[inline]
    fn pack_ascii(&self, b: u8) -> Packed {
        self.ascii.packed[usize::from(b & 0x7f)]
    }

    /// Any character, packed.
    #[inline]
    fn pack(&self, c: char) -> Packed {
        if c.is_ascii() {
            return self.pack_ascii(c as u8);
        }
        self.with_leet(pack_char(c, char_class(c), None))
    }

    /// Adds the leet bits and target to a packed non-ASCII character.
    #[inline]
    fn with_leet(&self, packed: Packed) -> Packed {
        let c = (packed >> P_CHAR) as u32;
        let (low, high) = self.leet_other_range;
        if c < low || c > high {
            return packed;
        }
        let Ok(i) = self.leet_other.binary_search_by_key(&c, |p| p.0 as u32) else {
            return packed;
        };
        let (source, target) = self.leet_other.get(i).copied().unwrap_or_default();
        let class = packed_class(packed) & !NOJOIN;
        let bits = if class & WORD != 0 {
            LEET
        } else {
            LEET | SYMBOL
        };
        let alone = if class & ALPHA != 0 { target } else { source };
        let nojoin = if joins(alone) { 0 } else { NOJOIN };
        pack_char(source, class | bits | nojoin, Some(target))
    }

    /// Builds [`Self::prepare`].
    fn prepare_table(&self) -> Arc<[u64]> {
        let table = fold_table(self.config.confusables, self.config.strip_diacritics);
        let ascii = (0..0x80u8).map(|b| self.pack_ascii(b.to_ascii_lowercase()) | FOLD_SIMPLE);
        let other = table.map.iter().map(|&v| {
            if v & FOLD_MULTI != 0 {
                return v;
            }
            let flags = v & FOLD_SIMPLE;
            match packed_char(v) {
                // Look-alikes of ASCII letters: ASCII has leet targets of its own.
                c if c.is_ascii() => self.pack_ascii(c as u8) | flags,
                _ => self.with_leet(v & !FOLD_SIMPLE) | flags,
            }
        });
        let letters_pass = |v: u64| {
            let class = packed_class(v);
            v & FOLD_SIMPLE != 0
                && v & FOLD_MULTI == 0
                && (class & ALPHA != 0 || class & (WORD | SYMBOL) == 0)
        };
        ascii
            .chain(other)
            .map(|v| if letters_pass(v) { v } else { v | NOT_LETTERS })
            .collect()
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

    /// The whole pipeline from step 4 on in one pass over the prepared text (ASCII bytes,
    /// or [`Packed`] characters), producing the same result as the step-by-step version
    /// that `explain` shows (a test holds them equal). Each word is read once: a word is a
    /// contiguous span of the text (word characters, and runs of leet symbols that a word
    /// character follows), and is leetspeak-folded and collapsed straight into the compact
    /// text. Leetspeak applies only to words with a letter, which is known at the word's
    /// end: it is applied as the word is read, and a word that turns out to have no letter
    /// (a number, rare) is copied again unchanged.
    fn fused<U: Unit>(&self, text: &[U], out: &mut Normalized) {
        let mut state = Fused::start(out, text.len() * U::MAX_LEN);
        let collapse = self.config.collapse_repeats;
        let class = |u: U| u.class(self);
        // The end of the run of leet symbols starting at `i`, if a word character follows
        // it (the run then belongs to a word).
        let symbols_then_word = |i: usize| {
            let mut j = i + 1;
            while text.get(j).is_some_and(|&u| class(u) & SYMBOL != 0) {
                j += 1;
            }
            match text.get(j) {
                Some(&u) if class(u) & WORD != 0 => Ok(j),
                _ => Err(j),
            }
        };
        let mut i = 0;
        while let Some(&u) = text.get(i) {
            let k = class(u);
            if k & WORD == 0 {
                if k & SYMBOL == 0 {
                    i += 1;
                    continue;
                }
                if let Err(end) = symbols_then_word(i) {
                    i = end;
                    continue;
                }
            }
            // A word starts at `i`.
            let word_start = i;
            let start = state.compact.len();
            // The class bits of the word's characters, or-ed together.
            let mut seen = 0u8;
            // The encoding of the last character kept (no character encodes as 0, so the
            // first is never taken for a repeat).
            let mut prev = 0u32;
            let mut take = |u: U, k: u8| {
                seen |= k;
                // The encoding after leetspeak, which is applied to every word here (and
                // undone below for words without a letter).
                let (utf8, len) = u.folded(self);
                // Leet targets are letters.
                if !(collapse && utf8 == prev && k & (ALPHA | LEET) != 0) {
                    let bytes = utf8.to_le_bytes();
                    state
                        .compact
                        .extend_from_slice(bytes.get(..len).unwrap_or_default());
                    prev = utf8;
                }
            };
            while let Some(&u) = text.get(i) {
                let k = class(u);
                if k & WORD != 0 {
                    take(u, k);
                    i += 1;
                    continue;
                }
                if k & SYMBOL == 0 {
                    break;
                }
                // Leet symbols inside the word: the whole run at once (linear time).
                let Ok(end) = symbols_then_word(i) else {
                    break;
                };
                for &s in text.get(i..end).unwrap_or_default() {
                    take(s, class(s));
                }
                i = end;
            }
            if seen & (LEET | ALPHA) == LEET {
                // No letter: no leetspeak, and nothing to collapse.
                state.compact.truncate(start);
                for &u in text.get(word_start..i).unwrap_or_default() {
                    u.push_original(&mut state.compact);
                }
            }
            self.end_word(&mut state, start);
        }
        self.finish_run(&mut state);
        state.finish(out);
    }

    /// Steps 1–7 in one pass, without a branch a byte, for the commonest text: ASCII
    /// whose leetspeak stays ASCII, of letters and separators only (no digits or leet
    /// symbols, which need a word's end to be known before they can be read), and no two
    /// one-letter words in a row (which step 7 joins). Where words start and end in
    /// ordinary text cannot be predicted, and a mispredicted branch costs more than the
    /// rest of a byte's work. One table gives a letter's fold, or says that the byte is a
    /// separator or is for the general pass; a letter starts a word when the byte before
    /// it was not a letter, and is kept unless it repeats that byte. Each byte's fold and
    /// flag are written to the next free place whether or not it is kept, and the place
    /// advances only if it is. One-letter words are looked for afterwards in the boundary
    /// flags. Returns false, having left nothing of use in `out`, for text the general
    /// pass must take.
    fn ascii_letters(&self, text: &[u8], out: &mut Normalized) -> bool {
        let no_collapse = !self.config.collapse_repeats;
        let table = &self.ascii.letters;
        let (text_out, flags_out) = out.places(text.len() + 1);
        // `pos`: the next free place; `prev`: the last byte's fold (0 after a separator);
        // `seen`: every fold or-ed together, for `OTHER_BYTE`.
        let (mut pos, mut prev, mut seen) = (0usize, 0u8, 0u8);
        for &b in text {
            let folded = table[usize::from(b)];
            seen |= folded;
            // Written whether or not it is kept: the next byte's goes to the same place
            // if it is not.
            if let (Some(slot), Some(flag)) = (text_out.get_mut(pos), flags_out.get_mut(pos)) {
                *slot = folded;
                *flag = u8::from(prev == 0) * HARD;
            }
            pos += usize::from((folded != 0) & ((folded != prev) | no_collapse));
            prev = folded;
        }
        if seen & OTHER_BYTE != 0 {
            return false;
        }
        out.end_at(pos);
        !(self.config.join_spelled_out && three_word_starts_in_a_row(&out.bounds))
    }

    /// Word bookkeeping after a word was appended at byte `start` of the compact text:
    /// its boundary flags, and runs of one-letter words (step 7).
    fn end_word(&self, state: &mut Fused, start: usize) {
        // One character (not byte) long: the first byte's encoding length is the word's;
        // and one that may be joined (any ASCII character may).
        let word = state.compact.get(start..).unwrap_or_default();
        let one_char = word
            .first()
            .is_some_and(|lead| (lead.leading_ones() as usize).max(1) == word.len());
        let single = one_char
            && self.config.join_spelled_out
            && (word.first().is_some_and(u8::is_ascii)
                || std::str::from_utf8(word)
                    .ok()
                    .and_then(|w| w.chars().next())
                    .is_some_and(joins));
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
            state.compact.extend_from_slice(&word_text);
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

    /// Joins a finished run of two or more one-letter words and reads it again (step 7):
    /// the joined word gets leetspeak if it has a letter, and its repeated letters
    /// collapse. The run is the end of the compact text, one character per word.
    fn finish_run(&self, state: &mut Fused) {
        let (start, len) = (state.run_start, state.run_len);
        state.run_len = 0;
        if len < 2 {
            return;
        }
        // The run, set aside (on the stack when it is short, as runs are).
        let mut short = [0u8; 64];
        let long: Vec<u8>;
        let run = state.compact.get(start..).unwrap_or_default();
        let run: &[u8] = match short.get_mut(..run.len()) {
            Some(copy) => {
                copy.copy_from_slice(run);
                copy
            }
            None => {
                long = run.to_vec();
                &long
            }
        };
        state.compact.truncate(start);
        state.bounds.truncate(start);
        // Starts at a character (the run's first word), so it is UTF-8 as a whole.
        let run = std::str::from_utf8(run).unwrap_or_default();
        let leet = run.chars().any(is_alpha);
        let mut prev = None;
        for c in run.chars() {
            let c = if leet { self.leet(c).unwrap_or(c) } else { c };
            let repeat = self.config.collapse_repeats && prev == Some(c) && is_alpha(c);
            let first = prev.is_none();
            prev = Some(c);
            if repeat {
                continue;
            }
            state.bounds.push(if first { HARD } else { SOFT });
            let mut utf8 = [0u8; 4];
            let encoded = c.encode_utf8(&mut utf8).as_bytes();
            state.compact.extend_from_slice(encoded);
            state
                .bounds
                .extend(std::iter::repeat_n(0, encoded.len() - 1));
        }
    }

    fn confusables(&self, s: String) -> String {
        let (confusables, strip) = (self.config.confusables, self.config.strip_diacritics);
        if s.is_ascii() || !(confusables || strip) {
            return s;
        }
        let table = fold_table(confusables, strip);
        let fold = |s: &str| {
            let mut out = String::with_capacity(s.len());
            for c in s.chars() {
                if c.is_ascii() {
                    out.push(c);
                } else {
                    table.push_folded(c, &mut out, confusables, strip);
                }
            }
            out
        };
        let mut out = fold(&s);
        // Folded one character at a time, the text can hold characters that NFKC combines
        // with their neighbours (a Hangul leading consonant left by one character's
        // skeleton, a vowel by the next's), which a second pass would compose: compose
        // and fold again until nothing changes (a round or two; bounded all the same).
        for _ in 0..4 {
            if is_nfkc_quick(out.chars()) == IsNormalized::Yes {
                break;
            }
            let composed: String = out.nfkc().collect();
            if composed == out {
                break;
            }
            out = fold(&composed);
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
            if b - a == 1 && joins(seq.chars[a]) {
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

/// Whether ASCII text of letters holds two one-letter words in a row (which step 7
/// joins): three word starts in a row in its flags (`bounds`, one past the end
/// included). Eight flags at a time, each one compared with the two before it.
fn three_word_starts_in_a_row(bounds: &[u8]) -> bool {
    let mask = 0x0101_0101_0101_0101 * u64::from(HARD);
    let (mut before, mut found) = (0u64, 0u64);
    let mut add = |now: u64| {
        // Byte k of `one` is the flag one place before byte k of `now`; of `two`, two.
        let one = now << 8 | before >> 56;
        let two = now << 16 | before >> 48;
        found |= now & one & two;
        before = now;
    };
    // Whole chunks, each read as one word (a copy of a length not known when compiling
    // would be a call to `memcpy` a chunk), then the rest.
    let mut chunks = bounds.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        add(u64::from_le_bytes(word) & mask);
    }
    // The last flags, padded with zeros (no word start).
    let mut word = [0u8; 8];
    for (slot, flag) in word.iter_mut().zip(chunks.remainder()) {
        *slot = *flag;
    }
    add(u64::from_le_bytes(word) & mask);
    found != 0
}

/// Decodes the character whose first byte `lead` is at `bytes[i]` (`bytes` is UTF-8):
/// its code point and width, computed for every width and selected, not branched on.
#[inline]
fn decode(lead: u8, bytes: &[u8], i: usize) -> (u32, usize) {
    let at = |k: usize| u32::from(bytes.get(i + k).copied().unwrap_or(0) & 0x3F);
    let (b0, b1, b2, b3) = (u32::from(lead), at(1), at(2), at(3));
    let width = (lead.leading_ones() as usize).max(1);
    let two = (b0 & 0x1F) << 6 | b1;
    let three = (b0 & 0x0F) << 12 | b1 << 6 | b2;
    let four = (b0 & 0x07) << 18 | b1 << 12 | b2 << 6 | b3;
    // Selected without a branch (which the compiler would otherwise make of it).
    let select = std::hint::select_unpredictable;
    let long = select(width == 4, four, three);
    let short = select(width == 2, two, b0);
    (select(width >= 3, long, short), width)
}

/// [`decode`] where `bytes` holds no character longer than two bytes.
#[inline]
fn decode_short(lead: u8, bytes: &[u8], i: usize) -> (u32, usize) {
    let next = u32::from(bytes.get(i + 1).copied().unwrap_or(0) & 0x3F);
    let two = lead >= 0xC0;
    let c =
        std::hint::select_unpredictable(two, u32::from(lead & 0x1F) << 6 | next, u32::from(lead));
    (c, 1 + usize::from(two))
}

/// Characters below this have their confusable fold precomputed (Latin, Greek, Cyrillic,
/// the other alphabets, symbols, CJK): a table lookup instead of a skeleton per character.
const FOLD_TABLE_END: u32 = 0xA000;
/// Marks a table value as an index into `FoldTable::multi` (a result that is not exactly
/// one character).
const FOLD_MULTI: u64 = 1 << 63;
/// Marks a table value whose character is *simple*: it, its case folding and its fold are
/// all NFKC quick-check "yes" with combining class 0. Text made only of such characters
/// (and ASCII) is already NFKC before and after case folding, and stays so when each
/// character is replaced by its fold, so steps 1–3 are this table per character. Kept in
/// the same word as the fold, so the common case is one lookup.
const FOLD_SIMPLE: u64 = 1 << 62;
/// Marks a value of a normaliser's own table ([`Normalizer::prepare`]) whose character
/// the one-pass path ([`Normalizer::prepared_letters`]) leaves to the general one: not
/// simple, not one character, a digit, a leet symbol or a combining mark.
const NOT_LETTERS: u64 = 1 << 61;

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

/// Packs folded characters with their class bits for the word pass.
struct Packer<'a> {
    n: &'a Normalizer,
    out: &'a mut Vec<Packed>,
}

impl Sink for Packer<'_> {
    fn put(&mut self, c: char) {
        self.out.push(self.n.pack(c));
    }
    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }
}

struct FoldTable {
    /// For `0x80 + i`: case fold then confusable fold, as one [`Packed`] character (with
    /// its `WORD` and `ALPHA` class bits) or `FOLD_MULTI | index`; with `FOLD_SIMPLE` set
    /// for simple characters.
    map: Vec<u64>,
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
                    // The fold too: text of simple characters stays in NFKC when each
                    // is replaced by its fold (stable starters neither reorder nor
                    // compose with their neighbours).
                    let is_simple = nfkc_stable_starter(c)
                        && case_folded.chars().all(nfkc_stable_starter)
                        && folded.chars().all(nfkc_stable_starter)
                        && !is_default_ignorable(c);
                    (folded, is_simple)
                }
                None => (String::new(), false),
            };
            let flag = if is_simple { FOLD_SIMPLE } else { 0 };
            let mut chars = folded.chars();
            match (chars.next(), chars.next()) {
                (Some(one), None) => map.push(pack_char(one, char_class(one), None) | flag),
                _ => {
                    map.push(FOLD_MULTI | flag | multi.len() as u64);
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
    fn push_value(&self, v: u64, out: &mut impl Sink) {
        if v & FOLD_MULTI == 0 {
            out.put(packed_char(v));
        } else {
            out.put_str(self.multi.get(v as u32 as usize).map_or("", |s| s));
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

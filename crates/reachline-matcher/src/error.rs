//! One error type for the whole crate.
//!
//! Messages never repeat the input (a query, URL, term or hash): callers may log errors, and
//! what a partner sends must not reach a log.

/// Everything that can go wrong when building lists or checking input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A digest was not the expected number of hexadecimal digits.
    #[error("invalid {what}: expected {expected} hexadecimal digits")]
    BadHex {
        /// Which kind of digest was expected (`"MD5"`, `"SHA-256"`, `"PDQ hash"`).
        what: &'static str,
        /// How many hex digits that kind has.
        expected: usize,
    },
    /// A URL could not be canonicalised (for example it has no host).
    #[error("malformed URL: {0}")]
    MalformedUrl(&'static str),
    /// The bytes are not an image in a supported format (JPEG, PNG) or are corrupt.
    #[error("image could not be decoded: {0}")]
    UndecodableImage(String),
    /// The image has more pixels than the configured limit; it was not decoded.
    #[error("image too large: {width}x{height} pixels is over the limit of {limit} pixels")]
    OversizeImage {
        /// Width in pixels, from the image header.
        width: u32,
        /// Height in pixels, from the image header.
        height: u32,
        /// The configured limit (`MatcherConfig::max_image_pixels`).
        limit: u64,
    },
    /// A query was longer than `MatcherConfig::max_query_bytes`.
    #[error("input too long: {len} bytes, the limit is {limit}")]
    InputTooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A keyword entry has no letters or digits left after normalisation, so it would match
    /// nothing (or everything).
    #[error("keyword entry {id:?} is empty after normalisation")]
    EmptyTerm {
        /// The entry's id (never its term).
        id: String,
    },
    /// A line of a list in one of the simple text formats could not be parsed.
    #[error("line {line}: {reason}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What was wrong, without the line's content.
        reason: String,
    },
    /// A PDQ distance threshold outside 0..=256.
    #[error("invalid PDQ threshold {0}: it must be between 0 and 256")]
    BadThreshold(u32),
    /// The lists could not be compiled (for example the keyword automaton grew past its
    /// size limits).
    #[error("lists could not be compiled: {0}")]
    Build(String),
    /// The PDQ hash's quality is below the configured gate, so it was not compared.
    #[error("PDQ hash quality {quality} is below the minimum of {min}")]
    LowQuality {
        /// The hash's quality (0–100).
        quality: u8,
        /// The configured minimum (`MatcherConfig::pdq_min_quality`).
        min: u8,
    },
}
